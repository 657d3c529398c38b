// Unit tests of the scheduler state machine with fake workers and an
// injected clock: no sockets, no sleeps. Every test ends with Validate(),
// which also checks that no internal work list leaked.

#include "services/scheduler/scheduler_state.h"
#include "services/scheduler/scheduler_test_fixture.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid::scheduler {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

using testing_util::Def;
using testing_util::SchedulerStateTest;
using testing_util::Sent;

TEST_F(SchedulerStateTest, SingleTaskRunsAndNotifiesTheClient) {
  WorkerId w = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("x")}, {"x"}, 0).ok());
  EXPECT_EQ(Status("x"), KeyStatus::kProcessing);
  EXPECT_THAT(out_.ComputeKeys(w), ElementsAre("x"));
  Finish(w, "x", 8);
  EXPECT_EQ(Status("x"), KeyStatus::kMemory);
  ASSERT_EQ(out_.events[c].size(), 1u);
  EXPECT_EQ(out_.events[c][0].status, KeyStatus::kMemory);
  EXPECT_THAT(out_.events[c][0].workers, ElementsAre("w1:1"));
  EXPECT_EQ(out_.events[c][0].nbytes, 8);
  ExpectValid();
}

TEST_F(SchedulerStateTest, EveryTransitionOfATaskLifeCycle) {
  WorkerId w = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("a"), Def("b", {"a"})}, {"b"}, 0).ok());
  EXPECT_EQ(Status("a"), KeyStatus::kProcessing);
  EXPECT_EQ(Status("b"), KeyStatus::kWaiting);
  ExpectValid();
  Finish(w, "a");
  EXPECT_EQ(Status("b"), KeyStatus::kProcessing);
  const Sent* sent = out_.FindCompute("b");
  ASSERT_NE(sent, nullptr);
  ASSERT_EQ(sent->who_has.size(), 1u);
  EXPECT_EQ(sent->who_has[0].key, "a");
  EXPECT_THAT(sent->who_has[0].workers, ElementsAre("w1:1"));
  ExpectValid();
  Finish(w, "b");
  // Nobody wants a any more: freed on the worker, kept as released lineage.
  EXPECT_EQ(Status("a"), KeyStatus::kReleased);
  EXPECT_THAT(out_.frees[w], ElementsAre("a"));
  EXPECT_EQ(Status("b"), KeyStatus::kMemory);
  ExpectValid();
  state_.ReleaseKeys(c, {"b"});
  EXPECT_EQ(Status("b"), KeyStatus::kForgotten);
  EXPECT_EQ(Status("a"), KeyStatus::kForgotten);
  EXPECT_EQ(state_.num_tasks(), 0u);
  EXPECT_THAT(out_.frees[w], ElementsAre("a", "b"));
  ExpectValid();
}

TEST_F(SchedulerStateTest, DiamondAndFanInOfAnyShape) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  ClientId c = state_.AddClient("c");
  std::vector<TaskDef> g;
  std::vector<std::string> leaves;
  for (int i = 0; i < 16; ++i) {
    g.push_back(Def("leaf" + std::to_string(i)));
    leaves.push_back("leaf" + std::to_string(i));
  }
  g.push_back(Def("mid0", {leaves.begin(), leaves.begin() + 8}, "sum"));
  g.push_back(Def("mid1", {leaves.begin() + 8, leaves.end()}, "sum"));
  g.push_back(Def("root", {"mid0", "mid1", "leaf0"}, "sum"));
  ASSERT_TRUE(state_.UpdateGraph(c, g, {"root"}, 0).ok());
  // Root tasks are queued beyond ceil(1 thread * 1.1) per worker; the rest
  // start as slots free, spread over both workers.
  EXPECT_EQ(out_.ComputeKeys(w1).size(), 2u);
  EXPECT_EQ(out_.ComputeKeys(w2).size(), 2u);
  EXPECT_EQ(state_.num_queued(), 12u);
  ExpectValid();
  for (size_t i = 0; i < out_.computes.size(); ++i) {
    const Sent s = out_.computes[i];
    if (s.key.rfind("leaf", 0) == 0) Finish(s.worker, s.key);
  }
  EXPECT_EQ(state_.num_queued(), 0u);
  EXPECT_GE(out_.ComputeKeys(w1).size(), 4u);
  EXPECT_GE(out_.ComputeKeys(w2).size(), 4u);
  EXPECT_EQ(Status("mid0"), KeyStatus::kProcessing);
  EXPECT_EQ(Status("mid1"), KeyStatus::kProcessing);
  ExpectValid();
  Finish(out_.FindCompute("mid0")->worker, "mid0");
  Finish(out_.FindCompute("mid1")->worker, "mid1");
  ASSERT_EQ(Status("root"), KeyStatus::kProcessing);
  Finish(out_.FindCompute("root")->worker, "root");
  EXPECT_EQ(Status("root"), KeyStatus::kMemory);
  for (const auto& l : leaves) EXPECT_EQ(Status(l), KeyStatus::kReleased);
  ExpectValid();
}

TEST_F(SchedulerStateTest, PlacesTasksWhereMostInputBytesLive) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  ClientId c = state_.AddClient("c");
  TaskDef big = Def("big");
  big.workers = {"w2:1"};
  TaskDef small = Def("small");
  small.workers = {"w1:1"};
  ASSERT_TRUE(state_.UpdateGraph(c, {big, small}, {"big", "small"}, 0).ok());
  Finish(w2, "big", 64 << 20);
  Finish(w1, "small", 10);
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("both", {"small", "big"}, "add")}, {"both"}, 0).ok());
  EXPECT_EQ(out_.FindCompute("both")->worker, w2);
  // And the other way round when the big input sits on w1.
  TaskDef big1 = Def("big1");
  big1.workers = {"w1:1"};
  ASSERT_TRUE(state_.UpdateGraph(c, {big1}, {"big1"}, 0).ok());
  Finish(w1, "big1", 32 << 20);
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("both1", {"big1", "small"}, "add")}, {"both1"}, 0).ok());
  EXPECT_EQ(out_.FindCompute("both1")->worker, w1);
  ExpectValid();
}

TEST_F(SchedulerStateTest, ErredTaskCarriesItsErrorToDependentsAndClients) {
  WorkerId w = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("bad", {}, "fail"), Def("after", {"bad"}),
                                     Def("later", {"after"})},
                                 {"bad", "later"}, 0)
                  .ok());
  ErrorInfo err;
  err.message = "boom";
  err.type = "FunctionError";
  state_.TaskErred(w, "bad", err);
  EXPECT_EQ(Status("bad"), KeyStatus::kErred);
  EXPECT_EQ(Status("later"), KeyStatus::kErred);
  const auto& evs = out_.events[c];
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].key, "bad");
  EXPECT_EQ(evs[0].error->message, "boom");
  EXPECT_EQ(evs[0].error->function, "builtin/fail");
  EXPECT_EQ(evs[1].key, "later");
  EXPECT_EQ(evs[1].error->cause_key, "bad");
  EXPECT_EQ(evs[1].error->message, "boom");
  ExpectValid();
  // The cluster keeps working.
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("ok")}, {"ok"}, 0).ok());
  Finish(w, "ok");
  EXPECT_EQ(Status("ok"), KeyStatus::kMemory);
  // A new task on top of the erred key errs at once.
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("on-bad", {"bad"})}, {"on-bad"}, 0).ok());
  EXPECT_EQ(Status("on-bad"), KeyStatus::kErred);
  ExpectValid();
  state_.ReleaseKeys(c, {"bad", "later", "ok", "on-bad"});
  EXPECT_EQ(state_.num_tasks(), 0u);
  ExpectValid();
}

TEST_F(SchedulerStateTest, RetriesRerunBeforeErring) {
  WorkerId w = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  TaskDef d = Def("flaky", {}, "fail");
  d.retries = 2;
  ASSERT_TRUE(state_.UpdateGraph(c, {d}, {"flaky"}, 0).ok());
  state_.TaskErred(w, "flaky", ErrorInfo{});
  state_.TaskErred(w, "flaky", ErrorInfo{});
  EXPECT_EQ(Status("flaky"), KeyStatus::kProcessing);
  EXPECT_EQ(out_.ComputeKeys(w).size(), 3u);
  state_.TaskErred(w, "flaky", ErrorInfo{});
  EXPECT_EQ(Status("flaky"), KeyStatus::kErred);
  ExpectValid();
}

TEST_F(SchedulerStateTest, WorkerLostMidTaskReschedulesAndRecomputesLostData) {
  WorkerId w1 = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("a"), Def("b", {"a"}), Def("c", {"b"})}, {"c"}, 0).ok());
  Finish(w1, "a");
  ASSERT_EQ(Status("b"), KeyStatus::kProcessing);
  WorkerId w2 = AddWorker("w2:1");
  // w1 dies while running b and holding a: both recomputed on w2.
  state_.RemoveWorker(w1, "connection lost");
  EXPECT_EQ(Status("a"), KeyStatus::kProcessing);
  EXPECT_EQ(out_.FindCompute("a")->worker, w2);
  EXPECT_EQ(Status("b"), KeyStatus::kWaiting);
  ExpectValid();
  Finish(w2, "a");
  Finish(w2, "b");
  Finish(w2, "c");
  EXPECT_EQ(Status("c"), KeyStatus::kMemory);
  ExpectValid();
}

TEST_F(SchedulerStateTest, LostWantedResultIsRecomputedAndClientIsTold) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  ClientId c = state_.AddClient("c");
  TaskDef x = Def("x");
  x.workers = {"w1:1"};
  x.allow_other_workers = true;
  ASSERT_TRUE(state_.UpdateGraph(c, {x}, {"x"}, 0).ok());
  Finish(w1, "x");
  state_.RemoveWorker(w1, "killed");
  EXPECT_EQ(Status("x"), KeyStatus::kProcessing);
  EXPECT_EQ(out_.FindCompute("x")->worker, w2);
  Finish(w2, "x");
  EXPECT_THAT(out_.Events(c),
              ElementsAre(std::pair<std::string, KeyStatus>("x", KeyStatus::kMemory),
                          std::pair<std::string, KeyStatus>("x", KeyStatus::kWaiting),
                          std::pair<std::string, KeyStatus>("x", KeyStatus::kMemory)));
  ExpectValid();
}

TEST_F(SchedulerStateTest, TaskThatKillsTooManyWorkersErrs) {
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("poison")}, {"poison"}, 0).ok());
  for (int i = 0; i < 4; ++i) {
    WorkerId w = AddWorker("w" + std::to_string(i) + ":1");
    ASSERT_EQ(Status("poison"), KeyStatus::kProcessing);
    state_.RemoveWorker(w, "segfault");
  }
  EXPECT_EQ(Status("poison"), KeyStatus::kErred);
  ASSERT_FALSE(out_.events[c].empty());
  EXPECT_EQ(out_.events[c].back().error->type, "KilledWorker");
  EXPECT_THAT(out_.events[c].back().error->message, HasSubstr("4 different workers"));
  ExpectValid();
}

TEST_F(SchedulerStateTest, ReleasingAKeyOthersDependOnKeepsItUntilTheyFinish) {
  WorkerId w = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("a"), Def("b", {"a"})}, {"a", "b"}, 0).ok());
  Finish(w, "a");
  state_.ReleaseKeys(c, {"a"});
  // b (processing) still needs a.
  EXPECT_EQ(Status("a"), KeyStatus::kMemory);
  EXPECT_THAT(out_.frees[w], IsEmpty());
  ExpectValid();
  Finish(w, "b");
  EXPECT_EQ(Status("a"), KeyStatus::kReleased);
  EXPECT_THAT(out_.frees[w], ElementsAre("a"));
  ExpectValid();
}

TEST_F(SchedulerStateTest, SharedKeysSurviveOneClientReleasing) {
  WorkerId w = AddWorker("w1:1");
  ClientId c1 = state_.AddClient("c1");
  ClientId c2 = state_.AddClient("c2");
  ASSERT_EQ(*state_.UpdateGraph(c1, {Def("x")}, {"x"}, 0), 1);
  ASSERT_EQ(*state_.UpdateGraph(c2, {Def("x")}, {"x"}, 0), 0);  // shared
  EXPECT_EQ(out_.ComputeKeys(w).size(), 1u);
  state_.ReleaseKeys(c1, {"x"});
  Finish(w, "x");
  EXPECT_EQ(Status("x"), KeyStatus::kMemory);
  EXPECT_TRUE(out_.Events(c1).empty());
  EXPECT_EQ(out_.Events(c2).size(), 1u);
  state_.RemoveClient(c2);
  EXPECT_EQ(state_.num_tasks(), 0u);
  ExpectValid();
}

TEST_F(SchedulerStateTest, CancelStopsTheTaskAndWhatOnlyItNeeded) {
  WorkerId w = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("a"), Def("b", {"a"})}, {"b"}, 0).ok());
  state_.CancelKeys(c, {"b"});
  EXPECT_THAT(out_.Events(c),
              ElementsAre(std::pair<std::string, KeyStatus>("b", KeyStatus::kCancelled)));
  EXPECT_EQ(state_.num_tasks(), 0u);
  EXPECT_THAT(out_.frees[w], ElementsAre("a"));  // queued a dropped on the worker
  // A late result of the cancelled task is freed.
  Finish(w, "a");
  EXPECT_THAT(out_.frees[w], ElementsAre("a", "a"));
  ExpectValid();
}

TEST_F(SchedulerStateTest, CancelByOneClientLeavesAnothersFutures) {
  WorkerId w = AddWorker("w1:1");
  ClientId c1 = state_.AddClient("c1");
  ClientId c2 = state_.AddClient("c2");
  ASSERT_TRUE(state_.UpdateGraph(c1, {Def("x")}, {"x"}, 0).ok());
  ASSERT_TRUE(state_.UpdateGraph(c2, {Def("x")}, {"x"}, 0).ok());
  state_.CancelKeys(c1, {"x"});
  Finish(w, "x");
  EXPECT_THAT(out_.Events(c2),
              ElementsAre(std::pair<std::string, KeyStatus>("x", KeyStatus::kMemory)));
  ExpectValid();
}

TEST_F(SchedulerStateTest, BadGraphsAreRejectedWholeAndNothingIsLost) {
  AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("keep")}, {"keep"}, 0).ok());
  auto expect_error = [&](std::vector<TaskDef> g, std::vector<std::string> want,
                          const std::string& msg) {
    auto r = state_.UpdateGraph(c, std::move(g), want, 0);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(msg));
    EXPECT_EQ(state_.num_tasks(), 1u);
  };
  expect_error({Def("x", {"y"}), Def("y", {"z"}), Def("z", {"x"})}, {"x"},
               "cycle");
  expect_error({Def("self", {"self"})}, {"self"}, "depends on itself");
  expect_error({Def("x", {"nope"})}, {"x"}, "missing key \"nope\"");
  expect_error({Def("x", {}, "no_such_fn")}, {"x"}, "unknown function \"no_such_fn\"");
  expect_error({Def("x"), Def("x")}, {"x"}, "appears twice");
  expect_error({Def("x")}, {"ghost"}, "wanted key \"ghost\"");
  TaskDef other = Def("keep");
  other.run_spec = "something else";
  expect_error({other}, {"keep"}, "different definition");
  TaskDef neg = Def("neg");
  neg.resources = {{"GPU", -1}};
  expect_error({neg}, {"neg"}, "resource GPU");
  ExpectValid();
}

TEST_F(SchedulerStateTest, NoWorkerUntilASuitableWorkerJoins) {
  AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  TaskDef gpu = Def("gpu");
  gpu.resources = {{"GPU", 1}};
  ASSERT_TRUE(state_.UpdateGraph(c, {gpu}, {"gpu"}, 0).ok());
  EXPECT_EQ(Status("gpu"), KeyStatus::kNoWorker);
  ASSERT_EQ(out_.events[c].size(), 1u);
  EXPECT_EQ(out_.events[c][0].status, KeyStatus::kNoWorker);
  EXPECT_THAT(out_.events[c][0].error->message, HasSubstr("GPU=1"));
  ExpectValid();
  WorkerId g = AddWorker("gpu:1", 1, {{"GPU", 2}});
  EXPECT_EQ(Status("gpu"), KeyStatus::kProcessing);
  EXPECT_EQ(out_.FindCompute("gpu")->worker, g);
  ExpectValid();
}

TEST_F(SchedulerStateTest, MissingDataReschedulesAndRecomputes) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  ClientId c = state_.AddClient("c");
  TaskDef a = Def("a");
  a.workers = {"w1:1"};
  ASSERT_TRUE(state_.UpdateGraph(c, {a}, {"a"}, 0).ok());
  Finish(w1, "a", 100);
  TaskDef b = Def("b", {"a"});
  b.workers = {"w2:1"};
  ASSERT_TRUE(state_.UpdateGraph(c, {b}, {"b"}, 0).ok());
  ASSERT_EQ(out_.FindCompute("b")->worker, w2);
  DepLocation miss;
  miss.key = "a";
  miss.workers = {"w1:1"};
  state_.MissingData(w2, "b", {miss});
  // a's only replica is gone: recomputed on w1 (its restriction), b waits.
  EXPECT_EQ(Status("a"), KeyStatus::kProcessing);
  EXPECT_EQ(Status("b"), KeyStatus::kWaiting);
  ExpectValid();
  Finish(w1, "a", 100);
  EXPECT_EQ(Status("b"), KeyStatus::kProcessing);
  Finish(w2, "b");
  EXPECT_EQ(Status("b"), KeyStatus::kMemory);
  ExpectValid();
}

TEST_F(SchedulerStateTest, SilentWorkersTimeOut) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  now_ += 20;
  state_.Heartbeat(w2, 0);
  now_ += 15;
  EXPECT_THAT(state_.CheckWorkerTimeouts(), ElementsAre(w1));
  EXPECT_EQ(state_.num_workers(), 1u);
  (void)w2;
  ExpectValid();
}

TEST_F(SchedulerStateTest, DuplicateWorkerAddressIsRefused) {
  AddWorker("w1:1");
  WorkerDef def;
  def.address = "w1:1";
  EXPECT_EQ(state_.AddWorker(def).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(SchedulerStateTest, FetchedReplicasCountForLocalityAndAreFreed) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  ClientId c = state_.AddClient("c");
  TaskDef a = Def("a");
  a.workers = {"w1:1"};
  ASSERT_TRUE(state_.UpdateGraph(c, {a}, {"a"}, 0).ok());
  Finish(w1, "a", 1000);
  state_.KeysAdded(w2, {DepLocation{"a", {}, 1000}});
  auto who = state_.WhoHas({"a"});
  ASSERT_EQ(who.size(), 1u);
  EXPECT_THAT(who[0].workers, UnorderedElementsAre("w1:1", "w2:1"));
  state_.ReleaseKeys(c, {"a"});
  EXPECT_THAT(out_.frees[w1], ElementsAre("a"));
  EXPECT_THAT(out_.frees[w2], ElementsAre("a"));
  ExpectValid();
}

TEST_F(SchedulerStateTest, DeepChainDoesNotRecurse) {
  WorkerId w = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  const int n = 100000;
  std::vector<TaskDef> g;
  g.push_back(Def("k0"));
  for (int i = 1; i < n; ++i) {
    g.push_back(Def("k" + std::to_string(i), {"k" + std::to_string(i - 1)}));
  }
  ASSERT_TRUE(state_.UpdateGraph(c, std::move(g), {"k" + std::to_string(n - 1)}, 0).ok());
  EXPECT_EQ(state_.num_tasks(), static_cast<size_t>(n));
  ErrorInfo err;
  err.message = "first link broke";
  state_.TaskErred(w, "k0", err);
  EXPECT_EQ(Status("k" + std::to_string(n - 1)), KeyStatus::kErred);
  state_.RemoveClient(c);
  EXPECT_EQ(state_.num_tasks(), 0u);
  ExpectValid();
}

TEST_F(SchedulerStateTest, RestartForgetsEverything) {
  WorkerId w = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("a"), Def("b")}, {"a", "b"}, 0).ok());
  Finish(w, "a");
  EXPECT_EQ(state_.Restart(), 2);
  EXPECT_EQ(state_.num_tasks(), 0u);
  EXPECT_THAT(out_.frees[w], UnorderedElementsAre("a", "b"));
  ExpectValid();
}

}  // namespace
}  // namespace taskgrid::scheduler
