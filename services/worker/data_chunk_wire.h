#pragma once
// The wire form of taskgrid.v1.DataChunk, written and read without copying
// the data field.
//
// The bulk channel (Worker.GetData / PutData) is registered as raw
// (grpc::ByteBuffer) methods: a chunk is encoded as a small header slice
// followed by slices that reference the value's own storage, and a
// received chunk's data is handed to the ChunkReceiver straight from the
// transport's slices. The bytes on the wire are exactly the protobuf
// encoding of DataChunk, so generated stubs in any language interoperate.
//
// Stateless functions; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include "absl/status/status.h"
#include "services/worker/chunk_receiver.h"
#include "services/worker/chunk_cursor.h"

namespace taskgrid::worker {

// DataChunk{key, total_bytes, offset, data = chunk.pieces..., last, crc32c}.
grpc::ByteBuffer EncodeDataChunk(std::string_view key, const ChunkCursor::Chunk& chunk);
// DataChunk{key, error, error_permanent}: the key cannot be served.
grpc::ByteBuffer EncodeErrorChunk(std::string_view key, std::string_view error,
                                  bool permanent = false);

// Whole small values packed into one DataChunk message (its `batch` field),
// for receivers that accept batches (GetDataRequest.max_batch_bytes > 0).
// Entries are copied: only values of at most kMaxValueBytes go in.
// Thread-compatible.
class DataChunkBatch {
 public:
  static constexpr size_t kMaxValueBytes = 64 << 10;

  // REQUIRES: `chunk` holds a whole value (offset 0, last).
  void Add(std::string_view key, const ChunkCursor::Chunk& chunk);
  void AddError(std::string_view key, std::string_view error, bool permanent);

  bool empty() const { return entries_ == 0; }
  size_t bytes() const { return message_.size(); }
  // The message so far; leaves the batch empty.
  grpc::ByteBuffer Take();

 private:
  void AppendEntry();

  std::string message_;
  std::string entry_;  // scratch for the entry being added
  size_t entries_ = 0;
};

// A parsed DataChunk whose data stays in the received slices.
struct DataChunkView {
  std::string key;
  int64_t total_bytes = 0;
  int64_t offset = 0;
  bool last = false;
  uint32_t crc32c = 0;  // the checksum, by `checksum`'s algorithm
  int64_t checksum = 0;  // DataChunk.checksum's wire number (0: CRC-32C)
  std::string error;
  bool error_permanent = false;
  std::string client_id;
  std::vector<std::string_view> data;  // in order; point into `slices`
  size_t data_size = 0;
  std::vector<grpc::Slice> slices;  // keeps the data alive
};

// Parses a serialized DataChunk; InvalidArgument if it is malformed.
// Unknown fields are skipped, as protobuf parsers do.
absl::Status ParseDataChunk(const grpc::ByteBuffer& buffer, DataChunkView* out);

// How much of a value's first chunk AddChunkTo hands the receiver in one
// piece: enough for any array header (dtype, shape), so that the receiver
// can place the elements aligned.
inline constexpr size_t kValueHeadBytes = 1024;

// Feeds the chunk's data to `receiver` (which checks order, size, CRC).
absl::Status AddChunkTo(const DataChunkView& chunk, ChunkReceiver* receiver);

}  // namespace taskgrid::worker
