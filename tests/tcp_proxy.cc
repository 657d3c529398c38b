#include "tests/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace taskgrid::testing {
namespace {

// Writes all of `data` (blocking socket); false if the peer is gone.
bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

int ConnectTo(const std::string& host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

}  // namespace

TcpProxy::TcpProxy() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 64) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return;
  }
  listen_fd_ = fd;
  address_ = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  changed_.notify_all();
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> pumps;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pumps.swap(pumps_);
  }
  for (std::thread& t : pumps) t.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

void TcpProxy::SetTarget(const std::string& host_port) {
  const size_t colon = host_port.rfind(':');
  std::lock_guard<std::mutex> lock(mu_);
  target_host_ = host_port.substr(0, colon);
  target_port_ = std::atoi(host_port.c_str() + colon + 1);
  changed_.notify_all();
}

void TcpProxy::HoldDownstreamAt(int64_t bytes) { hold_at_ = bytes; }

void TcpProxy::Release() { hold_at_ = -1; }

bool TcpProxy::WaitUntilHeld(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const int64_t hold = hold_at_.load();
    if (hold >= 0 && downstream_bytes_.load() >= hold) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

int64_t TcpProxy::DownstreamAllowance() const {
  const int64_t hold = hold_at_.load();
  if (hold < 0) return INT64_MAX;
  return std::max<int64_t>(0, hold - downstream_bytes_.load());
}

void TcpProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    int client = accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::lock_guard<std::mutex> lock(mu_);
    pumps_.emplace_back([this, client] { Pump(client); });
  }
}

void TcpProxy::Pump(int client_fd) {
  std::string host;
  int port = 0;
  {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [this] { return stopping_ || target_port_ != 0; });
    host = target_host_;
    port = target_port_;
  }
  const int target_fd = stopping_ ? -1 : ConnectTo(host, port);
  std::vector<char> buf(256 << 10);
  while (target_fd >= 0 && !stopping_) {
    // Only this thread forwards downstream on this connection, and the
    // allowance only shrinks by what this and other pumps forward, so a
    // read capped at the allowance can overshoot the hold only when two
    // connections stream downstream at once (the tests use one).
    const int64_t allowance = DownstreamAllowance();
    pollfd fds[2] = {{client_fd, POLLIN, 0},
                     {target_fd, static_cast<short>(allowance > 0 ? POLLIN : 0), 0}};
    // The timeout lets a Release or the destructor be noticed while held.
    if (poll(fds, 2, 20) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = recv(client_fd, buf.data(), buf.size(), 0);
      if (n <= 0 || !WriteAll(target_fd, buf.data(), static_cast<size_t>(n))) break;
    }
    if (fds[1].revents & POLLIN) {
      const size_t want = static_cast<size_t>(std::min<int64_t>(allowance, buf.size()));
      ssize_t n = recv(target_fd, buf.data(), want, 0);
      if (n <= 0 || !WriteAll(client_fd, buf.data(), static_cast<size_t>(n))) break;
      downstream_bytes_ += n;
    } else if (fds[1].revents & (POLLHUP | POLLERR)) {
      // The target is gone (reset). While held its unread bytes stay
      // unread; callers see the connection drop, as when a host dies.
      break;
    }
  }
  if (target_fd >= 0) close(target_fd);
  close(client_fd);
}

}  // namespace taskgrid::testing
