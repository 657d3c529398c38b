#include "services/worker/function_registry.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

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

TEST(FunctionRegistryTest, RuntimeCatchAllGetsNameAndPayload) {
  FunctionRegistry r;
  ASSERT_TRUE(r.Register("python", "named", Seven).ok());
  ASSERT_TRUE(r.RegisterRuntime("python", [](const RuntimeCall& call) -> absl::StatusOr<Value> {
                  return Value::String(absl::StrCat(call.function, ":", call.payload, ":",
                                                    call.args.size()));
                }).ok());
  EXPECT_EQ(r.RegisterRuntime("python", [](const RuntimeCall&) { return Value(); }).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(r.Register("python", "*", Seven).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Find("python", "named")->fn({}, {}).value(), Value::Int(7));
  const FunctionRegistry::Entry* any = r.Find("python", "whatever");
  ASSERT_NE(any, nullptr);
  EXPECT_EQ(any->qualified_name, "python/*");
  EXPECT_FALSE(any->fn);
  ValueList args{Value::Int(1)};
  ValueMap kwargs;
  EXPECT_EQ(any->any_fn(RuntimeCall{"f", "pickled", args, kwargs}).value(),
            Value::String("f:pickled:1"));
  EXPECT_EQ(r.Find("builtin", "whatever"), nullptr);
  EXPECT_EQ(r.QualifiedNames(), (std::vector<std::string>{"python/named", "python/*"}));
}

}  // namespace
}  // namespace taskgrid::worker
