#include "common/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace taskgrid {
namespace {

constexpr uint32_t kCastagnoliReversed = 0x82F63B78u;

// Slicing-by-8 tables: 8 KiB, built once; the fallback for CPUs (or
// architectures) without the SSE4.2 crc32 instruction.
struct Tables {
  uint32_t t[8][256];
  Tables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1) ? kCastagnoliReversed : 0);
      t[0][i] = c;
    }
    for (int s = 1; s < 8; ++s) {
      for (uint32_t i = 0; i < 256; ++i) {
        t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
      }
    }
  }
};

const Tables& GetTables() {
  static const Tables tables;
  return tables;
}

uint32_t ExtendPortable(uint32_t crc, const unsigned char* p, size_t n) {
  const Tables& tb = GetTables();
  while (n >= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= crc;  // little-endian hosts only (x86, arm64 as configured here)
    crc = tb.t[7][lo & 0xFF] ^ tb.t[6][(lo >> 8) & 0xFF] ^
          tb.t[5][(lo >> 16) & 0xFF] ^ tb.t[4][lo >> 24] ^
          tb.t[3][hi & 0xFF] ^ tb.t[2][(hi >> 8) & 0xFF] ^
          tb.t[1][(hi >> 16) & 0xFF] ^ tb.t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ tb.t[0][(crc ^ *p++) & 0xFF];
  return crc;
}

#if defined(__x86_64__)
// The crc32 instruction has a latency of 3 cycles but a throughput of one
// per cycle: one dependent chain runs at a third of the possible speed.
// Large inputs are therefore taken in blocks of three lanes of kLane bytes
// checksummed in parallel, then joined: the raw (uninverted) CRC register
// is linear, so reg(r, A B) = Shift(reg(r, A)) ^ reg(0, B), where Shift
// advances a register past kLane zero bytes.
constexpr size_t kLane = 4096;

__attribute__((target("sse4.2"))) uint32_t PastZeros(uint32_t reg, size_t n) {
  uint64_t c = reg;
  for (size_t i = 0; i < n; i += 8) c = _mm_crc32_u64(c, 0);
  return static_cast<uint32_t>(c);
}

// Shift as four byte-indexed tables (built from the images of the 32 bits).
struct LaneShift {
  uint32_t t[4][256];
  LaneShift() {
    uint32_t bit_image[32];
    for (int b = 0; b < 32; ++b) bit_image[b] = PastZeros(1u << b, kLane);
    for (int k = 0; k < 4; ++k) {
      for (uint32_t v = 0; v < 256; ++v) {
        uint32_t image = 0;
        for (int b = 0; b < 8; ++b) {
          if (v & (1u << b)) image ^= bit_image[8 * k + b];
        }
        t[k][v] = image;
      }
    }
  }
  uint32_t operator()(uint32_t reg) const {
    return t[0][reg & 0xFF] ^ t[1][(reg >> 8) & 0xFF] ^ t[2][(reg >> 16) & 0xFF] ^
           t[3][reg >> 24];
  }
};

__attribute__((target("sse4.2"))) uint32_t ExtendSse42(uint32_t crc,
                                                      const unsigned char* p,
                                                      size_t n) {
  uint64_t c = crc;
  if (n >= 3 * kLane) {
    static const LaneShift shift;
    while (n >= 3 * kLane) {
      uint64_t c1 = 0, c2 = 0;
      for (size_t i = 0; i < kLane; i += 8) {
        uint64_t w0, w1, w2;
        std::memcpy(&w0, p + i, 8);
        std::memcpy(&w1, p + kLane + i, 8);
        std::memcpy(&w2, p + 2 * kLane + i, 8);
        c = _mm_crc32_u64(c, w0);
        c1 = _mm_crc32_u64(c1, w1);
        c2 = _mm_crc32_u64(c2, w2);
      }
      uint32_t joined = shift(static_cast<uint32_t>(c)) ^ static_cast<uint32_t>(c1);
      c = shift(joined) ^ static_cast<uint32_t>(c2);
      p += 3 * kLane;
      n -= 3 * kLane;
    }
  }
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

bool HaveSse42() {
  static const bool have = __builtin_cpu_supports("sse4.2");
  return have;
}
#endif

}  // namespace

uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  // The stored CRC is the finalised (inverted) one, so the register is
  // un-inverted on entry and inverted again on exit; that is what makes
  // Extend(Extend(0, a), b) == Extend(0, a + b).
  uint32_t reg = ~crc;
#if defined(__x86_64__)
  if (HaveSse42()) return ~ExtendSse42(reg, p, n);
#endif
  return ~ExtendPortable(reg, p, n);
}

namespace internal {
// Exposed for tests: the table path regardless of the CPU.
uint32_t Crc32cExtendPortable(uint32_t crc, const char* data, size_t n) {
  return ~ExtendPortable(~crc, reinterpret_cast<const unsigned char*>(data), n);
}
}  // namespace internal

}  // namespace taskgrid
