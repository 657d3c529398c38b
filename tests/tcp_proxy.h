#pragma once
// TcpProxy: a TCP forwarder on 127.0.0.1 that end-to-end tests put in
// front of a real process (a worker started with --contact-address pointing
// at the proxy) to stop a transfer at an exact byte count: with a hold set,
// the bytes the target sends back to its callers ("downstream") stop being
// forwarded once that many were forwarded in total, so TCP flow control
// stalls the target's stream mid-transfer for as long as the test needs
// (no sleeping, no racing a fast loopback copy).
//
// Thread-safety: every public method may be called from any thread. One
// thread accepts; one thread per connection pumps both directions.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace taskgrid::testing {

class TcpProxy {
 public:
  // Listens on 127.0.0.1 at a free port. Connections accepted before
  // SetTarget wait for it.
  TcpProxy();
  ~TcpProxy();  // closes every connection and joins the threads
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  // "127.0.0.1:PORT" of the listening socket; false if it could not listen.
  const std::string& address() const { return address_; }
  bool ok() const { return listen_fd_ >= 0; }
  // Where connections go ("HOST:PORT", numeric IPv4).
  void SetTarget(const std::string& host_port);

  // Stops forwarding downstream once `bytes` were forwarded downstream in
  // total (over all connections, counted from the proxy's start).
  void HoldDownstreamAt(int64_t bytes);
  // Forwards everything again (and from then on).
  void Release();
  // Downstream bytes forwarded so far.
  int64_t downstream_bytes() const { return downstream_bytes_.load(); }
  // Waits until the hold is reached (true) or `timeout` passes (false).
  bool WaitUntilHeld(std::chrono::milliseconds timeout);

 private:
  void AcceptLoop();
  void Pump(int client_fd);
  // How many downstream bytes may be forwarded now.
  int64_t DownstreamAllowance() const;

  int listen_fd_ = -1;
  std::string address_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> downstream_bytes_{0};
  std::atomic<int64_t> hold_at_{-1};  // -1: no hold
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::string target_host_;  // guarded by mu_
  int target_port_ = 0;      // guarded by mu_
  std::thread acceptor_;
  std::vector<std::thread> pumps_;  // guarded by mu_
};

}  // namespace taskgrid::testing
