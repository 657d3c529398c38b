#include "clients/cpp/graph_split.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// Owns the tasks of a test graph; SplitUpdate takes raw pointers.
struct Graph {
  std::vector<std::unique_ptr<v1::TaskSpec>> owned;
  std::vector<v1::TaskSpec*> tasks;
  void push_back(std::unique_ptr<v1::TaskSpec> t) {
    tasks.push_back(t.get());
    owned.push_back(std::move(t));
  }
};

std::unique_ptr<v1::TaskSpec> Task(const std::string& key, std::vector<std::string> deps,
                                   size_t padding = 0) {
  auto t = std::make_unique<v1::TaskSpec>();
  t->set_key(key);
  t->set_function("sum");
  v1::Value* list = t->add_args();
  for (const std::string& d : deps) list->mutable_list_value()->add_items()->set_ref(d);
  if (padding > 0) t->add_args()->set_bytes_value(std::string(padding, 'p'));
  return t;
}

TEST(TaskDependenciesTest, FindsNestedRefsAndExtraDependencies) {
  v1::TaskSpec t;
  t.add_args()->set_ref("a");
  (*t.add_args()->mutable_map_value()->mutable_entries())["x"].set_ref("b");
  (*t.mutable_kwargs())["k"].mutable_list_value()->add_items()->set_ref("c");
  t.add_args()->set_int_value(3);
  t.add_extra_dependencies("d");
  EXPECT_THAT(TaskDependencies(t), UnorderedElementsAre("a", "b", "c", "d"));
}

TEST(SplitUpdateTest, SmallGraphIsOnePartInListOrder) {
  Graph g;
  g.push_back(Task("b", {"a"}));
  g.push_back(Task("a", {}));
  auto parts = SplitUpdate(g.tasks, /*independent=*/false);
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_THAT((*parts)[0].tasks, ElementsAre(0, 1));
  EXPECT_TRUE((*parts)[0].carried.empty());
}

TEST(SplitUpdateTest, LargeGraphComesInDependencyOrderWithCarriedKeys) {
  // c depends on a and b; each task is ~1000 bytes and a part holds two.
  Graph g;
  g.push_back(Task("c", {"a", "b"}, 1000));
  g.push_back(Task("b", {"a"}, 1000));
  g.push_back(Task("a", {"old"}, 1000));  // "old" is outside the graph
  auto parts = SplitUpdate(g.tasks, false, 2100);
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  std::map<std::string, size_t> part_of;
  for (size_t p = 0; p < parts->size(); ++p) {
    for (size_t t : (*parts)[p].tasks) part_of[g.tasks[t]->key()] = p;
  }
  EXPECT_EQ(part_of.size(), 3u);
  EXPECT_LE(part_of["a"], part_of["b"]);
  EXPECT_LE(part_of["b"], part_of["c"]);
  // Whatever the later part needs from the earlier one is carried.
  EXPECT_THAT((*parts)[0].carried, UnorderedElementsAre("a", "b"));
  EXPECT_TRUE((*parts)[1].carried.empty());
}

TEST(SplitUpdateTest, IndependentTasksKeepTheirOrder) {
  Graph g;
  for (int i = 0; i < 5; ++i) g.push_back(Task("t" + std::to_string(i), {}, 1000));
  auto parts = SplitUpdate(g.tasks, true, 2100);
  ASSERT_TRUE(parts.ok());
  std::vector<size_t> all;
  for (const UpdatePart& p : *parts) {
    EXPECT_LE(p.tasks.size(), 2u);
    EXPECT_TRUE(p.carried.empty());
    all.insert(all.end(), p.tasks.begin(), p.tasks.end());
  }
  EXPECT_THAT(all, ElementsAre(0, 1, 2, 3, 4));
}

TEST(SplitUpdateTest, CycleIsAnErrorNamingATask) {
  Graph g;
  g.push_back(Task("x", {"y"}, 1000));
  g.push_back(Task("y", {"x"}, 1000));
  g.push_back(Task("z", {}, 1000));
  auto parts = SplitUpdate(g.tasks, false, 1500);
  ASSERT_FALSE(parts.ok());
  EXPECT_EQ(parts.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parts.status().message(), HasSubstr("cycle through task \"x\""));
}

TEST(SplitUpdateTest, DuplicateKeyInASplitGraphIsAnError) {
  Graph g;
  g.push_back(Task("x", {}, 1000));
  g.push_back(Task("x", {}, 1000));
  auto parts = SplitUpdate(g.tasks, false, 1500);
  ASSERT_FALSE(parts.ok());
  EXPECT_THAT(parts.status().message(), HasSubstr("\"x\" appears twice"));
}

TEST(SplitUpdateTest, TaskTooLargeForAnyMessageIsRejected) {
  Graph g;
  g.push_back(Task("huge", {}, 65 << 20));
  auto parts = SplitUpdate(g.tasks, true);
  ASSERT_FALSE(parts.ok());
  EXPECT_THAT(parts.status().message(), HasSubstr("task \"huge\""));
}

}  // namespace
}  // namespace taskgrid::client
