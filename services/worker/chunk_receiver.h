#pragma once
// ChunkReceiver: puts one value back together from its DataChunks, in a
// buffer from BufferPool, checking offsets, the total size and the CRC-32C
// so a task is never handed a partial or corrupted value.
//
// Same contract as common/chunking.h's ChunkAssembler, which allocates a
// fresh buffer per value; receiving into recycled memory is what lets a
// large transfer run at memory speed instead of page-fault speed (see
// buffer_pool.h). Chunk data may arrive split into any number of pieces.
//
// Thread-compatible: one receiver per value being received.

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "common/blob.h"

namespace taskgrid::worker {

class ChunkReceiver {
 public:
  // REQUIRES: pieces of one value, in order. `crc32c` is only read when
  // `last` is set. Errors name the problem.
  absl::Status Add(int64_t total_bytes, int64_t offset, std::string_view data, bool last,
                   uint32_t crc32c);
  bool complete() const { return complete_; }
  // REQUIRES: complete().
  Blob Take();
  // Values larger than this are refused (protects memory from bad peers).
  void set_max_total_bytes(int64_t n) { max_total_ = n; }

 private:
  Blob buffer_;
  char* write_ = nullptr;
  int64_t total_ = -1;
  int64_t received_ = 0;
  uint32_t crc_ = 0;
  bool complete_ = false;
  int64_t max_total_ = int64_t{1} << 40;
};

}  // namespace taskgrid::worker
