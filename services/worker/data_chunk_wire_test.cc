#include "services/worker/data_chunk_wire.h"

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include "common/crc32c.h"

#include "taskgrid/v1/worker.pb.h"

namespace taskgrid::worker {
namespace {

v1::DataChunk ParseWithProtobuf(const grpc::ByteBuffer& buffer) {
  grpc::ByteBuffer copy(buffer);
  v1::DataChunk msg;
  EXPECT_TRUE(grpc::SerializationTraits<v1::DataChunk>::Deserialize(&copy, &msg).ok());
  return msg;
}

grpc::ByteBuffer SerializeWithProtobuf(const v1::DataChunk& msg) {
  grpc::ByteBuffer out;
  bool own = false;
  EXPECT_TRUE(grpc::SerializationTraits<v1::DataChunk>::Serialize(msg, &out, &own).ok());
  return out;
}

std::string Joined(const DataChunkView& v) {
  std::string s;
  for (std::string_view p : v.data) s.append(p);
  return s;
}

ChunkCursor::Chunk MakeChunk(std::vector<std::string> pieces, bool last) {
  ChunkCursor::Chunk c;
  c.total_bytes = 1 << 30;
  c.offset = 12345;
  for (auto& p : pieces) {
    c.size += p.size();
    c.pieces.push_back(Blob::FromString(std::move(p)));
  }
  c.last = last;
  c.crc32c = last ? 0xDEADBEEF : 0;
  return c;
}

class DataChunkWireTest : public ::testing::TestWithParam<std::vector<size_t>> {};

// Whatever the piece sizes (copied or referenced), protobuf reads the same
// DataChunk, and our parser reads it back.
TEST_P(DataChunkWireTest, EncodedChunkIsAValidDataChunk) {
  std::vector<std::string> pieces;
  std::string expected;
  char fill = 'a';
  for (size_t n : GetParam()) {
    pieces.push_back(std::string(n, fill++));
    expected += pieces.back();
  }
  ChunkCursor::Chunk chunk = MakeChunk(pieces, true);
  grpc::ByteBuffer buffer = EncodeDataChunk("key-1", chunk);

  v1::DataChunk msg = ParseWithProtobuf(buffer);
  EXPECT_EQ(msg.key(), "key-1");
  EXPECT_EQ(msg.total_bytes(), 1 << 30);
  EXPECT_EQ(msg.offset(), 12345);
  EXPECT_EQ(msg.data(), expected);
  EXPECT_TRUE(msg.last());
  EXPECT_EQ(msg.crc32c(), 0xDEADBEEFu);
  EXPECT_TRUE(msg.error().empty());

  DataChunkView view;
  ASSERT_TRUE(ParseDataChunk(buffer, &view).ok());
  EXPECT_EQ(view.key, "key-1");
  EXPECT_EQ(view.total_bytes, 1 << 30);
  EXPECT_EQ(view.offset, 12345);
  EXPECT_TRUE(view.last);
  EXPECT_EQ(view.crc32c, 0xDEADBEEFu);
  EXPECT_EQ(view.data_size, expected.size());
  EXPECT_EQ(Joined(view), expected);
}

INSTANTIATE_TEST_SUITE_P(PieceSizes, DataChunkWireTest,
                         ::testing::Values(std::vector<size_t>{}, std::vector<size_t>{1},
                                           std::vector<size_t>{10, 20},
                                           std::vector<size_t>{100000},
                                           std::vector<size_t>{5, 100000, 7, 9, 50000, 3}));

TEST(DataChunkWireTest, ParsesProtobufSerializedChunk) {
  v1::DataChunk msg;
  msg.set_key("k");
  msg.set_total_bytes(3);
  msg.set_offset(0);
  msg.set_data("xyz");
  msg.set_last(true);
  msg.set_crc32c(42);
  msg.set_client_id("client:7");
  DataChunkView view;
  ASSERT_TRUE(ParseDataChunk(SerializeWithProtobuf(msg), &view).ok());
  EXPECT_EQ(view.key, "k");
  EXPECT_EQ(view.total_bytes, 3);
  EXPECT_EQ(Joined(view), "xyz");
  EXPECT_TRUE(view.last);
  EXPECT_EQ(view.crc32c, 42u);
  EXPECT_EQ(view.client_id, "client:7");
}

TEST(DataChunkWireTest, ParsesAcrossSliceBoundaries) {
  v1::DataChunk msg;
  msg.set_key(std::string(300, 'k'));  // a two-byte length varint
  msg.set_total_bytes(int64_t{1} << 40);
  msg.set_data(std::string(1000, 'd'));
  std::string wire = msg.SerializeAsString();
  // One slice per byte: every varint and field straddles a boundary.
  std::vector<grpc::Slice> slices;
  for (char c : wire) slices.emplace_back(&c, 1);
  grpc::ByteBuffer buffer(slices.data(), slices.size());
  DataChunkView view;
  ASSERT_TRUE(ParseDataChunk(buffer, &view).ok());
  EXPECT_EQ(view.key, msg.key());
  EXPECT_EQ(view.total_bytes, int64_t{1} << 40);
  EXPECT_GT(view.data.size(), 1u);  // gRPC may merge tiny slices, not all of them
  EXPECT_EQ(Joined(view), msg.data());
}

TEST(DataChunkWireTest, ErrorChunk) {
  grpc::ByteBuffer buffer = EncodeErrorChunk("lost", "key 'lost' is not held");
  v1::DataChunk msg = ParseWithProtobuf(buffer);
  EXPECT_EQ(msg.key(), "lost");
  EXPECT_EQ(msg.error(), "key 'lost' is not held");
  DataChunkView view;
  ASSERT_TRUE(ParseDataChunk(buffer, &view).ok());
  EXPECT_EQ(view.error, "key 'lost' is not held");
  EXPECT_FALSE(view.error_permanent);
  EXPECT_FALSE(view.last);

  buffer = EncodeErrorChunk("obj", "cannot pickle", /*permanent=*/true);
  EXPECT_TRUE(ParseWithProtobuf(buffer).error_permanent());
  ASSERT_TRUE(ParseDataChunk(buffer, &view).ok());
  EXPECT_TRUE(view.error_permanent);
  EXPECT_EQ(view.error, "cannot pickle");
}

// A batch is a carrier DataChunk whose `batch` entries read, with
// protobuf, exactly as the same chunks sent one per message.
TEST(DataChunkWireTest, BatchHoldsWholeChunksInOrder) {
  DataChunkBatch batch;
  EXPECT_TRUE(batch.empty());
  ChunkCursor::Chunk whole = MakeChunk({"ab", "", std::string(5000, 'c')}, /*last=*/true);
  whole.offset = 0;
  whole.total_bytes = static_cast<int64_t>(whole.size);
  ChunkCursor::Chunk empty_value;
  empty_value.last = true;
  batch.Add("first", whole);
  batch.AddError("gone", "key 'gone' is not held", /*permanent=*/false);
  batch.Add("empty", empty_value);
  EXPECT_FALSE(batch.empty());
  const size_t bytes = batch.bytes();
  EXPECT_GT(bytes, whole.size);

  grpc::ByteBuffer buffer = batch.Take();
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(batch.bytes(), 0u);
  EXPECT_EQ(buffer.Length(), bytes);
  v1::DataChunk msg = ParseWithProtobuf(buffer);
  EXPECT_TRUE(msg.key().empty());
  EXPECT_FALSE(msg.last());
  ASSERT_EQ(msg.batch_size(), 3);
  EXPECT_EQ(msg.batch(0).SerializeAsString(),
            ParseWithProtobuf(EncodeDataChunk("first", whole)).SerializeAsString());
  EXPECT_EQ(msg.batch(0).data(), "ab" + std::string(5000, 'c'));
  EXPECT_EQ(msg.batch(1).key(), "gone");
  EXPECT_EQ(msg.batch(1).error(), "key 'gone' is not held");
  EXPECT_EQ(msg.batch(2).key(), "empty");
  EXPECT_TRUE(msg.batch(2).last());
  EXPECT_TRUE(msg.batch(2).data().empty());
}

TEST(DataChunkWireTest, RejectsTruncatedInput) {
  v1::DataChunk msg;
  msg.set_key("k");
  msg.set_data(std::string(100, 'd'));
  std::string wire = msg.SerializeAsString();
  wire.resize(wire.size() - 10);
  grpc::Slice slice(wire);
  DataChunkView view;
  absl::Status s = ParseDataChunk(grpc::ByteBuffer(&slice, 1), &view);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

TEST(DataChunkWireTest, AssemblerAcceptsMultiPieceChunks) {
  // Chunks whose data arrives as several pieces reassemble byte for byte.
  Value v = Value::Bytes(Blob::Copy(std::string(300000, 'v')));
  EncodedValue enc = EncodeValue(v);
  ChunkCursor cursor(enc, 100000);
  ChunkCursor::Chunk chunk;
  ChunkReceiver assembler;
  while (!cursor.done()) {
    cursor.Next(&chunk);
    grpc::ByteBuffer wire = EncodeDataChunk("v", chunk);
    // Re-slice into 4 KiB pieces, as a transport would deliver it.
    std::vector<grpc::Slice> in;
    ASSERT_TRUE(wire.Dump(&in).ok());
    std::string flat;
    for (auto& s : in) flat.append(reinterpret_cast<const char*>(s.begin()), s.size());
    std::vector<grpc::Slice> pieces;
    for (size_t i = 0; i < flat.size(); i += 4096) {
      pieces.emplace_back(flat.data() + i, std::min<size_t>(4096, flat.size() - i));
    }
    DataChunkView view;
    ASSERT_TRUE(ParseDataChunk(grpc::ByteBuffer(pieces.data(), pieces.size()), &view).ok());
    if (chunk.size > 8192) {
      EXPECT_GT(view.data.size(), 1u);
    }
    ASSERT_TRUE(AddChunkTo(view, &assembler).ok());
  }
  ASSERT_TRUE(assembler.complete());
  EXPECT_EQ(*DecodeValue(assembler.Take()), v);
}

// The transport may split a chunk a few bytes into an array's header; the
// elements must still land aligned, so the array decodes without a copy.
TEST(DataChunkWireTest, AnArrayHeaderSplitAcrossPiecesStillLandsAligned) {
  NDArray a;
  a.dtype = DType::kInt64;
  a.shape = {4096};
  char* w = nullptr;
  a.data = Blob::Allocate(4096 * 8, &w);
  for (int64_t i = 0; i < 4096; ++i) std::memcpy(w + 8 * i, &i, 8);
  const Value v = Value::Array(a);
  const std::string wire = EncodeValue(v).Flatten();
  for (size_t split : {size_t{1}, size_t{3}, size_t{7}, size_t{2000}}) {
    DataChunkView view;
    view.total_bytes = static_cast<int64_t>(wire.size());
    view.last = true;
    view.crc32c = Crc32cExtend(0, wire.data(), wire.size());
    view.data = {std::string_view(wire).substr(0, split),
                 std::string_view(wire).substr(split, 5),
                 std::string_view(wire).substr(split + 5)};
    view.data_size = wire.size();
    ChunkReceiver receiver;
    ASSERT_TRUE(AddChunkTo(view, &receiver).ok()) << split;
    ASSERT_TRUE(receiver.complete());
    const Blob received = receiver.Take();
    absl::StatusOr<Value> d = DecodeValue(received);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(*d, v);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(d->as_array().data.data()) %
                  ChunkAssembler::kPayloadAlignment,
              0u)
        << "split at " << split;
    // Shares the received buffer: no copy was made to align it.
    EXPECT_GE(d->as_array().data.data(), received.data());
    EXPECT_LT(d->as_array().data.data(), received.data() + received.size());
  }
}

// A value of two chunks sent as generated stubs would (a Python scatter),
// whose last chunk carries `crc` by `algorithm`.
absl::Status Receive(const std::string& value, v1::DataChunk::Checksum algorithm,
                     uint32_t crc) {
  ChunkReceiver receiver;
  const size_t half = value.size() / 2;
  for (int i = 0; i < 2; ++i) {
    v1::DataChunk msg;
    msg.set_key("k");
    msg.set_total_bytes(static_cast<int64_t>(value.size()));
    msg.set_offset(i == 0 ? 0 : static_cast<int64_t>(half));
    msg.set_data(i == 0 ? value.substr(0, half) : value.substr(half));
    msg.set_last(i == 1);
    msg.set_checksum(algorithm);
    if (i == 1) msg.set_crc32c(crc);
    DataChunkView view;
    if (absl::Status s = ParseDataChunk(SerializeWithProtobuf(msg), &view); !s.ok()) return s;
    if (absl::Status s = AddChunkTo(view, &receiver); !s.ok()) return s;
  }
  return receiver.complete() ? absl::OkStatus() : absl::InternalError("incomplete");
}

TEST(DataChunkWireTest, VerifiesEitherChecksumAndRejectsCorruptedValues) {
  const std::string value(100000, 'z');
  std::string corrupted = value;
  corrupted[777] = 'y';
  const uint32_t ieee = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(value.data()), static_cast<uInt>(value.size())));
  const uint32_t castagnoli = Crc32cExtend(0, value.data(), value.size());
  EXPECT_TRUE(Receive(value, v1::DataChunk::CRC32, ieee).ok());
  EXPECT_TRUE(Receive(value, v1::DataChunk::CRC32C, castagnoli).ok());
  absl::Status bad = Receive(corrupted, v1::DataChunk::CRC32, ieee);
  EXPECT_EQ(bad.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(bad.message()), ::testing::HasSubstr("crc32 mismatch"));
  bad = Receive(corrupted, v1::DataChunk::CRC32C, castagnoli);
  EXPECT_EQ(bad.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(bad.message()), ::testing::HasSubstr("crc32c mismatch"));
  // The right number by the other algorithm is no checksum at all.
  EXPECT_EQ(Receive(value, v1::DataChunk::CRC32, castagnoli).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(Receive(value, static_cast<v1::DataChunk::Checksum>(9), 0)
                              .message()),
              ::testing::HasSubstr("unknown checksum algorithm 9"));
}

}  // namespace
}  // namespace taskgrid::worker
