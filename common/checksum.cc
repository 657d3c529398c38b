#include "common/checksum.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/crc32c.h"

namespace taskgrid {

uint32_t ChecksumExtend(ChecksumAlgorithm algorithm, uint32_t crc, const char* data, size_t n) {
  if (algorithm == ChecksumAlgorithm::kCrc32c) return Crc32cExtend(crc, data, n);
  // zlib takes a uInt length: feed huge buffers in pieces.
  uLong c = crc;
  while (n > 0) {
    const size_t piece = std::min<size_t>(n, std::numeric_limits<uInt>::max());
    c = crc32(c, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(piece));
    data += piece;
    n -= piece;
  }
  return static_cast<uint32_t>(c);
}

const char* ChecksumName(ChecksumAlgorithm algorithm) {
  return algorithm == ChecksumAlgorithm::kCrc32c ? "crc32c" : "crc32";
}

absl::StatusOr<ChecksumAlgorithm> ChecksumFromWire(int64_t number) {
  switch (number) {
    case 0: return ChecksumAlgorithm::kCrc32c;
    case 1: return ChecksumAlgorithm::kCrc32;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown checksum algorithm ", number, " (known: 0 crc32c, 1 crc32)"));
  }
}

}  // namespace taskgrid
