#include "common/value_json.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "common/value_codec.h"

namespace taskgrid {
namespace {

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

absl::Status PathError(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

bool HasExactly(const nlohmann::json& obj, std::initializer_list<const char*> keys) {
  if (obj.size() != keys.size()) return false;
  for (const char* k : keys) {
    if (!obj.contains(k)) return false;
  }
  return true;
}

absl::StatusOr<Blob> DecodeB64Field(const nlohmann::json& obj, const char* field,
                                    const std::string& path) {
  const nlohmann::json& text = obj.at(field);
  if (!text.is_string()) return PathError(path, absl::StrCat("\"", field, "\" must be a string"));
  absl::StatusOr<std::string> bytes = Base64Decode(text.get_ref<const std::string&>());
  if (!bytes.ok()) return PathError(path, absl::StrCat("\"", field, "\": ", bytes.status().message()));
  return Blob::FromString(*std::move(bytes));
}

absl::StatusOr<Value> ArrayFromJson(const nlohmann::json& j, const std::string& path) {
  const nlohmann::json& dtype = j.at("dtype");
  if (!dtype.is_string()) return PathError(path, "\"dtype\" must be a string");
  absl::StatusOr<DType> d = ParseDType(dtype.get_ref<const std::string&>());
  if (!d.ok()) return PathError(path, d.status().message());
  const nlohmann::json& shape = j.at("shape");
  if (!shape.is_array()) return PathError(path, "\"shape\" must be an array of integers");
  NDArray a;
  a.dtype = *d;
  for (const nlohmann::json& dim : shape) {
    if (!dim.is_number_integer()) return PathError(path, "\"shape\" must be an array of integers");
    a.shape.push_back(dim.get<int64_t>());
  }
  absl::StatusOr<Blob> data = DecodeB64Field(j, "b64", path);
  if (!data.ok()) return data.status();
  a.data = *std::move(data);
  if (absl::Status s = a.Validate(); !s.ok()) return PathError(path, s.message());
  return Value::Array(std::move(a));
}

absl::StatusOr<Value> FromJson(const nlohmann::json& j, const std::string& path, int depth) {
  if (depth > kMaxValueDepth) {
    return PathError(path, absl::StrCat("nested deeper than ", kMaxValueDepth, " levels"));
  }
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::Null();
    case nlohmann::json::value_t::boolean: return Value::Bool(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::Int(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Value::Int(static_cast<int64_t>(u));
      }
      return Value::Double(static_cast<double>(u));
    }
    case nlohmann::json::value_t::number_float: return Value::Double(j.get<double>());
    case nlohmann::json::value_t::string: return Value::String(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      ValueList items;
      items.reserve(j.size());
      for (size_t i = 0; i < j.size(); ++i) {
        absl::StatusOr<Value> item = FromJson(j[i], absl::StrCat(path, "[", i, "]"), depth + 1);
        if (!item.ok()) return item.status();
        items.push_back(*std::move(item));
      }
      return Value::List(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      // The special forms are recognised only with exactly their keys, so
      // ordinary maps that merely contain "ref" or "b64" stay maps.
      if (HasExactly(j, {"ref"})) {
        if (!j.at("ref").is_string()) return PathError(path, "\"ref\" must be a string (a key)");
        return Value::Ref(j.at("ref").get<std::string>());
      }
      if (HasExactly(j, {"b64"})) {
        absl::StatusOr<Blob> b = DecodeB64Field(j, "b64", path);
        if (!b.ok()) return b.status();
        return Value::Bytes(*std::move(b));
      }
      if (HasExactly(j, {"pickle_b64"})) {
        absl::StatusOr<Blob> b = DecodeB64Field(j, "pickle_b64", path);
        if (!b.ok()) return b.status();
        return Value::Pickle(*std::move(b));
      }
      if (HasExactly(j, {"dtype", "shape", "b64"})) return ArrayFromJson(j, path);
      ValueMap entries;
      for (auto it = j.begin(); it != j.end(); ++it) {
        absl::StatusOr<Value> item = FromJson(it.value(), absl::StrCat(path, ".", it.key()), depth + 1);
        if (!item.ok()) return item.status();
        entries.emplace(it.key(), *std::move(item));
      }
      return Value::Map(std::move(entries));
    }
    case nlohmann::json::value_t::binary:
      return Value::Bytes(Blob::Copy(std::string_view(
          reinterpret_cast<const char*>(j.get_binary().data()), j.get_binary().size())));
    case nlohmann::json::value_t::discarded:
      break;
  }
  return PathError(path, "not a JSON value");
}

}  // namespace

absl::StatusOr<Value> ValueFromJson(const nlohmann::json& j, const std::string& path) {
  return FromJson(j, path, 1);
}

nlohmann::json ValueToJson(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull: return nullptr;
    case Value::Kind::kBool: return v.as_bool();
    case Value::Kind::kInt: return v.as_int();
    // A number_float stays a float when dumped (2.0, not 2); NaN and
    // infinities have no JSON form and dump as null.
    case Value::Kind::kDouble: return nlohmann::json(v.as_double());
    case Value::Kind::kString: return v.as_string();
    case Value::Kind::kRef: return {{"ref", v.as_ref()}};
    case Value::Kind::kBytes: return {{"b64", Base64Encode(v.as_bytes().view())}};
    case Value::Kind::kPickle:
      return {{"pickle_b64", Base64Encode(v.as_pickle().view())}};
    case Value::Kind::kArray: {
      const NDArray& a = v.as_array();
      return {{"dtype", DTypeName(a.dtype)},
              {"shape", a.shape},
              {"b64", Base64Encode(a.data.view())}};
    }
    case Value::Kind::kList: {
      nlohmann::json out = nlohmann::json::array();
      for (const Value& item : v.as_list()) out.push_back(ValueToJson(item));
      return out;
    }
    case Value::Kind::kMap: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& [key, item] : v.as_map()) out[key] = ValueToJson(item);
      return out;
    }
  }
  return nullptr;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out.push_back(kBase64Alphabet[n >> 18]);
    out.push_back(kBase64Alphabet[(n >> 12) & 63]);
    out.push_back(kBase64Alphabet[(n >> 6) & 63]);
    out.push_back(kBase64Alphabet[n & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t{p[i]} << 16;
    if (rest == 2) n |= uint32_t{p[i + 1]} << 8;
    out.push_back(kBase64Alphabet[n >> 18]);
    out.push_back(kBase64Alphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64Alphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

absl::StatusOr<std::string> Base64Decode(std::string_view text) {
  // Padding is optional, but when present it must complete the last group.
  size_t data_len = text.size();
  while (data_len > 0 && text[data_len - 1] == '=' && text.size() - data_len < 2) --data_len;
  if (data_len < text.size() && text.size() % 4 != 0) {
    return absl::InvalidArgumentError("base64: bad padding");
  }
  if (data_len % 4 == 1) return absl::InvalidArgumentError("base64: truncated input");
  std::string out;
  out.reserve(data_len / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < data_len; ++i) {
    char c = text[i];
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else {
      return absl::InvalidArgumentError(
          absl::StrCat("base64: invalid character at position ", i));
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

}  // namespace taskgrid
