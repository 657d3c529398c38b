#include "services/worker/worker_service.h"

#include <algorithm>
#include <memory>
#include <optional>

#include <glog/logging.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include "absl/strings/str_cat.h"
#include "common/chunking.h"
#include "common/grpc_auth.h"
#include "services/worker/chunk_receiver.h"
#include "common/value_codec.h"
#include "services/worker/chunk_cursor.h"
#include "services/worker/data_chunk_wire.h"

namespace taskgrid::worker {

// Streams the requested keys one chunk at a time, or, for a receiver that
// accepts batches, runs of small values one batch at a time.
class WorkerService::GetDataReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  GetDataReactor(WorkerService* service, v1::GetDataRequest request)
      : service_(service), request_(std::move(request)) {
    int64_t want = request_.max_chunk_bytes();
    chunk_bytes_ = want <= 0 ? kDefaultChunkBytes
                             : std::clamp<int64_t>(want, kMinChunkBytes, kMaxChunkBytes);
    if (request_.max_batch_bytes() > 0) {
      batch_bytes_ = std::clamp<int64_t>(request_.max_batch_bytes(), kMinChunkBytes,
                                         kDefaultChunkBytes);
    }
    WriteNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream broken while sending"));
      return;
    }
    WriteNext();
  }

  void OnDone() override { delete this; }

 private:
  // A requested key, looked up: its value, or why it cannot be sent.
  struct Loaded {
    std::string_view key;
    absl::StatusOr<std::shared_ptr<const Value>> value;
    bool permanent = false;  // the value exists but cannot be sent
    EncodedValue encoded;
  };

  bool all_keys_taken() const { return next_key_ == request_.keys_size(); }

  Loaded LoadNext() {
    const std::string& key = request_.keys(next_key_++);
    Loaded out;
    out.key = key;
    // A spilled value is read back (verified) from disk.
    out.value = service_->store_->Load(key);
    absl::Status sendable = out.value.ok() ? PreparePickles(**out.value) : out.value.status();
    if (!sendable.ok()) {
      // A value that exists but cannot be sent (an unpicklable Python
      // object) fails for good; a missing one may be found elsewhere.
      out.permanent = out.value.ok();
      out.value = sendable;
      return out;
    }
    out.encoded = EncodeValue(**out.value);
    service_->stats_->Add(service_->stats_->transfers_out, 1);
    return out;
  }

  bool Batchable(const Loaded& l) const {
    return !l.value.ok() || (l.encoded.total_bytes <= DataChunkBatch::kMaxValueBytes &&
                             l.encoded.total_bytes <= static_cast<size_t>(chunk_bytes_));
  }

  // Prepares the next message (a chunk of the current key, the first of
  // the next key, or a batch) and starts writing it; finishes after the
  // last one.
  void WriteNext() {
    if (!cursor_ || cursor_->done()) {
      cursor_.reset();
      value_.reset();
      if (!pending_.has_value()) {
        if (all_keys_taken()) {
          // Only reached for an empty request: otherwise the last write
          // also finished the call.
          Finish(grpc::Status::OK);
          return;
        }
        pending_ = LoadNext();
      }
      if (batch_bytes_ > 0 && Batchable(*pending_)) {
        WriteBatch();
        return;
      }
      Loaded next = *std::move(pending_);
      pending_.reset();
      if (!next.value.ok()) {
        buffer_ = EncodeErrorChunk(next.key, std::string(next.value.status().message()), next.permanent);
        Write(all_keys_taken());
        return;
      }
      value_ = *std::move(next.value);
      cursor_.emplace(std::move(next.encoded), static_cast<size_t>(chunk_bytes_));
      current_key_ = next.key;
    }
    cursor_->Next(&chunk_);
    buffer_ = EncodeDataChunk(current_key_, chunk_);
    service_->stats_->Add(service_->stats_->transfer_bytes_out, static_cast<int64_t>(chunk_.size));
    Write(chunk_.last && all_keys_taken() && !pending_.has_value());
  }

  // Packs pending_ and the batchable keys after it into one message; the
  // first key that does not fit stays pending for the next write.
  void WriteBatch() {
    DataChunkBatch batch;
    while (pending_.has_value()) {
      Loaded& l = *pending_;
      if (!Batchable(l)) break;
      if (!l.value.ok()) {
        batch.AddError(l.key, std::string(l.value.status().message()), l.permanent);
      } else {
        if (!batch.empty() && batch.bytes() + l.encoded.total_bytes >
                                  static_cast<size_t>(batch_bytes_)) {
          break;
        }
        ChunkCursor whole(std::move(l.encoded), static_cast<size_t>(chunk_bytes_));
        whole.Next(&chunk_);
        batch.Add(l.key, chunk_);
        service_->stats_->Add(service_->stats_->transfer_bytes_out,
                              static_cast<int64_t>(chunk_.size));
      }
      pending_.reset();
      if (!all_keys_taken()) pending_ = LoadNext();
    }
    buffer_ = batch.Take();
    Write(!pending_.has_value() && all_keys_taken());
  }

  void Write(bool final) {
    if (final) {
      StartWriteAndFinish(&buffer_, grpc::WriteOptions(), grpc::Status::OK);
    } else {
      // No buffer_hint: a hinted write may not complete until a later
      // unhinted one, and the next write only starts after this one
      // completes, so hinting stalls multi-key streams.
      StartWrite(&buffer_);
    }
  }

  WorkerService* service_;
  const v1::GetDataRequest request_;
  int64_t chunk_bytes_;
  int64_t batch_bytes_ = 0;  // 0: the receiver takes no batches
  int next_key_ = 0;
  std::optional<Loaded> pending_;  // looked up, not yet sent
  std::shared_ptr<const Value> value_;  // the key being sent in chunks
  std::string_view current_key_;
  std::optional<ChunkCursor> cursor_;
  ChunkCursor::Chunk chunk_;
  grpc::ByteBuffer buffer_;  // the write in flight
};

namespace {
// Answers a GetData call that cannot start.
class RejectedWrite final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit RejectedWrite(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};
class RejectedRead final : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  explicit RejectedRead(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};
}  // namespace

grpc::Status WorkerService::Authenticate(grpc::CallbackServerContext* context,
                                         const char* method) const {
  grpc::Status status = CheckCallToken(tokens_, *context);
  if (!status.ok()) {
    LOG(WARNING) << method << " from " << context->peer() << " refused: "
                 << status.error_message();
  }
  return status;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* WorkerService::GetData(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  if (grpc::Status auth = Authenticate(context, "GetData"); !auth.ok()) {
    return new RejectedWrite(std::move(auth));
  }
  v1::GetDataRequest parsed;
  grpc::ByteBuffer copy(*request);  // shares the slices; Deserialize consumes it
  if (!grpc::SerializationTraits<v1::GetDataRequest>::Deserialize(&copy, &parsed).ok()) {
    return new RejectedWrite(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "malformed GetDataRequest"));
  }
  return new GetDataReactor(this, std::move(parsed));
}

// Reassembles pushed values (chunks of one key are contiguous and in order).
class WorkerService::PutDataReactor final : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  PutDataReactor(WorkerService* service, grpc::ByteBuffer* response)
      : service_(service), response_(response) {
    StartRead(&buffer_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed (or the call broke; Finish is harmless then)
      Complete();
      return;
    }
    if (absl::Status s = Consume(); !s.ok()) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(s.message())));
      return;
    }
    StartRead(&buffer_);
  }

  void OnDone() override { delete this; }

 private:
  absl::Status Consume() {
    DataChunkView chunk;
    if (absl::Status s = ParseDataChunk(buffer_, &chunk); !s.ok()) return s;
    if (!chunk.error.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("PutData: chunk of key '", chunk.key, "' carries an error: ", chunk.error));
    }
    if (receiver_ && chunk.key != key_) {
      return absl::InvalidArgumentError(absl::StrCat("PutData: key '", key_,
                                                     "' is incomplete when key '", chunk.key,
                                                     "' starts"));
    }
    if (!chunk.client_id.empty()) client_id_ = chunk.client_id;
    if (!receiver_) {
      if (chunk.key.empty()) return absl::InvalidArgumentError("PutData: chunk without a key");
      key_ = chunk.key;
      receiver_.emplace();
    }
    service_->stats_->Add(service_->stats_->transfer_bytes_in,
                          static_cast<int64_t>(chunk.data_size));
    if (absl::Status s = AddChunkTo(chunk, &*receiver_); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("PutData: key '", key_, "': ", s.message()));
    }
    if (!receiver_->complete()) return absl::OkStatus();
    absl::StatusOr<Value> value = DecodeValue(receiver_->Take());
    receiver_.reset();
    if (!value.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("PutData: key '", key_, "': ", value.status().message()));
    }
    service_->stats_->Add(service_->stats_->transfers_in, 1);
    values_.emplace_back(std::move(key_), *std::move(value));
    return absl::OkStatus();
  }

  void Complete() {
    if (receiver_) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("PutData: stream ended inside key '", key_, "'")));
      return;
    }
    WorkerServiceHandler* handler = service_->handler_.load();
    if (handler == nullptr) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "worker is starting"));
      return;
    }
    v1::PutDataResponse reply;
    for (v1::KeyLocation& loc : handler->HandlePutData(std::move(values_), client_id_)) {
      *reply.add_stored() = std::move(loc);
    }
    bool own = false;
    grpc::Status s = grpc::SerializationTraits<v1::PutDataResponse>::Serialize(reply, response_, &own);
    Finish(s);
  }

  WorkerService* service_;
  grpc::ByteBuffer* response_;
  grpc::ByteBuffer buffer_;
  std::string key_;
  std::string client_id_;  // who scattered the values ("" for a peer's handoff)
  std::optional<ChunkReceiver> receiver_;
  std::vector<std::pair<std::string, Value>> values_;
};

grpc::ServerReadReactor<grpc::ByteBuffer>* WorkerService::PutData(
    grpc::CallbackServerContext* context, grpc::ByteBuffer* response) {
  if (grpc::Status auth = Authenticate(context, "PutData"); !auth.ok()) {
    return new RejectedRead(std::move(auth));
  }
  return new PutDataReactor(this, response);
}

grpc::ServerUnaryReactor* WorkerService::Status(grpc::CallbackServerContext* context,
                                                const v1::WorkerStatusRequest* /*request*/,
                                                v1::WorkerStatus* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status auth = Authenticate(context, "Status"); !auth.ok()) {
    reactor->Finish(auth);
    return reactor;
  }
  WorkerServiceHandler* handler = handler_.load();
  if (handler == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "worker is starting"));
    return reactor;
  }
  handler->HandleStatus(response);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace taskgrid::worker
