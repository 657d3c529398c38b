#include "services/worker/plugin_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/worker/function_errors.h"

namespace taskgrid::worker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PluginLoaderTest, LoadsFunctionsUnderPluginRuntime) {
  FunctionRegistry registry;
  absl::StatusOr<std::vector<std::string>> names = LoadPlugin(EXAMPLE_PLUGIN_PATH, &registry);
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_THAT(*names, ElementsAre("square", "word_count"));
  const FunctionRegistry::Entry* square = registry.Find("plugin", "square");
  ASSERT_NE(square, nullptr);
  EXPECT_EQ(square->qualified_name, "plugin/square");
  EXPECT_EQ(*square->fn({Value::Int(12)}, {}), Value::Int(144));
  absl::StatusOr<Value> bad = square->fn({Value::String("x")}, {});
  EXPECT_EQ(ErrorTypeName(bad.status()), "TypeError");
  EXPECT_EQ(*registry.Find("plugin", "word_count")->fn({Value::String(" a bc  d ")}, {}),
            Value::Int(3));
}

TEST(PluginLoaderTest, TwoPluginsKeepSeparateLists) {
  FunctionRegistry registry;
  ASSERT_TRUE(LoadPlugin(EXAMPLE_PLUGIN_PATH, &registry).ok());
  absl::StatusOr<std::vector<std::string>> b = LoadPlugin(TEST_PLUGIN_B_PATH, &registry);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_THAT(*b, ElementsAre("cube", "throws"));
  EXPECT_EQ(registry.size(), 4u);
  EXPECT_EQ(*registry.Find("plugin", "cube")->fn({Value::Int(2)}, {}), Value::Double(8));
}

TEST(PluginLoaderTest, LoadingTwiceIsADuplicate) {
  FunctionRegistry registry;
  ASSERT_TRUE(LoadPlugin(EXAMPLE_PLUGIN_PATH, &registry).ok());
  absl::StatusOr<std::vector<std::string>> again = LoadPlugin(EXAMPLE_PLUGIN_PATH, &registry);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr("plugin/square"));
}

TEST(PluginLoaderTest, ReportsUnloadableAndNonPluginLibraries) {
  FunctionRegistry registry;
  absl::StatusOr<std::vector<std::string>> missing = LoadPlugin("/nonexistent/libx.so", &registry);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr("cannot load plugin /nonexistent/libx.so"));
  // A real shared library that is not a taskgrid plugin.
  absl::StatusOr<std::vector<std::string>> libm = LoadPlugin("libm.so.6", &registry);
  EXPECT_THAT(libm.status().message(), HasSubstr("registers no functions"));
}

}  // namespace
}  // namespace taskgrid::worker
