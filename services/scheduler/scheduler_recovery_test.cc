// Unit tests of scheduler restart recovery in the state machine: workers
// re-registering with the results they hold, clients re-declaring keys and
// re-sending definitions, in either order. Every test ends with Validate(),
// which also checks the orphan and held lists for leaks.

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/scheduler/scheduler_state.h"
#include "services/scheduler/scheduler_test_fixture.h"

namespace taskgrid::scheduler {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

using testing_util::Def;
using testing_util::SchedulerStateTest;

constexpr double kGrace = 30.0;
constexpr double kHold = 2.0;

SchedulerState::Options RecoveryOptions() {
  SchedulerState::Options o;
  o.orphan_grace_seconds = kGrace;
  o.recovery_hold_seconds = kHold;
  return o;
}

class RecoveryTest : public SchedulerStateTest {
 protected:
  RecoveryTest() : SchedulerStateTest(RecoveryOptions()) {}

  // A worker re-registering with the results it holds (8 bytes each).
  WorkerId Rejoin(const std::string& address, const std::vector<std::string>& held) {
    WorkerDef def;
    def.address = address;
    def.nthreads = 1;
    def.functions = {"builtin/inc", "builtin/add"};
    std::vector<DepLocation> locations;
    for (const auto& key : held) locations.push_back({key, {address}, 8});
    auto id = state_.AddWorker(def, locations);
    EXPECT_TRUE(id.ok()) << id.status();
    return *id;
  }

  void PassTime(double seconds) {
    now_ += seconds;
    state_.ExpireRecovery();
  }
};

TEST_F(RecoveryTest, HeldResultsAreAdoptedAndNotRecomputedWhenTheGraphIsSentAgain) {
  WorkerId w = Rejoin("w1:1", {"a", "b"});
  EXPECT_EQ(Status("a"), KeyStatus::kMemory);
  EXPECT_EQ(state_.num_orphans(), 2u);
  ExpectValid();

  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(
      state_.UpdateGraph(c, {Def("a"), Def("b"), Def("s", {"a", "b"}, "add")}, {"s"}, 0).ok());
  EXPECT_EQ(state_.num_orphans(), 0u);
  // Other workers may still be reconnecting: s waits out the hold.
  EXPECT_EQ(Status("s"), KeyStatus::kWaiting);
  EXPECT_EQ(state_.num_held(), 1u);
  ExpectValid();
  PassTime(kHold);
  EXPECT_EQ(state_.num_held(), 0u);
  EXPECT_THAT(out_.ComputeKeys(w), ElementsAre("s"));  // a and b are never computed
  Finish(w, "s");
  EXPECT_EQ(Status("s"), KeyStatus::kMemory);
  // Defined now, a and b follow the ordinary rules: freed once s is done.
  EXPECT_EQ(Status("a"), KeyStatus::kReleased);
  EXPECT_THAT(out_.frees[w], UnorderedElementsAre("a", "b"));
  ExpectValid();
}

TEST_F(RecoveryTest, UnclaimedResultsAreFreedAfterTheGracePeriod) {
  WorkerId w = Rejoin("w1:1", {"x", "y"});
  PassTime(kGrace / 2);
  EXPECT_EQ(Status("x"), KeyStatus::kMemory);
  EXPECT_THAT(out_.frees[w], IsEmpty());
  ExpectValid();
  PassTime(kGrace);
  EXPECT_EQ(Status("x"), KeyStatus::kForgotten);
  EXPECT_THAT(out_.frees[w], UnorderedElementsAre("x", "y"));
  EXPECT_EQ(state_.num_tasks(), 0u);
  EXPECT_EQ(state_.num_orphans(), 0u);
  ExpectValid();
}

TEST_F(RecoveryTest, ClientReconnectingBeforeTheWorkersWaitsForTheirResults) {
  ClientId c = state_.AddClient("c");
  state_.RedeclareKeys(c, {"r"});  // in memory before the restart
  EXPECT_EQ(Status("r"), KeyStatus::kReleased);
  ExpectValid();
  // Its pending task, depending on r, is sent again.
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("s", {"r"})}, {"s"}, 0).ok());
  EXPECT_EQ(Status("s"), KeyStatus::kWaiting);
  ExpectValid();

  WorkerId w = Rejoin("w1:1", {"r"});
  EXPECT_EQ(Status("r"), KeyStatus::kMemory);
  EXPECT_THAT(out_.Events(c), Contains(Pair("r", KeyStatus::kMemory)));
  EXPECT_THAT(out_.ComputeKeys(w), IsEmpty());  // held back
  ExpectValid();
  PassTime(kHold);
  EXPECT_THAT(out_.ComputeKeys(w), ElementsAre("s"));
  Finish(w, "s");
  EXPECT_EQ(Status("s"), KeyStatus::kMemory);
  EXPECT_EQ(Status("r"), KeyStatus::kMemory);  // still wanted
  state_.RemoveClient(c);  // claimed, so freed at once when released
  EXPECT_EQ(state_.num_tasks(), 0u);
  EXPECT_THAT(out_.frees[w], UnorderedElementsAre("r", "s"));
  ExpectValid();
}

TEST_F(RecoveryTest, ResentTaskGoesToMemoryWhenAWorkerReportsItLater) {
  ClientId c = state_.AddClient("c");
  state_.RedeclareKeys(c, {"done-before"});  // starts the hold
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("a"), Def("b", {"a"})}, {"b"}, 0).ok());
  WorkerId w1 = Rejoin("w1:1", {});
  EXPECT_EQ(Status("a"), KeyStatus::kWaiting);  // held: w1 gets nothing yet
  EXPECT_THAT(out_.ComputeKeys(w1), IsEmpty());
  WorkerId w2 = Rejoin("w2:1", {"a", "done-before"});
  EXPECT_EQ(Status("a"), KeyStatus::kMemory);
  ExpectValid();
  PassTime(kHold);
  ASSERT_EQ(out_.computes.size(), 1u);
  EXPECT_EQ(out_.computes[0].key, "b");
  FinishEverything();
  EXPECT_EQ(Status("b"), KeyStatus::kMemory);
  EXPECT_EQ(out_.FindCompute("a"), nullptr);
  (void)w2;
  ExpectValid();
}

TEST_F(RecoveryTest, ReportedResultOfATaskRunningElsewhereStopsThatRun) {
  WorkerId w1 = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("a")}, {"a"}, 0).ok());
  ASSERT_EQ(Status("a"), KeyStatus::kProcessing);
  // A worker whose connection dropped rejoins holding a (it had finished
  // it before the scheduler saw the result).
  WorkerId w2 = Rejoin("w2:1", {"a"});
  EXPECT_EQ(Status("a"), KeyStatus::kMemory);
  EXPECT_THAT(out_.frees[w1], ElementsAre("a"));
  ExpectValid();
  Finish(w1, "a");  // a late result is just another replica
  EXPECT_EQ(Status("a"), KeyStatus::kMemory);
  (void)w2;
  ExpectValid();
}

TEST_F(RecoveryTest, RedeclaredKeyNoWorkerReportsErrsAfterTheGracePeriod) {
  ClientId c = state_.AddClient("c");
  state_.RedeclareKeys(c, {"gone"});
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("next", {"gone"})}, {"next"}, 0).ok());
  ExpectValid();
  PassTime(kGrace);
  EXPECT_EQ(Status("gone"), KeyStatus::kErred);
  EXPECT_EQ(Status("next"), KeyStatus::kErred);
  ASSERT_FALSE(out_.events[c].empty());
  EXPECT_EQ(out_.events[c][0].status, KeyStatus::kErred);
  EXPECT_THAT(out_.events[c][0].error->message, HasSubstr("scheduler restarted"));
  ExpectValid();
  state_.ReleaseKeys(c, {"gone", "next"});
  EXPECT_EQ(state_.num_tasks(), 0u);
  ExpectValid();
}

TEST_F(RecoveryTest, ClaimedAdoptedResultLostWithItsWorkerErrs) {
  WorkerId w = Rejoin("w1:1", {"v"});
  ClientId c = state_.AddClient("c");
  state_.RedeclareKeys(c, {"v"});
  EXPECT_THAT(out_.Events(c), ElementsAre(Pair("v", KeyStatus::kMemory)));
  PassTime(kGrace);
  EXPECT_EQ(Status("v"), KeyStatus::kMemory);
  state_.RemoveWorker(w, "killed");
  // Nothing can compute it: it waits for another report, then errs.
  EXPECT_EQ(Status("v"), KeyStatus::kReleased);
  ExpectValid();
  PassTime(1.0);
  EXPECT_EQ(Status("v"), KeyStatus::kErred);
  ExpectValid();
  state_.RemoveClient(c);
  EXPECT_EQ(state_.num_tasks(), 0u);
  ExpectValid();
}

TEST_F(RecoveryTest, DefiningAnAdoptedKeyCannotCloseACycle) {
  Rejoin("w1:1", {"a"});
  ClientId c = state_.AddClient("c");
  auto added = state_.UpdateGraph(c, {Def("a", {"b"}), Def("b", {"a"})}, {"b"}, 0);
  ASSERT_FALSE(added.ok());
  EXPECT_THAT(std::string(added.status().message()), HasSubstr("cycle"));
  EXPECT_EQ(Status("b"), KeyStatus::kForgotten);
  EXPECT_EQ(state_.num_orphans(), 1u);  // still adopted, untouched
  ExpectValid();
}

TEST_F(RecoveryTest, ReconnectingClientMayDependOnKeysOnlyAWorkerStillHolds) {
  ClientId other = state_.AddClient("new");
  EXPECT_FALSE(state_.UpdateGraph(other, {Def("t", {"released-before"})}, {"t"}, 0).ok());
  ClientId c = state_.AddClient("c");
  state_.RedeclareKeys(c, {});  // a reconnecting client with nothing in memory
  // It had released the dependency's future; a worker still holds it.
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("t", {"released-before"})}, {"t"}, 0).ok());
  EXPECT_EQ(Status("released-before"), KeyStatus::kReleased);
  ExpectValid();
  WorkerId w = Rejoin("w1:1", {"released-before"});
  PassTime(kHold);
  EXPECT_THAT(out_.ComputeKeys(w), ElementsAre("t"));
  Finish(w, "t");
  EXPECT_EQ(Status("t"), KeyStatus::kMemory);
  // Never defined, the dependency lives out its grace period.
  EXPECT_THAT(out_.frees[w], IsEmpty());
  PassTime(kGrace);
  EXPECT_THAT(out_.frees[w], ElementsAre("released-before"));
  ExpectValid();
  state_.RemoveClient(c);
  state_.RemoveClient(other);
  EXPECT_EQ(state_.num_tasks(), 0u);
  ExpectValid();
}

TEST_F(RecoveryTest, WorkerCutOffAndBackFreesForgottenKeysAndAddsReplicas) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("a")}, {"a"}, 0).ok());
  const WorkerId ran_a = out_.computes.back().worker;
  Finish(ran_a, "a");
  // The worker holding a misses its heartbeats and is removed; a is
  // recomputed on the other.
  state_.RemoveWorker(ran_a, "heartbeat timeout");
  const WorkerId other = ran_a == w1 ? w2 : w1;
  Finish(other, "a");
  EXPECT_EQ(Status("a"), KeyStatus::kMemory);
  const size_t events = out_.events[c].size();
  // It comes back to the same scheduler holding a and a key forgotten
  // meanwhile: a becomes a replica, the other is freed; no hold, no
  // adoption, no new event for the client.
  WorkerDef def;
  def.address = "w1-again:1";
  def.functions = {"builtin/inc"};
  auto back = state_.AddWorker(def, {{"a", {"w1-again:1"}, 8}, {"forgotten", {"w1-again:1"}, 8}},
                               /*adopt_unknown=*/false);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(Status("forgotten"), KeyStatus::kForgotten);
  EXPECT_THAT(out_.frees[*back], ElementsAre("forgotten"));
  EXPECT_EQ(state_.num_orphans(), 0u);
  EXPECT_EQ(out_.events[c].size(), events);
  ASSERT_EQ(state_.WhoHas({"a"}).size(), 1u);
  EXPECT_EQ(state_.WhoHas({"a"})[0].workers.size(), 2u);
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("b")}, {"b"}, 0).ok());
  EXPECT_EQ(Status("b"), KeyStatus::kProcessing);  // no recovery hold
  ExpectValid();
}

TEST_F(RecoveryTest, NoHoldWithoutSignsOfARestart) {
  WorkerId w = Rejoin("w1:1", {});
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("a")}, {"a"}, 0).ok());
  EXPECT_THAT(out_.ComputeKeys(w), ElementsAre("a"));
  ExpectValid();
}

}  // namespace
}  // namespace taskgrid::scheduler
