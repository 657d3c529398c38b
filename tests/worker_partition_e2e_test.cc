// End-to-end test of a worker cut off from the scheduler (paused with
// SIGSTOP, so its connections stay open but nothing moves): the scheduler
// declares it dead after --worker-timeout, reschedules its work, the graph
// finishes correct; after SIGCONT the worker's old session is closed, it
// registers again as a new worker, and what it still held adds no
// duplicate result or leak.

#include <signal.h>

#include <functional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "clients/cpp/client.h"
#include "common/grpc_util.h"
#include "common/value_proto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e_util.h"
#include "tests/local_cluster.h"

namespace taskgrid {
namespace {

using testing::LocalCluster;
using testing::Spec;
using testing::TasksIn;
using testing::WaitUntil;

std::string WorkerId(LocalCluster& cluster, const std::string& address) {
  auto info = cluster.ClusterInfo();
  if (!info.ok()) return "";
  for (const auto& w : info->workers()) {
    if (w.address() == address) return w.id();
  }
  return "";
}

TEST(WorkerPartitionTest, PausedWorkerIsDeclaredDeadAndReadmittedCleanly) {
  LocalCluster::Options options;
  options.workers = 2;
  options.scheduler_args = {"--worker-timeout", "2"};
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.Start().ok()) << cluster.Logs();
  auto client = Client::Connect(cluster.scheduler_address());
  ASSERT_TRUE(client.ok()) << client.status();
  const std::string paused_address = cluster.worker_address(1);
  const std::string old_id = WorkerId(cluster, paused_address);
  ASSERT_FALSE(old_id.empty());

  // 16 quarter-second tasks on two one-thread workers, then their sum.
  constexpr int kParts = 16;
  std::vector<v1::TaskSpec> graph;
  std::vector<std::string> wanted;
  std::vector<Value> refs;
  for (int i = 0; i < kParts; ++i) {
    wanted.push_back(absl::StrCat("part-", i));
    graph.push_back(Spec(wanted.back(), "sleep", {Value::Double(0.25), Value::Int(i)}));
    refs.push_back(Value::Ref(wanted.back()));
  }
  wanted.push_back("total");
  graph.push_back(Spec("total", "sum", {Value::List(std::move(refs))}));
  auto futures = (*client)->SubmitGraph(graph, wanted);
  ASSERT_TRUE(futures.ok()) << futures.status();

  // Pause one worker once it holds some results and is running more.
  ASSERT_TRUE(WaitUntil([&] {
    auto info = cluster.ClusterInfo();
    if (!info.ok()) return false;
    for (const auto& w : info->workers()) {
      if (w.address() == paused_address && w.keys_held() >= 2) return true;
    }
    return false;
  })) << cluster.Logs();
  cluster.worker_process(1).Signal(SIGSTOP);
  ASSERT_TRUE(cluster.WaitForWorkers(1, std::chrono::seconds(20)).ok()) << cluster.Logs();

  for (int i = 0; i < kParts; ++i) {
    auto v = (*futures)[i].Result(std::chrono::seconds(60));
    ASSERT_TRUE(v.ok()) << wanted[i] << ": " << v.status() << "\n" << cluster.Logs();
    EXPECT_EQ(v->as_int(), i);
  }
  auto total = futures->back().Result(std::chrono::seconds(60));
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(total->as_int(), kParts * (kParts - 1) / 2);

  // Back: its stale session is closed and it registers as a new worker.
  cluster.worker_process(1).Signal(SIGCONT);
  ASSERT_TRUE(WaitUntil([&] {
    const std::string id = WorkerId(cluster, paused_address);
    return !id.empty() && id != old_id;
  })) << cluster.Logs();
  auto info = cluster.ClusterInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->workers_size(), 2);
  EXPECT_EQ(TasksIn(*info, "processing"), 0);
  // Every result once: one scheduler entry per key, no holder listed
  // twice, and the futures still see the values they had.
  for (size_t i = 0; i < wanted.size(); ++i) {
    EXPECT_EQ((*futures)[i].status(), "finished") << wanted[i];
  }
  auto stub = v1::Scheduler::NewStub(MakeChannel(cluster.scheduler_address()));
  grpc::ClientContext ctx;
  v1::WhoHasRequest req;
  for (const auto& key : wanted) req.add_keys(key);
  v1::WhoHasResponse who;
  ASSERT_TRUE(stub->WhoHas(&ctx, req, &who).ok());
  ASSERT_EQ(who.locations_size(), static_cast<int>(wanted.size()));
  for (const auto& loc : who.locations()) {
    std::set<std::string> holders(loc.workers().begin(), loc.workers().end());
    EXPECT_EQ(holders.size(), static_cast<size_t>(loc.workers_size())) << loc.key();
    EXPECT_GE(loc.workers_size(), 1) << loc.key();
  }

  // It takes work again.
  SubmitOptions there;
  there.workers = {paused_address};
  there.key = "after-rejoin";
  auto later = (*client)->Submit("inc", {Value::Int(41)}, there);
  ASSERT_TRUE(later.ok());
  auto v = later->Result(std::chrono::seconds(30));
  ASSERT_TRUE(v.ok()) << v.status() << "\n" << cluster.Logs();
  EXPECT_EQ(v->as_int(), 42);

  // Releasing everything leaves nothing on either worker: what the paused
  // worker held from before was freed or tracked as a replica.
  futures->clear();
  *later = Future();
  EXPECT_TRUE(WaitUntil([&] {
    auto after = cluster.ClusterInfo();
    if (!after.ok()) return false;
    int64_t held = 0;
    for (const auto& w : after->workers()) held += w.keys_held();
    return held == 0;
  })) << cluster.Logs();
  for (size_t i = 0; i < cluster.num_workers(); ++i) {
    auto status = cluster.WorkerStatus(i);
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_TRUE(WaitUntil([&] {
      auto s = cluster.WorkerStatus(i);
      return s.ok() && s->memory_bytes() == 0;
    })) << "worker " << i << " still holds data\n" << cluster.Logs();
  }
}

}  // namespace
}  // namespace taskgrid
