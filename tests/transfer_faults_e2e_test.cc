// End-to-end tests of a worker SIGKILLed in the middle of a worker-to-worker
// transfer of a 64 MiB result, from either end. The holder serves through a
// TcpProxy (it advertises the proxy with --contact-address) that stops
// forwarding after 16 MiB, so the consumer is provably mid-fetch when the
// kill comes: it has received part of the value and not all of it.

#include <signal.h>

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "clients/cpp/client.h"
#include "gtest/gtest.h"
#include "tests/e2e_util.h"
#include "tests/local_cluster.h"
#include "tests/tcp_proxy.h"

namespace taskgrid {
namespace {

using testing::LocalCluster;
using testing::Spec;
using testing::TcpProxy;
using testing::WaitUntil;

constexpr int64_t kElements = int64_t{8} << 20;  // int64: 64 MiB
constexpr int64_t kValueBytes = kElements * 8;
constexpr int64_t kHoldAt = int64_t{16} << 20;

// The address a worker started with --contact-address listens on, from
// its start line ("... started at CONTACT listening on HOST:PORT (...").
std::string ListenAddress(testing::Subprocess& worker) {
  const std::string log = worker.Stderr();
  const std::string marker = " listening on ";
  const size_t at = log.find(marker);
  if (at == std::string::npos) return "";
  const size_t begin = at + marker.size();
  return log.substr(begin, log.find(' ', begin) - begin);
}

// arange(kElements) exactly: int64, one dimension, element i == i.
void ExpectArange(const absl::StatusOr<Value>& v, const std::string& what) {
  ASSERT_TRUE(v.ok()) << what << ": " << v.status();
  ASSERT_EQ(v->kind(), Value::Kind::kArray) << what;
  const NDArray& a = v->as_array();
  ASSERT_EQ(a.dtype, DType::kInt64) << what;
  ASSERT_EQ(a.shape, std::vector<int64_t>{kElements}) << what;
  ASSERT_EQ(static_cast<int64_t>(a.data.size()), kValueBytes) << what;
  const int64_t* x = a.As<int64_t>();
  int64_t wrong = 0;
  for (int64_t i = 0; i < kElements; ++i) wrong += x[i] != i;
  EXPECT_EQ(wrong, 0) << what << ": elements differ from arange";
}

v1::TaskSpec Restricted(v1::TaskSpec spec, std::vector<std::string> workers, bool loose) {
  for (auto& w : workers) spec.add_workers(w);
  spec.set_allow_other_workers(loose);
  return spec;
}

int64_t TransferBytesIn(LocalCluster& cluster, size_t worker) {
  auto s = cluster.WorkerStatus(worker);
  return s.ok() ? s->transfer_bytes_in() : -1;
}

// Starts worker `index` behind `proxy`, held at kHoldAt downstream bytes.
void AddProxiedWorker(LocalCluster& cluster, TcpProxy& proxy) {
  ASSERT_TRUE(proxy.ok());
  auto index = cluster.AddWorker({"--contact-address", proxy.address()});
  ASSERT_TRUE(index.ok()) << index.status() << "\n" << cluster.Logs();
  ASSERT_EQ(cluster.worker_address(*index), proxy.address());
  const std::string listen = ListenAddress(cluster.worker_process(*index));
  ASSERT_FALSE(listen.empty()) << cluster.Logs();
  proxy.SetTarget(listen);
  proxy.HoldDownstreamAt(kHoldAt);
}

// The consumer (worker 0) is mid-fetch: the proxy has stopped at kHoldAt,
// and the consumer has taken in a good part of it but not the whole value.
void ExpectConsumerMidFetch(LocalCluster& cluster, TcpProxy& proxy) {
  ASSERT_TRUE(proxy.WaitUntilHeld(std::chrono::seconds(60))) << cluster.Logs();
  ASSERT_TRUE(WaitUntil([&] { return TransferBytesIn(cluster, 0) >= kHoldAt / 2; }))
      << cluster.Logs();
  auto consumer = cluster.WorkerStatus(0);
  ASSERT_TRUE(consumer.ok());
  EXPECT_LT(consumer->transfer_bytes_in(), kValueBytes);
  EXPECT_EQ(consumer->transfers_in(), 0);
}

TEST(TransferFaultsTest, HolderKilledDuringItsOutgoingTransferIsRecomputed) {
  LocalCluster::Options options;
  options.workers = 1;  // worker-0: the consumer
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.Start().ok()) << cluster.Logs();
  TcpProxy proxy;
  AddProxiedWorker(cluster, proxy);  // worker-1: the holder
  if (HasFatalFailure()) return;
  auto client = Client::Connect(cluster.scheduler_address());
  ASSERT_TRUE(client.ok()) << client.status();

  // x prefers the holder but may be recomputed elsewhere; y must run on
  // the consumer, which fetches x.
  std::vector<v1::TaskSpec> graph = {
      Restricted(Spec("x", "arange", {Value::Int(kElements)}), {cluster.worker_address(1)}, true),
      Restricted(Spec("y", "identity", {Value::Ref("x")}), {cluster.worker_address(0)}, false)};
  auto futures = (*client)->SubmitGraph(graph, {"y"});
  ASSERT_TRUE(futures.ok()) << futures.status();
  ExpectConsumerMidFetch(cluster, proxy);
  if (HasFatalFailure()) return;

  cluster.worker_process(1).Signal(SIGKILL);
  ASSERT_TRUE(cluster.worker_process(1).Wait(std::chrono::seconds(10)).has_value());
  // What the dead holder's kernel still had in flight arrives, then the
  // connection closes, as it would from a dead host.
  proxy.Release();

  ExpectArange((*futures)[0].Result(std::chrono::seconds(60)), "y");
  auto info = cluster.ClusterInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->workers_size(), 1);
  // x was recomputed on the consumer (the only worker left), then y ran.
  auto consumer = cluster.WorkerStatus(0);
  ASSERT_TRUE(consumer.ok());
  EXPECT_EQ(consumer->tasks_completed(), 2) << cluster.Logs();
  EXPECT_EQ(consumer->transfers_in(), 0);
}

TEST(TransferFaultsTest, ConsumerKilledDuringItsIncomingTransferIsReplacedAndTheHolderServesOn) {
  LocalCluster::Options options;
  options.workers = 1;  // worker-0: the consumer, killed
  // y stays where it was placed until its worker dies.
  options.scheduler_args = {"--no-work-stealing"};
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.Start().ok()) << cluster.Logs();
  TcpProxy proxy;
  AddProxiedWorker(cluster, proxy);  // worker-1: the holder
  if (HasFatalFailure()) return;
  auto client = Client::Connect(cluster.scheduler_address());
  ASSERT_TRUE(client.ok()) << client.status();

  // y may run on worker-0 or on worker-2, which starts only once y is
  // fetching x on worker-0; x stays on the holder.
  std::vector<v1::TaskSpec> graph = {
      Restricted(Spec("x", "arange", {Value::Int(kElements)}), {"worker-1"}, false),
      Restricted(Spec("y", "identity", {Value::Ref("x")}), {"worker-0", "worker-2"}, false)};
  auto futures = (*client)->SubmitGraph(graph, {"x", "y"});
  ASSERT_TRUE(futures.ok()) << futures.status();
  ExpectConsumerMidFetch(cluster, proxy);
  if (HasFatalFailure()) return;

  auto replacement = cluster.AddWorker();
  ASSERT_TRUE(replacement.ok()) << replacement.status();
  ASSERT_EQ(*replacement, 2u);
  cluster.worker_process(0).Signal(SIGKILL);
  ASSERT_TRUE(cluster.worker_process(0).Wait(std::chrono::seconds(10)).has_value());
  ASSERT_TRUE(cluster.WaitForWorkers(2, std::chrono::seconds(30)).ok()) << cluster.Logs();
  proxy.Release();

  ExpectArange((*futures)[1].Result(std::chrono::seconds(60)), "y");
  auto fresh = cluster.WorkerStatus(2);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->transfers_in(), 1);  // y ran there, on x fetched from the holder
  EXPECT_EQ(fresh->tasks_completed(), 1);
  // The holder never stopped: same process, x computed once and still
  // served (to this client, through the same proxy).
  EXPECT_TRUE(cluster.worker_process(1).running());
  ExpectArange((*futures)[0].Result(std::chrono::seconds(60)), "x");
  auto holder = cluster.WorkerStatus(1);
  ASSERT_TRUE(holder.ok());
  EXPECT_EQ(holder->tasks_completed(), 1);
  EXPECT_GE(holder->transfers_out(), 3);  // the killed fetch, the replacement's, the client's
}

}  // namespace
}  // namespace taskgrid
