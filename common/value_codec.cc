#include "common/value_codec.h"

#include <cstring>

#include "common/value_wire.h"

namespace taskgrid {
namespace {

// Bytes, array data and pickles at least this large are referenced as
// their own segment instead of being copied into the framing buffer.
constexpr size_t kLargePayloadBytes = 4096;

using namespace wire;  // NOLINT: field numbers and wire types

constexpr char Tag(uint32_t field, WireType wt) {
  // Every field number used here is < 16, so a tag is one byte.
  return static_cast<char>((field << 3) | wt);
}

size_t VarintSize(uint64_t v) {
  return static_cast<size_t>((64 - __builtin_clzll(v | 1) + 6) / 7);
}

// A length-delimited field with a one-byte tag.
size_t LenFieldSize(size_t len) { return 1 + VarintSize(len) + len; }

size_t ArrayBodySize(const NDArray& a) {
  size_t n = LenFieldSize(std::strlen(DTypeName(a.dtype)));
  if (!a.shape.empty()) {
    size_t packed = 0;
    for (int64_t d : a.shape) packed += VarintSize(static_cast<uint64_t>(d));
    n += LenFieldSize(packed);
  }
  // proto3 leaves an empty non-oneof bytes field out; so do we, so that the
  // output is byte-identical to protobuf's.
  if (!a.data.empty()) n += LenFieldSize(a.data.size());
  return n;
}

class Encoder {
 public:
  EncodedValue Encode(const Value& v) {
    Measure(v);
    EncodedValue out;
    out.total_bytes = sizes_[0].value;
    size_t framing = out.total_bytes - large_bytes_;
    frame_ = Blob::Allocate(framing, &base_);
    cur_ = base_;
    segment_start_ = base_;
    out_ = &out;
    Emit(v);
    FlushFraming();
    return out;
  }

 private:
  struct NodeSize {
    size_t value = 0;  // the Value message, without its own tag and length
    size_t inner = 0;  // the nested list/map/array message body
  };

  // Pre-order: a node's slot is reserved before its children are measured,
  // so Emit() can walk the same order with a cursor.
  size_t Measure(const Value& v) {
    size_t slot = sizes_.size();
    sizes_.emplace_back();
    NodeSize s;
    switch (v.kind()) {
      case Value::Kind::kNull:
      case Value::Kind::kBool: s.value = 2; break;
      case Value::Kind::kInt:
        s.value = 1 + VarintSize(static_cast<uint64_t>(v.as_int()));
        break;
      case Value::Kind::kDouble: s.value = 9; break;
      case Value::Kind::kString: s.value = LenFieldSize(v.as_string().size()); break;
      case Value::Kind::kRef: s.value = LenFieldSize(v.as_ref().size()); break;
      case Value::Kind::kBytes:
        s.value = LenFieldSize(v.as_bytes().size());
        CountPayload(v.as_bytes());
        break;
      case Value::Kind::kPickle:
        s.value = LenFieldSize(v.as_pickle().size());
        CountPayload(v.as_pickle());
        break;
      case Value::Kind::kList:
        for (const Value& item : v.as_list()) s.inner += LenFieldSize(Measure(item));
        s.value = LenFieldSize(s.inner);
        break;
      case Value::Kind::kMap:
        for (const auto& [key, item] : v.as_map()) {
          s.inner += LenFieldSize(LenFieldSize(key.size()) + LenFieldSize(Measure(item)));
        }
        s.value = LenFieldSize(s.inner);
        break;
      case Value::Kind::kArray:
        s.inner = ArrayBodySize(v.as_array());
        s.value = LenFieldSize(s.inner);
        CountPayload(v.as_array().data);
        break;
    }
    sizes_[slot] = s;
    return s.value;
  }

  void CountPayload(const Blob& b) {
    if (b.size() >= kLargePayloadBytes) large_bytes_ += b.size();
  }

  void Emit(const Value& v) {
    const NodeSize s = sizes_[cursor_++];
    switch (v.kind()) {
      case Value::Kind::kNull:
        *cur_++ = Tag(kNullField, kLen);
        *cur_++ = 0;
        return;
      case Value::Kind::kBool:
        *cur_++ = Tag(kBoolField, kVarint);
        *cur_++ = v.as_bool() ? 1 : 0;
        return;
      case Value::Kind::kInt:
        *cur_++ = Tag(kIntField, kVarint);
        PutVarint(static_cast<uint64_t>(v.as_int()));
        return;
      case Value::Kind::kDouble: {
        *cur_++ = Tag(kDoubleField, kFixed64);
        double d = v.as_double();
        std::memcpy(cur_, &d, 8);  // x86/arm64 are little-endian, as the wire
        cur_ += 8;
        return;
      }
      case Value::Kind::kString: PutString(kStringField, v.as_string()); return;
      case Value::Kind::kRef: PutString(kRefField, v.as_ref()); return;
      case Value::Kind::kBytes: PutPayload(kBytesField, v.as_bytes()); return;
      case Value::Kind::kPickle: PutPayload(kPickleField, v.as_pickle()); return;
      case Value::Kind::kList:
        *cur_++ = Tag(kListField, kLen);
        PutVarint(s.inner);
        for (const Value& item : v.as_list()) {
          *cur_++ = Tag(1, kLen);  // ValueList.items
          PutVarint(sizes_[cursor_].value);
          Emit(item);
        }
        return;
      case Value::Kind::kMap:
        *cur_++ = Tag(kMapField, kLen);
        PutVarint(s.inner);
        for (const auto& [key, item] : v.as_map()) {
          size_t item_size = sizes_[cursor_].value;
          *cur_++ = Tag(1, kLen);  // ValueMap.entries
          PutVarint(LenFieldSize(key.size()) + LenFieldSize(item_size));
          PutString(1, key);  // entry key
          *cur_++ = Tag(2, kLen);  // entry value
          PutVarint(item_size);
          Emit(item);
        }
        return;
      case Value::Kind::kArray: {
        const NDArray& a = v.as_array();
        *cur_++ = Tag(kArrayField, kLen);
        PutVarint(s.inner);
        PutString(1, DTypeName(a.dtype));
        if (!a.shape.empty()) {
          size_t packed = 0;
          for (int64_t d : a.shape) packed += VarintSize(static_cast<uint64_t>(d));
          *cur_++ = Tag(2, kLen);
          PutVarint(packed);
          for (int64_t d : a.shape) PutVarint(static_cast<uint64_t>(d));
        }
        if (!a.data.empty()) PutPayload(3, a.data);
        return;
      }
    }
  }

  void PutVarint(uint64_t v) {
    while (v >= 0x80) {
      *cur_++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *cur_++ = static_cast<char>(v);
  }

  void PutString(uint32_t field, std::string_view s) {
    *cur_++ = Tag(field, kLen);
    PutVarint(s.size());
    if (!s.empty()) std::memcpy(cur_, s.data(), s.size());
    cur_ += s.size();
  }

  void PutPayload(uint32_t field, const Blob& b) {
    if (b.size() < kLargePayloadBytes) {
      PutString(field, b.view());
      return;
    }
    *cur_++ = Tag(field, kLen);
    PutVarint(b.size());
    FlushFraming();
    out_->segments.push_back(b);
  }

  void FlushFraming() {
    if (cur_ > segment_start_) {
      out_->segments.push_back(frame_.Slice(
          static_cast<size_t>(segment_start_ - base_),
          static_cast<size_t>(cur_ - segment_start_)));
    }
    segment_start_ = cur_;
  }

  std::vector<NodeSize> sizes_;
  size_t cursor_ = 0;
  size_t large_bytes_ = 0;
  Blob frame_;
  char* base_ = nullptr;
  char* cur_ = nullptr;
  char* segment_start_ = nullptr;
  EncodedValue* out_ = nullptr;
};

}  // namespace

std::string EncodedValue::Flatten() const {
  std::string out;
  out.reserve(total_bytes);
  for (const Blob& s : segments) out.append(s.data(), s.size());
  return out;
}

EncodedValue EncodedValue::FromBlob(Blob encoded) {
  EncodedValue out;
  out.total_bytes = encoded.size();
  if (!encoded.empty()) out.segments.push_back(std::move(encoded));
  return out;
}

EncodedValue EncodeValue(const Value& v) { return Encoder().Encode(v); }

}  // namespace taskgrid
