#include "bench/cluster_probe.h"

#include <unistd.h>

#include <cstring>
#include <memory>

#include "gtest/gtest.h"

namespace taskgrid::bench {
namespace {

TEST(ReadResidentBytesTest, GrowsWhenThisProcessTouchesMemory) {
  absl::StatusOr<int64_t> before = ReadResidentBytes(getpid());
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_GT(*before, 0);

  constexpr size_t kBytes = 64 << 20;
  std::unique_ptr<char[]> block(new char[kBytes]);
  std::memset(block.get(), 1, kBytes);  // resident only once touched

  absl::StatusOr<int64_t> after = ReadResidentBytes(getpid());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_GE(*after - *before, static_cast<int64_t>(kBytes / 2));
  EXPECT_EQ(block[kBytes - 1], 1);
}

TEST(ReadResidentBytesTest, MissingProcessIsAnError) {
  // PIDs never reach this value (pid_max is at most 2^22).
  EXPECT_FALSE(ReadResidentBytes(1 << 30).ok());
}

}  // namespace
}  // namespace taskgrid::bench
