#include "common/checksum.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid {
namespace {

uint32_t Sum(ChecksumAlgorithm a, const std::string& s) {
  return ChecksumExtend(a, 0, s.data(), s.size());
}

TEST(ChecksumTest, KnownVectorsOfBothAlgorithms) {
  EXPECT_EQ(Sum(ChecksumAlgorithm::kCrc32c, "123456789"), 0xE3069283u);
  EXPECT_EQ(Sum(ChecksumAlgorithm::kCrc32, "123456789"), 0xCBF43926u);  // zlib.crc32
  EXPECT_EQ(Sum(ChecksumAlgorithm::kCrc32, ""), 0u);
}

TEST(ChecksumTest, IncrementalEqualsWhole) {
  const std::string data = "the quick brown fox jumps over the lazy dog";
  for (ChecksumAlgorithm a : {ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc32}) {
    uint32_t c = ChecksumExtend(a, 0, data.data(), 10);
    c = ChecksumExtend(a, c, data.data() + 10, data.size() - 10);
    EXPECT_EQ(c, Sum(a, data)) << ChecksumName(a);
  }
}

TEST(ChecksumTest, WireNumbers) {
  EXPECT_EQ(*ChecksumFromWire(0), ChecksumAlgorithm::kCrc32c);
  EXPECT_EQ(*ChecksumFromWire(1), ChecksumAlgorithm::kCrc32);
  EXPECT_THAT(std::string(ChecksumFromWire(7).status().message()),
              ::testing::HasSubstr("unknown checksum algorithm 7"));
}

}  // namespace
}  // namespace taskgrid
