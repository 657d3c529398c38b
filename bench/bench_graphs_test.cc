#include "bench/bench_graphs.h"

#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace taskgrid::bench {
namespace {

// Evaluates an inc/add graph in submission order, which must be a
// topological order (every ref names an earlier task).
int64_t Evaluate(const BenchGraph& graph) {
  std::map<std::string, int64_t> values;
  for (const v1::TaskSpec& spec : graph.tasks) {
    int64_t sum = 0;
    for (const v1::Value& arg : spec.args()) {
      if (arg.kind_case() == v1::Value::kRef) {
        auto it = values.find(arg.ref());
        EXPECT_NE(it, values.end()) << spec.key() << " refers ahead to " << arg.ref();
        if (it != values.end()) sum += it->second;
      } else {
        sum += arg.int_value();
      }
    }
    if (spec.function() == "inc") {
      EXPECT_EQ(spec.args_size(), 1) << spec.key();
      sum += 1;
    } else {
      EXPECT_EQ(spec.function(), "add") << spec.key();
      EXPECT_EQ(spec.args_size(), 2) << spec.key();
    }
    EXPECT_TRUE(values.emplace(spec.key(), sum).second) << "duplicate " << spec.key();
  }
  auto root = values.find(graph.root);
  EXPECT_NE(root, values.end());
  return root == values.end() ? -1 : root->second;
}

TEST(ChainGraphTest, EachTaskIncrementsThePrevious) {
  BenchGraph graph = ChainGraph("c", 5);
  ASSERT_EQ(graph.tasks.size(), 5u);
  EXPECT_EQ(graph.tasks[0].args(0).int_value(), 0);
  EXPECT_EQ(graph.tasks[3].args(0).ref(), graph.tasks[2].key());
  EXPECT_EQ(graph.root, graph.tasks.back().key());
  EXPECT_EQ(graph.expected_result, 5);
  EXPECT_EQ(Evaluate(graph), 5);
}

TEST(TreeGraphTest, HasTwiceTheLeavesMinusOneTasksAndSumsThem) {
  absl::StatusOr<BenchGraph> graph = TreeGraph("t", 16);
  ASSERT_TRUE(graph.ok()) << graph.status();
  EXPECT_EQ(graph->tasks.size(), 31u);
  EXPECT_EQ(graph->expected_result, 16 * 17 / 2);
  EXPECT_EQ(Evaluate(*graph), 16 * 17 / 2);
}

TEST(TreeGraphTest, FullSizeTreeHas131071DistinctKeys) {
  absl::StatusOr<BenchGraph> graph = TreeGraph("t", 65536);
  ASSERT_TRUE(graph.ok()) << graph.status();
  std::set<std::string> keys;
  for (const v1::TaskSpec& spec : graph->tasks) keys.insert(spec.key());
  EXPECT_EQ(keys.size(), 131071u);
  EXPECT_EQ(Evaluate(*graph), int64_t{65536} * 65537 / 2);
}

TEST(TreeGraphTest, SingleLeafIsItsOwnRoot) {
  absl::StatusOr<BenchGraph> graph = TreeGraph("t", 1);
  ASSERT_TRUE(graph.ok()) << graph.status();
  EXPECT_EQ(graph->tasks.size(), 1u);
  EXPECT_EQ(Evaluate(*graph), 1);
}

TEST(TreeGraphTest, RejectsLeafCountsThatAreNotPowersOfTwo) {
  EXPECT_FALSE(TreeGraph("t", 0).ok());
  EXPECT_FALSE(TreeGraph("t", 6).ok());
  EXPECT_FALSE(TreeGraph("t", -4).ok());
}

}  // namespace
}  // namespace taskgrid::bench
