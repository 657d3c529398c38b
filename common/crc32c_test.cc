#include "common/crc32c.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace taskgrid {
namespace {

uint32_t Crc(const std::string& s) { return Crc32cExtend(0, s.data(), s.size()); }

TEST(Crc32cTest, KnownVectors) {
  EXPECT_EQ(Crc("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc(""), 0u);
  // RFC 3720 (iSCSI) appendix B.4.
  EXPECT_EQ(Crc(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(Crc(ascending), 0x46DD794Eu);
}

TEST(Crc32cTest, IncrementalEqualsWhole) {
  std::mt19937 rng(7);
  std::string data(10000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  uint32_t whole = Crc(data);
  for (size_t split : {0u, 1u, 7u, 8u, 9u, 4095u, 9999u, 10000u}) {
    uint32_t c = Crc32cExtend(0, data.data(), split);
    c = Crc32cExtend(c, data.data() + split, data.size() - split);
    EXPECT_EQ(c, whole) << split;
  }
}

TEST(Crc32cTest, HardwareAndTablePathsAgree) {
  std::mt19937 rng(11);
  std::string data(4096 + 16, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t offset = 0; offset < 9; ++offset) {
    for (size_t n : {0u, 1u, 3u, 8u, 15u, 64u, 1000u, 4096u}) {
      EXPECT_EQ(Crc32cExtend(0x12345678u, data.data() + offset, n),
                internal::Crc32cExtendPortable(0x12345678u, data.data() + offset, n))
          << offset << " " << n;
    }
  }
  EXPECT_EQ(internal::Crc32cExtendPortable(0, "123456789", 9), 0xE3069283u);
}

TEST(Crc32cTest, ThreeLanePathMatchesTheTablePath) {
  // Sizes around the 3 x 4 KiB block of the interleaved hardware path, at
  // unaligned starts, and chained across calls.
  std::mt19937 rng(11);
  std::string data((1 << 20) + 77, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t start : {0u, 1u, 5u}) {
    for (size_t n : {12287u, 12288u, 12289u, 24576u + 9u, 1u << 20}) {
      EXPECT_EQ(Crc32cExtend(0, data.data() + start, n),
                internal::Crc32cExtendPortable(0, data.data() + start, n))
          << start << " " << n;
    }
  }
  uint32_t chained = Crc32cExtend(0, data.data(), 30000);
  chained = Crc32cExtend(chained, data.data() + 30000, data.size() - 30000);
  EXPECT_EQ(chained, internal::Crc32cExtendPortable(0, data.data(), data.size()));
}

}  // namespace
}  // namespace taskgrid
