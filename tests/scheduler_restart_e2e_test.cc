// End-to-end test of scheduler restart recovery on real processes: a
// scheduler SIGKILLed in the middle of a graph is replaced by a new one on
// the same port; the workers reconnect and report the results they hold,
// the C++ client reconnects, re-declares the keys it holds and sends its
// pending graph again, and the graph finishes without recomputing the
// results that survived (counted by the workers, not timed).

#include <signal.h>

#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "clients/cpp/client.h"
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

// Tasks the workers have run so far, all together.
int64_t TasksRun(LocalCluster& cluster) {
  int64_t n = 0;
  for (size_t i = 0; i < cluster.num_workers(); ++i) {
    auto status = cluster.WorkerStatus(i);
    EXPECT_TRUE(status.ok()) << status.status();
    if (status.ok()) n += status->tasks_completed();
  }
  return n;
}

TEST(SchedulerRestartTest, GraphInFlightFinishesWithoutRecomputingWhatSurvived) {
  LocalCluster::Options options;
  options.workers = 2;
  // Placement waits this long after the first sign of a restart, so both
  // workers have reported what they hold before anything is recomputed.
  options.scheduler_args = {"--recovery-hold", "3"};
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.Start().ok()) << cluster.Logs();
  auto client = Client::Connect(cluster.scheduler_address());
  ASSERT_TRUE(client.ok()) << client.status();

  // A result the client holds before the crash (its definition is gone
  // from the client once it is in memory).
  SubmitOptions early_opts;
  early_opts.key = "early";
  auto early = (*client)->Submit("inc", {Value::Int(100)}, early_opts);
  ASSERT_TRUE(early.ok()) << early.status();
  ASSERT_EQ(early->Result(std::chrono::seconds(30))->as_int(), 101);

  // 20 roots finish at once; the second half waits for a 2 s gate that is
  // still running when the scheduler dies.
  constexpr int kRoots = 20;
  std::vector<v1::TaskSpec> graph;
  std::vector<std::string> wanted;
  graph.push_back(Spec("gate", "sleep", {Value::Double(2.0), Value::Int(0)}));
  for (int i = 0; i < kRoots; ++i) {
    graph.push_back(Spec(absl::StrCat("root-", i), "inc", {Value::Int(i)}));
    wanted.push_back(absl::StrCat("second-", i));
    graph.push_back(Spec(wanted.back(), "add",
                         {Value::Ref(absl::StrCat("root-", i)), Value::Ref("gate")}));
  }
  auto futures = (*client)->SubmitGraph(graph, wanted);
  ASSERT_TRUE(futures.ok()) << futures.status();
  ASSERT_TRUE(WaitUntil([&] {
    auto info = cluster.ClusterInfo();
    return info.ok() && TasksIn(*info, "memory") == kRoots + 1;  // the roots and early
  })) << cluster.Logs();
  const int64_t run_before = TasksRun(cluster);
  ASSERT_FALSE((*futures)[0].done()) << "the gate finished before the crash; nothing is proven";

  ASSERT_TRUE(cluster.RestartScheduler().ok()) << cluster.Logs();
  for (int i = 0; i < kRoots; ++i) {
    auto v = (*futures)[i].Result(std::chrono::seconds(60));
    ASSERT_TRUE(v.ok()) << wanted[i] << ": " << v.status() << "\n" << cluster.Logs();
    EXPECT_EQ(v->as_int(), i + 1) << wanted[i];
  }
  // Run again: the 20 second-half tasks and the gate, which was running at
  // the crash (its first run may count too, finishing after the crash).
  // The roots, held by the workers, are not: that would be 20 more.
  const int64_t rerun = TasksRun(cluster) - run_before;
  EXPECT_GE(rerun, kRoots + 1);
  EXPECT_LE(rerun, kRoots + 2) << cluster.Logs();

  // The result held before the crash is known to the new scheduler, where
  // it was, and still this client's.
  auto info = cluster.ClusterInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->workers_size(), 2);
  EXPECT_EQ(info->clients(), 1);
  EXPECT_EQ(TasksIn(*info, "processing"), 0);
  EXPECT_EQ(early->Result(std::chrono::seconds(10))->as_int(), 101);
  EXPECT_EQ(early->status(), "finished");
  // The reconnected session works for new work.
  auto later = (*client)->Submit("inc", {Value::Int(1)});
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->Result(std::chrono::seconds(30))->as_int(), 2);

  // Releasing everything frees everything, adopted keys included.
  futures->clear();
  *early = Future();
  *later = Future();
  EXPECT_TRUE(WaitUntil([&] {
    auto after = cluster.ClusterInfo();
    if (!after.ok()) return false;
    int64_t held = 0;
    for (const auto& w : after->workers()) held += w.keys_held();
    return held == 0;
  })) << cluster.Logs();
}

}  // namespace
}  // namespace taskgrid
