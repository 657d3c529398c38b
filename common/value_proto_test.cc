#include "common/value_proto.h"

#include "common/value_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid {
namespace {

using ::testing::HasSubstr;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(ValueProtoTest, RoundTripsEveryKind) {
  NDArray a;
  a.dtype = DType::kInt16;
  a.shape = {2, 2};
  a.data = Blob::Copy("abcdefgh");
  Value v = Value::List({Value(), Value::Bool(false), Value::Int(-3), Value::Double(0.5),
                         Value::String("s"), Value::Bytes(Blob::Copy("b")),
                         Value::Pickle(Blob::Copy("p")), Value::Ref("k"), Value::Array(a),
                         Value::Map({{"x", Value::List({Value::Ref("y")})}})});
  v1::Value p;
  ValueToProto(v, &p);
  EXPECT_EQ(p.list_value().items_size(), 10);
  EXPECT_TRUE(p.list_value().items(0).has_null_value());
  EXPECT_EQ(p.list_value().items(1).kind_case(), v1::Value::kBoolValue);
  EXPECT_EQ(p.list_value().items(8).array_value().dtype(), "int16");
  EXPECT_EQ(p.list_value().items(7).ref(), "k");
  absl::StatusOr<Value> back = ValueFromProto(p);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, v);
}

TEST(ValueProtoTest, ClearsPreviousContent) {
  v1::Value p;
  ValueToProto(Value::String("old"), &p);
  ValueToProto(Value::Int(1), &p);
  EXPECT_EQ(p.kind_case(), v1::Value::kIntValue);
}

TEST(ValueProtoTest, UnsetKindIsAnError) {
  v1::Value p;
  EXPECT_THAT(Message(ValueFromProto(p).status()), HasSubstr("no kind"));
  v1::Value list;
  list.mutable_list_value()->add_items()->set_int_value(1);
  list.mutable_list_value()->add_items();
  absl::StatusOr<Value> v = ValueFromProto(list);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(Message(v.status()), "[1]: value has no kind set");
}

TEST(ValueProtoTest, BadArraysNameThePlace) {
  v1::Value p;
  auto* entries = p.mutable_map_value()->mutable_entries();
  v1::NDArray* arr = (*entries)["weights"].mutable_array_value();
  arr->set_dtype("float64");
  arr->add_shape(3);
  arr->set_data("short");
  absl::StatusOr<Value> v = ValueFromProto(p);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(v.status()), HasSubstr("['weights']: array: array data has 5 bytes"));
  arr->set_dtype("float99");
  EXPECT_THAT(Message(ValueFromProto(p).status()), HasSubstr("unknown dtype \"float99\""));
  arr->set_dtype("uint8");
  arr->set_data("abc");
  arr->set_shape(0, -3);
  EXPECT_THAT(Message(ValueFromProto(p).status()), HasSubstr("negative"));
}

TEST(ValueProtoTest, DepthLimit) {
  v1::Value root;
  v1::Value* cur = &root;
  for (int i = 1; i < kMaxValueDepth; ++i) cur = cur->mutable_list_value()->add_items();
  cur->set_int_value(1);
  EXPECT_TRUE(ValueFromProto(root).ok());
  cur->mutable_list_value()->add_items()->set_int_value(1);
  EXPECT_THAT(Message(ValueFromProto(root).status()), HasSubstr("deeper than 100"));
}

}  // namespace
}  // namespace taskgrid
