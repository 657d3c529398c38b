#include "common/graph_json.h"

#include "common/value_proto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ErrorOf(const std::string& text) {
  absl::StatusOr<GraphRequest> g = GraphFromJsonText(text);
  EXPECT_FALSE(g.ok()) << text;
  return g.ok() ? "" : std::string(g.status().message());
}

const v1::TaskSpec& Find(const GraphRequest& g, const std::string& key) {
  for (const v1::TaskSpec& t : g.tasks) {
    if (t.key() == key) return t;
  }
  ADD_FAILURE() << "no task " << key;
  static v1::TaskSpec none;
  return none;
}

TEST(GraphJsonTest, ParsesEveryField) {
  absl::StatusOr<GraphRequest> g = GraphFromJsonText(R"({
    "tasks": {
      "a": {"fn": "inc", "args": [1]},
      "b": {"fn": "add", "args": [{"ref": "a"}, 2], "kwargs": {"scale": 1.5},
            "runtime": "plugin", "retries": 3, "resources": {"GPU": 1},
            "priority": -2, "workers": ["w1", "10.0.0.1:7000"],
            "allow_other_workers": true, "extra_dependencies": ["a"],
            "annotations": {"prefix": "add"}, "payload_b64": "aGk="}
    },
    "keys": ["b"], "priority": 7})");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->priority, 7);
  EXPECT_THAT(g->keys, ElementsAre("b"));
  ASSERT_EQ(g->tasks.size(), 2u);
  const v1::TaskSpec& a = Find(*g, "a");
  EXPECT_EQ(a.function(), "inc");
  EXPECT_EQ(a.runtime(), "builtin");
  EXPECT_EQ(a.args(0).int_value(), 1);
  const v1::TaskSpec& b = Find(*g, "b");
  EXPECT_EQ(b.key(), "b");
  EXPECT_EQ(b.runtime(), "plugin");
  EXPECT_EQ(b.args(0).ref(), "a");
  EXPECT_EQ(b.args(1).int_value(), 2);
  EXPECT_EQ(b.kwargs().at("scale").double_value(), 1.5);
  EXPECT_EQ(b.retries(), 3);
  EXPECT_EQ(b.resources().at("GPU"), 1.0);
  EXPECT_EQ(b.priority(), -2);
  EXPECT_THAT(b.workers(), ElementsAre("w1", "10.0.0.1:7000"));
  EXPECT_TRUE(b.allow_other_workers());
  EXPECT_THAT(b.extra_dependencies(), ElementsAre("a"));
  EXPECT_EQ(b.annotations().at("prefix"), "add");
  EXPECT_EQ(b.payload(), "hi");
}

TEST(GraphJsonTest, DefaultKeysAreTasksNothingDependsOn) {
  absl::StatusOr<GraphRequest> g = GraphFromJsonText(R"({"tasks": {
    "z": {"fn": "identity", "args": [1]},
    "x": {"fn": "identity", "args": [2]},
    "y": {"fn": "sum", "args": [[{"ref": "x"}, {"ref": "w"}]]},
    "w": {"fn": "identity", "args": [3]},
    "v": {"fn": "identity", "kwargs": {"m": {"inner": {"ref": "u"}}}},
    "u": {"fn": "identity"},
    "t": {"fn": "identity", "extra_dependencies": ["s"]},
    "s": {"fn": "identity"}}})");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_THAT(g->keys, ElementsAre("t", "v", "y", "z"));
  EXPECT_EQ(g->priority, 0);
}

TEST(GraphJsonTest, EmptyKeysListIsKept) {
  absl::StatusOr<GraphRequest> g = GraphFromJsonText(R"({"tasks": {"a": {"fn": "inc"}}, "keys": []})");
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->keys.empty());
}

TEST(GraphJsonTest, TypeErrorsNameTaskAndField) {
  EXPECT_EQ(ErrorOf(R"({"tasks": {"x": {"fn": "inc", "args": 1}}})"),
            "task \"x\": \"args\" must be an array");
  EXPECT_EQ(ErrorOf(R"({"tasks": {"x": {"args": []}}})"), "task \"x\": missing \"fn\"");
  EXPECT_EQ(ErrorOf(R"({"tasks": {"x": {"fn": 3}}})"),
            "task \"x\": \"fn\" must be a non-empty string");
  EXPECT_EQ(ErrorOf(R"({"tasks": {"x": {"fn": "f", "kwargs": []}}})"),
            "task \"x\": \"kwargs\" must be an object");
  EXPECT_EQ(ErrorOf(R"({"tasks": {"x": {"fn": "f", "retries": -1}}})"),
            "task \"x\": \"retries\" must be a non-negative integer");
  EXPECT_EQ(ErrorOf(R"({"tasks": {"x": {"fn": "f", "retries": 1.5}}})"),
            "task \"x\": \"retries\" must be a non-negative integer");
  EXPECT_EQ(ErrorOf(R"({"tasks": {"x": {"fn": "f", "priority": "high"}}})"),
            "task \"x\": \"priority\" must be an integer");
  EXPECT_EQ(ErrorOf(R"({"tasks": {"x": {"fn": "f", "workers": ["a", 1]}}})"),
            "task \"x\": \"workers\" must be an array of strings");
  EXPECT_EQ(ErrorOf(R"({"tasks": {"x": {"fn": "f", "allow_other_workers": 1}}})"),
            "task \"x\": \"allow_other_workers\" must be a boolean");
  EXPECT_EQ(ErrorOf(R"({"tasks": {"x": {"fn": "f", "resources": {"GPU": -1}}}})"),
            "task \"x\": resource \"GPU\" must be a non-negative number");
  EXPECT_EQ(ErrorOf(R"({"tasks": {"x": {"fn": "f", "runtime": 1}}})"),
            "task \"x\": \"runtime\" must be a string");
  EXPECT_EQ(ErrorOf(R"({"tasks": {"x": {"fn": "f", "kwarg": {}}}})"),
            "task \"x\": unknown field \"kwarg\"");
  EXPECT_EQ(ErrorOf(R"({"tasks": {"x": 5}})"), "task \"x\": must be an object");
  EXPECT_EQ(ErrorOf(R"({"tasks": {"x": {"fn": "f", "args": [{"ref": 1}]}}})"),
            "task \"x\".args[0]: \"ref\" must be a string (a key)");
  EXPECT_EQ(ErrorOf(R"({"tasks": {"x": {"fn": "f", "kwargs": {"k": [{"b64": "!!!!"}]}}}})"),
            "task \"x\".kwargs.k[0]: \"b64\": base64: invalid character at position 0");
}

TEST(GraphJsonTest, DocumentErrors) {
  EXPECT_EQ(ErrorOf("[]"), "graph must be a JSON object");
  EXPECT_EQ(ErrorOf("{}"), "graph has no \"tasks\"");
  EXPECT_EQ(ErrorOf(R"({"tasks": []})"), "\"tasks\" must be an object");
  EXPECT_EQ(ErrorOf(R"({"tasks": {}, "keys": "a"})"), "\"keys\" must be an array of strings");
  EXPECT_EQ(ErrorOf(R"({"tasks": {}, "priority": 1.5})"), "\"priority\" must be an integer");
  EXPECT_EQ(ErrorOf(R"({"tasks": {}, "task": {}})"), "unknown field \"task\" in graph");
  EXPECT_THAT(ErrorOf(R"({"tasks": {)"), HasSubstr("graph is not valid JSON"));
  EXPECT_EQ(ErrorOf(R"({"tasks": {"": {"fn": "f"}}})"), "a task key is empty");
}

TEST(GraphJsonTest, AKeyTwiceInOneObjectIsAnError) {
  // Plain parsing would keep one of the two tasks and drop the other.
  EXPECT_THAT(ErrorOf(R"({"tasks": {"a": {"fn": "inc", "args": [1]},
                                    "a": {"fn": "inc", "args": [2]}}})"),
              HasSubstr("the key \"a\" appears twice in one JSON object"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"a": {"fn": "f", "kwargs": {"x": 1, "x": 2}}}})"),
              HasSubstr("the key \"x\" appears twice"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {}, "tasks": {}})"), HasSubstr("\"tasks\" appears twice"));
  // The same key in different objects is fine.
  absl::StatusOr<GraphRequest> g = GraphFromJsonText(
      R"({"tasks": {"a": {"fn": "f", "kwargs": {"a": {"a": 1}}}, "b": {"fn": "f", "kwargs": {"a": 2}}}})");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->tasks.size(), 2u);
}

TEST(GraphJsonTest, ChainOfTenToTheFiveTasksParses) {
  const int n = 100000;
  std::string doc = R"({"tasks": {"k0": {"fn": "inc", "args": [0]})";
  for (int i = 1; i < n; ++i) {
    doc += ", \"k" + std::to_string(i) + R"(": {"fn": "inc", "args": [{"ref": "k)" +
           std::to_string(i - 1) + "\"}]}";
  }
  doc += "}}";
  absl::StatusOr<GraphRequest> g = GraphFromJsonText(doc);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->tasks.size(), static_cast<size_t>(n));
  EXPECT_THAT(g->keys, ElementsAre("k" + std::to_string(n - 1)));
}

}  // namespace
}  // namespace taskgrid
