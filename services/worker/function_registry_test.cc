#include "services/worker/function_registry.h"

#include <gtest/gtest.h>

namespace taskgrid::worker {
namespace {

absl::StatusOr<Value> Seven(const ValueList&, const ValueMap&) { return Value::Int(7); }

TEST(FunctionRegistryTest, RegistersAndFindsByRuntimeAndName) {
  FunctionRegistry r;
  ASSERT_TRUE(r.Register("builtin", "seven", Seven).ok());
  ASSERT_TRUE(r.Register("plugin", "seven", Seven).ok());
  const FunctionRegistry::Entry* b = r.Find("builtin", "seven");
  const FunctionRegistry::Entry* p = r.Find("plugin", "seven");
  ASSERT_NE(b, nullptr);
  ASSERT_NE(p, nullptr);
  EXPECT_NE(b, p);
  EXPECT_EQ(b->index, 0);
  EXPECT_EQ(p->index, 1);
  EXPECT_EQ(&r.at(1), p);
  EXPECT_EQ(r.Find("", "seven"), b);  // empty runtime means builtin
  EXPECT_EQ(r.Find("python", "seven"), nullptr);
  EXPECT_EQ(r.Find("builtin", "eight"), nullptr);
  EXPECT_EQ(r.QualifiedNames(), (std::vector<std::string>{"builtin/seven", "plugin/seven"}));
  EXPECT_EQ(*b->fn({}, {}), Value::Int(7));
}

TEST(FunctionRegistryTest, RejectsDuplicatesAndBadNames) {
  FunctionRegistry r;
  ASSERT_TRUE(r.Register("builtin", "f", Seven).ok());
  EXPECT_EQ(r.Register("builtin", "f", Seven).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(r.Register("builtin", "", Seven).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Register("a/b", "f", Seven).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Register("builtin", "g", nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.size(), 1u);
}

}  // namespace
}  // namespace taskgrid::worker
