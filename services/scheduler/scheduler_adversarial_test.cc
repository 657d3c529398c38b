// Adversarial graphs against the state machine (issue 9, bad input): each
// bad graph gets an InvalidArgument naming the problem and changes nothing,
// each legitimate extreme one (a fan-in of 10^5 dependencies, a chain of
// 10^5 tasks) runs to the end, and in every case a graph the same client
// submitted before is unaffected and completes. Every test ends with
// Validate(), so nothing leaks.

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/scheduler/scheduler_state.h"
#include "services/scheduler/scheduler_test_fixture.h"

namespace taskgrid::scheduler {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using testing_util::Def;

class AdversarialGraphTest : public testing_util::SchedulerStateTest {
 protected:
  void SetUp() override {
    w_ = AddWorker("w1:1");
    c_ = state_.AddClient("c");
    // The earlier, valid graph every test checks on at the end.
    ASSERT_TRUE(state_.UpdateGraph(c_, {Def("keep-a"), Def("keep", {"keep-a"})}, {"keep"}, 0)
                    .ok());
  }

  // `graph` is rejected as a whole with InvalidArgument containing `msg`,
  // and the scheduler holds exactly the tasks it held before.
  void ExpectRejected(std::vector<TaskDef> graph, std::vector<std::string> wanted,
                      const std::string& msg, ClientId client = 0) {
    const size_t before = state_.num_tasks();
    auto r = state_.UpdateGraph(client == 0 ? c_ : client, std::move(graph), wanted, 0);
    ASSERT_FALSE(r.ok()) << "accepted; expected an error containing: " << msg;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(msg));
    EXPECT_EQ(state_.num_tasks(), before);
    ExpectValid();
  }

  // The earlier graph still runs to completion.
  void ExpectKeepCompletes() {
    FinishEverything();
    EXPECT_EQ(Status("keep"), KeyStatus::kMemory);
    bool told = false;
    for (const auto& [key, status] : out_.Events(c_)) {
      told |= key == "keep" && status == KeyStatus::kMemory;
    }
    EXPECT_TRUE(told) << "the client never heard that keep finished";
    ExpectValid();
  }

  static std::vector<TaskDef> Chain(const std::string& prefix, int n) {
    std::vector<TaskDef> g;
    g.reserve(n);
    g.push_back(Def(prefix + "0"));
    for (int i = 1; i < n; ++i) {
      g.push_back(Def(prefix + std::to_string(i), {prefix + std::to_string(i - 1)}));
    }
    return g;
  }

  WorkerId w_ = kNoWorker;
  ClientId c_ = 0;
};

TEST_F(AdversarialGraphTest, CyclesShortAndLongAreRejectedWithTheCycleNamed) {
  ExpectRejected({Def("x", {"y"}), Def("y", {"x"})}, {"x"}, "cycle: ");
  ExpectRejected({Def("self", {"self"})}, {"self"}, "\"self\" depends on itself");
  // A ring of 10^5 tasks: found without recursion, and the message stays
  // short (first and last keys, and the length).
  const int n = 100000;
  std::vector<TaskDef> ring = Chain("r", n);
  ring[0].dependencies = {"r" + std::to_string(n - 1)};
  auto r = state_.UpdateGraph(c_, std::move(ring), {"r0"}, 0);
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  EXPECT_THAT(msg, HasSubstr("the graph has a cycle: "));
  EXPECT_THAT(msg, HasSubstr("more) -> "));
  EXPECT_THAT(msg, HasSubstr("(100000 tasks)"));
  EXPECT_LT(msg.size(), 1000u);
  // A cycle hanging off a valid prefix is still rejected whole.
  ExpectRejected({Def("ok1"), Def("ok2", {"ok1", "c1"}), Def("c1", {"c2"}), Def("c2", {"c1"})},
                 {"ok2"}, "cycle: c");
  ExpectKeepCompletes();
}

TEST_F(AdversarialGraphTest, CycleAcrossTwoUpdatesIsRejected) {
  // An ordinary client cannot close one: a known task's dependencies are
  // fixed, so re-sending it with a dependency on a newer task is a
  // different definition.
  ASSERT_TRUE(state_.UpdateGraph(c_, {Def("a")}, {"a"}, 0).ok());
  ASSERT_TRUE(state_.UpdateGraph(c_, {Def("b", {"a"})}, {"b"}, 0).ok());
  TaskDef a_again = Def("a", {"b"});
  a_again.run_spec = "spec:a:inc(ref b)";
  ExpectRejected({a_again}, {"a"}, "\"a\" already exists with a different definition");

  // A client reconnecting after a scheduler restart may depend on keys not
  // defined yet (adopted); defining one later must not close a cycle
  // through tasks already known.
  ClientId back = state_.AddClient("reconnecting");
  state_.RedeclareKeys(back, {});
  ASSERT_TRUE(state_.UpdateGraph(back, {Def("p", {"q"}), Def("s", {"p"})}, {"s"}, 0).ok());
  ExpectRejected({Def("q", {"s"})}, {}, "cycle: q -> s -> p -> q", back);
  // Its acyclic definition is accepted, and the graph runs.
  ASSERT_TRUE(state_.UpdateGraph(back, {Def("q")}, {}, 0).ok());
  now_ += 10;  // past the recovery hold
  state_.ExpireRecovery();
  FinishEverything();
  EXPECT_EQ(Status("s"), KeyStatus::kMemory);
  state_.RemoveClient(back);
  ExpectKeepCompletes();
}

// At 10^6 dependencies this passes too (about 10 s of CPU in an optimized
// build); 10^5 keeps it within the unoptimized Bazel test's time limit.
TEST_F(AdversarialGraphTest, AWideFanInOfDependenciesOnOneKeyRuns) {
  const int n = 100000;
  std::vector<TaskDef> g;
  g.reserve(n + 1);
  std::vector<std::string> leaves;
  leaves.reserve(n);
  for (int i = 0; i < n; ++i) {
    leaves.push_back("leaf-" + std::to_string(i));
    g.push_back(Def(leaves.back()));
  }
  g.push_back(Def("total", leaves, "sum"));
  auto added = state_.UpdateGraph(c_, std::move(g), {"total"}, 0);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(*added, n + 1);
  ExpectValid();
  FinishEverything();
  EXPECT_EQ(Status("total"), KeyStatus::kMemory);
  const testing_util::Sent* sum = out_.FindCompute("total");
  ASSERT_NE(sum, nullptr);
  EXPECT_EQ(sum->who_has.size(), static_cast<size_t>(n));
  // Every leaf's value was freed once the sum no longer needed it (the
  // tasks stay known while total, which they feed, is), and all go with it.
  EXPECT_EQ(Status("leaf-0"), KeyStatus::kReleased);
  EXPECT_EQ(Status("leaf-" + std::to_string(n - 1)), KeyStatus::kReleased);
  state_.ReleaseKeys(c_, {"total"});
  EXPECT_EQ(state_.num_tasks(), 2u);  // keep and its released input
  ExpectKeepCompletes();
}

TEST_F(AdversarialGraphTest, AChainOfTenToTheFiveRunsIsRecomputedAndCancelled) {
  const int n = 100000;
  const std::string last = "k" + std::to_string(n - 1);
  ASSERT_TRUE(state_.UpdateGraph(c_, Chain("k", n), {last}, 0).ok());
  FinishEverything();
  ASSERT_EQ(Status(last), KeyStatus::kMemory);
  // Only the end is held; losing it recomputes the whole chain from k0,
  // walking back 10^5 released links without recursion.
  const size_t sent = out_.computes.size();
  WorkerId w2 = AddWorker("w2:1");
  state_.RemoveWorker(w_, "killed");
  w_ = w2;
  ASSERT_GT(out_.computes.size(), sent);
  bool head_resent = false;
  for (size_t i = sent; i < out_.computes.size(); ++i) head_resent |= out_.computes[i].key == "k0";
  EXPECT_TRUE(head_resent);
  FinishEverything();
  EXPECT_EQ(Status(last), KeyStatus::kMemory);
  ExpectValid();
  // Cancelling the head of a pending chain cancels all 10^5 links.
  ASSERT_TRUE(state_.UpdateGraph(c_, Chain("m", n), {"m" + std::to_string(n - 1)}, 0).ok());
  const size_t tasks_before = state_.num_tasks();
  EXPECT_GE(tasks_before, static_cast<size_t>(n));
  state_.CancelKeys(c_, {"m0"});
  EXPECT_EQ(Status("m" + std::to_string(n - 1)), KeyStatus::kForgotten);
  EXPECT_EQ(Status("m0"), KeyStatus::kForgotten);
  state_.ReleaseKeys(c_, {last});
  ExpectKeepCompletes();
}

TEST_F(AdversarialGraphTest, DuplicateKeysInOneGraphAndAcrossClients) {
  TaskDef other = Def("dup");
  other.run_spec = "spec:dup:add(1, 2)";
  ExpectRejected({Def("dup"), other}, {"dup"}, "task \"dup\" appears twice in the graph");
  ExpectRejected({Def("dup"), Def("dup")}, {"dup"}, "appears twice");

  ClientId c2 = state_.AddClient("c2");
  ASSERT_TRUE(state_.UpdateGraph(c2, {Def("shared")}, {"shared"}, 0).ok());
  // Another client's different task under the same key is refused...
  TaskDef clash = Def("shared");
  clash.run_spec = "spec:shared:something else";
  ExpectRejected({clash}, {"shared"}, "\"shared\" already exists with a different definition");
  // ...the same task is shared, and the first client's key is untouched.
  auto same = state_.UpdateGraph(c_, {Def("shared")}, {"shared"}, 0);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, 0);
  FinishEverything();
  EXPECT_EQ(Status("shared"), KeyStatus::kMemory);
  state_.RemoveClient(c2);
  EXPECT_EQ(Status("shared"), KeyStatus::kMemory);  // still c_'s
  state_.ReleaseKeys(c_, {"shared"});
  ExpectKeepCompletes();
}

TEST_F(AdversarialGraphTest, UnknownRuntimesAndFunctions) {
  TaskDef rt = Def("rt");
  rt.runtime = "fortran";
  ExpectRejected({rt}, {"rt"}, "task \"rt\": unknown runtime \"fortran\"");
  ExpectRejected({Def("fn", {}, "no_such_fn")}, {"fn"},
                 "unknown function \"no_such_fn\" in runtime builtin");
  TaskDef no_fn = Def("nofn");
  no_fn.function = "";
  ExpectRejected({no_fn}, {"nofn"}, "\"nofn\" has no function");
  // A documented runtime no worker offers yet is legitimate: the client is
  // told no worker can run it, and it starts once one joins.
  TaskDef py = Def("py", {}, "f");
  py.runtime = "python";
  ASSERT_TRUE(state_.UpdateGraph(c_, {py}, {"py"}, 0).ok());
  EXPECT_EQ(Status("py"), KeyStatus::kNoWorker);
  WorkerDef pyw;
  pyw.address = "py:1";
  pyw.functions = {"python/*"};
  ASSERT_TRUE(state_.AddWorker(pyw).ok());
  EXPECT_EQ(Status("py"), KeyStatus::kProcessing);
  // A runtime a worker offers is known from then on.
  WorkerDef custom;
  custom.address = "custom:1";
  custom.functions = {"fortran/*"};
  ASSERT_TRUE(state_.AddWorker(custom).ok());
  EXPECT_TRUE(state_.UpdateGraph(c_, {rt}, {"rt"}, 0).ok());
  FinishEverything();
  EXPECT_EQ(Status("py"), KeyStatus::kMemory);
  EXPECT_EQ(Status("rt"), KeyStatus::kMemory);
  state_.ReleaseKeys(c_, {"py", "rt"});
  ExpectKeepCompletes();
}

TEST_F(AdversarialGraphTest, InvalidUtf8KeysAreRejectedAndShownEscaped) {
  ExpectRejected({Def("bad\xFFkey")}, {"bad\xFFkey"}, "task key \"bad\\xffkey\" is not valid UTF-8");
  ExpectRejected({Def("\xED\xA0\x80")}, {}, "\"\\xed\\xa0\\x80\" is not valid UTF-8");
  ExpectRejected({Def("fine", {"dep\xC0"})}, {"fine"}, "missing key \"dep\\xc0\"");
  ExpectRejected({Def("fine")}, {"want\xFE"}, "wanted key \"want\\xfe\"");
  // Valid multi-byte keys are fine.
  ASSERT_TRUE(state_.UpdateGraph(c_, {Def("caf\xC3\xA9")}, {"caf\xC3\xA9"}, 0).ok());
  FinishEverything();
  EXPECT_EQ(Status("caf\xC3\xA9"), KeyStatus::kMemory);
  state_.ReleaseKeys(c_, {"caf\xC3\xA9"});
  ExpectKeepCompletes();
}

TEST_F(AdversarialGraphTest, NegativeNanAndInfiniteResources) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (double bad : {-1.0, nan, inf, -inf}) {
    TaskDef t = Def("r");
    t.resources = {{"GPU", bad}};
    ExpectRejected({t}, {"r"}, "resource GPU must be a finite number >= 0");
  }
  // A worker advertising such resources is refused; the cluster goes on.
  for (double bad : {-2.0, nan, inf}) {
    WorkerDef def;
    def.address = "bad:1";
    def.functions = {"builtin/inc"};
    def.resources = {{"GPU", bad}};
    auto id = state_.AddWorker(def);
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(id.status().message()), HasSubstr("resource GPU must be a finite"));
  }
  EXPECT_EQ(state_.num_workers(), 1u);
  // Zero is a legitimate request.
  TaskDef zero = Def("zero");
  zero.resources = {{"GPU", 0}};
  ASSERT_TRUE(state_.UpdateGraph(c_, {zero}, {"zero"}, 0).ok());
  EXPECT_EQ(Status("zero"), KeyStatus::kNoWorker);  // w1 has no GPU at all
  state_.ReleaseKeys(c_, {"zero"});
  ExpectKeepCompletes();
}

TEST_F(AdversarialGraphTest, EmptyGraphIsANoOp) {
  auto r = state_.UpdateGraph(c_, {}, {}, 0);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 0);
  // Wanting a key already known, with no tasks, is fine too.
  ASSERT_TRUE(state_.UpdateGraph(c_, {}, {"keep"}, 0).ok());
  ExpectRejected({}, {"nothing-here"}, "wanted key \"nothing-here\" is not in the graph");
  ExpectRejected({Def("")}, {}, "a task has an empty key");
  ExpectKeepCompletes();
}

}  // namespace
}  // namespace taskgrid::scheduler
