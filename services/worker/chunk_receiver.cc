#include "services/worker/chunk_receiver.h"

#include <cstring>

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/crc32c.h"
#include "services/worker/buffer_pool.h"

namespace taskgrid::worker {

absl::Status ChunkReceiver::Add(int64_t total_bytes, int64_t offset, std::string_view data,
                                bool last, uint32_t crc32c) {
  if (complete_) return absl::FailedPreconditionError("data after the last chunk");
  if (total_ < 0) {
    if (total_bytes < 0 || total_bytes > max_total_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("value of ", total_bytes, " bytes is outside 0..", max_total_));
    }
    total_ = total_bytes;
    buffer_ = AllocateBuffer(static_cast<size_t>(total_), &write_);
  } else if (total_bytes != total_) {
    return absl::InvalidArgumentError(
        absl::StrCat("total_bytes changed from ", total_, " to ", total_bytes));
  }
  if (offset != received_) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk at offset ", offset, " after ", received_, " bytes"));
  }
  if (static_cast<int64_t>(data.size()) > total_ - received_) {
    return absl::InvalidArgumentError(absl::StrCat("chunk of ", data.size(), " bytes at offset ",
                                                   offset, " passes total_bytes ", total_));
  }
  if (!data.empty()) {
    std::memcpy(write_ + received_, data.data(), data.size());
    // Checksum the copy while it is still in cache.
    crc_ = Crc32cExtend(crc_, write_ + received_, data.size());
    received_ += static_cast<int64_t>(data.size());
  }
  if (!last) return absl::OkStatus();
  if (received_ != total_) {
    return absl::InvalidArgumentError(
        absl::StrCat("last chunk ends at ", received_, " of ", total_, " bytes"));
  }
  if (crc32c != crc_) {
    return absl::DataLossError(
        absl::StrFormat("crc32c mismatch: sent 0x%08x, received 0x%08x", crc32c, crc_));
  }
  complete_ = true;
  return absl::OkStatus();
}

Blob ChunkReceiver::Take() {
  CHECK(complete_) << "ChunkReceiver::Take before the last chunk";
  write_ = nullptr;
  return std::move(buffer_);
}

}  // namespace taskgrid::worker
