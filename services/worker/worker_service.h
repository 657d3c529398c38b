#pragma once
// WorkerService: the gRPC adapter for taskgrid.v1.Worker (callback API).
//
//  - GetData streams each requested key's encoded value in chunks, one
//    write in flight, the next chunk produced when the previous write
//    completed (so memory in flight is bounded and nothing blocks a gRPC
//    thread). A key that is not held gets one DataChunk{key, error}.
//  - PutData reassembles the pushed values and hands them to the handler.
//  - Status reports the handler's WorkerStatus.
//
// GetData and PutData are registered as raw (ByteBuffer) methods so that
// chunk payloads move between the store and the socket without copies (see
// data_chunk_wire.h); the bytes on the wire are the normal protobuf ones.
//
// Thread-safety: reactors run on gRPC's threads; the store and the
// handler must be thread-safe. The service must outlive the server.

#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include "common/token_store.h"
#include "common/value.h"
#include "services/worker/data_store.h"
#include "services/worker/worker_stats.h"
#include "taskgrid/v1/worker.grpc.pb.h"

namespace taskgrid::worker {

class WorkerServiceHandler {
 public:
  virtual ~WorkerServiceHandler() = default;
  // Stores pushed values and returns where they now are. `client_id` is
  // set (DataChunk.client_id) when a client scattered them: that client
  // tells the scheduler (UpdateData); values a peer handed off (no
  // client_id) are announced by this worker (KeysAdded).
  virtual std::vector<v1::KeyLocation> HandlePutData(
      std::vector<std::pair<std::string, Value>> values, const std::string& client_id) = 0;
  virtual void HandleStatus(v1::WorkerStatus* status) = 0;
};

class WorkerService final
    : public v1::Worker::WithRawCallbackMethod_GetData<
          v1::Worker::WithRawCallbackMethod_PutData<
              v1::Worker::WithCallbackMethod_Status<v1::Worker::Service>>> {
 public:
  // Largest chunk a GetData stream sends, whatever the request asks.
  static constexpr int64_t kMaxChunkBytes = 4 << 20;
  static constexpr int64_t kMinChunkBytes = 4 << 10;

  // `handler` may be null until set_handler: the server must be running
  // before the worker knows its own address. PutData and Status answer
  // UNAVAILABLE meanwhile; GetData needs only the store.
  WorkerService(DataStore* store, WorkerStats* stats, WorkerServiceHandler* handler)
      : store_(store), stats_(stats), handler_(handler) {}
  void set_handler(WorkerServiceHandler* handler) { handler_.store(handler); }
  // --token-file: every call then needs one of its bearer tokens. Not
  // owned; set before the server starts.
  void set_tokens(const TokenStore* tokens) { tokens_ = tokens; }

  grpc::ServerWriteReactor<grpc::ByteBuffer>* GetData(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer* request) override;
  grpc::ServerReadReactor<grpc::ByteBuffer>* PutData(grpc::CallbackServerContext* context,
                                                      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const v1::WorkerStatusRequest* request,
                                   v1::WorkerStatus* response) override;

 private:
  class GetDataReactor;
  // CheckCallToken with a log line naming the peer on refusal.
  grpc::Status Authenticate(grpc::CallbackServerContext* context, const char* method) const;
  class PutDataReactor;

  DataStore* store_;  // GetData reads spilled values back
  WorkerStats* stats_;
  std::atomic<WorkerServiceHandler*> handler_;
  const TokenStore* tokens_ = nullptr;
};

}  // namespace taskgrid::worker
