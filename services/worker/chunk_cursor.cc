#include "services/worker/chunk_cursor.h"

#include <algorithm>

#include "common/crc32c.h"

namespace taskgrid::worker {

ChunkCursor::ChunkCursor(EncodedValue value, size_t max_chunk_bytes)
    : value_(std::move(value)), max_chunk_bytes_(std::max<size_t>(max_chunk_bytes, 1)) {}

void ChunkCursor::Next(Chunk* out) {
  out->pieces.clear();
  out->total_bytes = static_cast<int64_t>(value_.total_bytes);
  out->offset = offset_;
  size_t room = max_chunk_bytes_;
  while (room > 0 && segment_ < value_.segments.size()) {
    const Blob& seg = value_.segments[segment_];
    size_t n = std::min(room, seg.size() - segment_offset_);
    if (n > 0) {
      Blob piece = seg.Slice(segment_offset_, n);
      crc_ = Crc32cExtend(crc_, piece.data(), piece.size());
      out->pieces.push_back(std::move(piece));
      segment_offset_ += n;
      room -= n;
    }
    if (segment_offset_ == seg.size()) {
      ++segment_;
      segment_offset_ = 0;
    }
  }
  out->size = max_chunk_bytes_ - room;
  offset_ += static_cast<int64_t>(out->size);
  // Skip trailing empty segments so that the last chunk is flagged as such.
  while (segment_ < value_.segments.size() && value_.segments[segment_].empty()) ++segment_;
  out->last = segment_ == value_.segments.size();
  out->crc32c = out->last ? crc_ : 0;
  done_ = out->last;
}

}  // namespace taskgrid::worker
