#pragma once
// JSON form of values, as used by the REST API and `taskgrid submit`:
// null/bool/number/string/array/object map directly; {"ref": "KEY"} is a
// reference to another key; {"b64": "..."} is bytes; {"dtype": "float64",
// "shape": [..], "b64": "..."} is an n-d array; {"pickle_b64": "..."} is a
// pickle. Integers that fit int64 become int, other numbers double.

#include "absl/status/statusor.h"
#include "common/value.h"
#include "nlohmann/json.hpp"

namespace taskgrid {

// `path` names where in the document the value sits, for error messages.
absl::StatusOr<Value> ValueFromJson(const nlohmann::json& j,
                                    const std::string& path = "$");
nlohmann::json ValueToJson(const Value& v);

std::string Base64Encode(std::string_view bytes);
absl::StatusOr<std::string> Base64Decode(std::string_view text);

}  // namespace taskgrid
