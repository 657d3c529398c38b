// Unit tests of the scheduling policies (graph order, priorities, queueing
// of root tasks, resources, work stealing) on the state machine directly,
// with fake workers and an injected clock. Each ends with Validate(), and
// the ones that run to the end check that nothing leaked.

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/scheduler/scheduler_state.h"
#include "services/scheduler/scheduler_test_fixture.h"

namespace taskgrid::scheduler {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing_util::Def;
using testing_util::RootGraph;
using testing_util::RootTasks;
using testing_util::SchedulerStateTest;
using testing_util::Sent;

int64_t PriorityOf(const std::vector<Sent>& sent, const std::string& key) {
  for (const auto& s : sent) {
    if (s.key == key) return s.priority;
  }
  ADD_FAILURE() << key << " was never sent";
  return 0;
}

using PolicyTest = SchedulerStateTest;

// leaf0 leaf1   leaf2 leaf3
//    \  /          \  /
//    mid0          mid1
//        \        /
//          root
TEST_F(PolicyTest, GraphOrderFinishesABranchBeforeStartingTheNext) {
  WorkerId w = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_
                  .UpdateGraph(c,
                               {Def("leaf3"), Def("leaf2"), Def("leaf1"), Def("leaf0"),
                                Def("mid1", {"leaf2", "leaf3"}, "add"),
                                Def("mid0", {"leaf0", "leaf1"}, "add"),
                                Def("root", {"mid0", "mid1"}, "add")},
                               {"root"}, 0)
                  .ok());
  // One thread, saturation 1.1: two root slots, given in graph order (the
  // first branch's leaves) whatever the submission order was.
  EXPECT_THAT(out_.ComputeKeys(w), ElementsAre("leaf0", "leaf1"));
  EXPECT_EQ(state_.num_queued(), 2u);
  // (Long tasks: no queueing ahead beyond the saturation factor.)
  Finish(w, "leaf0", 8, 1.0);
  Finish(w, "leaf1", 8, 1.0);
  // mid0 is sent after the next leaf, and the worker runs it first; leaf3
  // waits for a slot.
  EXPECT_THAT(out_.ComputeKeys(w), ElementsAre("leaf0", "leaf1", "leaf2", "mid0"));
  EXPECT_GT(PriorityOf(out_.computes, "mid0"), PriorityOf(out_.computes, "leaf2"));
  EXPECT_EQ(Status("leaf3"), KeyStatus::kQueued);
  ExpectValid();
  FinishEverything();
  EXPECT_EQ(Status("root"), KeyStatus::kMemory);
  state_.ReleaseKeys(c, {"root"});
  EXPECT_EQ(state_.num_tasks(), 0u);
  ExpectValid();
}

TEST_F(PolicyTest, UserPriorityComesBeforeGraphOrderAndSubmissionOrder) {
  WorkerId w = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  std::vector<TaskDef> low, high;
  for (int i = 0; i < 4; ++i) low.push_back(Def("low" + std::to_string(i)));
  for (int i = 0; i < 4; ++i) high.push_back(Def("high" + std::to_string(i)));
  high[3].priority = 5;  // per-task priority adds to the graph's
  ASSERT_TRUE(state_.UpdateGraph(c, low, {"low0", "low1", "low2", "low3"}, 0).ok());
  ASSERT_TRUE(state_.UpdateGraph(c, high, {"high0", "high1", "high2", "high3"}, 10).ok());
  EXPECT_THAT(out_.ComputeKeys(w), ElementsAre("low0", "low1"));
  Finish(w, "low0", 8, 1.0);
  Finish(w, "low1", 8, 1.0);
  Finish(w, "high3", 8, 1.0);
  EXPECT_THAT(out_.ComputeKeys(w),
              ElementsAre("low0", "low1", "high3", "high0", "high1"));
  EXPECT_GT(PriorityOf(out_.computes, "high0"), PriorityOf(out_.computes, "low1"));
  FinishEverything();
  EXPECT_EQ(state_.num_queued(), 0u);
  ExpectValid();
}

TEST_F(PolicyTest, RootTasksQueueUntilSlotsFreeAndNewWorkersTakeThem) {
  WorkerId w1 = AddWorker("w1:1", 2);
  ClientId c = state_.AddClient("c");
  const RootGraph g = RootTasks("x", 40);
  ASSERT_TRUE(state_.UpdateGraph(c, g.tasks, g.keys, 0).ok());
  // ceil(2 threads * 1.1) = 3 while the function's duration is unknown.
  EXPECT_EQ(out_.ComputeKeys(w1).size(), 3u);
  EXPECT_EQ(state_.num_queued(), 37u);
  EXPECT_EQ(Status("x5"), KeyStatus::kQueued);
  ExpectValid();
  // A worker joining takes queued work at once.
  WorkerId w2 = AddWorker("w2:1", 1);
  EXPECT_EQ(out_.ComputeKeys(w2).size(), 2u);
  // Once tasks are known to take 1 ms, a worker may hold 5 ms of them per
  // thread: 10 slots on w1.
  Finish(w1, "x0", 8, 0.001);
  EXPECT_EQ(out_.ComputeKeys(w1).size(), 11u);
  ExpectValid();
  FinishAllAndRelease(c, g.keys);
}

// Neighbouring root tasks (what the next level of a reduction combines)
// go to one worker in runs: placed while the worker has room, and queued
// ones handed out once half of its slots are free, not one at a time.
TEST_F(PolicyTest, ConsecutiveRootTasksGoToOneWorkerInRuns) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  ClientId c = state_.AddClient("c");
  const RootGraph g = RootTasks("x", 20);
  ASSERT_TRUE(state_.UpdateGraph(c, g.tasks, g.keys, 0).ok());
  // Two slots each while the duration is unknown: pairs, not alternation.
  EXPECT_THAT(out_.ComputeKeys(w1), ElementsAre("x0", "x1"));
  EXPECT_THAT(out_.ComputeKeys(w2), ElementsAre("x2", "x3"));
  // 1 ms tasks: 5 slots per thread; w1 has 4 free and takes the next 4.
  Finish(w1, "x0", 8, 0.001);
  EXPECT_THAT(out_.ComputeKeys(w1), ElementsAre("x0", "x1", "x4", "x5", "x6", "x7"));
  // One free slot of 5 is not enough to refill...
  Finish(w1, "x1", 8, 0.001);
  EXPECT_EQ(out_.ComputeKeys(w1).size(), 6u);
  EXPECT_EQ(Status("x8"), KeyStatus::kQueued);
  ExpectValid();
  // ...two are: the next run of consecutive tasks.
  Finish(w1, "x4", 8, 0.001);
  EXPECT_THAT(out_.ComputeKeys(w1),
              ElementsAre("x0", "x1", "x4", "x5", "x6", "x7", "x8", "x9"));
  FinishAllAndRelease(c, g.keys);
}

// Fetching an input costs a fixed latency on top of its bytes, so a tiny
// task runs where its inputs are unless that worker is well behind.
TEST_F(PolicyTest, ATinyTaskStaysWithItsInputsUnlessThatWorkerIsFarBehind) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("a"), Def("b")}, {"a", "b"}, 0).ok());
  ASSERT_THAT(out_.ComputeKeys(w1), ElementsAre("a", "b"));
  Finish(w1, "a");
  // w1 still runs b (1 ms estimated): less than fetching both inputs.
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("ab", {"a", "b"}, "add")}, {"ab"}, 0).ok());
  Finish(w1, "b");
  EXPECT_THAT(out_.ComputeKeys(w1), ElementsAre("a", "b", "ab"));
  // With 10 s of work queued on w1, the other worker fetches them instead.
  TaskDef slow = Def("slow", {}, "sum");
  slow.workers = {"w1:1"};
  ASSERT_TRUE(state_.UpdateGraph(c, {slow}, {"slow"}, 0).ok());
  Finish(w1, "slow", 8, 10.0);
  TaskDef slow2 = Def("slow2", {}, "sum");
  slow2.workers = {"w1:1"};
  ASSERT_TRUE(state_.UpdateGraph(c, {slow2}, {"slow2"}, 0).ok());
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("ab2", {"a", "b"}, "add")}, {"ab2"}, 0).ok());
  EXPECT_THAT(out_.ComputeKeys(w2), ElementsAre("ab2"));
  FinishEverything();
  state_.ReleaseKeys(c, {"a", "b", "ab", "slow", "slow2", "ab2"});
  EXPECT_EQ(state_.num_tasks(), 0u);
  ExpectValid();
}

TEST_F(PolicyTest, ResourcesAreHeldWhileATaskRuns) {
  WorkerId gpu = AddWorker("gpu:1", 4, {{"GPU", 1}});
  WorkerId cpu = AddWorker("cpu:1", 4);
  ClientId c = state_.AddClient("c");
  TaskDef a = Def("a"), b = Def("b"), big = Def("big");
  a.resources = {{"GPU", 1}};
  b.resources = {{"GPU", 1}};
  big.resources = {{"GPU", 2}};
  ASSERT_TRUE(state_.UpdateGraph(c, {a, b}, {"a", "b"}, 0).ok());
  EXPECT_THAT(out_.ComputeKeys(gpu), ElementsAre("a"));
  EXPECT_EQ(Status("b"), KeyStatus::kQueued);
  EXPECT_TRUE(out_.ComputeKeys(cpu).empty());
  ExpectValid();
  Finish(gpu, "a");
  EXPECT_THAT(out_.ComputeKeys(gpu), ElementsAre("a", "b"));
  ExpectValid();
  // More than any worker has: reported, and it waits for such a worker.
  ASSERT_TRUE(state_.UpdateGraph(c, {big}, {"big"}, 0).ok());
  EXPECT_EQ(Status("big"), KeyStatus::kNoWorker);
  ASSERT_FALSE(out_.events[c].empty());
  ASSERT_NE(out_.events[c].back().error, nullptr);
  EXPECT_THAT(out_.events[c].back().error->message, HasSubstr("GPU=2"));
  WorkerId gpus = AddWorker("gpus:1", 1, {{"GPU", 2}});
  EXPECT_THAT(out_.ComputeKeys(gpus), ElementsAre("big"));
  FinishEverything();
  ExpectValid();
}

TEST_F(PolicyTest, QueuedTasksWhoseOnlyWorkerLeftBecomeNoWorker) {
  WorkerId gpu = AddWorker("gpu:1", 1, {{"GPU", 1}});
  AddWorker("cpu:1", 1);
  ClientId c = state_.AddClient("c");
  TaskDef a = Def("a"), b = Def("b");
  a.resources = {{"GPU", 1}};
  b.resources = {{"GPU", 1}};
  ASSERT_TRUE(state_.UpdateGraph(c, {a, b}, {"a", "b"}, 0).ok());
  EXPECT_EQ(Status("b"), KeyStatus::kQueued);
  state_.RemoveWorker(gpu, "killed");
  EXPECT_EQ(Status("a"), KeyStatus::kNoWorker);
  EXPECT_EQ(Status("b"), KeyStatus::kNoWorker);
  EXPECT_EQ(state_.num_queued(), 0u);
  ExpectValid();
}

TEST_F(PolicyTest, PausedAndRetiringWorkersGetNoNewTasks) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  ClientId c = state_.AddClient("c");
  state_.Heartbeat(w1, 100, 50, /*paused=*/true);
  state_.RetireWorker(w2);
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("a"), Def("b", {"a"})}, {"b"}, 0).ok());
  // Both could run it: it waits in the queue rather than erring.
  EXPECT_EQ(Status("a"), KeyStatus::kQueued);
  EXPECT_TRUE(out_.computes.empty());
  auto workers = state_.Workers();
  EXPECT_STREQ(workers[0].status, "paused");
  EXPECT_EQ(workers[0].spilled_bytes, 50);
  EXPECT_STREQ(workers[1].status, "retiring");
  ExpectValid();
  // Memory is back: the queue goes to w1, and b follows there too.
  state_.Heartbeat(w1, 10, 0, false);
  EXPECT_THAT(out_.ComputeKeys(w1), ElementsAre("a"));
  Finish(w1, "a");
  EXPECT_THAT(out_.ComputeKeys(w1), ElementsAre("a", "b"));
  EXPECT_TRUE(out_.ComputeKeys(w2).empty());
  ExpectValid();
}

TEST_F(PolicyTest, APausedWorkersQueuedTasksAreStolen) {
  WorkerId w1 = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("data")}, {"data"}, 0).ok());
  Finish(w1, "data");
  ASSERT_TRUE(
      state_.UpdateGraph(c, {Def("x", {"data"}), Def("y", {"data"})}, {"x", "y"}, 0).ok());
  state_.Heartbeat(w1, 100, 0, /*paused=*/true);
  AddWorker("w2:1");
  state_.Balance();
  // The new worker has room for one, and asks for the paused worker's task.
  ASSERT_EQ(out_.steals.size(), 1u);
  EXPECT_EQ(out_.steals[0].first, w1);
  ExpectValid();
}

// Tasks that depend on data only one worker had when they became ready.
class StealingTest : public SchedulerStateTest {
 protected:
  void SetUp() override {
    w1_ = AddWorker("w1:1");
    c_ = state_.AddClient("c");
    ASSERT_TRUE(state_.UpdateGraph(c_, {Def("data")}, {"data"}, 0).ok());
    Finish(w1_, "data", 64);
    std::vector<TaskDef> g;
    for (int i = 0; i < 10; ++i) {
      g.push_back(Def("t" + std::to_string(i), {"data"}));
      keys_.push_back(g.back().key);
    }
    ASSERT_TRUE(state_.UpdateGraph(c_, g, keys_, 0).ok());
    ASSERT_EQ(out_.ComputeKeys(w1_).size(), 11u);  // non-root: all sent
  }
  WorkerId w1_ = kNoWorker;
  ClientId c_ = 0;
  std::vector<std::string> keys_;
};

TEST_F(StealingTest, AnIdleWorkerStealsTheLastQueuedTasks) {
  WorkerId w2 = AddWorker("w2:1");
  state_.Balance();
  // w2 has room for 1 (its one thread); w1's lowest-priority task is asked.
  ASSERT_EQ(out_.steals.size(), 1u);
  EXPECT_EQ(out_.steals[0].first, w1_);
  EXPECT_EQ(out_.steals[0].second, "t9");
  // A second balance doesn't ask again while the answer is pending.
  state_.Balance();
  EXPECT_EQ(out_.steals.size(), 1u);
  state_.StealResponse(w1_, "t9", true);
  EXPECT_THAT(out_.ComputeKeys(w2), ElementsAre("t9"));
  const Sent* moved = out_.FindCompute("t9");
  ASSERT_EQ(moved->who_has.size(), 1u);
  EXPECT_THAT(moved->who_has[0].workers, ElementsAre("w1:1"));
  EXPECT_EQ(state_.steals(), 1u);
  ExpectValid();
  FinishEverything();
  for (const auto& k : keys_) EXPECT_EQ(Status(k), KeyStatus::kMemory);
  ExpectValid();
}

TEST_F(StealingTest, AStealThatRacesWithTheTaskStartingRunsItOnce) {
  WorkerId w2 = AddWorker("w2:1");
  state_.Balance();
  ASSERT_EQ(out_.steals.size(), 1u);
  const std::string key = out_.steals[0].second;
  // The victim started it before the request arrived: "not stolen".
  state_.StealResponse(w1_, key, false);
  EXPECT_TRUE(out_.ComputeKeys(w2).empty());
  EXPECT_EQ(Status(key), KeyStatus::kProcessing);
  // ... or finished it before answering: the late answer changes nothing.
  state_.Balance();
  ASSERT_EQ(out_.steals.size(), 2u);
  const std::string key2 = out_.steals[1].second;
  Finish(w1_, key2);
  state_.StealResponse(w1_, key2, false);
  EXPECT_EQ(Status(key2), KeyStatus::kMemory);
  EXPECT_TRUE(out_.ComputeKeys(w2).empty());
  EXPECT_EQ(state_.steals(), 0u);
  ExpectValid();
}

TEST_F(StealingTest, NoStealWhenMovingTheInputsCostsMoreThanWaiting) {
  // A huge input: fetching it takes longer than the whole queue.
  ASSERT_TRUE(state_.UpdateGraph(c_, {Def("huge")}, {"huge"}, 0).ok());
  Finish(w1_, "huge", int64_t{10} << 30);
  ASSERT_TRUE(state_.UpdateGraph(c_, {Def("h1", {"huge"}), Def("h2", {"huge"})},
                                 {"h1", "h2"}, 0)
                  .ok());
  for (const auto& k : keys_) Finish(w1_, k);
  AddWorker("w2:1");
  state_.Balance();
  EXPECT_TRUE(out_.steals.empty());
  ExpectValid();
}

TEST_F(StealingTest, StealsOnceTheFunctionTurnsOutSlowerThanAssumed) {
  // The ten tasks were charged the default duration when sent; finishing
  // one shows they take a second each, which makes moving them worth it.
  Finish(w1_, "t0", 8, 1.0);
  AddWorker("w2:1");
  state_.Balance();
  EXPECT_EQ(out_.steals.size(), 1u);
  ExpectValid();
}

TEST_F(StealingTest, ThiefLeavingBeforeTheAnswerPlacesTheTaskAgain) {
  WorkerId w2 = AddWorker("w2:1");
  state_.Balance();
  ASSERT_EQ(out_.steals.size(), 1u);
  const std::string key = out_.steals[0].second;
  state_.RemoveWorker(w2, "killed");
  state_.StealResponse(w1_, key, true);
  EXPECT_EQ(Status(key), KeyStatus::kProcessing);
  EXPECT_EQ(out_.FindCompute(key)->worker, w1_);
  ExpectValid();
}

}  // namespace
}  // namespace taskgrid::scheduler
