#include "services/worker/data_chunk_wire.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace taskgrid::worker {
namespace {

// DataChunk field numbers (protos/taskgrid/v1/worker.proto).
enum Field : uint32_t {
  kKey = 1, kTotalBytes = 2, kOffset = 3, kData = 4, kLast = 5, kCrc32c = 6, kError = 7,
  kClientId = 8, kErrorPermanent = 9, kChecksum = 10, kBatch = 11,
};
enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// Pieces smaller than this are copied into the framing slice: a slice
// that references foreign storage costs an allocation of its own.
constexpr size_t kMinZeroCopyPiece = 4096;

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutTag(std::string* out, Field field, WireType type) {
  PutVarint(out, (static_cast<uint64_t>(field) << 3) | type);
}

void PutString(std::string* out, Field field, std::string_view s) {
  if (s.empty()) return;  // proto3 omits default values
  PutTag(out, field, kLengthDelimited);
  PutVarint(out, s.size());
  out->append(s.data(), s.size());
}

void PutInt(std::string* out, Field field, uint64_t v) {
  if (v == 0) return;
  PutTag(out, field, kVarint);
  PutVarint(out, v);
}

void DeleteBlob(void* blob) { delete static_cast<Blob*>(blob); }

// Reads protobuf wire primitives across a sequence of slices.
class SliceReader {
 public:
  explicit SliceReader(const std::vector<grpc::Slice>& slices) : slices_(slices) { SkipEmpty(); }

  bool at_end() const { return index_ == slices_.size(); }

  bool ReadVarint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_end()) return false;
      uint8_t b = slices_[index_].begin()[pos_];
      Advance(1);
      *v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }

  // Appends views of the next n bytes (split at slice boundaries).
  bool ReadPieces(size_t n, std::vector<std::string_view>* pieces) {
    while (n > 0) {
      if (at_end()) return false;
      const grpc::Slice& s = slices_[index_];
      size_t take = std::min(n, s.size() - pos_);
      if (pieces != nullptr) {
        pieces->emplace_back(reinterpret_cast<const char*>(s.begin()) + pos_, take);
      }
      Advance(take);
      n -= take;
    }
    return true;
  }

  bool ReadString(size_t n, std::string* out) {
    std::vector<std::string_view> pieces;
    if (!ReadPieces(n, &pieces)) return false;
    out->clear();
    out->reserve(n);
    for (std::string_view p : pieces) out->append(p.data(), p.size());
    return true;
  }

 private:
  void Advance(size_t n) {
    pos_ += n;
    if (pos_ == slices_[index_].size()) {
      ++index_;
      pos_ = 0;
      SkipEmpty();
    }
  }
  void SkipEmpty() {
    while (index_ < slices_.size() && slices_[index_].size() == 0) ++index_;
  }

  const std::vector<grpc::Slice>& slices_;
  size_t index_ = 0;
  size_t pos_ = 0;
};

// `pieces` with their first kValueHeadBytes (all of them, if fewer) joined
// into *head, which the first returned piece views.
std::vector<std::string_view> WithJoinedHead(const std::vector<std::string_view>& pieces,
                                             std::string* head) {
  std::vector<std::string_view> out(1);
  out.reserve(pieces.size() + 1);
  for (std::string_view p : pieces) {
    const size_t take = std::min(p.size(), kValueHeadBytes - head->size());
    head->append(p.data(), take);
    p.remove_prefix(take);
    if (!p.empty()) out.push_back(p);
  }
  out[0] = *head;
  return out;
}

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed DataChunk: ", what));
}

// A chunk's fields up to and including the data field's length prefix.
void AppendChunkHeader(std::string* out, std::string_view key, const ChunkCursor::Chunk& chunk) {
  PutString(out, kKey, key);
  PutInt(out, kTotalBytes, static_cast<uint64_t>(chunk.total_bytes));
  PutInt(out, kOffset, static_cast<uint64_t>(chunk.offset));
  PutInt(out, kLast, chunk.last ? 1 : 0);
  PutInt(out, kCrc32c, chunk.crc32c);
  if (chunk.size > 0) {
    PutTag(out, kData, kLengthDelimited);
    PutVarint(out, chunk.size);
  }
}

void AppendErrorChunk(std::string* out, std::string_view key, std::string_view error,
                      bool permanent) {
  PutString(out, kKey, key);
  PutString(out, kError, error.empty() ? std::string_view("error") : error);
  if (permanent) PutInt(out, kErrorPermanent, 1);
}

grpc::ByteBuffer SingleSlice(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

grpc::ByteBuffer EncodeDataChunk(std::string_view key, const ChunkCursor::Chunk& chunk) {
  std::string head;
  head.reserve(32 + key.size());
  AppendChunkHeader(&head, key, chunk);
  if (chunk.size < kMinZeroCopyPiece) {
    for (const Blob& p : chunk.pieces) head.append(p.data(), p.size());
    return SingleSlice(head);
  }
  std::vector<grpc::Slice> slices;
  slices.reserve(chunk.pieces.size() + 1);
  slices.emplace_back(head);
  std::string small;  // consecutive small pieces, copied together
  for (const Blob& p : chunk.pieces) {
    if (p.size() < kMinZeroCopyPiece) {
      small.append(p.data(), p.size());
      continue;
    }
    if (!small.empty()) {
      slices.emplace_back(small);
      small.clear();
    }
    slices.emplace_back(const_cast<char*>(p.data()), p.size(), &DeleteBlob, new Blob(p));
  }
  if (!small.empty()) slices.emplace_back(small);
  return grpc::ByteBuffer(slices.data(), slices.size());
}

grpc::ByteBuffer EncodeErrorChunk(std::string_view key, std::string_view error,
                                  bool permanent) {
  std::string out;
  AppendErrorChunk(&out, key, error, permanent);
  return SingleSlice(out);
}

void DataChunkBatch::Add(std::string_view key, const ChunkCursor::Chunk& chunk) {
  entry_.clear();
  AppendChunkHeader(&entry_, key, chunk);
  for (const Blob& p : chunk.pieces) entry_.append(p.data(), p.size());
  AppendEntry();
}

void DataChunkBatch::AddError(std::string_view key, std::string_view error, bool permanent) {
  entry_.clear();
  AppendErrorChunk(&entry_, key, error, permanent);
  AppendEntry();
}

void DataChunkBatch::AppendEntry() {
  PutTag(&message_, kBatch, kLengthDelimited);
  PutVarint(&message_, entry_.size());
  message_.append(entry_);
  ++entries_;
}

grpc::ByteBuffer DataChunkBatch::Take() {
  grpc::ByteBuffer out = SingleSlice(message_);
  message_.clear();
  entries_ = 0;
  return out;
}

absl::Status ParseDataChunk(const grpc::ByteBuffer& buffer, DataChunkView* out) {
  *out = DataChunkView();
  if (!buffer.Dump(&out->slices).ok()) return Malformed("unreadable buffer");
  SliceReader r(out->slices);
  while (!r.at_end()) {
    uint64_t tag;
    if (!r.ReadVarint(&tag)) return Malformed("truncated tag");
    const uint32_t field = static_cast<uint32_t>(tag >> 3);
    const uint32_t type = static_cast<uint32_t>(tag & 7);
    uint64_t v = 0;
    switch (type) {
      case kVarint:
        if (!r.ReadVarint(&v)) return Malformed("truncated varint");
        if (field == kTotalBytes) out->total_bytes = static_cast<int64_t>(v);
        if (field == kOffset) out->offset = static_cast<int64_t>(v);
        if (field == kLast) out->last = v != 0;
        if (field == kCrc32c) out->crc32c = static_cast<uint32_t>(v);
        if (field == kErrorPermanent) out->error_permanent = v != 0;
        if (field == kChecksum) out->checksum = static_cast<int64_t>(v);
        break;
      case kLengthDelimited: {
        if (!r.ReadVarint(&v)) return Malformed("truncated length");
        bool ok = true;
        if (field == kKey) {
          ok = r.ReadString(v, &out->key);
        } else if (field == kError) {
          ok = r.ReadString(v, &out->error);
        } else if (field == kClientId) {
          ok = r.ReadString(v, &out->client_id);
        } else if (field == kData) {
          // proto3 "last one wins" for a repeated scalar field.
          out->data.clear();
          ok = r.ReadPieces(v, &out->data);
          out->data_size = v;
        } else {
          ok = r.ReadPieces(v, nullptr);
        }
        if (!ok) return Malformed(absl::StrCat("field ", field, " runs past the end"));
        break;
      }
      case kFixed64:
        if (!r.ReadPieces(8, nullptr)) return Malformed("truncated fixed64");
        break;
      case kFixed32:
        if (!r.ReadPieces(4, nullptr)) return Malformed("truncated fixed32");
        break;
      default:
        return Malformed(absl::StrCat("unsupported wire type ", type));
    }
  }
  return absl::OkStatus();
}

absl::Status AddChunkTo(const DataChunkView& chunk, ChunkReceiver* receiver) {
  absl::StatusOr<ChecksumAlgorithm> algorithm = ChecksumFromWire(chunk.checksum);
  if (!algorithm.ok()) return algorithm.status();
  if (chunk.data.empty()) {
    return receiver->Add(chunk.total_bytes, chunk.offset, std::string_view(), chunk.last,
                          chunk.crc32c, *algorithm);
  }
  // The receiver places an array's elements at an aligned address when the
  // value's first Add holds its whole header; the transport may split the
  // data anywhere, even a few bytes in, so the head is gathered first.
  // Otherwise the array is copied once more when it is decoded.
  std::string head;
  std::vector<std::string_view> regathered;
  const std::vector<std::string_view>* pieces = &chunk.data;
  if (chunk.offset == 0 && chunk.data.size() > 1 && chunk.data[0].size() < kValueHeadBytes) {
    regathered = WithJoinedHead(chunk.data, &head);
    pieces = &regathered;
  }
  int64_t offset = chunk.offset;
  for (size_t i = 0; i < pieces->size(); ++i) {
    const std::string_view piece = (*pieces)[i];
    const bool last_piece = i + 1 == pieces->size();
    absl::Status s = receiver->Add(chunk.total_bytes, offset, piece, chunk.last && last_piece,
                                   last_piece ? chunk.crc32c : 0, *algorithm);
    if (!s.ok()) return s;
    offset += static_cast<int64_t>(piece.size());
  }
  return absl::OkStatus();
}

}  // namespace taskgrid::worker
