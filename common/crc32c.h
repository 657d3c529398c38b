#pragma once
// CRC-32C (Castagnoli), incremental: crc = Crc32cExtend(crc, data, n),
// starting from 0. Uses SSE4.2 when the CPU has it.

#include <cstddef>
#include <cstdint>

namespace taskgrid {

uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t n);

namespace internal {
// The table-driven path, whatever the CPU offers (tests compare the two).
uint32_t Crc32cExtendPortable(uint32_t crc, const char* data, size_t n);
}  // namespace internal

}  // namespace taskgrid
