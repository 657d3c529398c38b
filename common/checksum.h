#pragma once
// The per-value checksums of the bulk channel (DataChunk.checksum):
// CRC-32C, the default, hardware-accelerated here (common/crc32c.h); and
// CRC-32/IEEE as zlib computes it, for senders whose fast CRC is that one
// (Python's standard library has zlib.crc32 but no CRC-32C).
//
// Stateless functions; thread-safe.

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"

namespace taskgrid {

// Values are DataChunk.Checksum's wire numbers.
enum class ChecksumAlgorithm : int { kCrc32c = 0, kCrc32 = 1 };

// Incremental: crc = ChecksumExtend(algorithm, crc, data, n), from 0.
uint32_t ChecksumExtend(ChecksumAlgorithm algorithm, uint32_t crc, const char* data, size_t n);

// "crc32c" / "crc32".
const char* ChecksumName(ChecksumAlgorithm algorithm);

// The algorithm of a wire number; InvalidArgument names an unknown one.
absl::StatusOr<ChecksumAlgorithm> ChecksumFromWire(int64_t number);

}  // namespace taskgrid
