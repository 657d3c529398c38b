#include "common/chunking.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/crc32c.h"

namespace taskgrid {

bool ForEachChunk(const EncodedValue& value, size_t max_chunk_bytes,
                  const std::function<bool(const ChunkView&)>& emit) {
  if (max_chunk_bytes == 0) max_chunk_bytes = kDefaultChunkBytes;
  size_t total = 0;
  for (const Blob& s : value.segments) total += s.size();
  DCHECK_EQ(total, value.total_bytes);
  if (total == 0) {
    return emit(ChunkView{0, 0, std::string_view(), true, Crc32cExtend(0, nullptr, 0)});
  }
  std::string scratch;  // only for chunks that straddle segments
  uint32_t crc = 0;
  size_t seg = 0;
  size_t seg_offset = 0;
  size_t offset = 0;
  while (offset < total) {
    const size_t n = std::min(max_chunk_bytes, total - offset);
    while (value.segments[seg].size() == seg_offset) {  // skip exhausted/empty
      ++seg;
      seg_offset = 0;
    }
    std::string_view data;
    const Blob& current = value.segments[seg];
    if (current.size() - seg_offset >= n) {
      data = std::string_view(current.data() + seg_offset, n);
      seg_offset += n;
    } else {
      scratch.resize(n);
      size_t filled = 0;
      while (filled < n) {
        const Blob& s = value.segments[seg];
        size_t take = std::min(n - filled, s.size() - seg_offset);
        std::memcpy(&scratch[filled], s.data() + seg_offset, take);
        filled += take;
        seg_offset += take;
        if (seg_offset == s.size() && filled < n) {
          ++seg;
          seg_offset = 0;
        }
      }
      data = scratch;
    }
    crc = Crc32cExtend(crc, data.data(), data.size());
    const bool last = offset + n == total;
    ChunkView chunk{static_cast<int64_t>(total), static_cast<int64_t>(offset),
                    data, last, last ? crc : 0u};
    if (!emit(chunk)) return false;
    offset += n;
  }
  return true;
}

absl::Status ChunkAssembler::Add(int64_t total_bytes, int64_t offset,
                                 std::string_view data, bool last,
                                 uint32_t checksum, ChecksumAlgorithm algorithm) {
  if (complete_) {
    return absl::FailedPreconditionError("chunk received after the last chunk");
  }
  if (total_ < 0) {
    if (total_bytes < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("negative total_bytes ", total_bytes));
    }
    if (total_bytes > max_total_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "value of ", total_bytes, " bytes exceeds the limit of ", max_total_));
    }
    const size_t total = static_cast<size_t>(total_bytes);
    // An array's elements land at an address aligned for any element type
    // (and for SIMD): DecodeValue then slices them out without a copy.
    const std::optional<size_t> payload =
        offset == 0 ? ArrayPayloadOffset(data) : std::nullopt;
    if (payload.has_value()) {
      char* base = nullptr;
      Blob padded = allocate_(total + kPayloadAlignment - 1, &base);
      const size_t pad = (kPayloadAlignment -
                          (reinterpret_cast<uintptr_t>(base) + *payload) % kPayloadAlignment) %
                         kPayloadAlignment;
      buffer_ = padded.Slice(pad, total);
      write_ = base + pad;
    } else {
      buffer_ = allocate_(total, &write_);
    }
    total_ = total_bytes;
    algorithm_ = algorithm;
  } else if (algorithm != algorithm_) {
    return absl::InvalidArgumentError(absl::StrCat("checksum algorithm changed from ",
                                                   ChecksumName(algorithm_), " to ",
                                                   ChecksumName(algorithm), " mid-value"));
  } else if (total_bytes != total_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "total_bytes changed from ", total_, " to ", total_bytes, " mid-value"));
  }
  if (offset != received_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk offset ", offset, " but ", received_, " bytes received so far"));
  }
  if (static_cast<int64_t>(data.size()) > total_ - received_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk of ", data.size(), " bytes at offset ", offset,
        " overflows total_bytes ", total_));
  }
  if (!data.empty()) {
    std::memcpy(write_ + received_, data.data(), data.size());
    // Checksum the copy while it is still in cache.
    crc_ = ChecksumExtend(algorithm_, crc_, write_ + received_, data.size());
    received_ += static_cast<int64_t>(data.size());
  }
  if (last) {
    if (received_ != total_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "last chunk ends at ", received_, " of ", total_, " bytes"));
    }
    if (checksum != crc_) {
      return absl::DataLossError(absl::StrFormat("%s mismatch: sender 0x%08x, received data 0x%08x",
                                                 ChecksumName(algorithm_), checksum, crc_));
    }
    complete_ = true;
  }
  return absl::OkStatus();
}

Blob ChunkAssembler::Take() {
  CHECK(complete_) << "ChunkAssembler::Take before the last chunk";
  write_ = nullptr;
  return std::move(buffer_);
}

}  // namespace taskgrid
