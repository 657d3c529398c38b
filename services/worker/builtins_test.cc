#include "services/worker/builtins.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/worker/function_errors.h"

namespace taskgrid::worker {
namespace {

using ::testing::HasSubstr;

class BuiltinsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(RegisterBuiltins(&registry_).ok()); }

  absl::StatusOr<Value> Call(const std::string& name, ValueList args, ValueMap kwargs = {}) {
    const FunctionRegistry::Entry* e = registry_.Find("builtin", name);
    if (e == nullptr) return absl::NotFoundError("no builtin " + name);
    return e->fn(args, kwargs);
  }

  // The error of a call that must fail, as "Type: message".
  std::string Error(const std::string& name, ValueList args, ValueMap kwargs = {}) {
    absl::StatusOr<Value> r = Call(name, std::move(args), std::move(kwargs));
    if (r.ok()) return "unexpected success: " + r->DebugString();
    return ErrorTypeName(r.status()) + ": " + std::string(r.status().message());
  }

  FunctionRegistry registry_;
};

Value I(int64_t i) { return Value::Int(i); }
Value D(double d) { return Value::Double(d); }
Value S(const std::string& s) { return Value::String(s); }
Value L(ValueList items) { return Value::List(std::move(items)); }

Value Int64Array(std::vector<int64_t> v) {
  NDArray a;
  a.dtype = DType::kInt64;
  a.shape = {static_cast<int64_t>(v.size())};
  a.data = Blob::Copy(std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * 8));
  return Value::Array(std::move(a));
}

template <typename T>
std::vector<T> Elements(const Value& v) {
  const NDArray& a = v.as_array();
  return std::vector<T>(a.As<T>(), a.As<T>() + a.NumElements());
}

TEST_F(BuiltinsTest, RegistersTheDesignedFunctions) {
  for (const char* name : {"inc", "add", "sub", "mul", "neg", "sum", "mean", "max", "min", "len",
                           "identity", "concat", "sleep", "random_bytes", "arange", "array_sum",
                           "fail", "full", "array_add", "nbytes", "div", "getitem", "timed_sleep",
                           "fail_times"}) {
    EXPECT_NE(registry_.Find("builtin", name), nullptr) << name;
  }
  EXPECT_EQ(registry_.Find("", "inc"), registry_.Find("builtin", "inc"));
}

TEST_F(BuiltinsTest, IncKeepsIntAndFloat) {
  EXPECT_EQ(*Call("inc", {I(41)}), I(42));
  EXPECT_EQ(*Call("inc", {D(1.5)}), D(2.5));
  EXPECT_EQ(*Call("inc", {Value::Bool(true)}), I(2));
  EXPECT_EQ(Error("inc", {S("x")}), "TypeError: inc: argument 1 is str, expected a number");
  EXPECT_EQ(Error("inc", {}), "TypeError: inc: takes 1 positional argument, got 0");
  EXPECT_THAT(Error("inc", {I(INT64_MAX)}), HasSubstr("OverflowError"));
}

TEST_F(BuiltinsTest, AddSubMulFollowPythonNumbers) {
  EXPECT_EQ(*Call("add", {I(1), I(2)}), I(3));
  EXPECT_EQ(*Call("add", {I(1), I(2), I(3)}), I(6));
  EXPECT_EQ(*Call("add", {I(1), D(0.5)}), D(1.5));
  EXPECT_EQ(Call("add", {I(1), I(2)})->kind(), Value::Kind::kInt);
  EXPECT_EQ(Error("add", {I(1), S("a")}), "TypeError: add: argument 2 is str, expected a number");
  EXPECT_EQ(Error("add", {I(1)}), "TypeError: add: takes at least 2 positional arguments, got 1");
  EXPECT_THAT(Error("add", {I(INT64_MAX), I(1)}), HasSubstr("OverflowError: add: integer overflow"));
  EXPECT_EQ(*Call("sub", {I(5), I(7)}), I(-2));
  EXPECT_EQ(*Call("sub", {D(5), I(7)}), D(-2));
  EXPECT_EQ(Error("sub", {I(5), I(7), I(1)}), "TypeError: sub: takes 2 positional arguments, got 3");
  EXPECT_EQ(*Call("mul", {I(6), I(7)}), I(42));
  EXPECT_EQ(*Call("mul", {I(2), D(0.25)}), D(0.5));
  EXPECT_THAT(Error("mul", {I(INT64_MAX), I(2)}), HasSubstr("OverflowError"));
  EXPECT_EQ(*Call("div", {I(7), I(2)}), D(3.5));
  EXPECT_EQ(Error("div", {I(1), I(0)}), "ZeroDivisionError: div: division by zero");
}

TEST_F(BuiltinsTest, Neg) {
  EXPECT_EQ(*Call("neg", {I(3)}), I(-3));
  EXPECT_EQ(*Call("neg", {D(-2.5)}), D(2.5));
  EXPECT_TRUE(std::signbit(Call("neg", {D(0.0)})->as_double()));
  EXPECT_THAT(Error("neg", {I(INT64_MIN)}), HasSubstr("OverflowError"));
  EXPECT_EQ(Error("neg", {L({})}), "TypeError: neg: argument 1 is list, expected a number");
}

TEST_F(BuiltinsTest, ReductionsTakeAListOrVarargs) {
  EXPECT_EQ(*Call("sum", {L({I(1), I(2), I(3)})}), I(6));
  EXPECT_EQ(*Call("sum", {I(1), I(2), I(3)}), I(6));
  EXPECT_EQ(*Call("sum", {L({})}), I(0));
  EXPECT_EQ(*Call("sum", {L({I(1), D(0.5)})}), D(1.5));
  EXPECT_EQ(Error("sum", {L({I(1), S("x")})}), "TypeError: sum: item 2 is str, expected a number");
  EXPECT_EQ(Error("sum", {I(1), S("x")}), "TypeError: sum: argument 2 is str, expected a number");
  EXPECT_EQ(*Call("mean", {L({I(1), I(2)})}), D(1.5));
  EXPECT_EQ(Error("mean", {L({})}), "ValueError: mean: empty sequence");
  EXPECT_EQ(*Call("max", {L({I(3), D(7.5), I(2)})}), D(7.5));
  EXPECT_EQ(*Call("max", {I(3), I(9), I(2)}), I(9));
  EXPECT_EQ(*Call("min", {L({I(3), D(-7.5), I(2)})}), D(-7.5));
  EXPECT_EQ(*Call("min", {I(3)}), I(3));
  EXPECT_EQ(Error("max", {L({})}), "ValueError: max: empty sequence");
  // Large ints compare exactly, not through double.
  EXPECT_EQ(*Call("max", {I(INT64_MAX), I(INT64_MAX - 1)}), I(INT64_MAX));
}

TEST_F(BuiltinsTest, Len) {
  EXPECT_EQ(*Call("len", {L({I(1), I(2)})}), I(2));
  EXPECT_EQ(*Call("len", {S("h\xC3\xA9llo")}), I(5));  // code points, as in Python
  EXPECT_EQ(*Call("len", {Value::Bytes(Blob::Copy("abc"))}), I(3));
  EXPECT_EQ(*Call("len", {Value::Map({{"a", I(1)}})}), I(1));
  EXPECT_EQ(*Call("len", {Int64Array({1, 2, 3, 4})}), I(4));
  EXPECT_EQ(Error("len", {I(3)}),
            "TypeError: len: argument 1 is int, expected a list, dict, str, bytes or ndarray");
}

TEST_F(BuiltinsTest, IdentityAndNbytes) {
  Value v = L({I(1), S("two")});
  EXPECT_EQ(*Call("identity", {v}), v);
  EXPECT_EQ(*Call("nbytes", {Value::Bytes(Blob::Copy(std::string(1000, 'x')))}),
            I(Value::Bytes(Blob::Copy(std::string(1000, 'x'))).ByteSize()));
  EXPECT_GE(Call("nbytes", {Value::Bytes(Blob::Copy(std::string(1000, 'x')))})->as_int(), 1000);
}

TEST_F(BuiltinsTest, ConcatListsStringsBytesArrays) {
  EXPECT_EQ(*Call("concat", {L({I(1)}), L({I(2), I(3)})}), L({I(1), I(2), I(3)}));
  EXPECT_EQ(*Call("concat", {L({L({I(1)}), L({I(2)})})}), L({I(1), I(2)}));
  EXPECT_EQ(*Call("concat", {L({I(1), I(2)})}), L({I(1), I(2)}));
  EXPECT_EQ(*Call("concat", {S("ab"), S("cd")}), S("abcd"));
  EXPECT_EQ(Call("concat", {Value::Bytes(Blob::Copy("ab")), Value::Bytes(Blob::Copy("cd"))})
                ->as_bytes()
                .ToString(),
            "abcd");
  Value joined = *Call("concat", {Int64Array({1, 2}), Int64Array({3})});
  EXPECT_EQ(Elements<int64_t>(joined), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(Error("concat", {S("a"), L({})}),
            "TypeError: concat: argument 2 is list, expected a str like the first");
  EXPECT_EQ(Error("concat", {I(1)}),
            "TypeError: concat: argument 1 is int, expected a list, str, bytes or ndarray");
}

TEST_F(BuiltinsTest, GetItem) {
  EXPECT_EQ(*Call("getitem", {L({I(1), I(2)}), I(-1)}), I(2));
  EXPECT_EQ(*Call("getitem", {Value::Map({{"a", I(5)}}), S("a")}), I(5));
  EXPECT_EQ(Error("getitem", {L({I(1)}), I(3)}),
            "IndexError: getitem: list index 3 out of range (length 1)");
  EXPECT_EQ(Error("getitem", {Value::Map({}), S("b")}), "KeyError: getitem: key 'b' not found");
}

TEST_F(BuiltinsTest, SleepReturnsValue) {
  EXPECT_EQ(*Call("sleep", {D(0.001), S("done")}), S("done"));
  EXPECT_EQ(*Call("sleep", {I(0)}), Value::Null());
  EXPECT_EQ(*Call("sleep", {}, {{"seconds", I(0)}, {"value", I(7)}}), I(7));
  EXPECT_EQ(Error("sleep", {D(-1)}), "ValueError: sleep: seconds must be a finite number >= 0, got -1");
  EXPECT_EQ(Error("sleep", {I(0)}, {{"bogus", I(1)}}),
            "TypeError: sleep: unexpected keyword argument 'bogus'");
}

TEST_F(BuiltinsTest, TimedSleepReturnsWhenItRan) {
  Value v = *Call("timed_sleep", {D(0.01)});
  ASSERT_EQ(v.kind(), Value::Kind::kList);
  ASSERT_EQ(v.as_list().size(), 2u);
  const double start = v.as_list()[0].as_double();
  const double stop = v.as_list()[1].as_double();
  EXPECT_GT(start, 1.6e9);  // Unix seconds, comparable across processes
  EXPECT_GE(stop, start + 0.01);
  EXPECT_EQ(Error("timed_sleep", {D(-1)}),
            "ValueError: timed_sleep: seconds must be a finite number >= 0, got -1");
}

TEST_F(BuiltinsTest, FailTimesRaisesTheFirstNCallsCountedInAFile) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(tmp != nullptr ? tmp : "/tmp") + "/fail_times_" +
                           std::to_string(::getpid()) + ".count";
  ::unlink(path.c_str());
  EXPECT_EQ(Error("fail_times", {S(path), I(2), S("ok")}),
            "RuntimeError: fail_times: failure 1 of 2");
  EXPECT_EQ(Error("fail_times", {S(path), I(2), S("ok")}),
            "RuntimeError: fail_times: failure 2 of 2");
  EXPECT_EQ(*Call("fail_times", {S(path), I(2), S("ok")}), S("ok"));
  EXPECT_EQ(*Call("fail_times", {}, {{"counter_path", S(path)}, {"n", I(0)}}), Value::Null());
  // Concurrent callers each get their own count: exactly 50 of 100 fail.
  ::unlink(path.c_str());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 25; ++k) {
        if (!Call("fail_times", {S(path), I(50)}).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 50);
  ::unlink(path.c_str());
  EXPECT_THAT(Error("fail_times", {S("/nonexistent-dir/x"), I(1)}),
              HasSubstr("OSError: fail_times: cannot open counter file /nonexistent-dir/x"));
  EXPECT_EQ(Error("fail_times", {I(3), I(1)}),
            "TypeError: fail_times: argument 1 is int, expected a non-empty str (a file path)");
}

TEST_F(BuiltinsTest, FailRaisesWithMessageAndType) {
  EXPECT_EQ(Error("fail", {S("boom")}), "FunctionError: boom");
  EXPECT_EQ(Error("fail", {S("bad")}, {{"type", S("ValueError")}}), "ValueError: bad");
}

TEST_F(BuiltinsTest, RandomBytesIsDeterministicPerSeed) {
  Value a = *Call("random_bytes", {I(1001), I(7)});
  Value b = *Call("random_bytes", {I(1001)}, {{"seed", I(7)}});
  Value c = *Call("random_bytes", {I(1001), I(8)});
  ASSERT_EQ(a.kind(), Value::Kind::kBytes);
  EXPECT_EQ(a.as_bytes().size(), 1001u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // A prefix of a longer stream: the generator does not depend on n.
  Value longer = *Call("random_bytes", {I(2000), I(7)});
  EXPECT_EQ(longer.as_bytes().view().substr(0, 1001), a.as_bytes().view());
  // SplitMix64's first output for seed 0 is a published constant.
  Value zero = *Call("random_bytes", {I(8), I(0)});
  uint64_t first;
  std::memcpy(&first, zero.as_bytes().data(), 8);
  EXPECT_EQ(first, 0xE220A8397B1DCDAFull);
  EXPECT_EQ(Call("random_bytes", {I(0)})->as_bytes().size(), 0u);
  EXPECT_EQ(Error("random_bytes", {I(-1)}), "ValueError: random_bytes: n must be >= 0, got -1");
}

TEST_F(BuiltinsTest, Arange) {
  EXPECT_EQ(Elements<int64_t>(*Call("arange", {I(4)})), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(Elements<int64_t>(*Call("arange", {I(2), I(9), I(3)})), (std::vector<int64_t>{2, 5, 8}));
  EXPECT_EQ(Elements<int64_t>(*Call("arange", {I(5), I(0), I(-2)})), (std::vector<int64_t>{5, 3, 1}));
  EXPECT_TRUE(Elements<int64_t>(*Call("arange", {I(-3)})).empty());
  Value a = *Call("arange", {I(3)});
  EXPECT_EQ(a.as_array().dtype, DType::kInt64);
  EXPECT_EQ(a.as_array().shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(Error("arange", {I(0), I(3), I(0)}), "ValueError: arange: step must not be zero");
  EXPECT_THAT(Error("arange", {I(int64_t{1} << 60)}), HasSubstr("MemoryError"));
}

TEST_F(BuiltinsTest, ArraySumAllDtypes) {
  EXPECT_EQ(*Call("array_sum", {*Call("arange", {I(101)})}), I(5050));
  EXPECT_EQ(*Call("array_sum", {*Call("full", {I(4), D(0.5)})}), D(2.0));
  NDArray u8;
  u8.dtype = DType::kUInt8;
  u8.shape = {3};
  u8.data = Blob::Copy(std::string("\xff\x01\x02", 3));
  EXPECT_EQ(*Call("array_sum", {Value::Array(u8)}), I(258));
  NDArray f32;
  f32.dtype = DType::kFloat32;
  f32.shape = {2};
  float fv[2] = {1.5f, 2.25f};
  f32.data = Blob::Copy(std::string_view(reinterpret_cast<const char*>(fv), sizeof(fv)));
  EXPECT_EQ(*Call("array_sum", {Value::Array(f32)}), D(3.75));
  EXPECT_EQ(Error("array_sum", {L({})}), "TypeError: array_sum: argument 1 is list, expected an ndarray");
}

// Arrays decoded from a received buffer share it and may start at any
// offset; the array builtins must not assume aligned data.
TEST_F(BuiltinsTest, ArraysAtUnalignedOffsets) {
  std::vector<int64_t> values = {1, -2, 3, 40};
  std::string buffer(1 + values.size() * 8, '\0');
  std::memcpy(&buffer[1], values.data(), values.size() * 8);
  Blob whole = Blob::FromString(std::move(buffer));
  NDArray a;
  a.dtype = DType::kInt64;
  a.shape = {4};
  a.data = whole.Slice(1, 32);
  Value unaligned = Value::Array(a);
  EXPECT_EQ(*Call("array_sum", {unaligned}), I(42));
  EXPECT_EQ(Elements<int64_t>(*Call("array_add", {unaligned, unaligned})),
            (std::vector<int64_t>{2, -4, 6, 80}));
  EXPECT_EQ(Elements<double>(*Call("array_add", {unaligned, D(0.5)})),
            (std::vector<double>{1.5, -1.5, 3.5, 40.5}));
}

TEST_F(BuiltinsTest, FullTakesShape) {
  Value v = *Call("full", {L({I(2), I(3)}), I(7)});
  EXPECT_EQ(v.as_array().dtype, DType::kFloat64);
  EXPECT_EQ(v.as_array().shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(Elements<double>(v), std::vector<double>(6, 7.0));
  EXPECT_THAT(Error("full", {I(-1), I(0)}), HasSubstr("ValueError: full: negative dimension -1"));
}

TEST_F(BuiltinsTest, ArrayAdd) {
  Value sum = *Call("array_add", {Int64Array({1, 2}), Int64Array({10, 20})});
  EXPECT_EQ(sum.as_array().dtype, DType::kInt64);
  EXPECT_EQ(Elements<int64_t>(sum), (std::vector<int64_t>{11, 22}));
  Value mixed = *Call("array_add", {Int64Array({1, 2}), *Call("full", {I(2), D(0.5)})});
  EXPECT_EQ(mixed.as_array().dtype, DType::kFloat64);
  EXPECT_EQ(Elements<double>(mixed), (std::vector<double>{1.5, 2.5}));
  Value scalar = *Call("array_add", {Int64Array({1, 2}), I(5)});
  EXPECT_EQ(Elements<int64_t>(scalar), (std::vector<int64_t>{6, 7}));
  Value fscalar = *Call("array_add", {Int64Array({1, 2}), D(0.5)});
  EXPECT_EQ(Elements<double>(fscalar), (std::vector<double>{1.5, 2.5}));
  EXPECT_EQ(Error("array_add", {Int64Array({1, 2}), Int64Array({1})}),
            "ValueError: array_add: shapes (2) and (1) differ");
}

// The exception type a client sees for a builtin's failure: the name a
// builtin attached, else one derived from the status code.
TEST(FunctionErrorsTest, ErrorTypeNameFollowsTheStatusCodeUnlessAPayloadNamesIt) {
  EXPECT_EQ(ErrorTypeName(absl::InvalidArgumentError("x")), "ValueError");
  EXPECT_EQ(ErrorTypeName(absl::OutOfRangeError("x")), "IndexError");
  EXPECT_EQ(ErrorTypeName(absl::NotFoundError("x")), "KeyError");
  EXPECT_EQ(ErrorTypeName(absl::UnimplementedError("x")), "NotImplementedError");
  EXPECT_EQ(ErrorTypeName(absl::ResourceExhaustedError("x")), "MemoryError");
  EXPECT_EQ(ErrorTypeName(absl::DeadlineExceededError("x")), "TimeoutError");
  EXPECT_EQ(ErrorTypeName(absl::InternalError("x")), "FunctionError");
  EXPECT_EQ(ErrorTypeName(FunctionError("ZeroDivisionError", "x")), "ZeroDivisionError");
}

}  // namespace
}  // namespace taskgrid::worker
