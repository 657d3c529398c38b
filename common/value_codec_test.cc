#include "common/value_codec.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>

#include "common/value_proto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "taskgrid/v1/common.pb.h"

namespace taskgrid {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

NDArray MakeArray(DType dtype, std::vector<int64_t> shape, char fill = 1) {
  NDArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data = Blob::Copy(std::string(static_cast<size_t>(a.NumElements()) * DTypeSize(dtype), fill));
  return a;
}

Value Nested(int depth) {
  Value v = Value::Int(depth);
  for (int i = 1; i < depth; ++i) v = Value::List({v});
  return v;
}

// Every kind, edge values, and nesting; the maps go last because protobuf's
// map serialisation order is not fixed, so they are compared as messages only.
std::vector<Value> SampleValues() {
  return {
      Value(),
      Value::Bool(false),
      Value::Bool(true),
      Value::Int(0),
      Value::Int(1),
      Value::Int(-1),
      Value::Int(std::numeric_limits<int64_t>::max()),
      Value::Int(std::numeric_limits<int64_t>::min()),
      Value::Double(0.0),
      Value::Double(-0.0),
      Value::Double(2.5),
      Value::Double(std::numeric_limits<double>::infinity()),
      Value::Double(std::nan("")),
      Value::String(""),
      Value::String("hello"),
      Value::String(std::string(300, 's')),
      Value::Bytes(Blob()),
      Value::Bytes(Blob::Copy(std::string("\0\x01\xff", 3))),
      Value::Bytes(Blob::Copy(std::string(5000, 'b'))),
      Value::Pickle(Blob::Copy("\x80\x04K\x01.")),
      Value::Pickle(Blob::Copy(std::string(70000, 'p'))),
      Value::Ref("key-1"),
      Value::Ref(""),
      Value::List({}),
      Value::List({Value(), Value::Int(0), Value::String("")}),
      Value::List({Value::List({Value::List({})})}),
      Value::Array(MakeArray(DType::kFloat64, {3})),
      Value::Array(MakeArray(DType::kInt32, {2, 3})),
      Value::Array(MakeArray(DType::kUInt8, {})),
      Value::Array(MakeArray(DType::kInt16, {0})),
      Value::Array(MakeArray(DType::kFloat32, {4096, 2})),  // 32 KiB: a segment
      Value::Array(MakeArray(DType::kBool, {1, 1, 1, 1})),
      // protobuf's default recursion limit (100 messages) stops at about 49
      // nested lists, so deeper values are tested against our codec only.
      Nested(40),
      Value::List({Value::Bytes(Blob::Copy(std::string(8192, 'x'))), Value::Int(3),
                   Value::Array(MakeArray(DType::kInt64, {1000})), Value::String("tail")}),
      Value::Map({}),
      Value::Map({{"", Value()}, {"a", Value::Int(0)}}),
      Value::Map({{"x", Value::Map({{"y", Value::List({Value::Ref("r")})}})},
                  {"big", Value::Bytes(Blob::Copy(std::string(10000, 'q')))}}),
  };
}

v1::Value ToProto(const Value& v) {
  v1::Value p;
  ValueToProto(v, &p);
  return p;
}

// Message equality where NaN equals NaN (a NaN value must survive).
bool ProtoEquals(const v1::Value& a, const v1::Value& b) {
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  return differencer.Compare(a, b);
}

TEST(ValueCodecTest, ProtobufParsesOurEncoding) {
  for (const Value& v : SampleValues()) {
    EncodedValue enc = EncodeValue(v);
    std::string wire = enc.Flatten();
    ASSERT_EQ(wire.size(), enc.total_bytes);
    v1::Value parsed;
    ASSERT_TRUE(parsed.ParseFromString(wire)) << v.DebugString();
    EXPECT_TRUE(ProtoEquals(parsed, ToProto(v))) << v.DebugString();
  }
}

TEST(ValueCodecTest, ByteIdenticalToProtobufWithoutMaps) {
  for (const Value& v : SampleValues()) {
    if (v.kind() == Value::Kind::kMap) continue;
    EXPECT_EQ(EncodeValue(v).Flatten(), ToProto(v).SerializeAsString()) << v.DebugString();
  }
}

TEST(ValueCodecTest, DecodesProtobufSerialization) {
  for (const Value& v : SampleValues()) {
    std::string wire = ToProto(v).SerializeAsString();
    absl::StatusOr<Value> decoded = DecodeValue(Blob::FromString(std::move(wire)));
    ASSERT_TRUE(decoded.ok()) << v.DebugString() << ": " << decoded.status();
    EXPECT_EQ(*decoded, v) << v.DebugString();
  }
}

TEST(ValueCodecTest, RoundTripsOwnEncoding) {
  for (const Value& v : SampleValues()) {
    absl::StatusOr<Value> decoded = DecodeValue(Blob::FromString(EncodeValue(v).Flatten()));
    ASSERT_TRUE(decoded.ok()) << v.DebugString() << ": " << decoded.status();
    EXPECT_EQ(*decoded, v) << v.DebugString();
  }
}

TEST(ValueCodecTest, ZeroValuesAreStillEncoded) {
  EXPECT_EQ(EncodeValue(Value::Int(0)).Flatten(), std::string("\x18\x00", 2));
  EXPECT_EQ(EncodeValue(Value::Bool(false)).Flatten(), std::string("\x10\x00", 2));
  EXPECT_EQ(EncodeValue(Value::String("")).Flatten(), std::string("\x2a\x00", 2));
  EXPECT_EQ(EncodeValue(Value()).Flatten(), std::string("\x0a\x00", 2));
  EXPECT_EQ(*DecodeValue(Blob::Copy(std::string("\x18\x00", 2))), Value::Int(0));
}

TEST(ValueCodecTest, NoKindDecodesAsNull) {
  EXPECT_EQ(*DecodeValue(Blob()), Value());
}

TEST(ValueCodecTest, SkipsUnknownFieldsOfEveryWireType) {
  std::string wire = EncodeValue(Value::List({Value::Int(5)})).Flatten();
  // field 15 varint, field 16 fixed64, field 17 length-delimited, field 18 fixed32
  std::string unknown("\x78\x96\x01" "\x81\x01" "12345678" "\x8a\x01\x03" "abc" "\x95\x01" "wxyz",
                      3 + 2 + 8 + 3 + 3 + 2 + 4);
  absl::StatusOr<Value> v = DecodeValue(Blob::FromString(unknown + wire + unknown));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, Value::List({Value::Int(5)}));
}

TEST(ValueCodecTest, LastOneofMemberWinsLikeProtobuf) {
  std::string wire = EncodeValue(Value::Int(1)).Flatten() + EncodeValue(Value::String("x")).Flatten();
  v1::Value p;
  ASSERT_TRUE(p.ParseFromString(wire));
  EXPECT_EQ(*DecodeValue(Blob::FromString(std::string(wire))), *ValueFromProto(p));
  // Two list members merge, as protobuf merges repeated message fields.
  std::string lists = EncodeValue(Value::List({Value::Int(1)})).Flatten() +
                      EncodeValue(Value::List({Value::Int(2)})).Flatten();
  ASSERT_TRUE(p.ParseFromString(lists));
  EXPECT_EQ(*DecodeValue(Blob::FromString(std::string(lists))), *ValueFromProto(p));
  EXPECT_EQ(*ValueFromProto(p), Value::List({Value::Int(1), Value::Int(2)}));
}

TEST(ValueCodecTest, MapEntryWithoutValueOrKey) {
  // ValueMap{entries: [{key: "k"}, {value: Int(1)}]}
  std::string wire("\x42\x0b" "\x0a\x03" "\x0a\x01k" "\x0a\x04" "\x12\x02\x18\x01", 2 + 5 + 2 + 4);
  v1::Value p;
  ASSERT_TRUE(p.ParseFromString(wire));
  absl::StatusOr<Value> v = DecodeValue(Blob::FromString(std::move(wire)));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, Value::Map({{"k", Value()}, {"", Value::Int(1)}}));
  EXPECT_EQ(p.map_value().entries().at("").int_value(), 1);
}

TEST(ValueCodecTest, LargePayloadsAreReferencedNotCopied) {
  Blob big = Blob::Copy(std::string(1 << 20, 'z'));
  NDArray arr = MakeArray(DType::kFloat64, {1024});
  Value v = Value::List({Value::Bytes(big), Value::Array(arr), Value::Bytes(Blob::Copy("small"))});
  EncodedValue enc = EncodeValue(v);
  size_t sum = 0;
  bool found_bytes = false, found_array = false;
  for (const Blob& s : enc.segments) {
    sum += s.size();
    found_bytes |= s.data() == big.data() && s.size() == big.size();
    found_array |= s.data() == arr.data.data() && s.size() == arr.data.size();
  }
  EXPECT_EQ(sum, enc.total_bytes);
  EXPECT_TRUE(found_bytes);
  EXPECT_TRUE(found_array);
  EXPECT_EQ(enc.segments.size(), 5u);  // framing, bytes, framing, array, framing
}

TEST(ValueCodecTest, FromBlobSharesTheBuffer) {
  Blob wire = Blob::FromString(EncodeValue(Value::String("abc")).Flatten());
  EncodedValue enc = EncodedValue::FromBlob(wire);
  ASSERT_EQ(enc.segments.size(), 1u);
  EXPECT_EQ(enc.segments[0].data(), wire.data());
  EXPECT_EQ(enc.total_bytes, wire.size());
  EXPECT_TRUE(EncodedValue::FromBlob(Blob()).segments.empty());
}

TEST(ValueCodecTest, DecodeSlicesPayloadsOutOfTheInput) {
  // (uint8: a wider element type at an odd offset would be copied to
  // keep it aligned, see ArraysDecodeAligned.)
  Value v = Value::Map({{"a", Value::Array(MakeArray(DType::kUInt8, {100}))},
                        {"b", Value::Bytes(Blob::Copy("payload"))},
                        {"c", Value::Pickle(Blob::Copy("pickled"))}});
  Blob wire = Blob::FromString(EncodeValue(v).Flatten());
  absl::StatusOr<Value> d = DecodeValue(wire);
  ASSERT_TRUE(d.ok());
  auto inside = [&](const Blob& b) {
    return b.data() >= wire.data() && b.data() + b.size() <= wire.data() + wire.size();
  };
  EXPECT_TRUE(inside(d->as_map().at("a").as_array().data));
  EXPECT_TRUE(inside(d->as_map().at("b").as_bytes()));
  EXPECT_TRUE(inside(d->as_map().at("c").as_pickle()));
  EXPECT_EQ(*d, v);
}

TEST(ValueCodecTest, ArrayPayloadOffsetFindsTheElements) {
  for (DType dtype : {DType::kUInt8, DType::kInt64, DType::kFloat32}) {
    for (std::vector<int64_t> shape : std::vector<std::vector<int64_t>>{
             {3}, {1000, 1000}, {2, 0, 5}, {70000}}) {
      NDArray a = MakeArray(dtype, shape, 7);
      const std::string wire = EncodeValue(Value::Array(a)).Flatten();
      std::optional<size_t> at = ArrayPayloadOffset(wire);
      if (a.data.empty()) {
        EXPECT_FALSE(at.has_value()) << DTypeName(dtype);  // no data field
        continue;
      }
      ASSERT_TRUE(at.has_value()) << DTypeName(dtype) << " " << shape.size();
      EXPECT_EQ(wire.size() - *at, a.data.size());
      // Any head that reaches the data is enough; a shorter one is not.
      EXPECT_EQ(ArrayPayloadOffset(std::string_view(wire).substr(0, *at)), at);
      EXPECT_FALSE(ArrayPayloadOffset(std::string_view(wire).substr(0, *at - 1)));
    }
  }
  EXPECT_FALSE(ArrayPayloadOffset(EncodeValue(Value::Int(5)).Flatten()));
  EXPECT_FALSE(ArrayPayloadOffset(EncodeValue(Value::Bytes(Blob::Copy("abc"))).Flatten()));
  EXPECT_FALSE(
      ArrayPayloadOffset(EncodeValue(Value::List({Value::Array(MakeArray(DType::kInt8, {4}))}))
                             .Flatten()));
  EXPECT_FALSE(ArrayPayloadOffset(""));
  EXPECT_FALSE(ArrayPayloadOffset(std::string("\x4a\xff\xff\xff", 4)));
}

TEST(ValueCodecTest, ArraysDecodeAligned) {
  // Decoded from every offset of a buffer, an int64 array's elements are
  // aligned for int64 (copied when the payload is not), and unchanged.
  NDArray a = MakeArray(DType::kInt64, {9});
  char* w = nullptr;
  Blob fill = Blob::Allocate(a.data.size(), &w);
  for (int64_t i = 0; i < 9; ++i) std::memcpy(w + 8 * i, &i, 8);
  a.data = fill;
  const Value v = Value::Array(a);
  const std::string wire = EncodeValue(v).Flatten();
  for (size_t shift = 0; shift < 8; ++shift) {
    char* p = nullptr;
    Blob buf = Blob::Allocate(wire.size() + shift, &p);
    std::memcpy(p + shift, wire.data(), wire.size());
    absl::StatusOr<Value> d = DecodeValue(buf.Slice(shift, wire.size()));
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(d->as_array().data.data()) % 8, 0u) << shift;
    EXPECT_EQ(*d, v);
    EXPECT_EQ(d->as_array().As<int64_t>()[8], 8);
  }
}

TEST(ValueCodecTest, AcceptsUnpackedShape) {
  // NDArray{dtype "uint8", shape 2, shape 3 (unpacked), data 6 bytes}
  std::string arr = std::string("\x0a\x05uint8\x10\x02\x10\x03\x1a\x06", 13) + "abcdef";
  std::string wire = std::string("\x4a") + static_cast<char>(arr.size()) + arr;
  absl::StatusOr<Value> v = DecodeValue(Blob::FromString(std::move(wire)));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->as_array().shape, (std::vector<int64_t>{2, 3}));
}

void ExpectDecodeError(const std::string& wire, const std::string& fragment) {
  absl::StatusOr<Value> v = DecodeValue(Blob::Copy(wire));
  ASSERT_FALSE(v.ok()) << "decoded " << v->DebugString();
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(v.status().message()), HasSubstr(fragment));
}

std::string ArrayWire(const std::string& dtype, const std::vector<int64_t>& shape,
                      const std::string& data) {
  v1::Value p;
  p.mutable_array_value()->set_dtype(dtype);
  for (int64_t d : shape) p.mutable_array_value()->add_shape(d);
  p.mutable_array_value()->set_data(data);
  return p.SerializeAsString();
}

TEST(ValueCodecTest, RejectsMalformedInput) {
  ExpectDecodeError(std::string("\x18\x80", 2), "truncated varint");
  ExpectDecodeError(std::string("\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12),
                    "varint longer than 10 bytes");
  ExpectDecodeError(std::string("\x2a\x05" "ab", 4), "runs past the end");
  ExpectDecodeError(std::string("\x21" "1234", 5), "truncated double");
  ExpectDecodeError(std::string("\x1b", 1), "wire type 3");
  ExpectDecodeError(std::string("\x7f\x00", 2), "wire type 7");
  ExpectDecodeError(std::string("\x00\x00", 2), "field number 0");
  ExpectDecodeError(std::string("\x3a\x02\x0a\x05", 4), "runs past the end");  // inner item
  ExpectDecodeError(ArrayWire("float64", {3}, "12345678"), "8 bytes");
  ExpectDecodeError(ArrayWire("float64", {-1}, ""), "negative");
  ExpectDecodeError(ArrayWire("float128", {1}, std::string(16, 0)), "unknown dtype");
  ExpectDecodeError(ArrayWire("", {}, ""), "unknown dtype");
}

TEST(ValueCodecTest, DepthLimit) {
  EXPECT_EQ(*DecodeValue(Blob::FromString(EncodeValue(Nested(kMaxValueDepth)).Flatten())),
            Nested(kMaxValueDepth));
  std::string ok = EncodeValue(Nested(kMaxValueDepth)).Flatten();
  EXPECT_TRUE(DecodeValue(Blob::FromString(std::move(ok))).ok());
  std::string deep = EncodeValue(Nested(kMaxValueDepth + 1)).Flatten();
  ExpectDecodeError(deep, "nesting deeper than 100");
  // Deep nesting through maps counts the same way.
  Value m = Value::Int(1);
  for (int i = 0; i < kMaxValueDepth; ++i) m = Value::Map({{"k", m}});
  ExpectDecodeError(EncodeValue(m).Flatten(), "nesting deeper");
}

TEST(ValueCodecTest, EncodesVeryDeepValues) {
  // Sizes come from one pre-order pass, so deep values encode in linear time.
  // Decoding refuses them rather than recursing without bound.
  EncodedValue enc = EncodeValue(Nested(5000));
  std::string wire = enc.Flatten();
  EXPECT_EQ(wire.size(), enc.total_bytes);
  EXPECT_GT(enc.total_bytes, 5000u * 2);
  ExpectDecodeError(wire, "nesting deeper");
}

TEST(ValueCodecTest, TruncatedInputsNeverCrash) {
  std::vector<Value> samples = SampleValues();
  Value all = Value::List(samples);
  std::string wire = EncodeValue(all).Flatten();
  int errors = 0;
  for (size_t n = 0; n < wire.size(); n += (n < 4096 ? 1 : 97)) {
    absl::StatusOr<Value> v = DecodeValue(Blob::Copy(std::string_view(wire).substr(0, n)));
    if (!v.ok()) ++errors;
  }
  EXPECT_GT(errors, 0);
  EXPECT_EQ(*DecodeValue(Blob::FromString(std::move(wire))), all);
}

TEST(ValueCodecTest, RandomBytesAndBitFlipsNeverCrash) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    std::string junk(rng() % 64, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    absl::StatusOr<Value> v = DecodeValue(Blob::FromString(std::move(junk)));
    if (v.ok()) (void)v->DebugString();
  }
  std::string base = EncodeValue(Value::List({Value::Map({{"a", Value::Int(1)}}),
                                               Value::Array(MakeArray(DType::kInt32, {2, 2})),
                                               Value::String("text"), Value::Double(1.5)}))
                         .Flatten();
  for (int i = 0; i < 20000; ++i) {
    std::string mutated = base;
    for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; --flips) {
      mutated[rng() % mutated.size()] ^= static_cast<char>(1 << (rng() % 8));
    }
    absl::StatusOr<Value> v = DecodeValue(Blob::FromString(std::move(mutated)));
    if (v.ok()) {
      // Whatever decodes must re-encode into something protobuf accepts
      // structurally (strings may have become invalid UTF-8, so compare
      // through our own decoder instead).
      EXPECT_EQ(*DecodeValue(Blob::FromString(EncodeValue(*v).Flatten())), *v);
    }
  }
}

}  // namespace
}  // namespace taskgrid
