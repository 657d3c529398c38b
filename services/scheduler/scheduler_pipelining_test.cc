// Unit tests of chain pipelining (Options::max_ahead) on the state machine
// directly: a chain's next tasks are sent to the worker of the task before
// them at once, and everything that can happen to that task (it errs, its
// worker dies, it is cancelled, the worker cannot keep it) ends with the
// chain computed once and correctly, or erred, and nothing leaked.

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/scheduler/scheduler_state.h"
#include "services/scheduler/scheduler_test_fixture.h"

namespace taskgrid::scheduler {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing_util::Def;
using testing_util::SchedulerStateTest;

SchedulerState::Options Pipelining() {
  SchedulerState::Options o;
  o.max_ahead = 3;
  return o;
}

// c0 <- c1 <- ... <- c<n-1>: each task the only dependent of the one before.
std::vector<TaskDef> Chain(int n) {
  std::vector<TaskDef> tasks;
  for (int i = 0; i < n; ++i) {
    tasks.push_back(i == 0 ? Def("c0") : Def("c" + std::to_string(i),
                                             {"c" + std::to_string(i - 1)}));
  }
  return tasks;
}

class PipeliningTest : public SchedulerStateTest {
 protected:
  PipeliningTest() : SchedulerStateTest(Pipelining()) {}

  ErrorInfo Boom() {
    ErrorInfo e;
    e.message = "boom";
    e.type = "FunctionError";
    return e;
  }
  // What the worker answers for a task sent ahead whose input it will not
  // compute: MissingData naming no holder.
  void CannotKeep(WorkerId w, const std::string& key, const std::string& input) {
    DepLocation loc;
    loc.key = input;
    state_.MissingData(w, key, {loc}, {});
  }
};

TEST_F(PipeliningTest, AChainGoesToOneWorkerAheadOfItsInputs) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, Chain(8), {"c7"}, 0).ok());
  // c0 and the three after it, all on c0's worker, before anything ran.
  const WorkerId w = out_.FindCompute("c0")->worker;
  EXPECT_THAT(out_.ComputeKeys(w), ElementsAre("c0", "c1", "c2", "c3"));
  EXPECT_THAT(out_.ComputeKeys(w == w1 ? w2 : w1), IsEmpty());
  // c1's input is not anywhere yet: the worker computes it itself.
  EXPECT_EQ(out_.FindCompute("c1")->who_has.size(), 1u);
  EXPECT_THAT(out_.FindCompute("c1")->who_has[0].workers, IsEmpty());
  EXPECT_EQ(Status("c3"), KeyStatus::kProcessing);
  EXPECT_EQ(Status("c4"), KeyStatus::kWaiting);
  ExpectValid();
  // Nothing more goes out until the last task sent ahead is done; then
  // the next run of the chain follows it there.
  for (const char* k : {"c0", "c1", "c2"}) Finish(w, k);
  EXPECT_EQ(out_.computes.size(), 4u);
  Finish(w, "c3");
  EXPECT_THAT(out_.ComputeKeys(w),
              ElementsAre("c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"));
  FinishAllAndRelease(c, {"c7"});
}

TEST_F(PipeliningTest, TasksSentAheadTakeNoRootSlots) {
  WorkerId w = AddWorker("w1:1", /*nthreads=*/2);
  ClientId c = state_.AddClient("c");
  // Two chains of slow tasks on a 2-thread worker: both start at once.
  std::vector<TaskDef> tasks;
  for (const char* p : {"a", "b"}) {
    for (int i = 0; i < 4; ++i) {
      std::string key = p + std::to_string(i);
      tasks.push_back(i == 0 ? Def(key) : Def(key, {p + std::to_string(i - 1)}));
    }
  }
  ASSERT_TRUE(state_.UpdateGraph(c, tasks, {"a3", "b3"}, 0).ok());
  EXPECT_THAT(out_.ComputeKeys(w), ElementsAre("a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3"));
  ExpectValid();
  FinishAllAndRelease(c, {"a3", "b3"});
}

TEST_F(PipeliningTest, OnlyChainsArePipelined) {
  AddWorker("w1:1");
  AddWorker("w2:1");
  ClientId c = state_.AddClient("c");
  // A fan-out (two dependents) and a task with two inputs wait as usual:
  // sending either ahead would pin parallel work to one worker.
  ASSERT_TRUE(state_.UpdateGraph(c,
                                 {Def("x"), Def("y"), Def("fan1", {"x"}), Def("fan2", {"x"}),
                                  Def("pair", {"x", "y"}, "add")},
                                 {"fan1", "fan2", "pair"}, 0)
                  .ok());
  EXPECT_EQ(Status("fan1"), KeyStatus::kWaiting);
  EXPECT_EQ(Status("fan2"), KeyStatus::kWaiting);
  EXPECT_EQ(Status("pair"), KeyStatus::kWaiting);
  FinishAllAndRelease(c, {"fan1", "fan2", "pair"});
}

TEST_F(PipeliningTest, AnErredInputErrsWhatWasSentAheadAndTheWorkerDropsIt) {
  WorkerId w = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, Chain(3), {"c2"}, 0).ok());
  ASSERT_EQ(Status("c2"), KeyStatus::kProcessing);
  state_.TaskErred(w, "c0", Boom());
  EXPECT_EQ(Status("c1"), KeyStatus::kErred);
  EXPECT_EQ(Status("c2"), KeyStatus::kErred);
  EXPECT_THAT(out_.frees[w], ElementsAre("c1", "c2"));
  const auto& evs = out_.events[c];
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].key, "c2");
  EXPECT_EQ(evs[0].error->cause_key, "c0");
  EXPECT_EQ(evs[0].error->message, "boom");
  // The worker's own word that it dropped them changes nothing.
  CannotKeep(w, "c1", "c0");
  CannotKeep(w, "c2", "c1");
  EXPECT_EQ(Status("c2"), KeyStatus::kErred);
  EXPECT_EQ(out_.computes.size(), 3u);
  ExpectValid();
  state_.ReleaseKeys(c, {"c2"});
  EXPECT_EQ(state_.num_tasks(), 0u);
}

TEST_F(PipeliningTest, ARetriedInputTakesItsChainAlongAgain) {
  WorkerId w = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  std::vector<TaskDef> chain = Chain(3);
  chain[0].retries = 1;
  ASSERT_TRUE(state_.UpdateGraph(c, chain, {"c2"}, 0).ok());
  state_.TaskErred(w, "c0", Boom());
  // c0 runs again at once: tasks sent ahead take no root slot. c1 and c2
  // stay sent until the worker gives them back (its c0 failed).
  EXPECT_EQ(Status("c0"), KeyStatus::kProcessing);
  EXPECT_EQ(Status("c1"), KeyStatus::kProcessing);
  EXPECT_EQ(out_.computes.size(), 4u);
  ExpectValid();
  CannotKeep(w, "c1", "c0");
  CannotKeep(w, "c2", "c1");
  EXPECT_EQ(Status("c1"), KeyStatus::kWaiting);
  EXPECT_EQ(Status("c2"), KeyStatus::kWaiting);
  ExpectValid();
  Finish(w, "c0");
  EXPECT_EQ(Status("c1"), KeyStatus::kProcessing);
  EXPECT_EQ(Status("c2"), KeyStatus::kProcessing);
  EXPECT_EQ(out_.computes.size(), 6u);
  FinishAllAndRelease(c, {"c2"});
}

TEST_F(PipeliningTest, AChainWhoseWorkerDiesIsComputedElsewhere) {
  WorkerId w1 = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, Chain(4), {"c3"}, 0).ok());
  Finish(w1, "c0");
  WorkerId w2 = AddWorker("w2:1");
  state_.RemoveWorker(w1, "killed");
  ExpectValid();
  // c0's only copy died with w1: the chain starts over on w2, ahead again.
  EXPECT_THAT(out_.ComputeKeys(w2), ElementsAre("c0", "c1", "c2", "c3"));
  FinishAllAndRelease(c, {"c3"});
}

TEST_F(PipeliningTest, TasksSentAheadAndTheirInputsAreNeverStolen) {
  WorkerId w1 = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, Chain(4), {"c3"}, 0).ok());
  ASSERT_EQ(out_.ComputeKeys(w1).size(), 4u);
  AddWorker("w2:1");
  state_.Balance();
  EXPECT_TRUE(out_.steals.empty());
  FinishAllAndRelease(c, {"c3"});
}

TEST_F(PipeliningTest, CancellingTheEndOfAChainFreesItAllOnTheWorker) {
  WorkerId w = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, Chain(3), {"c2"}, 0).ok());
  state_.CancelKeys(c, {"c2"}, /*force=*/false);
  EXPECT_EQ(state_.num_tasks(), 0u);
  std::vector<std::string> freed = out_.frees[w];
  std::sort(freed.begin(), freed.end());
  EXPECT_THAT(freed, ElementsAre("c0", "c1", "c2"));
  // Late answers from the worker about them are ignored.
  Finish(w, "c0");
  CannotKeep(w, "c1", "c0");
  EXPECT_EQ(state_.num_tasks(), 0u);
  ExpectValid();
}

}  // namespace
}  // namespace taskgrid::scheduler
