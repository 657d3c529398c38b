#pragma once
// ChunkCursor: the chunks of one encoded value, produced one at a time.
//
// Same chunks as common/chunking.h's ForEachChunk (in order; an empty value
// gives one empty last chunk; the last chunk carries the CRC-32C of the
// whole value), but pulled instead of pushed, because a callback-API
// stream writer must produce the next chunk only when the previous write
// completed. Chunk pieces share the value's storage: nothing is copied.
//
// Thread-compatible: one cursor is used by one stream at a time.

#include <cstdint>
#include <vector>

#include "common/blob.h"
#include "common/value_codec.h"

namespace taskgrid::worker {

class ChunkCursor {
 public:
  struct Chunk {
    int64_t total_bytes = 0;
    int64_t offset = 0;
    std::vector<Blob> pieces;  // the chunk's bytes, in order
    size_t size = 0;           // sum of the pieces' sizes
    bool last = false;
    uint32_t crc32c = 0;  // of the whole value; set on the last chunk only
  };

  // REQUIRES: max_chunk_bytes > 0.
  ChunkCursor(EncodedValue value, size_t max_chunk_bytes);

  bool done() const { return done_; }
  // REQUIRES: !done().
  void Next(Chunk* out);

 private:
  EncodedValue value_;
  size_t max_chunk_bytes_;
  size_t segment_ = 0;         // current segment index
  size_t segment_offset_ = 0;  // bytes of it already emitted
  int64_t offset_ = 0;
  uint32_t crc_ = 0;
  bool done_ = false;
};

}  // namespace taskgrid::worker
