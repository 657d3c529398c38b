// Unit tests of the scheduler's cluster data operations (scatter,
// replicate, rebalance) with fake workers: no sockets, no sleeps. Every
// test ends with Validate().

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
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

using testing_util::Def;
using testing_util::SchedulerStateTest;

DepLocation Loc(const std::string& key, std::vector<std::string> workers, int64_t nbytes) {
  DepLocation d;
  d.key = key;
  d.workers = std::move(workers);
  d.nbytes = nbytes;
  return d;
}

class DataOpsTest : public SchedulerStateTest {
 protected:
  std::vector<std::string> Holders(const std::string& key) {
    auto locs = state_.WhoHas({key});
    return locs.empty() ? std::vector<std::string>{} : locs[0].workers;
  }
  // x scattered to w1 only; z, restricted to w2, needs it.
  void ScatterOnW1ForZOnW2(WorkerId* w1, WorkerId* w2) {
    *w1 = AddWorker("w1:1");
    *w2 = AddWorker("w2:1");
    ClientId c = state_.AddClient("c");
    ASSERT_TRUE(state_.UpdateData(c, {Loc("x", {"w1:1"}, 8)}).ok());
    TaskDef z = Def("z", {"x"});
    z.workers = {"w2:1"};
    ASSERT_TRUE(state_.UpdateGraph(c, {z}, {"z"}, 0).ok());
  }
  int KeysHeld(WorkerId w) {
    for (const auto& v : state_.Workers()) {
      if (v.id == w) return v.keys_held;
    }
    return -1;
  }
};

TEST_F(DataOpsTest, ScatteredKeysAreInMemoryWhereTheClientPutThem) {
  WorkerId w1 = AddWorker("w1:1");
  AddWorker("w2:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateData(c, {Loc("x", {"w1:1"}, 8), Loc("y", {"w1:1", "w2:1"}, 16)}).ok());
  EXPECT_EQ(Status("x"), KeyStatus::kMemory);
  EXPECT_EQ(Status("y"), KeyStatus::kMemory);
  EXPECT_THAT(Holders("x"), ElementsAre("w1:1"));
  EXPECT_THAT(Holders("y"), UnorderedElementsAre("w1:1", "w2:1"));
  EXPECT_EQ(KeysHeld(w1), 2);
  // Nothing is computed; the client hears that both are in memory.
  EXPECT_TRUE(out_.computes.empty());
  EXPECT_THAT(out_.Events(c), ElementsAre(std::make_pair("x", KeyStatus::kMemory),
                                          std::make_pair("y", KeyStatus::kMemory)));
  EXPECT_EQ(out_.events[c][1].nbytes, 16);
  // Scattering the same key again confirms it once more.
  ASSERT_TRUE(state_.UpdateData(c, {Loc("x", {"w2:1"}, 8)}).ok());
  EXPECT_THAT(Holders("x"), UnorderedElementsAre("w1:1", "w2:1"));
  ASSERT_EQ(out_.events[c].size(), 3u);
  EXPECT_EQ(out_.events[c][2].status, KeyStatus::kMemory);
  ExpectValid();
}

TEST_F(DataOpsTest, BadScatterIsRefusedWhole) {
  AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("t")}, {"t"}, 0).ok());
  absl::Status s = state_.UpdateData(c, {Loc("a", {"w1:1"}, 8), Loc("b", {"gone:1"}, 8)});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("\"b\": none of its workers (gone:1) is connected"));
  EXPECT_EQ(Status("a"), KeyStatus::kForgotten);
  s = state_.UpdateData(c, {Loc("t", {"w1:1"}, 8)});
  EXPECT_THAT(s.message(), HasSubstr("already exists as a task"));
  EXPECT_FALSE(state_.UpdateData(c, {Loc("", {"w1:1"}, 8)}).ok());
  ExpectValid();
}

TEST_F(DataOpsTest, ATaskUsesScatteredDataAsItsInput) {
  AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateData(c, {Loc("x", {"w2:1"}, 64 << 20)}).ok());
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("z", {"x"})}, {"z"}, 0).ok());
  EXPECT_EQ(Status("z"), KeyStatus::kProcessing);
  const auto* sent = out_.FindCompute("z");
  ASSERT_NE(sent, nullptr);
  EXPECT_EQ(sent->worker, w2);  // where its 64 MiB input is
  ASSERT_EQ(sent->who_has.size(), 1u);
  EXPECT_THAT(sent->who_has[0].workers, ElementsAre("w2:1"));
  ExpectValid();
  Finish(w2, "z");
  EXPECT_EQ(Status("z"), KeyStatus::kMemory);
  ExpectValid();
}

TEST_F(DataOpsTest, ReleasedScatteredDataIsFreedAndCannotBeRecomputed) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateData(c, {Loc("x", {"w1:1", "w2:1"}, 8), Loc("y", {"w1:1"}, 8)}).ok());
  state_.ReleaseKeys(c, {"y"});
  EXPECT_EQ(Status("y"), KeyStatus::kForgotten);
  EXPECT_THAT(out_.frees[w1], ElementsAre("y"));
  ExpectValid();

  // z depends on x; once x is released it stays as z's (released) input.
  TaskDef z = Def("z", {"x"});
  z.workers = {"w2:1"};
  ASSERT_TRUE(state_.UpdateGraph(c, {z}, {"z"}, 0).ok());
  Finish(w2, "z");
  state_.ReleaseKeys(c, {"x"});
  EXPECT_EQ(Status("x"), KeyStatus::kReleased);
  EXPECT_THAT(out_.frees[w1], ElementsAre("y", "x"));
  EXPECT_THAT(out_.frees[w2], ElementsAre("x"));
  ExpectValid();
  // z's only copy is lost: recomputing it would need x, which nobody has.
  state_.RemoveWorker(w2, "killed");
  EXPECT_EQ(Status("x"), KeyStatus::kErred);
  EXPECT_EQ(Status("z"), KeyStatus::kErred);
  const KeyEventOut& last = out_.events[c].back();
  EXPECT_EQ(last.key, "z");
  EXPECT_EQ(last.status, KeyStatus::kErred);
  ASSERT_NE(last.error, nullptr);
  EXPECT_EQ(last.error->cause_key, "x");
  EXPECT_THAT(last.error->message, HasSubstr("scattered data lost"));
  ExpectValid();
}

TEST_F(DataOpsTest, ScatteredDataErrsWhenEveryHolderDies) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  WorkerId w3 = AddWorker("w3:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateData(c, {Loc("x", {"w1:1"}, 8), Loc("y", {"w1:1", "w2:1"}, 8)}).ok());
  // z runs on w3 and has not fetched x yet when x's holder dies.
  TaskDef z = Def("z", {"x"});
  z.workers = {"w3:1"};
  ASSERT_TRUE(state_.UpdateGraph(c, {z}, {"z"}, 0).ok());
  ASSERT_EQ(Status("z"), KeyStatus::kProcessing);
  state_.RemoveWorker(w1, "killed");
  EXPECT_EQ(Status("x"), KeyStatus::kErred);
  EXPECT_EQ(Status("y"), KeyStatus::kMemory);  // a copy survives
  EXPECT_THAT(Holders("y"), ElementsAre("w2:1"));
  const KeyEventOut* lost = nullptr;
  for (const auto& e : out_.events[c]) {
    if (e.key == "x" && e.status == KeyStatus::kErred) lost = &e;
  }
  ASSERT_NE(lost, nullptr);
  ASSERT_NE(lost->error, nullptr);
  EXPECT_EQ(lost->error->type, "ScatteredDataLost");
  EXPECT_THAT(lost->error->message, HasSubstr("scattered data lost"));
  ExpectValid();
  // w3 cannot get x: z inherits the error instead of waiting forever.
  state_.MissingData(w3, "z", {Loc("x", {"w1:1"}, 8)});
  EXPECT_EQ(Status("z"), KeyStatus::kErred);
  ExpectValid();
  // Released, the erred keys are forgotten.
  state_.ReleaseKeys(c, {"x", "y", "z"});
  EXPECT_EQ(state_.num_tasks(), 0u);
  EXPECT_THAT(out_.frees[w2], ElementsAre("y"));
  ExpectValid();
}

TEST_F(DataOpsTest, ReplicateCopiesUntilNHoldersAndDropsExtras) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  WorkerId w3 = AddWorker("w3:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateData(c, {Loc("x", {"w1:1"}, 8)}).ok());
  auto started = state_.Replicate({"x"}, 3, {});
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_THAT(*started, ElementsAre("x"));
  ASSERT_EQ(out_.acquires[w2].size(), 1u);
  EXPECT_EQ(out_.acquires[w2][0].key, "x");
  EXPECT_THAT(out_.acquires[w2][0].workers, ElementsAre("w1:1"));
  ASSERT_EQ(out_.acquires[w3].size(), 1u);
  EXPECT_TRUE(state_.TransfersPending({"x"}));
  ExpectValid();
  // Asking again while the copies travel sends nothing new.
  ASSERT_TRUE(state_.Replicate({"x"}, 3, {}).ok());
  EXPECT_EQ(out_.acquires[w2].size(), 1u);
  state_.KeysAdded(w2, {Loc("x", {"w2:1"}, 8)});
  EXPECT_TRUE(state_.TransfersPending({"x"}));
  state_.KeysAdded(w3, {Loc("x", {"w3:1"}, 8)});
  EXPECT_FALSE(state_.TransfersPending({"x"}));
  EXPECT_THAT(Holders("x"), UnorderedElementsAre("w1:1", "w2:1", "w3:1"));
  ExpectValid();
  // Down to one copy: two holders let theirs go.
  ASSERT_TRUE(state_.Replicate({"x"}, 1, {}).ok());
  EXPECT_EQ(Holders("x").size(), 1u);
  EXPECT_EQ(out_.frees[w1].size() + out_.frees[w2].size() + out_.frees[w3].size(), 2u);
  // Bad requests name the problem.
  EXPECT_THAT(state_.Replicate({"nope"}, 2, {}).status().message(), HasSubstr("unknown key"));
  EXPECT_THAT(state_.Replicate({"x"}, 2, {"w9:1"}).status().message(),
              HasSubstr("no connected worker named or at w9:1"));
  ExpectValid();
}

TEST_F(DataOpsTest, AFailedOrDeadTransferEndsAndTheKeyStays) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  WorkerId w3 = AddWorker("w3:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateData(c, {Loc("x", {"w1:1", "w2:1"}, 8), Loc("y", {"w1:1"}, 8)}).ok());
  ASSERT_TRUE(state_.Replicate({"x", "y"}, 3, {}).ok());
  EXPECT_EQ(state_.num_transfers(), 2u);
  // w3 could not get x from w2 (w2's copy is gone); w3 then dies.
  state_.MissingData(w3, "", {Loc("x", {"w2:1"}, 8)});
  EXPECT_THAT(Holders("x"), ElementsAre("w1:1"));
  ExpectValid();
  state_.RemoveWorker(w3, "killed");
  EXPECT_EQ(state_.num_transfers(), 1u);  // y's copy to w2 is still on its way
  state_.KeysAdded(w2, {Loc("y", {"w2:1"}, 8)});
  EXPECT_EQ(state_.num_transfers(), 0u);
  EXPECT_THAT(Holders("y"), UnorderedElementsAre("w1:1", "w2:1"));
  EXPECT_EQ(Status("x"), KeyStatus::kMemory);
  (void)w1;
  ExpectValid();
}

TEST_F(DataOpsTest, UnreachableLiveHolderKeepsTheOnlyCopyOfScatteredData) {
  WorkerId w1, w2;
  ScatterOnW1ForZOnW2(&w1, &w2);
  ASSERT_EQ(Status("z"), KeyStatus::kProcessing);
  ASSERT_EQ(out_.ComputeKeys(w2).size(), 1u);
  // w2's transfer from w1 stalled: w1 is still connected, so its copy is
  // kept (nothing freed on it) and z runs again where it may fetch it.
  state_.MissingData(w2, "z", {Loc("x", {"w1:1"}, 8)}, {"w1:1"});
  EXPECT_EQ(Status("x"), KeyStatus::kMemory);
  EXPECT_THAT(Holders("x"), ElementsAre("w1:1"));
  EXPECT_THAT(out_.frees[w1], IsEmpty());
  EXPECT_EQ(Status("z"), KeyStatus::kProcessing);
  EXPECT_EQ(out_.ComputeKeys(w2).size(), 2u);
  ExpectValid();
  // A holder that answered it lacks the value loses its copy: that is lost.
  state_.MissingData(w2, "z", {Loc("x", {"w1:1"}, 8)});
  EXPECT_EQ(Status("x"), KeyStatus::kErred);
  EXPECT_EQ(Status("z"), KeyStatus::kErred);
  EXPECT_THAT(out_.frees[w1], ElementsAre("x"));
  ExpectValid();
}

TEST_F(DataOpsTest, ScatteredDataIsLostOnlyWhenItsUnreachableHolderLeaves) {
  WorkerId w1, w2;
  ScatterOnW1ForZOnW2(&w1, &w2);
  state_.MissingData(w2, "z", {Loc("x", {"w1:1"}, 8)}, {"w1:1"});
  state_.MissingData(w2, "z", {Loc("x", {"w1:1"}, 8)}, {"w1:1"});
  EXPECT_EQ(Status("x"), KeyStatus::kMemory);
  ExpectValid();
  state_.RemoveWorker(w1, "heartbeat timeout");
  EXPECT_EQ(Status("x"), KeyStatus::kErred);
  ExpectValid();
  // z, still running on w2 when its input was lost, errs once w2 reports.
  state_.MissingData(w2, "z", {Loc("x", {"w1:1"}, 8)}, {"w1:1"});
  EXPECT_EQ(Status("z"), KeyStatus::kErred);
  ExpectValid();
}

TEST_F(DataOpsTest, UnreachableHolderOfComputedDataIsDroppedAndItIsRecomputed) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  ClientId c = state_.AddClient("c");
  TaskDef a = Def("a", {});
  a.workers = {"w1:1"};
  TaskDef b = Def("b", {"a"});
  b.workers = {"w2:1"};
  ASSERT_TRUE(state_.UpdateGraph(c, {a, b}, {"b"}, 0).ok());
  Finish(w1, "a");
  ASSERT_EQ(Status("b"), KeyStatus::kProcessing);
  state_.MissingData(w2, "b", {Loc("a", {"w1:1"}, 8)}, {"w1:1"});
  EXPECT_THAT(out_.frees[w1], ElementsAre("a"));
  EXPECT_EQ(Status("a"), KeyStatus::kProcessing);  // recomputed rather than waited for
  ExpectValid();
}

TEST_F(DataOpsTest, RebalanceMovesFromAboveTheMeanToBelowIt) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  WorkerId w3 = AddWorker("w3:1");
  ClientId c = state_.AddClient("c");
  std::vector<DepLocation> data;
  for (int i = 0; i < 6; ++i) data.push_back(Loc("k" + std::to_string(i), {"w1:1"}, 100));
  ASSERT_TRUE(state_.UpdateData(c, data).ok());
  auto moved = state_.Rebalance({}, {});
  ASSERT_TRUE(moved.ok()) << moved.status();
  // Mean 200: w1 gives 2 keys to each of w2 and w3.
  EXPECT_EQ(moved->keys_moved, 4);
  EXPECT_EQ(moved->bytes_moved, 400);
  EXPECT_EQ(out_.acquires[w2].size(), 2u);
  EXPECT_EQ(out_.acquires[w3].size(), 2u);
  EXPECT_TRUE(out_.frees[w1].empty());  // not before the copies arrive
  ExpectValid();
  for (WorkerId w : {w2, w3}) {
    for (const DepLocation& loc : out_.acquires[w]) {
      EXPECT_THAT(loc.workers, ElementsAre("w1:1"));
      state_.KeysAdded(w, {Loc(loc.key, {}, loc.nbytes)});
    }
  }
  EXPECT_EQ(KeysHeld(w1), 2);
  EXPECT_EQ(KeysHeld(w2), 2);
  EXPECT_EQ(KeysHeld(w3), 2);
  EXPECT_EQ(out_.frees[w1].size(), 4u);
  EXPECT_FALSE(state_.TransfersPending(moved->keys));
  // Balanced: nothing more to move.
  auto again = state_.Rebalance({}, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->keys_moved, 0);
  EXPECT_THAT(again->keys, IsEmpty());
  ExpectValid();
}

}  // namespace
}  // namespace taskgrid::scheduler
