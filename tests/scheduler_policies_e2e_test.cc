// End-to-end tests of the scheduler's policies on real clusters (the
// taskgrid-scheduler and taskgrid-worker binaries on 127.0.0.1), driven
// through the C++ client: recovery from a worker killed mid-graph, keys
// shared by two clients, cancel, retries, work stealing to a worker that
// joins, `workers=` restrictions, abstract resources and priorities.
//
// Where a test needs to know where or when a task ran it asks the cluster,
// not the clock: a result's holders (KeyInfo::workers) say which worker ran
// it, and the builtin timed_sleep returns its own [start, stop].

#include <signal.h>

#include <algorithm>
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

using ::testing::HasSubstr;
using testing::LocalCluster;
using testing::Spec;
using testing::WaitUntil;

constexpr auto kTimeout = std::chrono::seconds(30);

LocalCluster::Options Workers(int workers, int nthreads = 1,
                             std::vector<std::string> scheduler_args = {}) {
  LocalCluster::Options o;
  o.workers = workers;
  o.nthreads = nthreads;
  o.scheduler_args = std::move(scheduler_args);
  return o;
}

SubmitOptions Keyed(const std::string& key) {
  SubmitOptions o;
  o.key = key;
  return o;
}
SubmitOptions WithRetries(const std::string& key, int retries) {
  SubmitOptions o = Keyed(key);
  o.retries = retries;
  return o;
}
SubmitOptions WithPriority(const std::string& key, int64_t priority) {
  SubmitOptions o = Keyed(key);
  o.priority = priority;
  return o;
}
SubmitOptions WithResource(const std::string& key, const std::string& name, double amount) {
  SubmitOptions o = Keyed(key);
  o.resources[name] = amount;
  return o;
}
SubmitOptions OnWorkers(std::vector<std::string> workers) {
  SubmitOptions o;
  o.workers = std::move(workers);
  return o;
}

// The one worker holding a finished key (the one that ran it, for a task
// nothing else depends on).
std::string HolderOf(const Future& f) {
  KeyInfo info = f.Info();
  return info.workers.size() == 1 ? info.workers[0] : absl::StrCat(info.workers.size(), " holders");
}

// [start, stop] returned by timed_sleep.
struct Interval {
  double start;
  double stop;
};
Interval IntervalOf(const Value& v) {
  return {v.as_list().at(0).as_double(), v.as_list().at(1).as_double()};
}

class PoliciesTest : public ::testing::Test {
 protected:
  // Starts a cluster and connects client_ (a fatal failure when it can't:
  // call it in ASSERT_NO_FATAL_FAILURE).
  void StartCluster(LocalCluster::Options options) {
    cluster_ = std::make_unique<LocalCluster>(std::move(options));
    absl::Status s = cluster_->Start();
    ASSERT_TRUE(s.ok()) << s << cluster_->Logs();
    client_ = Connect();
    ASSERT_NE(client_, nullptr);
  }
  std::unique_ptr<Client> Connect() {
    auto c = Client::Connect(cluster_->scheduler_address());
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }
  void TearDown() override {
    if (HasFailure() && cluster_ != nullptr) std::cerr << cluster_->Logs();
  }
  std::string StateCounts() {
    auto info = cluster_->ClusterInfo();
    if (!info.ok()) return std::string(info.status().message());
    std::string out;
    for (const auto& [state, count] : info->tasks_by_state()) {
      absl::StrAppend(&out, state, "=", count, " ");
    }
    return out;
  }
  int64_t TasksInScheduler() {
    auto info = cluster_->ClusterInfo();
    if (!info.ok()) return -1;
    int64_t n = 0;
    for (const auto& [state, count] : info->tasks_by_state()) n += count;
    return n;
  }
  // Submit that must be accepted.
  Future MustSubmit(Client& c, const std::string& fn, std::vector<Value> args,
                    const SubmitOptions& opts = {}) {
    auto f = c.Submit(fn, std::move(args), opts);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? *f : Future();
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<Client> client_;
};

// 1. A tree reduction of 25,000 leaves (50,000 tasks) on three workers; one
// is SIGKILLed once part of the graph is done. Lost results are recomputed
// and the sum is exact.
TEST_F(PoliciesTest, WorkerKilledInTheMiddleOfA50kTaskGraph) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(Workers(3)));
  const int64_t leaves = 25000;
  std::vector<v1::TaskSpec> graph;
  graph.reserve(2 * leaves);
  std::vector<std::string> level;
  for (int64_t i = 0; i < leaves; ++i) {
    level.push_back(absl::StrCat("leaf-", i));
    graph.push_back(Spec(level.back(), "inc", {Value::Int(i)}));
  }
  for (int depth = 0; level.size() > 1; ++depth) {
    std::vector<std::string> next;
    for (size_t i = 0; i < level.size(); i += 2) {
      std::vector<Value> parts = {Value::Ref(level[i])};
      if (i + 1 < level.size()) parts.push_back(Value::Ref(level[i + 1]));
      next.push_back(absl::StrCat("sum-", depth, "-", i / 2));
      graph.push_back(Spec(next.back(), "sum", {Value::List(std::move(parts))}));
    }
    level = std::move(next);
  }
  ASSERT_GE(graph.size(), 49999u);
  auto futures = client_->SubmitGraph(graph, {level[0]});
  ASSERT_TRUE(futures.ok()) << futures.status();
  const Future& total = (*futures)[0];
  // Kill once a fifth of the tasks are done (finished tasks drop to
  // released once their dependents have their values).
  ASSERT_TRUE(WaitUntil([&] {
    auto info = cluster_->ClusterInfo();
    if (!info.ok()) return false;
    auto released = info->tasks_by_state().find("released");
    return released != info->tasks_by_state().end() &&
           released->second >= static_cast<int64_t>(graph.size()) / 5;
  })) << "no progress: " << StateCounts();
  EXPECT_FALSE(total.done()) << "the graph finished before the kill; the test proves nothing";
  cluster_->worker_process(1).Signal(SIGKILL);
  auto v = total.Result(std::chrono::seconds(60));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->as_int(), leaves * (leaves + 1) / 2);
  ASSERT_TRUE(cluster_->WaitForWorkers(2, std::chrono::seconds(10)).ok());
  EXPECT_TRUE(cluster_->worker_process(1).Wait(std::chrono::seconds(1)).has_value());
}

// 2. Two clients submit the same keys with the same specs: the tasks are
// shared; one client's cancel or release doesn't take the result from the
// other.
TEST_F(PoliciesTest, TwoClientsShareKeysThroughCancelAndRelease) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(Workers(2)));
  auto other = Connect();
  ASSERT_NE(other, nullptr);
  auto graph = [] {
    return std::vector<v1::TaskSpec>{
        Spec("shared-slow", "sleep", {Value::Double(0.4), Value::Int(20)}),
        Spec("shared-inc", "inc", {Value::Ref("shared-slow")}),
    };
  };
  auto mine = client_->SubmitGraph(graph(), {"shared-slow", "shared-inc"});
  ASSERT_TRUE(mine.ok()) << mine.status();
  auto theirs = other->SubmitGraph(graph(), {"shared-slow", "shared-inc"});
  ASSERT_TRUE(theirs.ok()) << theirs.status();

  // My cancel of the slow key (and, with it, of my dependent) is mine only.
  ASSERT_TRUE(client_->CancelKeys({"shared-slow"}, /*force=*/false).ok());
  auto cancelled = (*mine)[0].Result(kTimeout);
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled) << cancelled.status();
  EXPECT_EQ((*mine)[0].status(), "cancelled");
  auto slow = (*theirs)[0].Result(kTimeout);
  ASSERT_TRUE(slow.ok()) << slow.status();
  EXPECT_EQ(slow->as_int(), 20);
  auto inc = (*theirs)[1].Result(kTimeout);
  ASSERT_TRUE(inc.ok()) << inc.status();
  EXPECT_EQ(inc->as_int(), 21);

  // Both want a second shared key; I release mine, theirs stays readable.
  auto again = [] { return std::vector<v1::TaskSpec>{Spec("shared-b", "arange", {Value::Int(10)})}; };
  auto my_b = client_->SubmitGraph(again(), {"shared-b"});
  auto their_b = other->SubmitGraph(again(), {"shared-b"});
  ASSERT_TRUE(my_b.ok() && their_b.ok());
  ASSERT_TRUE((*my_b)[0].Result(kTimeout).ok());
  my_b->clear();  // my last future for shared-b: released
  mine->clear();
  // A round trip on my session after the releases: the scheduler has
  // applied them once this answers (one ordered stream per client).
  Future ping = MustSubmit(*client_, "inc", {Value::Int(0)});
  ASSERT_TRUE(ping.Result(kTimeout).ok());
  // Besides ping, only the other client's wants keep shared-b, shared-slow
  // and shared-inc in memory.
  auto b = (*their_b)[0].Result(kTimeout);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->as_array().NumElements(), 10);
  auto info = cluster_->ClusterInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->tasks_by_state().at("memory"), 4);

  // When the other client lets go too, everything is freed.
  ping = Future();
  their_b->clear();
  theirs->clear();
  ASSERT_TRUE(WaitUntil([&] { return TasksInScheduler() == 0; }))
      << TasksInScheduler() << " tasks left";
}

// 3. Cancelling a key cancels what only it needed; what another wanted key
// needs keeps going, and the cluster keeps working.
TEST_F(PoliciesTest, CancelDropsWhatOnlyTheCancelledKeyNeeded) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(Workers(2)));
  std::vector<v1::TaskSpec> graph = {
      Spec("root", "sleep", {Value::Double(0.4), Value::Int(1)}),
      Spec("only-for-b", "inc", {Value::Ref("root")}),
      Spec("b", "inc", {Value::Ref("only-for-b")}),
      Spec("keep", "inc", {Value::Ref("root")}),
  };
  auto futures = client_->SubmitGraph(graph, {"b", "keep"});
  ASSERT_TRUE(futures.ok()) << futures.status();
  ASSERT_TRUE(client_->Cancel({(*futures)[0]}).ok());
  auto b = (*futures)[0].Result(kTimeout);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kCancelled) << b.status();
  auto keep = (*futures)[1].Result(kTimeout);
  ASSERT_TRUE(keep.ok()) << keep.status();
  EXPECT_EQ(keep->as_int(), 2);
  // "only-for-b" went with "b"; "keep" is in memory and "root" was freed
  // once "keep" had its value (released, kept as long as "keep" is).
  ASSERT_TRUE(WaitUntil([&] { return StateCounts() == "memory=1 released=1 "; }))
      << StateCounts();

  // A cancelled running task: the cluster goes on computing.
  Future slow = MustSubmit(*client_, "sleep", {Value::Double(0.3), Value::Int(5)},
                           Keyed("slow"));
  ASSERT_TRUE(WaitUntil([&] {
    auto i = cluster_->ClusterInfo();
    return i.ok() && i->tasks_by_state().count("processing") &&
           i->tasks_by_state().at("processing") > 0;
  }));
  slow.Cancel();
  EXPECT_TRUE(slow.Wait(kTimeout));
  EXPECT_EQ(slow.status(), "cancelled");
  Future after = MustSubmit(*client_, "add", {Value::Int(40), Value::Int(2)});
  auto v = after.Result(kTimeout);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->as_int(), 42);
}

// 4. retries=2 gives a task three runs: enough when it fails twice, not
// when it fails three times (the error names the last failure). The runs
// may land on either worker; the counter file is shared.
TEST_F(PoliciesTest, RetriesRerunAFailingTaskUpToTheLimit) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(Workers(2)));
  const std::string ok_counter = cluster_->dir() + "/ok.count";
  const std::string bad_counter = cluster_->dir() + "/bad.count";
  Future ok = MustSubmit(*client_, "fail_times",
                         {Value::String(ok_counter), Value::Int(2), Value::String("third time")},
                         WithRetries("retry-ok", 2));
  Future bad = MustSubmit(*client_, "fail_times",
                          {Value::String(bad_counter), Value::Int(3), Value::String("never")},
                          WithRetries("retry-bad", 2));
  auto v = ok.Result(kTimeout);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->as_string(), "third time");
  auto e = bad.Result(kTimeout);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("fail_times: failure 3 of 3"));
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("retry-bad"));
  EXPECT_EQ(testing::ReadFile(ok_counter), "3");
  EXPECT_EQ(testing::ReadFile(bad_counter), "3");  // three runs, no fourth
  // Without retries the first failure is final.
  const std::string once_counter = cluster_->dir() + "/once.count";
  Future once = MustSubmit(*client_, "fail_times", {Value::String(once_counter), Value::Int(1)},
                           Keyed("no-retry"));
  EXPECT_THAT(std::string(once.Result(kTimeout).status().message()),
              HasSubstr("fail_times: failure 1 of 1"));
}

// 5. Tasks that depend on data on the only worker all go there; a worker
// that joins while they queue steals some of them.
// With `learn_duration`, one sleep runs first so that the scheduler knows
// how long they take before it sends the rest.
std::vector<Future> SubmitSleepersOnOneInput(Client& client, int n, bool learn_duration) {
  auto input = client.Submit("identity", {Value::Double(0.1)}, Keyed("input"));
  EXPECT_TRUE(input.ok()) << input.status();
  EXPECT_TRUE(input->Result(kTimeout).ok());
  if (learn_duration) {
    auto first = client.Submit("sleep", {input->AsArg()}, Keyed("first-sleeper"));
    EXPECT_TRUE(first.ok() && first->Result(kTimeout).ok());
  }
  std::vector<Future> out;
  for (int i = 0; i < n; ++i) {
    // sleep(seconds=input, value=i): not a root task, so never queued in
    // the scheduler; all are sent to the worker holding `input`.
    auto f = client.Submit("sleep", {input->AsArg(), Value::Int(i)},
                           Keyed(absl::StrCat("sleeper-", i)));
    EXPECT_TRUE(f.ok()) << f.status();
    if (f.ok()) out.push_back(*f);
  }
  return out;
}

int CountRanOn(const std::vector<Future>& futures, const std::string& address) {
  int n = 0;
  for (const Future& f : futures) n += HolderOf(f) == address;
  return n;
}

TEST_F(PoliciesTest, WorkerJoiningMidGraphStealsQueuedWork) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(Workers(1)));
  std::vector<Future> sleepers = SubmitSleepersOnOneInput(*client_, 24, true);
  auto added = cluster_->AddWorker();
  ASSERT_TRUE(added.ok()) << added.status();
  auto values = client_->Gather(sleepers);
  ASSERT_TRUE(values.ok()) << values.status();
  for (int i = 0; i < 24; ++i) EXPECT_EQ((*values)[i].as_int(), i);
  const int stolen = CountRanOn(sleepers, cluster_->worker_address(*added));
  EXPECT_GT(stolen, 0) << "the new worker ran none of the queued tasks";
  EXPECT_EQ(stolen + CountRanOn(sleepers, cluster_->worker_address(0)), 24);
}

// The same when the tasks were sent before any of them had finished: the
// first completion teaches the real duration, which makes stealing pay.
TEST_F(PoliciesTest, WorkerJoiningStealsTasksSentBeforeTheirDurationWasKnown) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(Workers(1)));
  std::vector<Future> sleepers = SubmitSleepersOnOneInput(*client_, 24, false);
  auto added = cluster_->AddWorker();
  ASSERT_TRUE(added.ok()) << added.status();
  ASSERT_TRUE(client_->Gather(sleepers).ok());
  EXPECT_GT(CountRanOn(sleepers, cluster_->worker_address(*added)), 0)
      << "the new worker ran none of the queued tasks";
}

TEST_F(PoliciesTest, WithoutWorkStealingAJoiningWorkerGetsNoneOfTheQueuedWork) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(Workers(1, 1, {"--no-work-stealing"})));
  std::vector<Future> sleepers = SubmitSleepersOnOneInput(*client_, 12, true);
  auto added = cluster_->AddWorker();
  ASSERT_TRUE(added.ok()) << added.status();
  ASSERT_TRUE(client_->Gather(sleepers).ok());
  EXPECT_EQ(CountRanOn(sleepers, cluster_->worker_address(0)), 12);
}

// 6. `workers=` pins tasks to a named worker; resources are held while a
// task runs (GPU=1 on a two-thread worker: one at a time); a task needing
// more than any worker has is reported no-worker and runs once a worker
// with enough joins.
TEST_F(PoliciesTest, RestrictionsAndResourcesAreHonoured) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(Workers(2, 2)));
  auto gpu = cluster_->AddWorker({"--resources", "GPU=1"});
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  const std::string gpu_address = cluster_->worker_address(*gpu);

  std::vector<Future> pinned;
  for (int i = 0; i < 8; ++i) {
    pinned.push_back(MustSubmit(*client_, "inc", {Value::Int(i)}, OnWorkers({"worker-1"})));
  }
  ASSERT_TRUE(client_->Gather(pinned).ok());
  for (const Future& f : pinned) EXPECT_EQ(HolderOf(f), cluster_->worker_address(1));

  std::vector<Future> on_gpu;
  for (int i = 0; i < 2; ++i) {
    on_gpu.push_back(MustSubmit(*client_, "timed_sleep", {Value::Double(0.3)},
                                WithResource(absl::StrCat("gpu-", i), "GPU", 1)));
  }
  auto spans = client_->Gather(on_gpu);
  ASSERT_TRUE(spans.ok()) << spans.status();
  for (const Future& f : on_gpu) EXPECT_EQ(HolderOf(f), gpu_address);
  const Interval a = IntervalOf((*spans)[0]);
  const Interval b = IntervalOf((*spans)[1]);
  EXPECT_TRUE(a.stop <= b.start || b.stop <= a.start)
      << "GPU=1 tasks overlapped: [" << a.start << ", " << a.stop << "] and [" << b.start
      << ", " << b.stop << "]";

  Future big = MustSubmit(*client_, "inc", {Value::Int(5)},
                          WithResource("needs-two-gpus", "GPU", 2));
  ASSERT_TRUE(big.Wait(kTimeout));
  EXPECT_EQ(big.Info().state, v1::KEY_STATE_NO_WORKER);
  const std::string why(big.Result(kTimeout).status().message());
  EXPECT_THAT(why, HasSubstr("no connected worker can run task needs-two-gpus"));
  EXPECT_THAT(why, HasSubstr("GPU=2"));
  auto big_gpu = cluster_->AddWorker({"--resources", "GPU=2"});
  ASSERT_TRUE(big_gpu.ok()) << big_gpu.status();
  ASSERT_TRUE(WaitUntil([&] { return big.Info().state == v1::KEY_STATE_MEMORY; }))
      << "state " << big.Info().state;
  auto v = big.Result(kTimeout);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->as_int(), 6);
  EXPECT_EQ(HolderOf(big), cluster_->worker_address(*big_gpu));
}

// 7. With the only thread busy, tasks submitted later at a higher priority
// run before the low-priority ones submitted first.
TEST_F(PoliciesTest, HigherPriorityRunsFirst) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(Workers(1, 1)));
  auto input = client_->Submit("identity", {Value::Double(0.02)}, Keyed("input"));
  ASSERT_TRUE(input.ok() && input->Result(kTimeout).ok());
  Future blocker = MustSubmit(*client_, "timed_sleep", {Value::Double(0.5)}, Keyed("blocker"));
  // Once the blocker runs, everything below waits in the worker's queue
  // (or else the high-priority tasks would rightly overtake it too).
  ASSERT_TRUE(WaitUntil([&] {
    auto status = cluster_->WorkerStatus(0);
    return status.ok() && status->executing() == 1;
  }));
  auto submit = [&](const std::string& name, int64_t priority) {
    std::vector<Future> out;
    for (int i = 0; i < 5; ++i) {
      out.push_back(MustSubmit(*client_, "timed_sleep", {input->AsArg()},
                               WithPriority(absl::StrCat(name, i), priority)));
    }
    return out;
  };
  std::vector<Future> low = submit("low-", 0);
  std::vector<Future> high = submit("high-", 10);
  auto blocked = blocker.Result(kTimeout);
  auto lows = client_->Gather(low);
  auto highs = client_->Gather(high);
  ASSERT_TRUE(blocked.ok() && lows.ok() && highs.ok());
  double first_low = 1e300;
  for (const Value& v : *lows) first_low = std::min(first_low, IntervalOf(v).start);
  for (const Value& v : *highs) {
    EXPECT_GE(IntervalOf(v).start, IntervalOf(*blocked).stop);
    EXPECT_LT(IntervalOf(v).stop, first_low + 1e-3)
        << "a high-priority task ran after a low-priority one";
  }
}

// 8. Chains are pipelined: each chain's next tasks wait on the worker of
// the task before them. A worker SIGKILLed while chains run there, and a
// link of a chain that fails once and is retried, both leave every chain
// computed exactly: what waited on the dead worker or behind the failed
// link is placed again.
TEST_F(PoliciesTest, PipelinedChainsSurviveAKilledWorkerAndARetriedLink) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(Workers(3)));
  const int chains = 6;
  const int steps = 60;  // per chain: 30 sleeps of 10 ms and 30 incs
  const std::string counter = cluster_->dir() + "/flaky.count";
  std::vector<v1::TaskSpec> graph;
  std::vector<std::string> ends;
  for (int c = 0; c < chains; ++c) {
    std::string prev = absl::StrCat("link-", c, "-0");
    graph.push_back(Spec(prev, "inc", {Value::Int(0)}));
    for (int i = 1; i <= steps; ++i) {
      std::string key = absl::StrCat("link-", c, "-", i);
      if (c == 0 && i == 5) {
        // Fails the first time it runs, then passes its input on.
        graph.push_back(Spec(key, "fail_times",
                             {Value::String(counter), Value::Int(1), Value::Ref(prev)}));
        graph.back().set_retries(1);
      } else if (i % 2 == 1) {
        graph.push_back(Spec(key, "sleep", {Value::Double(0.01), Value::Ref(prev)}));
      } else {
        graph.push_back(Spec(key, "inc", {Value::Ref(prev)}));
      }
      prev = key;
    }
    ends.push_back(prev);
  }
  auto futures = client_->SubmitGraph(graph, ends);
  ASSERT_TRUE(futures.ok()) << futures.status();
  // Kill once a few tens of links are done (finished links drop to
  // released once the next one has their value), while worker 1 holds
  // links waiting for the ones before them.
  ASSERT_TRUE(WaitUntil([&] {
    auto info = cluster_->ClusterInfo();
    auto status = cluster_->WorkerStatus(1);
    return info.ok() && testing::TasksIn(*info, "released") >= 40 && status.ok() &&
           status->waiting() > 0;
  })) << "no progress: " << StateCounts();
  cluster_->worker_process(1).Signal(SIGKILL);
  for (int c = 0; c < chains; ++c) {
    auto v = (*futures)[c].Result(std::chrono::seconds(60));
    ASSERT_TRUE(v.ok()) << ends[c] << ": " << v.status();
    // 1 from link 0, then one per inc link (the even ones).
    EXPECT_EQ(v->as_int(), 1 + steps / 2) << ends[c];
  }
  EXPECT_EQ(testing::ReadFile(counter), "2");  // failed once, retried once
  EXPECT_TRUE(cluster_->worker_process(1).Wait(std::chrono::seconds(1)).has_value());
}

}  // namespace
}  // namespace taskgrid
