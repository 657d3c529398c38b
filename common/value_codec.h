#pragma once
// The binary form of a Value: exactly the protobuf wire encoding of
// taskgrid.v1.Value, so any language can decode it with generated stubs,
// but produced and parsed here without protobuf so that large bytes/array
// payloads are never copied: encoding references them as segments, and
// decoding slices them out of the received buffer.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/blob.h"
#include "common/value.h"

namespace taskgrid {

// An encoded value as a sequence of byte ranges (small framing pieces and
// references to large payloads), in order.
struct EncodedValue {
  std::vector<Blob> segments;
  size_t total_bytes = 0;
  // Concatenates the segments (copies; for small values and tests).
  std::string Flatten() const;
  // One segment holding an already-encoded value (e.g. a reassembled
  // transfer), shared, not copied.
  static EncodedValue FromBlob(Blob encoded);
};

EncodedValue EncodeValue(const Value& v);
// Nesting deeper than this is rejected by DecodeValue.
inline constexpr int kMaxValueDepth = 100;
// Decodes; bytes/array/pickle payloads share `buf`'s storage.
absl::StatusOr<Value> DecodeValue(const Blob& buf);
// Where the element data of an encoded top-level array starts, read from
// the first bytes of its encoding (`head`); nullopt when the value is not
// an array or `head` ends before the data. A receiver that places this
// offset at an aligned address gets an array that decodes without a copy.
std::optional<size_t> ArrayPayloadOffset(std::string_view head);

}  // namespace taskgrid
