#include "common/value.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace taskgrid {
namespace {

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
  char kind;  // numpy kind code: b, i, u, f
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kBool, "bool", 1, 'b'},       {DType::kInt8, "int8", 1, 'i'},
    {DType::kInt16, "int16", 2, 'i'},     {DType::kInt32, "int32", 4, 'i'},
    {DType::kInt64, "int64", 8, 'i'},     {DType::kUInt8, "uint8", 1, 'u'},
    {DType::kUInt16, "uint16", 2, 'u'},   {DType::kUInt32, "uint32", 4, 'u'},
    {DType::kUInt64, "uint64", 8, 'u'},   {DType::kFloat32, "float32", 4, 'f'},
    {DType::kFloat64, "float64", 8, 'f'},
};

const DTypeInfo& Info(DType d) { return kDTypes[static_cast<int>(d)]; }

// numpy's one-letter type characters (np.dtype('d').char etc.), as on LP64
// Linux where 'l' is 64 bits.
bool DTypeFromChar(char c, DType* out) {
  switch (c) {
    case '?': *out = DType::kBool; return true;
    case 'b': *out = DType::kInt8; return true;
    case 'B': *out = DType::kUInt8; return true;
    case 'h': *out = DType::kInt16; return true;
    case 'H': *out = DType::kUInt16; return true;
    case 'i': *out = DType::kInt32; return true;
    case 'I': *out = DType::kUInt32; return true;
    case 'l': case 'q': *out = DType::kInt64; return true;
    case 'L': case 'Q': *out = DType::kUInt64; return true;
    case 'f': *out = DType::kFloat32; return true;
    case 'd': *out = DType::kFloat64; return true;
    default: return false;
  }
}

// Shortest representation that reads back to the same double, like
// Python's repr (1.0, 2.5, 1e+20, inf, nan).
std::string DoubleRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

void AppendQuoted(std::string_view s, std::string* out) {
  out->push_back('\'');
  for (unsigned char c : s) {
    switch (c) {
      case '\\': out->append("\\\\"); break;
      case '\'': out->append("\\'"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        // Bytes >= 0x80 pass through: strings hold UTF-8, shown as text.
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(out, "\\x%02x", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('\'');
}

constexpr size_t kBytesPreview = 32;

void AppendBytesRepr(const Blob& b, std::string* out) {
  out->append("b'");
  size_t n = std::min(b.size(), kBytesPreview);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(b.data()[i]);
    if (c == '\\' || c == '\'') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c >= 0x20 && c < 0x7f) {
      out->push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(out, "\\x%02x", c);
    }
  }
  if (b.size() > n) {
    absl::StrAppend(out, "...'(", b.size(), " bytes)");
  } else {
    out->push_back('\'');
  }
}

bool DoublesEqual(double a, double b) {
  return a == b || std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

absl::StatusOr<DType> ParseDType(std::string_view name) {
  for (const DTypeInfo& info : kDTypes) {
    if (name == info.name) return info.dtype;
  }
  if (name == "bool_" || name == "bool8") return DType::kBool;
  if (name == "float" || name == "double") return DType::kFloat64;
  if (name == "int") return DType::kInt64;
  std::string_view code = name;
  char order = '=';
  if (!code.empty() && (code[0] == '<' || code[0] == '>' || code[0] == '=' ||
                        code[0] == '|')) {
    order = code[0];
    code.remove_prefix(1);
  }
  DType d;
  bool ok = false;
  if (code.size() == 1) {
    ok = DTypeFromChar(code[0], &d);
  } else if (code.size() == 2 && code[1] >= '1' && code[1] <= '8') {
    size_t size = static_cast<size_t>(code[1] - '0');
    for (const DTypeInfo& info : kDTypes) {
      if (info.kind == code[0] && info.size == size) {
        d = info.dtype;
        ok = true;
      }
    }
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown dtype \"", std::string(name), "\""));
  }
  if (order == '>' && DTypeSize(d) > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dtype \"", std::string(name), "\" is big-endian; arrays are little-endian"));
  }
  return d;
}

const char* DTypeName(DType d) { return Info(d).name; }
size_t DTypeSize(DType d) { return Info(d).size; }

int64_t NDArray::NumElements() const {
  int64_t n = 1;
  for (int64_t dim : shape) n *= dim;
  return n;
}

absl::Status NDArray::Validate() const {
  uint64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("array shape[", i, "] is negative (", shape[i], ")"));
    }
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(shape[i]), &n) ||
        n > (uint64_t{1} << 62)) {
      return absl::InvalidArgumentError("array shape overflows");
    }
  }
  uint64_t expected = n * DTypeSize(dtype);
  if (data.size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        "array data has ", data.size(), " bytes, but ", DTypeName(dtype),
        " with ", n, " elements needs ", expected));
  }
  return absl::OkStatus();
}

Value Value::Bool(bool b) { Value v; v.v_ = b; return v; }
Value Value::Int(int64_t i) { Value v; v.v_ = i; return v; }
Value Value::Double(double d) { Value v; v.v_ = d; return v; }
Value Value::String(std::string s) { Value v; v.v_ = std::move(s); return v; }
Value Value::Bytes(Blob b) { Value v; v.v_ = BytesV{std::move(b)}; return v; }
Value Value::List(ValueList items) {
  Value v;
  v.v_ = std::shared_ptr<const ValueList>(
      std::make_shared<ValueList>(std::move(items)));
  return v;
}
Value Value::Map(ValueMap entries) {
  Value v;
  v.v_ = std::shared_ptr<const ValueMap>(
      std::make_shared<ValueMap>(std::move(entries)));
  return v;
}
Value Value::Array(NDArray a) {
  // As<T>() hands out a T*: keep the elements aligned for their type. A
  // payload sliced out of a received buffer at an odd offset is copied
  // (received top-level arrays are placed aligned: see ChunkAssembler).
  const size_t item = DTypeSize(a.dtype);
  if (reinterpret_cast<uintptr_t>(a.data.data()) % item != 0) {
    a.data = Blob::Copy(a.data.view());
  }
  Value v;
  v.v_ = std::shared_ptr<const NDArray>(std::make_shared<NDArray>(std::move(a)));
  return v;
}
Value Value::Pickle(Blob b) { Value v; v.v_ = PickleV{std::move(b), nullptr}; return v; }
Value Value::LocalPickle(std::shared_ptr<const LocalObject> object) {
  Value v;
  v.v_ = PickleV{Blob(), std::move(object)};
  return v;
}
Value Value::Ref(std::string key) { Value v; v.v_ = RefV{std::move(key)}; return v; }

#define TASKGRID_CHECK_KIND(k)                                       \
  CHECK(kind() == (k)) << "Value is " << TypeName() << ", not kind " \
                       << static_cast<int>(k)

bool Value::as_bool() const {
  TASKGRID_CHECK_KIND(Kind::kBool);
  return std::get<bool>(v_);
}
int64_t Value::as_int() const {
  TASKGRID_CHECK_KIND(Kind::kInt);
  return std::get<int64_t>(v_);
}
double Value::as_double() const {
  TASKGRID_CHECK_KIND(Kind::kDouble);
  return std::get<double>(v_);
}
double Value::as_number() const {
  CHECK(is_number()) << "Value is " << TypeName() << ", not a number";
  if (kind() == Kind::kInt) return static_cast<double>(std::get<int64_t>(v_));
  return std::get<double>(v_);
}
const std::string& Value::as_string() const {
  TASKGRID_CHECK_KIND(Kind::kString);
  return std::get<std::string>(v_);
}
const std::string& Value::as_ref() const {
  TASKGRID_CHECK_KIND(Kind::kRef);
  return std::get<RefV>(v_).key;
}
const Blob& Value::as_bytes() const {
  TASKGRID_CHECK_KIND(Kind::kBytes);
  return std::get<BytesV>(v_).b;
}
const Blob& Value::as_pickle() const {
  TASKGRID_CHECK_KIND(Kind::kPickle);
  const PickleV& p = std::get<PickleV>(v_);
  if (p.local == nullptr) return p.b;
  const absl::StatusOr<Blob>& pickled = p.local->Pickled();
  static const Blob* const kEmpty = new Blob();
  return pickled.ok() ? *pickled : *kEmpty;
}
const LocalObject* Value::local_object() const {
  const PickleV* p = std::get_if<PickleV>(&v_);
  return p == nullptr ? nullptr : p->local.get();
}
const ValueList& Value::as_list() const {
  TASKGRID_CHECK_KIND(Kind::kList);
  return *std::get<std::shared_ptr<const ValueList>>(v_);
}
const ValueMap& Value::as_map() const {
  TASKGRID_CHECK_KIND(Kind::kMap);
  return *std::get<std::shared_ptr<const ValueMap>>(v_);
}
const NDArray& Value::as_array() const {
  TASKGRID_CHECK_KIND(Kind::kArray);
  return *std::get<std::shared_ptr<const NDArray>>(v_);
}

#undef TASKGRID_CHECK_KIND

int64_t Value::ByteSize() const {
  // Containers count a small per-item overhead so that a list of a million
  // nulls does not look free to placement and memory limits.
  constexpr int64_t kScalar = 8;
  constexpr int64_t kContainer = 16;
  switch (kind()) {
    case Kind::kNull:
    case Kind::kBool:
    case Kind::kInt:
    case Kind::kDouble:
      return kScalar;
    case Kind::kString: return static_cast<int64_t>(as_string().size());
    case Kind::kRef: return static_cast<int64_t>(as_ref().size());
    case Kind::kBytes: return static_cast<int64_t>(as_bytes().size());
    case Kind::kPickle:
      if (const LocalObject* local = local_object()) return local->ByteSize();
      return static_cast<int64_t>(as_pickle().size());
    case Kind::kArray: return static_cast<int64_t>(as_array().data.size());
    case Kind::kList: {
      int64_t n = kContainer;
      for (const Value& item : as_list()) n += item.ByteSize();
      return n;
    }
    case Kind::kMap: {
      int64_t n = kContainer;
      for (const auto& [k, item] : as_map()) {
        n += static_cast<int64_t>(k.size()) + item.ByteSize();
      }
      return n;
    }
  }
  return kScalar;
}

const char* Value::TypeName() const {
  switch (kind()) {
    case Kind::kNull: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kDouble: return "float";
    case Kind::kString: return "str";
    case Kind::kBytes: return "bytes";
    case Kind::kList: return "list";
    case Kind::kMap: return "dict";
    case Kind::kArray: return "ndarray";
    case Kind::kPickle: return "pickle";
    case Kind::kRef: return "ref";
  }
  return "?";
}

namespace {

// Appends the repr of `v`, giving up once `out` is longer than `limit` so a
// huge list costs no more than its first few items.
void AppendRepr(const Value& v, size_t limit, std::string* out) {
  if (out->size() > limit) return;
  switch (v.kind()) {
    case Value::Kind::kNull: out->append("None"); return;
    case Value::Kind::kBool: out->append(v.as_bool() ? "True" : "False"); return;
    case Value::Kind::kInt: absl::StrAppend(out, v.as_int()); return;
    case Value::Kind::kDouble: out->append(DoubleRepr(v.as_double())); return;
    case Value::Kind::kString: AppendQuoted(v.as_string(), out); return;
    case Value::Kind::kBytes: AppendBytesRepr(v.as_bytes(), out); return;
    case Value::Kind::kPickle:
      if (const LocalObject* local = v.local_object()) {
        absl::StrAppend(out, "object(~", local->ByteSize(), " bytes)");
      } else {
        absl::StrAppend(out, "pickle(", v.as_pickle().size(), " bytes)");
      }
      return;
    case Value::Kind::kRef:
      out->append("ref(");
      AppendQuoted(v.as_ref(), out);
      out->push_back(')');
      return;
    case Value::Kind::kArray: {
      const NDArray& a = v.as_array();
      absl::StrAppend(out, "array(", DTypeName(a.dtype), ", shape=(");
      for (size_t i = 0; i < a.shape.size(); ++i) {
        if (i > 0) out->append(", ");
        absl::StrAppend(out, a.shape[i]);
      }
      out->append(a.shape.size() == 1 ? ",))" : "))");
      return;
    }
    case Value::Kind::kList: {
      out->push_back('[');
      bool first = true;
      for (const Value& item : v.as_list()) {
        if (out->size() > limit) return;
        if (!first) out->append(", ");
        first = false;
        AppendRepr(item, limit, out);
      }
      out->push_back(']');
      return;
    }
    case Value::Kind::kMap: {
      out->push_back('{');
      bool first = true;
      for (const auto& [k, item] : v.as_map()) {
        if (out->size() > limit) return;
        if (!first) out->append(", ");
        first = false;
        AppendQuoted(k, out);
        out->append(": ");
        AppendRepr(item, limit, out);
      }
      out->push_back('}');
      return;
    }
  }
}

}  // namespace

std::string Value::DebugString(size_t max_len) const {
  std::string out;
  AppendRepr(*this, max_len, &out);
  if (out.size() > max_len) {
    out.resize(max_len);
    out.append("...");
  }
  return out;
}

void Value::CollectRefs(std::vector<std::string>* out) const {
  switch (kind()) {
    case Kind::kRef: out->push_back(as_ref()); return;
    case Kind::kList:
      for (const Value& item : as_list()) item.CollectRefs(out);
      return;
    case Kind::kMap:
      for (const auto& entry : as_map()) entry.second.CollectRefs(out);
      return;
    default: return;
  }
}

bool Value::HasRefs() const {
  switch (kind()) {
    case Kind::kRef: return true;
    case Kind::kList:
      for (const Value& item : as_list()) {
        if (item.HasRefs()) return true;
      }
      return false;
    case Kind::kMap:
      for (const auto& entry : as_map()) {
        if (entry.second.HasRefs()) return true;
      }
      return false;
    default: return false;
  }
}

bool Value::operator==(const Value& o) const {
  if (kind() != o.kind()) return false;
  switch (kind()) {
    case Kind::kNull: return true;
    case Kind::kBool: return as_bool() == o.as_bool();
    case Kind::kInt: return as_int() == o.as_int();
    case Kind::kDouble: return DoublesEqual(as_double(), o.as_double());
    case Kind::kString: return as_string() == o.as_string();
    case Kind::kRef: return as_ref() == o.as_ref();
    case Kind::kBytes: return as_bytes() == o.as_bytes();
    case Kind::kPickle:
      if (local_object() != nullptr && local_object() == o.local_object()) return true;
      return as_pickle() == o.as_pickle();
    case Kind::kList: {
      const ValueList& a = as_list();
      const ValueList& b = o.as_list();
      return &a == &b || a == b;
    }
    case Kind::kMap: {
      const ValueMap& a = as_map();
      const ValueMap& b = o.as_map();
      return &a == &b || a == b;
    }
    case Kind::kArray: {
      const NDArray& a = as_array();
      const NDArray& b = o.as_array();
      return &a == &b ||
             (a.dtype == b.dtype && a.shape == b.shape && a.data == b.data);
    }
  }
  return false;
}

absl::Status PreparePickles(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kPickle:
      if (const LocalObject* local = v.local_object()) return local->Pickled().status();
      return absl::OkStatus();
    case Value::Kind::kList:
      for (const Value& item : v.as_list()) {
        if (absl::Status s = PreparePickles(item); !s.ok()) return s;
      }
      return absl::OkStatus();
    case Value::Kind::kMap:
      for (const auto& [key, item] : v.as_map()) {
        if (absl::Status s = PreparePickles(item); !s.ok()) return s;
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

}  // namespace taskgrid
