#include "services/worker/buffer_pool.h"

#include <cstring>

#include <gtest/gtest.h>

namespace taskgrid::worker {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

TEST(BufferPoolTest, SizeClassesRoundUpByAtMostAnEighth) {
  EXPECT_EQ(BufferPool::SizeClass(100), 100u);  // small: not pooled
  EXPECT_EQ(BufferPool::SizeClass(kMiB), kMiB);
  EXPECT_EQ(BufferPool::SizeClass(kMiB + 1), 2 * kMiB);
  EXPECT_EQ(BufferPool::SizeClass(256 * kMiB), 256 * kMiB);
  EXPECT_EQ(BufferPool::SizeClass(256 * kMiB + 10), 288 * kMiB);
  for (size_t n : {3 * kMiB + 5, 17 * kMiB, 1000 * kMiB + 1}) {
    size_t c = BufferPool::SizeClass(n);
    EXPECT_GE(c, n);
    EXPECT_LE(c, n + std::max(kMiB, n / 8));
  }
}

TEST(BufferPoolTest, ReleasedBuffersAreReused) {
  BufferPool pool(64 * kMiB);
  char* first = nullptr;
  {
    Blob a = pool.Allocate(5 * kMiB, &first);
    EXPECT_EQ(a.size(), 5 * kMiB);
    std::memset(first, 7, a.size());
  }
  EXPECT_EQ(pool.idle_bytes(), BufferPool::SizeClass(5 * kMiB));
  char* second = nullptr;
  Blob b = pool.Allocate(5 * kMiB - 100, &second);  // same class
  EXPECT_EQ(second, first);
  EXPECT_EQ(b.data(), first);
  EXPECT_EQ(pool.reused(), 1u);
  EXPECT_EQ(pool.allocated(), 1u);
  EXPECT_EQ(pool.idle_bytes(), 0u);
  char* third = nullptr;
  Blob c = pool.Allocate(20 * kMiB, &third);  // another class: new memory
  EXPECT_NE(third, first);
  EXPECT_EQ(pool.allocated(), 2u);
}

TEST(BufferPoolTest, KeepsAtMostMaxIdleBytes) {
  BufferPool pool(10 * kMiB);
  {
    char* w;
    Blob a = pool.Allocate(8 * kMiB, &w);
    Blob b = pool.Allocate(8 * kMiB, &w);
  }
  EXPECT_EQ(pool.idle_bytes(), 8 * kMiB);  // the second did not fit
  pool.set_max_idle_bytes(0);
  EXPECT_EQ(pool.idle_bytes(), 0u);
}

TEST(BufferPoolTest, SmallBuffersBypassThePool) {
  BufferPool pool(64 * kMiB);
  char* w = nullptr;
  { Blob small = pool.Allocate(1000, &w); }
  EXPECT_EQ(pool.idle_bytes(), 0u);
  EXPECT_EQ(pool.allocated(), 0u);
}

TEST(BufferPoolTest, SlicesKeepTheBufferInUse) {
  BufferPool pool(64 * kMiB);
  char* w = nullptr;
  Blob slice;
  {
    Blob whole = pool.Allocate(2 * kMiB, &w);
    std::memset(w, 'z', whole.size());
    slice = whole.Slice(10, 20);
  }
  EXPECT_EQ(pool.idle_bytes(), 0u);  // still referenced by the slice
  EXPECT_EQ(slice.view(), std::string(20, 'z'));
  slice = Blob();
  EXPECT_EQ(pool.idle_bytes(), BufferPool::SizeClass(2 * kMiB));
}

// Large buffers are mapped with only the requested bytes prefaulted; the
// rest of the size class must still be usable when a later, larger value
// of the same class reuses the buffer.
TEST(BufferPoolTest, AReusedBufferIsWritableToItsWholeClass) {
  BufferPool pool(256 * kMiB);
  const size_t small = 17 * kMiB + 1;
  const size_t capacity = BufferPool::SizeClass(small);
  ASSERT_GT(capacity, small);
  char* first = nullptr;
  {
    Blob a = pool.Allocate(small, &first);
    std::memset(first, 'a', a.size());
  }
  char* second = nullptr;
  Blob b = pool.Allocate(capacity, &second);
  ASSERT_EQ(second, first);
  std::memset(second, 'b', capacity);
  EXPECT_EQ(b.view().substr(capacity - 5), "bbbbb");
  EXPECT_EQ(pool.reused(), 1u);
}

}  // namespace
}  // namespace taskgrid::worker
