#include "services/worker/chunk_receiver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/chunking.h"
#include "common/value_codec.h"

namespace taskgrid::worker {
namespace {

using ::testing::HasSubstr;

// Chunks as ForEachChunk makes them (what every sender produces).
struct Chunk {
  int64_t total, offset;
  std::string data;
  bool last;
  uint32_t crc;
};
std::vector<Chunk> Chunks(const Value& v, size_t max) {
  std::vector<Chunk> out;
  ForEachChunk(EncodeValue(v), max, [&](const ChunkView& c) {
    out.push_back({c.total_bytes, c.offset, std::string(c.data), c.last, c.crc32c});
    return true;
  });
  return out;
}

Value Payload(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i % 251);
  return Value::List({Value::Bytes(Blob::FromString(std::move(s))), Value::String("tail")});
}

TEST(ChunkReceiverTest, ReassemblesChunksAndPieces) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{3} << 20}) {
    Value v = Payload(n);
    ChunkReceiver r;
    for (const Chunk& c : Chunks(v, 1 << 20)) {
      // Split each chunk in two pieces, as a transport may deliver it.
      size_t half = c.data.size() / 2;
      ASSERT_TRUE(r.Add(c.total, c.offset, std::string_view(c.data).substr(0, half), false, 0).ok());
      ASSERT_TRUE(r.Add(c.total, c.offset + half, std::string_view(c.data).substr(half), c.last,
                        c.crc).ok());
    }
    ASSERT_TRUE(r.complete());
    absl::StatusOr<Value> back = DecodeValue(r.Take());
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, v);
  }
}

TEST(ChunkReceiverTest, RejectsGapsOverflowAndBadChecksums) {
  std::vector<Chunk> chunks = Chunks(Payload(5000), 1024);
  {
    ChunkReceiver r;
    ASSERT_TRUE(r.Add(chunks[0].total, 0, chunks[0].data, false, 0).ok());
    absl::Status gap = r.Add(chunks[2].total, chunks[2].offset, chunks[2].data, false, 0);
    EXPECT_THAT(gap.message(), HasSubstr("offset"));
  }
  {
    ChunkReceiver r;
    absl::Status over = r.Add(3, 0, "abcd", true, 0);
    EXPECT_THAT(over.message(), HasSubstr("overflows total_bytes"));
  }
  {
    ChunkReceiver r;
    for (size_t i = 0; i + 1 < chunks.size(); ++i) {
      ASSERT_TRUE(r.Add(chunks[i].total, chunks[i].offset, chunks[i].data, false, 0).ok());
    }
    const Chunk& last = chunks.back();
    absl::Status s = r.Add(last.total, last.offset, last.data, true, last.crc ^ 1);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_FALSE(r.complete());
  }
  {
    ChunkReceiver r;
    r.set_max_total_bytes(100);
    EXPECT_EQ(r.Add(101, 0, "", false, 0).code(), absl::StatusCode::kResourceExhausted);
  }
  {
    ChunkReceiver r;
    absl::Status early = r.Add(10, 0, "abc", true, 0);
    EXPECT_THAT(early.message(), HasSubstr("ends at 3 of 10"));
  }
}

}  // namespace
}  // namespace taskgrid::worker
