// DecodeValue: parses the protobuf wire format of taskgrid.v1.Value
// without protobuf, slicing bytes/array/pickle payloads out of the input.

#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/value_codec.h"
#include "common/value_wire.h"

namespace taskgrid {
namespace {

using namespace wire;  // NOLINT: field numbers and wire types

// Parses the wire format directly; every length is checked against the end
// of its enclosing message before it is used.
class Decoder {
 public:
  explicit Decoder(const Blob& buf) : buf_(buf), base_(buf.data()) {}

  absl::StatusOr<Value> Decode() {
    return ParseValue(base_, base_ + buf_.size(), 1);
  }

  // See ::taskgrid::ArrayPayloadOffset: Value.array, then the NDArray's
  // fields up to its data (dtype and shape come first in every encoder we
  // know; anything else reads as not found).
  std::optional<size_t> ArrayPayloadOffset() const {
    const char* p = base_;
    const char* end = base_ + buf_.size();
    uint32_t field, wt;
    uint64_t len;
    if (!ReadTag(p, end, &field, &wt).ok() || field != kArrayField || wt != kLen ||
        !ReadVarint(p, end, &len).ok()) {
      return std::nullopt;
    }
    while (ReadTag(p, end, &field, &wt).ok()) {
      if (field == 3 && wt == kLen) {
        if (!ReadVarint(p, end, &len).ok()) return std::nullopt;
        return static_cast<size_t>(p - base_);
      }
      if ((field != 1 && field != 2) || !SkipField(p, end, wt).ok()) return std::nullopt;
    }
    return std::nullopt;
  }

 private:
  absl::Status Error(const char* p, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        "malformed taskgrid.v1.Value: ", what, " at byte ", p - base_));
  }

  absl::Status ReadVarint(const char*& p, const char* end, uint64_t* out) const {
    const char* start = p;
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (p >= end) return Error(start, "truncated varint");
      uint8_t b = static_cast<uint8_t>(*p++);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (b < 0x80) {
        *out = v;
        return absl::OkStatus();
      }
    }
    return Error(start, "varint longer than 10 bytes");
  }

  absl::Status ReadTag(const char*& p, const char* end, uint32_t* field,
                       uint32_t* wire_type) const {
    const char* start = p;
    uint64_t tag = 0;
    if (absl::Status s = ReadVarint(p, end, &tag); !s.ok()) return s;
    if (tag >> 3 == 0 || tag >> 3 > 0x1FFFFFFF) {
      return Error(start, absl::StrCat("invalid field number ", tag >> 3));
    }
    *field = static_cast<uint32_t>(tag >> 3);
    *wire_type = static_cast<uint32_t>(tag & 7);
    return absl::OkStatus();
  }

  // Reads a length prefix and returns the body as [*body, *body_end).
  absl::Status ReadLen(const char*& p, const char* end, const char** body,
                       const char** body_end) const {
    const char* start = p;
    uint64_t len = 0;
    if (absl::Status s = ReadVarint(p, end, &len); !s.ok()) return s;
    if (len > static_cast<uint64_t>(end - p)) {
      return Error(start, absl::StrCat("length ", len, " runs past the end (",
                                       end - p, " bytes left)"));
    }
    *body = p;
    *body_end = p + len;
    p += len;
    return absl::OkStatus();
  }

  absl::Status SkipField(const char*& p, const char* end, uint32_t wire_type) const {
    const char* start = p;
    switch (wire_type) {
      case kVarint: {
        uint64_t ignored;
        return ReadVarint(p, end, &ignored);
      }
      case kFixed64:
      case kFixed32: {
        size_t n = wire_type == kFixed64 ? 8 : 4;
        if (static_cast<size_t>(end - p) < n) return Error(start, "truncated fixed-width field");
        p += n;
        return absl::OkStatus();
      }
      case kLen: {
        const char *body, *body_end;
        return ReadLen(p, end, &body, &body_end);
      }
      default:
        return Error(start, absl::StrCat("unsupported wire type ", wire_type));
    }
  }

  Blob SliceOf(const char* begin, const char* end) const {
    return buf_.Slice(static_cast<size_t>(begin - base_),
                      static_cast<size_t>(end - begin));
  }

  // Fields of a message we only need to be well formed (Null).
  absl::Status SkipMessage(const char* p, const char* end) const {
    while (p < end) {
      uint32_t field, wt;
      if (absl::Status s = ReadTag(p, end, &field, &wt); !s.ok()) return s;
      if (absl::Status s = SkipField(p, end, wt); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  struct ArrayParts {
    std::string dtype;
    std::vector<int64_t> shape;
    Blob data;
  };

  absl::StatusOr<Value> ParseValue(const char* p, const char* end, int depth) const {
    if (depth > kMaxValueDepth) {
      return Error(p, absl::StrCat("nesting deeper than ", kMaxValueDepth));
    }
    // Protobuf semantics: the last oneof member wins, and a repeated
    // message member merges into the previous one.
    uint32_t kind_field = 0;
    Value scalar;
    ValueList list;
    ValueMap map;
    ArrayParts array;
    while (p < end) {
      uint32_t field, wt;
      if (absl::Status s = ReadTag(p, end, &field, &wt); !s.ok()) return s;
      const bool merge = field == kind_field;
      const char *body = nullptr, *body_end = nullptr;
      bool known = true;
      switch (field) {
        case kBoolField:
        case kIntField: {
          if (wt != kVarint) { known = false; break; }
          uint64_t v = 0;
          if (absl::Status s = ReadVarint(p, end, &v); !s.ok()) return s;
          scalar = field == kBoolField ? Value::Bool(v != 0)
                                       : Value::Int(static_cast<int64_t>(v));
          break;
        }
        case kDoubleField: {
          if (wt != kFixed64) { known = false; break; }
          if (end - p < 8) return Error(p, "truncated double");
          double d;
          std::memcpy(&d, p, 8);
          p += 8;
          scalar = Value::Double(d);
          break;
        }
        case kNullField: case kStringField: case kBytesField:
        case kListField: case kMapField: case kArrayField:
        case kPickleField: case kRefField: {
          if (wt != kLen) { known = false; break; }
          if (absl::Status s = ReadLen(p, end, &body, &body_end); !s.ok()) return s;
          absl::Status s = ParseLenMember(field, body, body_end, depth, merge,
                                          &scalar, &list, &map, &array);
          if (!s.ok()) return s;
          break;
        }
        default:
          known = false;
      }
      if (known) {
        kind_field = field;
      } else if (absl::Status s = SkipField(p, end, wt); !s.ok()) {
        return s;
      }
    }
    switch (kind_field) {
      case kListField: return Value::List(std::move(list));
      case kMapField: return Value::Map(std::move(map));
      case kArrayField: return FinishArray(std::move(array), end);
      default: return scalar;  // also "no kind set": Null
    }
  }

  absl::Status ParseLenMember(uint32_t field, const char* p, const char* end,
                              int depth, bool merge, Value* scalar,
                              ValueList* list, ValueMap* map,
                              ArrayParts* array) const {
    std::string_view text(p, static_cast<size_t>(end - p));
    switch (field) {
      case kNullField:
        *scalar = Value::Null();
        return SkipMessage(p, end);
      case kStringField: *scalar = Value::String(std::string(text)); return absl::OkStatus();
      case kRefField: *scalar = Value::Ref(std::string(text)); return absl::OkStatus();
      case kBytesField: *scalar = Value::Bytes(SliceOf(p, end)); return absl::OkStatus();
      case kPickleField: *scalar = Value::Pickle(SliceOf(p, end)); return absl::OkStatus();
      case kListField:
        if (!merge) list->clear();
        return ParseList(p, end, depth, list);
      case kMapField:
        if (!merge) map->clear();
        return ParseMap(p, end, depth, map);
      case kArrayField:
        if (!merge) *array = ArrayParts();
        return ParseArray(p, end, array);
    }
    return absl::OkStatus();
  }

  // Calls on_field(field, body, body_end) for each length-delimited field
  // of the message [p, end) numbered first..last; skips every other field.
  template <typename OnField>
  absl::Status ForEachLenField(const char* p, const char* end, uint32_t first,
                               uint32_t last, const OnField& on_field) const {
    while (p < end) {
      uint32_t field, wt;
      if (absl::Status s = ReadTag(p, end, &field, &wt); !s.ok()) return s;
      if (field < first || field > last || wt != kLen) {
        if (absl::Status s = SkipField(p, end, wt); !s.ok()) return s;
        continue;
      }
      const char *body, *body_end;
      if (absl::Status s = ReadLen(p, end, &body, &body_end); !s.ok()) return s;
      if (absl::Status s = on_field(field, body, body_end); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status ParseList(const char* p, const char* end, int depth,
                         ValueList* out) const {
    return ForEachLenField(p, end, 1, 1, [&](uint32_t, const char* body, const char* body_end) {
      absl::StatusOr<Value> item = ParseValue(body, body_end, depth + 1);
      if (!item.ok()) return item.status();
      out->push_back(*std::move(item));
      return absl::OkStatus();
    });
  }

  absl::Status ParseMap(const char* p, const char* end, int depth,
                        ValueMap* out) const {
    return ForEachLenField(p, end, 1, 1, [&](uint32_t, const char* entry, const char* entry_end) {
      std::string key;
      Value item;  // an entry without a value holds an unset Value: null
      absl::Status s = ForEachLenField(
          entry, entry_end, 1, 2, [&](uint32_t field, const char* body, const char* body_end) {
            if (field == 1) {
              key.assign(body, body_end);
              return absl::OkStatus();
            }
            absl::StatusOr<Value> v = ParseValue(body, body_end, depth + 1);
            if (!v.ok()) return v.status();
            item = *std::move(v);
            return absl::OkStatus();
          });
      if (!s.ok()) return s;
      (*out)[std::move(key)] = std::move(item);  // a later duplicate wins
      return absl::OkStatus();
    });
  }

  absl::Status ParseArray(const char* p, const char* end, ArrayParts* out) const {
    while (p < end) {
      uint32_t field, wt;
      if (absl::Status s = ReadTag(p, end, &field, &wt); !s.ok()) return s;
      if (field == 2 && wt == kVarint) {  // unpacked shape, also valid
        uint64_t dim = 0;
        if (absl::Status s = ReadVarint(p, end, &dim); !s.ok()) return s;
        out->shape.push_back(static_cast<int64_t>(dim));
        continue;
      }
      if (field < 1 || field > 3 || wt != kLen) {
        if (absl::Status s = SkipField(p, end, wt); !s.ok()) return s;
        continue;
      }
      const char *body, *body_end;
      if (absl::Status s = ReadLen(p, end, &body, &body_end); !s.ok()) return s;
      if (field == 1) {
        out->dtype.assign(body, body_end);
      } else if (field == 2) {
        while (body < body_end) {
          uint64_t dim = 0;
          if (absl::Status s = ReadVarint(body, body_end, &dim); !s.ok()) return s;
          out->shape.push_back(static_cast<int64_t>(dim));
        }
      } else {
        out->data = SliceOf(body, body_end);
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Value> FinishArray(ArrayParts parts, const char* at) const {
    absl::StatusOr<DType> dtype = ParseDType(parts.dtype);
    if (!dtype.ok()) return Error(at, dtype.status().message());
    NDArray a;
    a.dtype = *dtype;
    a.shape = std::move(parts.shape);
    a.data = std::move(parts.data);
    if (absl::Status s = a.Validate(); !s.ok()) return Error(at, s.message());
    return Value::Array(std::move(a));
  }

  const Blob& buf_;
  const char* base_;
};

}  // namespace

absl::StatusOr<Value> DecodeValue(const Blob& buf) {
  return Decoder(buf).Decode();
}

std::optional<size_t> ArrayPayloadOffset(std::string_view head) {
  return Decoder(Blob(nullptr, head.data(), head.size())).ArrayPayloadOffset();
}

}  // namespace taskgrid
