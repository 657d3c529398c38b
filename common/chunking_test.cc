#include "common/chunking.h"

#include <random>

#include "common/crc32c.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid {
namespace {

using ::testing::HasSubstr;

struct Collected {
  std::vector<ChunkView> chunks;
  std::vector<std::string> data;  // copies: views die after the callback
};

Collected Collect(const EncodedValue& v, size_t max_chunk) {
  Collected c;
  EXPECT_TRUE(ForEachChunk(v, max_chunk, [&](const ChunkView& chunk) {
    c.chunks.push_back(chunk);
    c.data.emplace_back(chunk.data);
    return true;
  }));
  return c;
}

EncodedValue FromSegments(const std::vector<std::string>& parts) {
  EncodedValue v;
  for (const std::string& p : parts) {
    v.segments.push_back(Blob::Copy(p));
    v.total_bytes += p.size();
  }
  return v;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Splits, checks the chunk invariants, reassembles and compares.
void CheckRoundTrip(const EncodedValue& v, size_t max_chunk, size_t expected_chunks) {
  std::string whole = v.Flatten();
  Collected c = Collect(v, max_chunk);
  ASSERT_EQ(c.chunks.size(), expected_chunks);
  ChunkAssembler assembler;
  int64_t offset = 0;
  for (size_t i = 0; i < c.chunks.size(); ++i) {
    const ChunkView& ch = c.chunks[i];
    EXPECT_EQ(ch.total_bytes, static_cast<int64_t>(whole.size()));
    EXPECT_EQ(ch.offset, offset);
    EXPECT_LE(c.data[i].size(), max_chunk);
    EXPECT_EQ(ch.last, i + 1 == c.chunks.size());
    if (!ch.last) {
      EXPECT_EQ(ch.crc32c, 0u);
    }
    offset += static_cast<int64_t>(c.data[i].size());
    ASSERT_TRUE(assembler.Add(ch.total_bytes, ch.offset, c.data[i], ch.last, ch.crc32c).ok());
  }
  EXPECT_EQ(c.chunks.back().crc32c, Crc32cExtend(0, whole.data(), whole.size()));
  ASSERT_TRUE(assembler.complete());
  EXPECT_EQ(assembler.Take().ToString(), whole);
}

TEST(ChunkingTest, EmptyValueIsOneEmptyLastChunk) {
  CheckRoundTrip(EncodedValue(), 16, 1);
  CheckRoundTrip(FromSegments({"", ""}), 16, 1);
}

TEST(ChunkingTest, SizesAroundTheChunkSize) {
  CheckRoundTrip(FromSegments({"x"}), 16, 1);
  CheckRoundTrip(FromSegments({RandomBytes(16, 1)}), 16, 1);
  CheckRoundTrip(FromSegments({RandomBytes(17, 2)}), 16, 2);
  CheckRoundTrip(FromSegments({RandomBytes(16 * 100 + 5, 3)}), 16, 101);
  CheckRoundTrip(FromSegments({RandomBytes(3 << 20, 4)}), kDefaultChunkBytes, 3);
}

TEST(ChunkingTest, ChunksCrossSegmentBoundaries) {
  CheckRoundTrip(FromSegments({"ab", "", "cdefg", "h", RandomBytes(40, 5), "ij"}), 3, 17);
  CheckRoundTrip(FromSegments({"ab", "cd"}), 100, 1);
  // A real encoding: framing, a 1 MiB payload segment, more framing.
  Value v = Value::List({Value::String("head"), Value::Bytes(Blob::FromString(RandomBytes(1 << 20, 6))),
                         Value::Array(NDArray{DType::kUInt8, {70000}, Blob::FromString(RandomBytes(70000, 7))}),
                         Value::Int(42)});
  EncodedValue enc = EncodeValue(v);
  ASSERT_GE(enc.segments.size(), 4u);
  CheckRoundTrip(enc, 4096, (enc.total_bytes + 4095) / 4096);
  CheckRoundTrip(enc, 1000003, (enc.total_bytes + 1000002) / 1000003);
}

TEST(ChunkingTest, ChunksInsideOneSegmentAreNotCopied) {
  std::string big = RandomBytes(1000, 8);
  EncodedValue v = FromSegments({big});
  const char* base = v.segments[0].data();
  std::vector<const char*> starts;
  ForEachChunk(v, 100, [&](const ChunkView& c) {
    starts.push_back(c.data.data());
    return true;
  });
  ASSERT_EQ(starts.size(), 10u);
  for (size_t i = 0; i < starts.size(); ++i) EXPECT_EQ(starts[i], base + 100 * i);
}

TEST(ChunkingTest, StopsWhenEmitReturnsFalse) {
  int calls = 0;
  EXPECT_FALSE(ForEachChunk(FromSegments({RandomBytes(100, 9)}), 10, [&](const ChunkView&) {
    return ++calls < 3;
  }));
  EXPECT_EQ(calls, 3);
}

TEST(ChunkAssemblerTest, PlacesArrayElementsAlignedSoTheyDecodeWithoutACopy) {
  for (size_t shape : {1u, 5u, 1000u, 300000u}) {
    NDArray a;
    a.dtype = DType::kFloat64;
    a.shape = {static_cast<int64_t>(shape)};
    a.data = Blob::Copy(RandomBytes(shape * 8, static_cast<uint32_t>(shape)));
    const Value v = Value::Array(a);
    const EncodedValue encoded = EncodeValue(v);
    ChunkAssembler assembler;
    ASSERT_TRUE(ForEachChunk(encoded, 4096, [&](const ChunkView& ch) {
      return assembler.Add(ch.total_bytes, ch.offset, ch.data, ch.last, ch.crc32c).ok();
    }));
    ASSERT_TRUE(assembler.complete());
    const Blob buffer = assembler.Take();
    absl::StatusOr<Value> d = DecodeValue(buffer);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(*d, v);
    const char* elements = d->as_array().data.data();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(elements) % ChunkAssembler::kPayloadAlignment, 0u)
        << shape;
    EXPECT_EQ(elements, buffer.data() + *ArrayPayloadOffset(buffer.view())) << "copied";
  }
}

TEST(ChunkAssemblerTest, RejectsGap) {
  ChunkAssembler a;
  ASSERT_TRUE(a.Add(10, 0, "abcd", false, 0).ok());
  absl::Status s = a.Add(10, 5, "efghi", true, 0);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("offset 5 but 4 bytes received"));
}

TEST(ChunkAssemblerTest, RejectsAChecksumAlgorithmChangedMidValue) {
  ChunkAssembler a;
  ASSERT_TRUE(a.Add(8, 0, "abcd", false, 0, ChecksumAlgorithm::kCrc32).ok());
  absl::Status s = a.Add(8, 4, "efgh", true, 0, ChecksumAlgorithm::kCrc32c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("from crc32 to crc32c mid-value"));
}

TEST(ChunkAssemblerTest, RejectsOverflow) {
  ChunkAssembler a;
  ASSERT_TRUE(a.Add(5, 0, "abc", false, 0).ok());
  EXPECT_THAT(std::string(a.Add(5, 3, "def", true, 0).message()), HasSubstr("overflows"));
}

TEST(ChunkAssemblerTest, RejectsShortLastChunk) {
  ChunkAssembler a;
  EXPECT_THAT(std::string(a.Add(5, 0, "abc", true, 0).message()), HasSubstr("ends at 3 of 5"));
}

TEST(ChunkAssemblerTest, RejectsBadChecksum) {
  ChunkAssembler a;
  uint32_t good = Crc32cExtend(0, "hello", 5);
  absl::Status s = a.Add(5, 0, "hello", true, good ^ 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("crc32c mismatch"));
  EXPECT_FALSE(a.complete());
}

TEST(ChunkAssemblerTest, RejectsOversize) {
  ChunkAssembler a;
  a.set_max_total_bytes(100);
  absl::Status s = a.Add(101, 0, "x", false, 0);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(s.message()), HasSubstr("101 bytes exceeds the limit of 100"));
  ChunkAssembler b;
  b.set_max_total_bytes(100);
  EXPECT_TRUE(b.Add(100, 0, std::string(100, 'x'), true, Crc32cExtend(0, std::string(100, 'x').data(), 100)).ok());
}

TEST(ChunkAssemblerTest, RejectsChangingTotalAndLateChunks) {
  ChunkAssembler a;
  ASSERT_TRUE(a.Add(4, 0, "ab", false, 0).ok());
  EXPECT_THAT(std::string(a.Add(5, 2, "cd", false, 0).message()), HasSubstr("total_bytes changed"));
  ASSERT_TRUE(a.Add(4, 2, "cd", true, Crc32cExtend(0, "abcd", 4)).ok());
  EXPECT_EQ(a.Add(4, 4, "", true, 0).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(a.Take().ToString(), "abcd");
  ChunkAssembler negative;
  EXPECT_FALSE(negative.Add(-1, 0, "", true, 0).ok());
}

}  // namespace
}  // namespace taskgrid
