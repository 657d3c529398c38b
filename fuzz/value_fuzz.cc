#include <string>

#include "common/value_codec.h"
#include "common/value_json.h"
#include "fuzz/fuzz_targets.h"

namespace taskgrid::fuzz::value {
namespace {

// Encoding what was decoded, then decoding that, gives the same bytes.
void CheckRoundTrip(const Value& v) {
  const std::string once = EncodeValue(v).Flatten();
  absl::StatusOr<Value> again = DecodeValue(Blob::Copy(once));
  FuzzCheck(again.ok(), "an encoded value does not decode");
  FuzzCheck(EncodeValue(*again).Flatten() == once, "encode/decode round trip changed a value");
}

void FuzzWire(std::string_view bytes) {
  absl::StatusOr<Value> v = DecodeValue(Blob::Copy(bytes));
  if (!v.ok()) {
    FuzzCheck(!v.status().message().empty(), "a rejected value has no error message");
    return;
  }
  CheckRoundTrip(*v);
  // Every value has a JSON form (bytes as base64, NaN as null...).
  (void)ValueToJson(*v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void FuzzJson(std::string_view text) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return;
  absl::StatusOr<Value> v = ValueFromJson(doc);
  if (!v.ok()) {
    FuzzCheck(!v.status().message().empty(), "a rejected JSON value has no error message");
    return;
  }
  CheckRoundTrip(*v);
}

}  // namespace

int FuzzOne(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    FuzzWire(rest);
  } else {
    FuzzJson(rest);
  }
  return 0;
}

}  // namespace taskgrid::fuzz::value
