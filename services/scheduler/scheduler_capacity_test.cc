// Memory hygiene of the state machine: container capacity is given back
// after big graphs are released, and result type names are interned with a
// bound.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "services/scheduler/scheduler_test_fixture.h"

namespace taskgrid::scheduler {
namespace {

using testing_util::Def;
using testing_util::SchedulerStateTest;

std::vector<TaskDef> Tree(const std::string& prefix, int leaves) {
  std::vector<TaskDef> g;
  for (int i = 0; i < leaves; ++i) g.push_back(Def(prefix + "-0-" + std::to_string(i)));
  for (int level = 0, width = leaves; width > 1; ++level, width /= 2) {
    for (int j = 0; j < width / 2; ++j) {
      const std::string l = prefix + "-" + std::to_string(level) + "-";
      g.push_back(Def(prefix + "-" + std::to_string(level + 1) + "-" + std::to_string(j),
                      {l + std::to_string(2 * j), l + std::to_string(2 * j + 1)}, "add"));
    }
  }
  return g;
}

TEST_F(SchedulerStateTest, ReleasingCapacityKeepsTheStateWorking) {
  WorkerId w1 = AddWorker("w1:1");
  WorkerId w2 = AddWorker("w2:1");
  ClientId c = state_.AddClient("c");
  ClientId keeper = state_.AddClient("keeper");
  // A big graph, of which one client keeps a few keys.
  ASSERT_TRUE(state_.UpdateGraph(c, Tree("big", 8192), {"big-13-0"}, 0).ok());
  ASSERT_TRUE(state_.UpdateGraph(keeper, {Def("big-0-7"), Def("big-1-3", {"big-0-6", "big-0-7"}, "add")},
                                 {"big-0-7", "big-1-3"}, 0)
                  .ok());
  state_.ReleaseCapacity();  // nothing to give back while it is all held
  ExpectValid();
  FinishEverything();
  EXPECT_EQ(Status("big-13-0"), KeyStatus::kMemory);
  state_.ReleaseKeys(c, {"big-13-0"});
  EXPECT_LE(state_.num_tasks(), 4u);
  // The tables were sized for 16k tasks; they shrink and every lookup,
  // transition and release afterwards still finds its task.
  state_.ReleaseCapacity();
  ExpectValid();
  EXPECT_EQ(Status("big-0-7"), KeyStatus::kMemory);
  EXPECT_EQ(Status("big-1-3"), KeyStatus::kMemory);
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("after", {"big-1-3"}, "inc")}, {"after"}, 0).ok());
  FinishEverything();
  EXPECT_EQ(Status("after"), KeyStatus::kMemory);
  state_.ReleaseCapacity();
  ExpectValid();
  state_.RemoveClient(c);
  state_.RemoveClient(keeper);
  EXPECT_EQ(state_.num_tasks(), 0u);
  state_.ReleaseCapacity();
  ExpectValid();
  // And a new graph after everything shrank.
  ClientId again = state_.AddClient("again");
  ASSERT_TRUE(state_.UpdateGraph(again, Tree("next", 64), {"next-6-0"}, 0).ok());
  FinishEverything();
  EXPECT_EQ(Status("next-6-0"), KeyStatus::kMemory);
  state_.RemoveClient(again);
  state_.RemoveWorker(w1, "test over");
  state_.RemoveWorker(w2, "test over");
  EXPECT_EQ(state_.num_tasks(), 0u);
  ExpectValid();
}

std::string MemoryTypeOf(const std::vector<KeyEventOut>& events, const std::string& key) {
  for (const KeyEventOut& ev : events) {
    if (ev.key == key && ev.status == KeyStatus::kMemory) return ev.type_name;
  }
  return "(no memory event)";
}

TEST_F(SchedulerStateTest, ResultTypeNamesAreReportedAndTheirVarietyIsBounded) {
  WorkerId w = AddWorker("w1:1");
  ClientId c = state_.AddClient("c");
  const int n = 4200;  // more distinct names than the state keeps
  std::vector<TaskDef> g;
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) {
    keys.push_back("t" + std::to_string(i));
    g.push_back(Def(keys.back()));
  }
  ASSERT_TRUE(state_.UpdateGraph(c, std::move(g), keys, 0).ok());
  for (size_t i = 0; i < out_.computes.size(); ++i) {
    const std::string key = out_.computes[i].key;  // computes grows meanwhile
    const int index = std::stoi(key.substr(1));
    state_.TaskFinished(w, key, 8, index == 0 ? "" : "type" + std::to_string(index), 0.001);
  }
  ASSERT_EQ(out_.computes.size(), static_cast<size_t>(n));
  const auto& events = out_.events[c];
  EXPECT_EQ(MemoryTypeOf(events, "t0"), "");
  EXPECT_EQ(MemoryTypeOf(events, "t1"), "type1");
  EXPECT_EQ(MemoryTypeOf(events, "t4000"), "type4000");
  // Past the bound, unseen names are reported generically...
  int generic = 0;
  for (int i = 1; i < n; ++i) {
    const std::string type = MemoryTypeOf(events, "t" + std::to_string(i));
    if (type == "object") {
      ++generic;
    } else {
      EXPECT_EQ(type, "type" + std::to_string(i));
    }
  }
  EXPECT_EQ(generic, n - 1 - 4096);
  // ...while names already seen keep being reported exactly.
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("again")}, {"again"}, 0).ok());
  state_.TaskFinished(w, "again", 8, "type17", 0.001);
  EXPECT_EQ(MemoryTypeOf(out_.events[c], "again"), "type17");
  state_.RemoveClient(c);
  EXPECT_EQ(state_.num_tasks(), 0u);
  ExpectValid();
}

}  // namespace
}  // namespace taskgrid::scheduler
