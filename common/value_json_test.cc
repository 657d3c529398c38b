#include "common/value_json.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

Value FromText(const std::string& text) {
  absl::StatusOr<Value> v = ValueFromJson(json::parse(text));
  EXPECT_TRUE(v.ok()) << text << ": " << v.status();
  return v.ok() ? *v : Value::String("<error>");
}

std::string ErrorOf(const std::string& text) {
  absl::StatusOr<Value> v = ValueFromJson(json::parse(text));
  EXPECT_FALSE(v.ok()) << text;
  return v.ok() ? "" : std::string(v.status().message());
}

TEST(ValueJsonTest, PlainJsonMapsDirectly) {
  EXPECT_EQ(FromText("null"), Value());
  EXPECT_EQ(FromText("true"), Value::Bool(true));
  EXPECT_EQ(FromText("-12"), Value::Int(-12));
  EXPECT_EQ(FromText("9223372036854775807"), Value::Int(INT64_MAX));
  EXPECT_EQ(FromText("18446744073709551615"), Value::Double(18446744073709551615.0));
  EXPECT_EQ(FromText("2.0"), Value::Double(2.0));
  EXPECT_EQ(FromText("1e3"), Value::Double(1000));
  EXPECT_EQ(FromText("\"hi\""), Value::String("hi"));
  EXPECT_EQ(FromText("[1, \"a\", [null]]"),
            Value::List({Value::Int(1), Value::String("a"), Value::List({Value()})}));
  EXPECT_EQ(FromText("{\"a\": {\"b\": 1}}"),
            Value::Map({{"a", Value::Map({{"b", Value::Int(1)}})}}));
}

TEST(ValueJsonTest, SpecialForms) {
  EXPECT_EQ(FromText("{\"ref\": \"x\"}"), Value::Ref("x"));
  EXPECT_EQ(FromText("{\"b64\": \"aGk=\"}"), Value::Bytes(Blob::Copy("hi")));
  EXPECT_EQ(FromText("{\"pickle_b64\": \"gAQu\"}"), Value::Pickle(Blob::Copy("\x80\x04.")));
  Value arr = FromText(R"({"dtype": "<i2", "shape": [2], "b64": "AQACAA=="})");
  ASSERT_EQ(arr.kind(), Value::Kind::kArray);
  EXPECT_EQ(arr.as_array().dtype, DType::kInt16);
  EXPECT_EQ(arr.as_array().As<int16_t>()[1], 2);
  // With other keys beside them they are ordinary maps.
  EXPECT_EQ(FromText("{\"ref\": \"x\", \"n\": 1}").kind(), Value::Kind::kMap);
  EXPECT_EQ(FromText("{\"b64\": 5, \"n\": 1}").kind(), Value::Kind::kMap);
}

TEST(ValueJsonTest, ErrorsNameThePath) {
  EXPECT_EQ(ErrorOf("{\"a\": [1, {\"ref\": 3}]}"), "$.a[1]: \"ref\" must be a string (a key)");
  EXPECT_THAT(ErrorOf("[{\"b64\": \"a$==\"}]"), HasSubstr("$[0]: \"b64\": base64: invalid character"));
  EXPECT_THAT(ErrorOf(R"({"dtype": "f8", "shape": [2], "b64": "AAAA"})"), HasSubstr("3 bytes"));
  EXPECT_THAT(ErrorOf(R"({"dtype": "f9", "shape": [2], "b64": ""})"), HasSubstr("unknown dtype"));
  EXPECT_THAT(ErrorOf(R"({"dtype": "f8", "shape": ["2"], "b64": ""})"), HasSubstr("\"shape\""));
  absl::StatusOr<Value> v = ValueFromJson(json::parse("{\"ref\": 1}"), "task \"t\".args[0]");
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("task \"t\".args[0]: "));
}

TEST(ValueJsonTest, DepthLimit) {
  std::string deep(200, '[');
  deep += std::string(200, ']');
  EXPECT_THAT(ErrorOf(deep), HasSubstr("nested deeper than 100"));
}

TEST(ValueJsonTest, ToJson) {
  EXPECT_EQ(ValueToJson(Value::Double(2.0)).dump(), "2.0");
  EXPECT_EQ(ValueToJson(Value::Int(2)).dump(), "2");
  EXPECT_EQ(ValueToJson(Value()).dump(), "null");
  EXPECT_EQ(ValueToJson(Value::Ref("k")).dump(), "{\"ref\":\"k\"}");
  EXPECT_EQ(ValueToJson(Value::Bytes(Blob::Copy("hi"))).dump(), "{\"b64\":\"aGk=\"}");
  EXPECT_EQ(ValueToJson(Value::Pickle(Blob::Copy("hi"))).dump(), "{\"pickle_b64\":\"aGk=\"}");
  NDArray a;
  a.dtype = DType::kUInt8;
  a.shape = {1, 2};
  a.data = Blob::Copy("hi");
  EXPECT_EQ(ValueToJson(Value::Array(a)).dump(),
            "{\"b64\":\"aGk=\",\"dtype\":\"uint8\",\"shape\":[1,2]}");
  EXPECT_EQ(ValueToJson(Value::Map({{"l", Value::List({Value::Bool(true), Value::String("s")})}}))
                .dump(),
            "{\"l\":[true,\"s\"]}");
}

TEST(ValueJsonTest, RoundTrip) {
  NDArray a;
  a.dtype = DType::kFloat32;
  a.shape = {2};
  a.data = Blob::Copy("abcdefgh");
  Value v = Value::Map({{"xs", Value::List({Value::Int(1), Value::Double(1.5), Value::Double(3.0),
                                             Value::Ref("dep"), Value::Bytes(Blob::Copy("\x00\xff"))})},
                        {"arr", Value::Array(a)},
                        {"p", Value::Pickle(Blob::Copy("pk"))},
                        {"none", Value()}});
  absl::StatusOr<Value> back = ValueFromJson(json::parse(ValueToJson(v).dump()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, v);
}

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    EXPECT_EQ(*Base64Decode(encoded), plain);
  }
  EXPECT_EQ(Base64Encode(std::string("\xfb\xff", 2)), "+/8=");
  EXPECT_EQ(*Base64Decode("+/8="), std::string("\xfb\xff", 2));
}

TEST(Base64Test, DecodeAcceptsMissingPaddingRejectsJunk) {
  EXPECT_EQ(*Base64Decode("Zm8"), "fo");
  EXPECT_EQ(*Base64Decode("Zg"), "f");
  EXPECT_FALSE(Base64Decode("Zm9v-A==").ok());  // url-safe alphabet is not ours
  EXPECT_FALSE(Base64Decode("Zm 9v").ok());
  EXPECT_FALSE(Base64Decode("Z").ok());
  EXPECT_FALSE(Base64Decode("Zg=").ok());
  EXPECT_FALSE(Base64Decode("Z===").ok());
  EXPECT_FALSE(Base64Decode("Zg==Zg==").ok());
  EXPECT_THAT(std::string(Base64Decode("ab*d").status().message()), HasSubstr("position 2"));
}

}  // namespace
}  // namespace taskgrid
