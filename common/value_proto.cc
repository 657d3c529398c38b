#include "common/value_proto.h"

#include "absl/strings/str_cat.h"
#include "common/value_codec.h"

namespace taskgrid {
namespace {

// Prefixes an error with where it happened, innermost last:
// "[2]: ['x']: array data has 3 bytes, ...".
absl::Status At(absl::string_view where, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(where, ": ", s.message()));
}

absl::StatusOr<Value> FromProto(const v1::Value& p, int depth) {
  if (depth > kMaxValueDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("value nested deeper than ", kMaxValueDepth, " levels"));
  }
  switch (p.kind_case()) {
    case v1::Value::kNullValue: return Value::Null();
    case v1::Value::kBoolValue: return Value::Bool(p.bool_value());
    case v1::Value::kIntValue: return Value::Int(p.int_value());
    case v1::Value::kDoubleValue: return Value::Double(p.double_value());
    case v1::Value::kStringValue: return Value::String(p.string_value());
    case v1::Value::kBytesValue: return Value::Bytes(Blob::Copy(p.bytes_value()));
    case v1::Value::kPickleValue: return Value::Pickle(Blob::Copy(p.pickle_value()));
    case v1::Value::kRef: return Value::Ref(p.ref());
    case v1::Value::kListValue: {
      ValueList items;
      items.reserve(p.list_value().items_size());
      for (int i = 0; i < p.list_value().items_size(); ++i) {
        absl::StatusOr<Value> item = FromProto(p.list_value().items(i), depth + 1);
        if (!item.ok()) return At(absl::StrCat("[", i, "]"), item.status());
        items.push_back(*std::move(item));
      }
      return Value::List(std::move(items));
    }
    case v1::Value::kMapValue: {
      ValueMap entries;
      for (const auto& [key, proto] : p.map_value().entries()) {
        absl::StatusOr<Value> item = FromProto(proto, depth + 1);
        if (!item.ok()) return At(absl::StrCat("['", key, "']"), item.status());
        entries.emplace(key, *std::move(item));
      }
      return Value::Map(std::move(entries));
    }
    case v1::Value::kArrayValue: {
      const v1::NDArray& pa = p.array_value();
      absl::StatusOr<DType> dtype = ParseDType(pa.dtype());
      if (!dtype.ok()) return At("array", dtype.status());
      NDArray a;
      a.dtype = *dtype;
      a.shape.assign(pa.shape().begin(), pa.shape().end());
      a.data = Blob::Copy(pa.data());
      if (absl::Status s = a.Validate(); !s.ok()) return At("array", s);
      return Value::Array(std::move(a));
    }
    case v1::Value::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("value has no kind set");
}

}  // namespace

void ValueToProto(const Value& v, v1::Value* out) {
  out->Clear();
  switch (v.kind()) {
    case Value::Kind::kNull: out->mutable_null_value(); return;
    case Value::Kind::kBool: out->set_bool_value(v.as_bool()); return;
    case Value::Kind::kInt: out->set_int_value(v.as_int()); return;
    case Value::Kind::kDouble: out->set_double_value(v.as_double()); return;
    case Value::Kind::kString: out->set_string_value(v.as_string()); return;
    case Value::Kind::kRef: out->set_ref(v.as_ref()); return;
    case Value::Kind::kBytes: out->set_bytes_value(v.as_bytes().ToString()); return;
    case Value::Kind::kPickle: out->set_pickle_value(v.as_pickle().ToString()); return;
    case Value::Kind::kList: {
      v1::ValueList* list = out->mutable_list_value();
      list->mutable_items()->Reserve(static_cast<int>(v.as_list().size()));
      for (const Value& item : v.as_list()) ValueToProto(item, list->add_items());
      return;
    }
    case Value::Kind::kMap: {
      auto* entries = out->mutable_map_value()->mutable_entries();
      for (const auto& [key, item] : v.as_map()) ValueToProto(item, &(*entries)[key]);
      return;
    }
    case Value::Kind::kArray: {
      const NDArray& a = v.as_array();
      v1::NDArray* pa = out->mutable_array_value();
      pa->set_dtype(DTypeName(a.dtype));
      pa->mutable_shape()->Add(a.shape.begin(), a.shape.end());
      pa->set_data(a.data.ToString());
      return;
    }
  }
}

absl::StatusOr<Value> ValueFromProto(const v1::Value& p) { return FromProto(p, 1); }

}  // namespace taskgrid
