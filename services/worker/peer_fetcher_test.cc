#include "services/worker/peer_fetcher.h"

#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "common/grpc_util.h"
#include "services/worker/worker_service.h"

namespace taskgrid::worker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A peer worker: a WorkerService over its own store.
struct Peer {
  explicit Peer(int want_port = 0) {
    grpc::ServerBuilder builder;
    ConfigureServerBuilder(&builder);
    int port = 0;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(want_port),
                             grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
    address = "127.0.0.1:" + std::to_string(port);
  }
  ~Peer() { server->Shutdown(); }

  DataStore store;
  WorkerStats stats{1};
  WorkerService service{&store, &stats, nullptr};
  std::unique_ptr<grpc::Server> server;
  std::string address;
};

// Collects callbacks; Wait blocks until n results arrived.
class Results {
 public:
  FetchCallback Callback() {
    return [this](FetchResult r) {
      absl::MutexLock lock(&mu_);
      results_.emplace(r.key, std::move(r));
    };
  }
  std::map<std::string, FetchResult> Wait(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return results_.size() >= n; };
    mu_.Await(absl::Condition(&enough));
    return results_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, FetchResult> results_ ABSL_GUARDED_BY(mu_);
};

// A stalled peer: a socket that listens (so connections open) but never
// accepts or answers, like a worker stopped with SIGSTOP.
class StalledPeer {
 public:
  StalledPeer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~StalledPeer() { Close(); }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

GrpcPeerFetcher::Options QuickRetries() {
  GrpcPeerFetcher::Options o;
  o.stall_timeout = absl::Milliseconds(300);
  o.attempts_per_holder = 3;
  o.retry_backoff = absl::Milliseconds(50);
  return o;
}

Value Big(size_t n, char c) { return Value::Bytes(Blob::Copy(std::string(n, c))); }

class PeerFetcherTest : public ::testing::Test {
 protected:
  Peer a_, b_;
  ChannelCache channels_;
  WorkerStats stats_{1};
  // Dead address: nothing listens on port 1.
  const std::string dead_ = "127.0.0.1:1";
};

TEST_F(PeerFetcherTest, FetchesManyKeysFromSeveralPeers) {
  for (int i = 0; i < 50; ++i) a_.store.Put("a" + std::to_string(i), Value::Int(i));
  b_.store.Put("big", Big(3 << 20, 'b'));
  GrpcPeerFetcher fetcher("self:0", &channels_, &stats_);
  std::vector<FetchRequest> requests;
  for (int i = 0; i < 50; ++i) requests.push_back({"a" + std::to_string(i), {a_.address}, 8});
  requests.push_back({"big", {b_.address}, 3 << 20});
  Results results;
  fetcher.Fetch(requests, results.Callback());
  std::map<std::string, FetchResult> got = results.Wait(51);
  for (int i = 0; i < 50; ++i) {
    const FetchResult& r = got.at("a" + std::to_string(i));
    ASSERT_TRUE(r.value.ok()) << r.value.status();
    EXPECT_EQ(*r.value, Value::Int(i));
    EXPECT_THAT(r.tried, ElementsAre(a_.address));
  }
  ASSERT_TRUE(got.at("big").value.ok());
  EXPECT_EQ(*got.at("big").value, Big(3 << 20, 'b'));
  EXPECT_EQ(WorkerStats::Read(stats_.transfers_in), 51);
  EXPECT_GE(WorkerStats::Read(stats_.transfer_bytes_in), 3 << 20);
}

TEST_F(PeerFetcherTest, FallsBackToTheNextHolder) {
  b_.store.Put("x", Value::String("from b"));
  // a_ lacks the key (error chunk), the dead address refuses connections.
  GrpcPeerFetcher fetcher("self:0", &channels_, &stats_);
  Results results;
  fetcher.Fetch({{"x", {a_.address, dead_, b_.address}, 0}}, results.Callback());
  FetchResult r = results.Wait(1).at("x");
  ASSERT_TRUE(r.value.ok()) << r.value.status();
  EXPECT_EQ(*r.value, Value::String("from b"));
  EXPECT_THAT(r.tried, ElementsAre(a_.address, dead_, b_.address));
}

TEST_F(PeerFetcherTest, ReportsFailureWhenNoHolderHasIt) {
  GrpcPeerFetcher fetcher("self:0", &channels_, &stats_);
  Results results;
  fetcher.Fetch({{"gone", {a_.address, dead_}, 0}, {"nowhere", {}, 0}}, results.Callback());
  std::map<std::string, FetchResult> got = results.Wait(2);
  const FetchResult& gone = got.at("gone");
  EXPECT_FALSE(gone.value.ok());
  EXPECT_THAT(gone.tried, ElementsAre(a_.address, dead_));
  EXPECT_THAT(gone.value.status().message(), HasSubstr("could not fetch 'gone' from 2 worker(s)"));
  const FetchResult& nowhere = got.at("nowhere");
  EXPECT_EQ(nowhere.value.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(nowhere.tried.empty());
}

TEST_F(PeerFetcherTest, NeverAsksItself) {
  a_.store.Put("k", Value::Int(3));
  GrpcPeerFetcher fetcher(b_.address, &channels_, &stats_);
  Results results;
  fetcher.Fetch({{"k", {b_.address, a_.address}, 0}}, results.Callback());
  FetchResult r = results.Wait(1).at("k");
  ASSERT_TRUE(r.value.ok());
  EXPECT_THAT(r.tried, ElementsAre(a_.address));
  EXPECT_EQ(WorkerStats::Read(b_.stats.transfers_out), 0);
}

TEST_F(PeerFetcherTest, StalledLastHolderIsAskedAgainThenReportedUnreachable) {
  StalledPeer stalled;
  GrpcPeerFetcher fetcher("self:0", &channels_, &stats_, QuickRetries());
  Results results;
  fetcher.Fetch({{"x", {stalled.address()}, 0}}, results.Callback());
  FetchResult r = results.Wait(1).at("x");
  ASSERT_FALSE(r.value.ok());
  EXPECT_THAT(r.value.status().message(), HasSubstr("sent nothing for"));
  EXPECT_THAT(r.tried, ElementsAre(stalled.address()));
  EXPECT_THAT(r.unreachable, ElementsAre(stalled.address()));
  EXPECT_EQ(WorkerStats::Read(stats_.fetch_retries), 2);  // 3 attempts
}

TEST_F(PeerFetcherTest, AHolderThatLacksTheKeyIsNotUnreachable) {
  GrpcPeerFetcher fetcher("self:0", &channels_, &stats_, QuickRetries());
  Results results;
  fetcher.Fetch({{"x", {a_.address}, 0}}, results.Callback());
  FetchResult r = results.Wait(1).at("x");
  ASSERT_FALSE(r.value.ok());
  EXPECT_THAT(r.tried, ElementsAre(a_.address));
  EXPECT_THAT(r.unreachable, IsEmpty());
  EXPECT_EQ(WorkerStats::Read(stats_.fetch_retries), 0);
}

TEST_F(PeerFetcherTest, StalledHolderIsSkippedForAnotherReplica) {
  StalledPeer stalled;
  b_.store.Put("x", Value::String("from b"));
  GrpcPeerFetcher fetcher("self:0", &channels_, &stats_, QuickRetries());
  Results results;
  fetcher.Fetch({{"x", {stalled.address(), b_.address}, 0}}, results.Callback());
  FetchResult r = results.Wait(1).at("x");
  ASSERT_TRUE(r.value.ok()) << r.value.status();
  EXPECT_EQ(*r.value, Value::String("from b"));
  EXPECT_THAT(r.tried, ElementsAre(stalled.address(), b_.address));
  EXPECT_EQ(WorkerStats::Read(stats_.fetch_retries), 0);  // no waiting on the stalled one
}

TEST_F(PeerFetcherTest, HolderThatRecoversBetweenAttemptsDelivers) {
  auto stalled = std::make_unique<StalledPeer>();
  const int port = stalled->port();
  GrpcPeerFetcher::Options options = QuickRetries();
  options.attempts_per_holder = 6;  // room for a refused connect while the server starts
  options.retry_backoff = absl::Milliseconds(200);
  GrpcPeerFetcher fetcher("self:0", &channels_, &stats_, options);
  Results results;
  fetcher.Fetch({{"x", {stalled->address()}, 0}}, results.Callback());
  // Once the first attempt has given up, the peer comes back on its port.
  for (int i = 0; i < 600 && WorkerStats::Read(stats_.fetch_retries) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(WorkerStats::Read(stats_.fetch_retries), 1);
  stalled->Close();
  Peer back(port);
  ASSERT_EQ(back.address, "127.0.0.1:" + std::to_string(port));
  back.store.Put("x", Value::Int(7));
  FetchResult r = results.Wait(1).at("x");
  ASSERT_TRUE(r.value.ok()) << r.value.status();
  EXPECT_EQ(*r.value, Value::Int(7));
  EXPECT_THAT(r.tried, ElementsAre(back.address));
}

}  // namespace
}  // namespace taskgrid::worker
