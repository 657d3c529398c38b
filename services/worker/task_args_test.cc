#include "services/worker/task_args.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/container/flat_hash_map.h"
#include "common/value_proto.h"

namespace taskgrid::worker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::Value ToProto(const Value& v) {
  v1::Value p;
  ValueToProto(v, &p);
  return p;
}

class Deps {
 public:
  void Add(const std::string& key, Value v) { values_[key] = std::move(v); }
  const Value* operator()(const std::string& key) const {
    auto it = values_.find(key);
    return it == values_.end() ? nullptr : &it->second;
  }

 private:
  absl::flat_hash_map<std::string, Value> values_;
};

TEST(TaskArgsTest, ReferencedKeysFindsNestedRefsOnce) {
  v1::TaskSpec spec;
  *spec.add_args() = ToProto(Value::Ref("a"));
  *spec.add_args() = ToProto(Value::List({Value::Int(1), Value::Ref("b"),
                                          Value::List({Value::Ref("a"), Value::Ref("c")})}));
  (*spec.mutable_kwargs())["k"] = ToProto(Value::Map({{"x", Value::Ref("d")}}));
  spec.add_extra_dependencies("not-an-arg");
  EXPECT_THAT(ReferencedKeys(spec), ElementsAre("a", "b", "c", "d"));
}

TEST(TaskArgsTest, SubstituteRefsReplacesEverywhere) {
  Deps deps;
  deps.Add("a", Value::Int(10));
  deps.Add("b", Value::String("bee"));
  Value v = Value::List({Value::Ref("a"), Value::Map({{"k", Value::Ref("b")}, {"z", Value::Int(0)}}),
                         Value::List({Value::Int(1)})});
  absl::StatusOr<Value> out = SubstituteRefs(v, deps);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, Value::List({Value::Int(10),
                               Value::Map({{"k", Value::String("bee")}, {"z", Value::Int(0)}}),
                               Value::List({Value::Int(1)})}));
  EXPECT_FALSE(out->HasRefs());
}

TEST(TaskArgsTest, SubstituteRefsSharesRefFreeParts) {
  Deps deps;
  Value inner = Value::List({Value::Int(1), Value::Int(2)});
  Value v = Value::List({inner, Value::Int(3)});
  absl::StatusOr<Value> out = SubstituteRefs(v, deps);
  ASSERT_TRUE(out.ok());
  // No refs: the very same list storage comes back.
  EXPECT_EQ(&out->as_list(), &v.as_list());
}

TEST(TaskArgsTest, SubstituteRefsNamesMissingKey) {
  Deps deps;
  absl::StatusOr<Value> out = SubstituteRefs(Value::List({Value::Ref("gone")}), deps);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(out.status().message(), HasSubstr("'gone'"));
}

TEST(TaskArgsTest, ResolveArgumentsConvertsAndSubstitutes) {
  Deps deps;
  deps.Add("x", Value::Double(2.5));
  v1::TaskSpec spec;
  *spec.add_args() = ToProto(Value::Ref("x"));
  *spec.add_args() = ToProto(Value::Int(4));
  (*spec.mutable_kwargs())["value"] = ToProto(Value::List({Value::Ref("x")}));
  absl::StatusOr<TaskArguments> args = ResolveArguments(spec, deps);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_THAT(args->args, ElementsAre(Value::Double(2.5), Value::Int(4)));
  EXPECT_EQ(args->kwargs.at("value"), Value::List({Value::Double(2.5)}));
}

TEST(TaskArgsTest, ResolveArgumentsNamesBadArgument) {
  Deps deps;
  v1::TaskSpec spec;
  *spec.add_args() = ToProto(Value::Int(1));
  spec.add_args();  // kind unset: invalid
  absl::StatusOr<TaskArguments> args = ResolveArguments(spec, deps);
  EXPECT_FALSE(args.ok());
  EXPECT_THAT(args.status().message(), HasSubstr("argument 2"));

  v1::TaskSpec spec2;
  (*spec2.mutable_kwargs())["w"] = ToProto(Value::Ref("missing"));
  args = ResolveArguments(spec2, deps);
  EXPECT_THAT(args.status().message(), HasSubstr("keyword argument 'w'"));
}

}  // namespace
}  // namespace taskgrid::worker
