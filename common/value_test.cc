#include "common/value.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid {
namespace {

using ::testing::HasSubstr;

NDArray Float64Array(std::vector<double> values, std::vector<int64_t> shape) {
  NDArray a;
  a.dtype = DType::kFloat64;
  a.shape = std::move(shape);
  a.data = Blob::Copy(std::string_view(reinterpret_cast<const char*>(values.data()),
                                       values.size() * sizeof(double)));
  return a;
}

TEST(ValueTest, KindsAndAccessors) {
  EXPECT_TRUE(Value().is_null());
  EXPECT_EQ(Value::Bool(true).kind(), Value::Kind::kBool);
  EXPECT_TRUE(Value::Bool(true).as_bool());
  EXPECT_EQ(Value::Int(-7).as_int(), -7);
  EXPECT_EQ(Value::Double(2.5).as_double(), 2.5);
  EXPECT_EQ(Value::Int(3).as_number(), 3.0);
  EXPECT_TRUE(Value::Double(1).is_number());
  EXPECT_FALSE(Value::String("1").is_number());
  EXPECT_EQ(Value::String("hi").as_string(), "hi");
  EXPECT_EQ(Value::Ref("k").as_ref(), "k");
  EXPECT_EQ(Value::Bytes(Blob::Copy("ab")).as_bytes().ToString(), "ab");
  EXPECT_EQ(Value::Pickle(Blob::Copy("p")).as_pickle().ToString(), "p");
  EXPECT_EQ(Value::List({Value::Int(1)}).as_list().size(), 1u);
  EXPECT_EQ(Value::Map({{"a", Value()}}).as_map().count("a"), 1u);
  EXPECT_EQ(Value::Array(Float64Array({1, 2}, {2})).as_array().As<double>()[1], 2.0);
}

// A runtime object that counts how often it is pickled.
class CountingObject final : public LocalObject {
 public:
  explicit CountingObject(bool picklable) : picklable_(picklable) {}
  int64_t ByteSize() const override { return 1000; }
  const absl::StatusOr<Blob>& Pickled() const override {
    std::call_once(once_, [&] {
      ++pickles_;
      result_ = picklable_ ? absl::StatusOr<Blob>(Blob::Copy("bytes"))
                           : absl::FailedPreconditionError("cannot pickle a result of type T");
    });
    return result_;
  }
  mutable int pickles_ = 0;

 private:
  const bool picklable_;
  mutable std::once_flag once_;
  mutable absl::StatusOr<Blob> result_;
};

TEST(ValueTest, LocalPickleIsPickledOnceAndOnlyWhenRead) {
  auto object = std::make_shared<CountingObject>(true);
  Value v = Value::LocalPickle(object);
  EXPECT_EQ(v.kind(), Value::Kind::kPickle);
  EXPECT_EQ(v.local_object(), object.get());
  EXPECT_EQ(v.ByteSize(), 1000);  // the estimate, without pickling
  EXPECT_EQ(v.DebugString(), "object(~1000 bytes)");
  EXPECT_EQ(v, Value::LocalPickle(object));  // same object: no pickling
  EXPECT_EQ(object->pickles_, 0);
  EXPECT_TRUE(PreparePickles(Value::Map({{"a", Value::List({v})}})).ok());
  EXPECT_EQ(v.as_pickle().ToString(), "bytes");
  EXPECT_EQ(v, Value::Pickle(Blob::Copy("bytes")));
  EXPECT_EQ(object->pickles_, 1);
  EXPECT_EQ(Value::Pickle(Blob::Copy("p")).local_object(), nullptr);
}

TEST(ValueTest, UnpicklableLocalObjectIsReportedByPreparePickles) {
  Value v = Value::LocalPickle(std::make_shared<CountingObject>(false));
  absl::Status s = PreparePickles(Value::List({Value::Int(1), v}));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "cannot pickle a result of type T");
  EXPECT_TRUE(v.as_pickle().empty());
}

TEST(ValueTest, TypeNames) {
  EXPECT_STREQ(Value().TypeName(), "NoneType");
  EXPECT_STREQ(Value::Bool(false).TypeName(), "bool");
  EXPECT_STREQ(Value::Int(1).TypeName(), "int");
  EXPECT_STREQ(Value::Double(1).TypeName(), "float");
  EXPECT_STREQ(Value::String("").TypeName(), "str");
  EXPECT_STREQ(Value::Bytes(Blob()).TypeName(), "bytes");
  EXPECT_STREQ(Value::List({}).TypeName(), "list");
  EXPECT_STREQ(Value::Map({}).TypeName(), "dict");
  EXPECT_STREQ(Value::Array(Float64Array({}, {0})).TypeName(), "ndarray");
  EXPECT_STREQ(Value::Pickle(Blob()).TypeName(), "pickle");
  EXPECT_STREQ(Value::Ref("x").TypeName(), "ref");
}

TEST(ValueDeathTest, WrongKindAborts) {
  EXPECT_DEATH(Value::String("x").as_int(), "str");
}

TEST(ValueTest, DebugStringLooksLikePython) {
  Value v = Value::List({Value::Int(1), Value::Double(2.5), Value::String("a"), Value(),
                         Value::Bytes(Blob::Copy("x\x01'")),
                         Value::Map({{"k", Value::Int(1)}}),
                         Value::Array(Float64Array({1, 2, 3}, {3})), Value::Bool(true),
                         Value::Ref("key-1"), Value::Pickle(Blob::Copy("abc"))});
  EXPECT_EQ(v.DebugString(1000),
            "[1, 2.5, 'a', None, b'x\\x01\\'', {'k': 1}, array(float64, shape=(3,)), "
            "True, ref('key-1'), pickle(3 bytes)]");
  EXPECT_EQ(Value::Array(Float64Array({1, 2, 3, 4, 5, 6}, {2, 3})).DebugString(),
            "array(float64, shape=(2, 3))");
  EXPECT_EQ(Value::Array(Float64Array({1}, {})).DebugString(), "array(float64, shape=())");
  EXPECT_EQ(Value::String("it's\n").DebugString(), "'it\\'s\\n'");
}

TEST(ValueTest, DoubleReprIsShortestRoundTrip) {
  EXPECT_EQ(Value::Double(2.0).DebugString(), "2.0");
  EXPECT_EQ(Value::Double(0.1).DebugString(), "0.1");
  EXPECT_EQ(Value::Double(-1.5).DebugString(), "-1.5");
  EXPECT_EQ(Value::Double(1e20).DebugString(), "1e+20");
  EXPECT_EQ(Value::Double(1.0 / 3).DebugString(), "0.3333333333333333");
  EXPECT_EQ(Value::Double(std::nan("")).DebugString(), "nan");
  EXPECT_EQ(Value::Double(-std::numeric_limits<double>::infinity()).DebugString(), "-inf");
}

TEST(ValueTest, DebugStringOfLargeBytesShowsSize) {
  std::string s(100, 'z');
  std::string repr = Value::Bytes(Blob::Copy(s)).DebugString();
  EXPECT_THAT(repr, HasSubstr("(100 bytes)"));
  EXPECT_THAT(repr, ::testing::StartsWith("b'zzzz"));
}

TEST(ValueTest, DebugStringTruncates) {
  ValueList items(100000, Value::Int(123456));
  std::string repr = Value::List(std::move(items)).DebugString(50);
  EXPECT_EQ(repr.size(), 53u);
  EXPECT_THAT(repr, ::testing::EndsWith("..."));
  EXPECT_THAT(repr, ::testing::StartsWith("[123456, 123456"));
}

TEST(ValueTest, ByteSize) {
  EXPECT_EQ(Value::Int(5).ByteSize(), 8);
  EXPECT_EQ(Value::Double(5).ByteSize(), 8);
  EXPECT_EQ(Value::String("abcd").ByteSize(), 4);
  EXPECT_EQ(Value::Bytes(Blob::Copy(std::string(1000, 'a'))).ByteSize(), 1000);
  EXPECT_EQ(Value::Array(Float64Array({1, 2, 3}, {3})).ByteSize(), 24);
  Value list = Value::List({Value::Int(1), Value::String("abc")});
  EXPECT_GE(list.ByteSize(), 8 + 3);
  EXPECT_LT(list.ByteSize(), 8 + 3 + 64);
  Value map = Value::Map({{"key", Value::Bytes(Blob::Copy(std::string(500, 'x')))}});
  EXPECT_GE(map.ByteSize(), 503);
  EXPECT_LT(map.ByteSize(), 503 + 64);
}

TEST(ValueTest, DeepEquality) {
  auto make = [](double d) {
    return Value::Map({{"a", Value::List({Value::Int(1), Value::Double(d),
                                          Value::Array(Float64Array({d}, {1}))})},
                       {"b", Value::Bytes(Blob::Copy("xyz"))}});
  };
  EXPECT_EQ(make(1.5), make(1.5));
  EXPECT_NE(make(1.5), make(2.5));
  EXPECT_NE(Value::Int(1), Value::Double(1));
  EXPECT_NE(Value::String("k"), Value::Ref("k"));
  EXPECT_NE(Value::Bytes(Blob::Copy("k")), Value::Pickle(Blob::Copy("k")));
  EXPECT_EQ(Value(), Value::Null());
  EXPECT_NE(Value::List({Value::Int(1)}), Value::List({Value::Int(1), Value::Int(2)}));
  EXPECT_NE(Value::Map({{"a", Value()}}), Value::Map({{"b", Value()}}));
}

TEST(ValueTest, DoublesCompareBitwiseOrNumerically) {
  double nan = std::nan("");
  EXPECT_EQ(Value::Double(nan), Value::Double(nan));
  EXPECT_EQ(Value::Double(0.0), Value::Double(-0.0));
  EXPECT_NE(Value::Double(nan), Value::Double(1.0));
}

TEST(ValueTest, ArraysCompareShapeAndDtype) {
  NDArray a = Float64Array({1, 2, 3, 4}, {2, 2});
  NDArray b = Float64Array({1, 2, 3, 4}, {4});
  EXPECT_NE(Value::Array(a), Value::Array(b));
  NDArray c = a;
  c.dtype = DType::kInt64;
  EXPECT_NE(Value::Array(a), Value::Array(c));
  EXPECT_EQ(Value::Array(a), Value::Array(Float64Array({1, 2, 3, 4}, {2, 2})));
}

TEST(DTypeTest, ParsesNumpyNamesAndCodes) {
  EXPECT_EQ(*ParseDType("float64"), DType::kFloat64);
  EXPECT_EQ(*ParseDType("uint16"), DType::kUInt16);
  EXPECT_EQ(*ParseDType("bool"), DType::kBool);
  EXPECT_EQ(*ParseDType("<f8"), DType::kFloat64);
  EXPECT_EQ(*ParseDType("f4"), DType::kFloat32);
  EXPECT_EQ(*ParseDType("i8"), DType::kInt64);
  EXPECT_EQ(*ParseDType("<i2"), DType::kInt16);
  EXPECT_EQ(*ParseDType("u1"), DType::kUInt8);
  EXPECT_EQ(*ParseDType("|u1"), DType::kUInt8);
  EXPECT_EQ(*ParseDType("|b1"), DType::kBool);
  EXPECT_EQ(*ParseDType("?"), DType::kBool);
  EXPECT_EQ(*ParseDType("d"), DType::kFloat64);
  EXPECT_EQ(*ParseDType(">u1"), DType::kUInt8);  // byte order is moot for 1 byte
  for (const char* bad : {"", "float128", "f16", "c8", "<U5", "int7", "xx"}) {
    EXPECT_FALSE(ParseDType(bad).ok()) << bad;
  }
  absl::StatusOr<DType> big = ParseDType(">f8");
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(std::string(big.status().message()), HasSubstr("big-endian"));
  EXPECT_THAT(std::string(ParseDType("complex64").status().message()),
              HasSubstr("complex64"));
}

TEST(DTypeTest, NamesAndSizesRoundTrip) {
  for (DType d : {DType::kBool, DType::kInt8, DType::kInt16, DType::kInt32, DType::kInt64,
                  DType::kUInt8, DType::kUInt16, DType::kUInt32, DType::kUInt64,
                  DType::kFloat32, DType::kFloat64}) {
    EXPECT_EQ(*ParseDType(DTypeName(d)), d);
  }
  EXPECT_EQ(DTypeSize(DType::kInt16), 2u);
  EXPECT_EQ(DTypeSize(DType::kFloat32), 4u);
  EXPECT_EQ(DTypeSize(DType::kUInt64), 8u);
  EXPECT_EQ(DTypeSize(DType::kBool), 1u);
}

TEST(NDArrayTest, Validate) {
  EXPECT_TRUE(Float64Array({1, 2, 3, 4, 5, 6}, {2, 3}).Validate().ok());
  EXPECT_TRUE(Float64Array({7}, {}).Validate().ok());  // 0-d scalar
  EXPECT_TRUE(Float64Array({}, {0, 5}).Validate().ok());
  EXPECT_EQ(Float64Array({1, 2}, {2, 3}).NumElements(), 6);
  absl::Status mismatch = Float64Array({1, 2}, {3}).Validate();
  EXPECT_THAT(std::string(mismatch.message()), HasSubstr("16 bytes"));
  absl::Status negative = Float64Array({}, {-1}).Validate();
  EXPECT_THAT(std::string(negative.message()), HasSubstr("negative"));
  absl::Status overflow = Float64Array({}, {int64_t{1} << 40, int64_t{1} << 40}).Validate();
  EXPECT_FALSE(overflow.ok());
}

TEST(ValueTest, CollectsRefsAnywhere) {
  Value v = Value::List({Value::Ref("a"), Value::Map({{"x", Value::List({Value::Ref("b")})}}),
                         Value::Int(1)});
  std::vector<std::string> refs;
  v.CollectRefs(&refs);
  EXPECT_THAT(refs, ::testing::ElementsAre("a", "b"));
  EXPECT_TRUE(v.HasRefs());
  EXPECT_FALSE(Value::List({Value::String("a")}).HasRefs());
  EXPECT_TRUE(Value::Ref("z").HasRefs());
}

TEST(BlobTest, SharesStorageAndSlices) {
  Blob b = Blob::FromString(std::string("hello world"));
  Blob s = b.Slice(6, 5);
  EXPECT_EQ(s.view(), "world");
  EXPECT_EQ(s.data(), b.data() + 6);
  Blob copy = b;
  EXPECT_EQ(copy.data(), b.data());
  char* w = nullptr;
  Blob a = Blob::Allocate(3, &w);
  std::memcpy(w, "abc", 3);
  EXPECT_EQ(a.ToString(), "abc");
  EXPECT_EQ(Blob::Copy("xyz"), Blob::FromString("xyz"));
  EXPECT_TRUE(Blob().empty());
}

}  // namespace
}  // namespace taskgrid
