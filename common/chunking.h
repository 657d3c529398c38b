#pragma once
// Splits an encoded value into chunks for the bulk channel and puts chunks
// back together on the receiving side, verifying offsets, total size and
// the checksum (CRC-32C, or the CRC-32 a sender may choose instead: see
// common/checksum.h), so a task is never handed a partial or corrupted
// value.

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/blob.h"
#include "common/checksum.h"
#include "common/value_codec.h"

namespace taskgrid {

inline constexpr size_t kDefaultChunkBytes = 1 << 20;  // 1 MiB

// One chunk of a key's encoded value. `data` views memory owned by the
// EncodedValue (or a scratch buffer) and is valid only during the callback.
struct ChunkView {
  int64_t total_bytes;
  int64_t offset;
  std::string_view data;
  bool last;
  uint32_t crc32c;  // of the whole value; set on the last chunk only
};

// Calls `emit` for each chunk, in order; an empty value yields one empty
// last chunk. Stops and returns false as soon as `emit` returns false.
bool ForEachChunk(const EncodedValue& value, size_t max_chunk_bytes,
                  const std::function<bool(const ChunkView&)>& emit);

// Reassembles one value from its chunks into a single allocation. Chunk
// data may arrive split into any number of pieces.
// Thread-compatible: one assembler per value being received.
class ChunkAssembler {
 public:
  // Where the value's buffer comes from (Blob::Allocate's signature); the
  // worker passes its buffer pool.
  using Allocator = Blob (*)(size_t size, char** writable);
  // Where a received array's elements start (see Add).
  static constexpr size_t kPayloadAlignment = 64;
  explicit ChunkAssembler(Allocator allocate = &Blob::Allocate) : allocate_(allocate) {}

  // REQUIRES: chunks of one value, in order. `checksum` (on the last
  // chunk) is of the whole value, by `algorithm`, which every chunk of the
  // value names alike. Errors name the problem (offset gap, size mismatch,
  // checksum mismatch, algorithm changed mid-value, oversize). When the
  // first chunk shows an array, the buffer is placed so that the elements
  // start at a multiple of kPayloadAlignment.
  absl::Status Add(int64_t total_bytes, int64_t offset, std::string_view data,
                   bool last, uint32_t checksum,
                   ChecksumAlgorithm algorithm = ChecksumAlgorithm::kCrc32c);
  bool complete() const { return complete_; }
  // REQUIRES: complete().
  Blob Take();
  // Values larger than this are refused (protects memory from bad peers).
  void set_max_total_bytes(int64_t n) { max_total_ = n; }

 private:
  Allocator allocate_;
  Blob buffer_;
  char* write_ = nullptr;
  int64_t total_ = -1;
  int64_t received_ = 0;
  uint32_t crc_ = 0;
  ChecksumAlgorithm algorithm_ = ChecksumAlgorithm::kCrc32c;
  bool complete_ = false;
  int64_t max_total_ = int64_t{1} << 40;
};

}  // namespace taskgrid
