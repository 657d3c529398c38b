#include "clients/cpp/key.h"

#include <set>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid::client {
namespace {

using ::testing::MatchesRegex;
using ::testing::Not;

std::string Key(const std::string& fn, std::vector<Value> args, const SubmitOptions& opts = {}) {
  return KeyTokenizer(fn, opts).PureKey(args);
}

TEST(KeyTest, PureKeyIsFunctionNameAndMd5Hex) {
  EXPECT_THAT(Key("inc", {Value::Int(1)}), MatchesRegex("inc-[0-9a-f]{32}"));
}

TEST(KeyTest, IdenticalCallsShareAKey) {
  EXPECT_EQ(Key("add", {Value::Int(1), Value::Int(2)}),
            Key("add", {Value::Int(1), Value::Int(2)}));
  // A fresh tokenizer (another client) agrees.
  SubmitOptions opts;
  KeyTokenizer a("add", opts), b("add", opts);
  std::vector<Value> args = {Value::String("x")};
  EXPECT_EQ(a.PureKey(args), b.PureKey(args));
}

TEST(KeyTest, DifferentContentGivesDifferentKeys) {
  std::set<std::string> keys = {
      Key("inc", {Value::Int(1)}),
      Key("inc", {Value::Int(2)}),
      Key("neg", {Value::Int(1)}),
      Key("inc", {Value::Double(1)}),       // 1 and 1.0 are different values
      Key("inc", {Value::String("1")}),
      Key("inc", {Value::Ref("1")}),        // a reference is not a string
      Key("inc", {Value::List({Value::Int(1)})}),
      Key("inc", {Value::Int(1), Value::Null()}),
      Key("inc", {}),
  };
  EXPECT_EQ(keys.size(), 9u);
}

TEST(KeyTest, StringBoundariesMatter) {
  EXPECT_NE(Key("concat", {Value::String("ab"), Value::String("c")}),
            Key("concat", {Value::String("a"), Value::String("bc")}));
}

TEST(KeyTest, OptionsThatGoIntoTheSpecChangeTheKey) {
  const std::string plain = Key("inc", {Value::Int(1)});
  SubmitOptions retries;
  retries.retries = 2;
  SubmitOptions runtime;
  runtime.runtime = "python";
  SubmitOptions kwargs;
  kwargs.kwargs["step"] = Value::Int(2);
  SubmitOptions resources;
  resources.resources["GPU"] = 1;
  SubmitOptions workers;
  workers.workers = {"w1"};
  for (const SubmitOptions* o : {&retries, &runtime, &kwargs, &resources, &workers}) {
    EXPECT_NE(Key("inc", {Value::Int(1)}, *o), plain);
  }
  // "builtin" is the default runtime, spelled or not.
  SubmitOptions builtin;
  builtin.runtime = "";
  EXPECT_EQ(Key("inc", {Value::Int(1)}, builtin), plain);
}

TEST(KeyTest, MapKeyOrderDoesNotMatter) {
  ValueMap m1;
  m1["a"] = Value::Int(1);
  m1["b"] = Value::Int(2);
  ValueMap m2;
  m2["b"] = Value::Int(2);
  m2["a"] = Value::Int(1);
  EXPECT_EQ(Key("f", {Value::Map(m1)}), Key("f", {Value::Map(m2)}));
}

TEST(KeyTest, LargePayloadsAreHashedByContent) {
  std::string big(100000, 'x');
  std::string other = big;
  other[50000] = 'y';
  EXPECT_EQ(Key("len", {Value::Bytes(Blob::Copy(big))}),
            Key("len", {Value::Bytes(Blob::Copy(big))}));
  EXPECT_NE(Key("len", {Value::Bytes(Blob::Copy(big))}),
            Key("len", {Value::Bytes(Blob::Copy(other))}));
  // Bytes and pickle with the same payload differ.
  EXPECT_NE(Key("len", {Value::Bytes(Blob::Copy(big))}),
            Key("len", {Value::Pickle(Blob::Copy(big))}));
}

TEST(KeyTest, ArraysHashShapeAndDtype) {
  std::string data(16, '\0');
  NDArray flat{DType::kFloat64, {2}, Blob::Copy(data)};
  NDArray col{DType::kFloat64, {2, 1}, Blob::Copy(data)};
  NDArray ints{DType::kInt64, {2}, Blob::Copy(data)};
  EXPECT_NE(Key("sum", {Value::Array(flat)}), Key("sum", {Value::Array(col)}));
  EXPECT_NE(Key("sum", {Value::Array(flat)}), Key("sum", {Value::Array(ints)}));
}

TEST(KeyTest, NamePrefixReplacesFunctionName) {
  SubmitOptions opts;
  KeyTokenizer named("inc", opts, "step");
  std::vector<Value> args = {Value::Int(1)};
  EXPECT_THAT(named.PureKey(args), MatchesRegex("step-[0-9a-f]{32}"));
  EXPECT_EQ(named.PureKey(args).substr(5), Key("inc", {Value::Int(1)}).substr(4));
}

TEST(KeyTest, UniqueKeysNeverRepeat) {
  std::set<std::string> keys;
  for (int i = 0; i < 10000; ++i) keys.insert(UniqueKey("inc"));
  EXPECT_EQ(keys.size(), 10000u);
  EXPECT_THAT(UniqueKey("inc"), MatchesRegex("inc-[0-9a-f]{32}"));
}

TEST(KeyTest, CanonicalEncodingIsLengthPrefixed) {
  std::string a, b;
  AppendCanonical(Value::List({Value::String("a"), Value::String("b")}), &a);
  AppendCanonical(Value::List({Value::String("ab")}), &b);
  EXPECT_NE(a, b);
  EXPECT_THAT(a, Not(::testing::IsEmpty()));
}

}  // namespace
}  // namespace taskgrid::client
