#include "services/worker/chunk_cursor.h"

#include <gtest/gtest.h>

#include "common/chunking.h"

namespace taskgrid::worker {
namespace {

// A value with framing and payload segments, so chunks straddle segments.
Value MixedValue(size_t payload) {
  return Value::List({Value::String("head"), Value::Bytes(Blob::Copy(std::string(payload, 'p'))),
                      Value::Int(7), Value::Bytes(Blob::Copy(std::string(payload / 3, 'q')))});
}

struct Seen {
  int64_t offset;
  size_t size;
  bool last;
  uint32_t crc;
  std::string data;
};

std::vector<Seen> PullAll(const EncodedValue& enc, size_t max_chunk) {
  std::vector<Seen> out;
  ChunkCursor cursor(enc, max_chunk);
  ChunkCursor::Chunk c;
  while (!cursor.done()) {
    cursor.Next(&c);
    std::string data;
    for (const Blob& p : c.pieces) data += p.ToString();
    EXPECT_EQ(data.size(), c.size);
    EXPECT_EQ(c.total_bytes, static_cast<int64_t>(enc.total_bytes));
    out.push_back({c.offset, c.size, c.last, c.crc32c, data});
  }
  return out;
}

std::vector<Seen> PushAll(const EncodedValue& enc, size_t max_chunk) {
  std::vector<Seen> out;
  ForEachChunk(enc, max_chunk, [&](const ChunkView& c) {
    out.push_back({c.offset, c.data.size(), c.last, c.crc32c, std::string(c.data)});
    return true;
  });
  return out;
}

class ChunkCursorTest : public ::testing::TestWithParam<size_t> {};

// The cursor yields exactly the chunks ForEachChunk emits.
TEST_P(ChunkCursorTest, MatchesForEachChunk) {
  const size_t max_chunk = GetParam();
  for (size_t payload : {size_t{0}, size_t{1}, size_t{1000}, size_t{70000}}) {
    EncodedValue enc = EncodeValue(MixedValue(payload));
    std::vector<Seen> pulled = PullAll(enc, max_chunk);
    std::vector<Seen> pushed = PushAll(enc, max_chunk);
    ASSERT_EQ(pulled.size(), pushed.size()) << payload;
    for (size_t i = 0; i < pulled.size(); ++i) {
      EXPECT_EQ(pulled[i].offset, pushed[i].offset);
      EXPECT_EQ(pulled[i].last, pushed[i].last);
      EXPECT_EQ(pulled[i].crc, pushed[i].crc);
      EXPECT_EQ(pulled[i].data, pushed[i].data);
    }
    EXPECT_TRUE(pulled.back().last);
  }
}

INSTANTIATE_TEST_SUITE_P(ChunkSizes, ChunkCursorTest, ::testing::Values(1, 7, 4096, 1 << 20));

TEST(ChunkCursorTest, EmptyValueGivesOneEmptyLastChunk) {
  EncodedValue empty;
  std::vector<Seen> pulled = PullAll(empty, 16);
  ASSERT_EQ(pulled.size(), 1u);
  EXPECT_TRUE(pulled[0].last);
  EXPECT_EQ(pulled[0].size, 0u);
  EXPECT_EQ(pulled[0].crc, PushAll(empty, 16)[0].crc);
}

TEST(ChunkCursorTest, ChunksReassembleToTheValue) {
  Value v = MixedValue(50000);
  EncodedValue enc = EncodeValue(v);
  ChunkAssembler assembler;
  ChunkCursor cursor(enc, 4096);
  ChunkCursor::Chunk c;
  while (!cursor.done()) {
    cursor.Next(&c);
    std::string data;
    for (const Blob& p : c.pieces) data += p.ToString();
    ASSERT_TRUE(assembler.Add(c.total_bytes, c.offset, data, c.last, c.crc32c).ok());
  }
  ASSERT_TRUE(assembler.complete());
  absl::StatusOr<Value> back = DecodeValue(assembler.Take());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, v);
}

TEST(ChunkCursorTest, LargePayloadPiecesShareStorage) {
  Blob payload = Blob::Copy(std::string(10000, 'z'));
  EncodedValue enc = EncodeValue(Value::Bytes(payload));
  ChunkCursor cursor(enc, 1 << 20);
  ChunkCursor::Chunk c;
  cursor.Next(&c);
  bool shares = false;
  for (const Blob& p : c.pieces) shares = shares || p.data() == payload.data();
  EXPECT_TRUE(shares);
}

}  // namespace
}  // namespace taskgrid::worker
