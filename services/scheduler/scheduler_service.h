#pragma once
// SchedulerService: the gRPC adapter of the scheduler (callback API). It
// owns the client-session and worker-session streams, converts messages,
// and feeds the SchedulerState on its single EventLoop thread; the state
// machine's outputs leave through GrpcOutbox, batched per stream.
//
// Thread-safety: gRPC calls the service from its own threads; all state is
// touched only on the event loop.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/token_store.h"
#include "services/scheduler/event_loop.h"
#include "services/scheduler/grpc_outbox.h"
#include "services/scheduler/scheduler_state.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"

namespace taskgrid::scheduler {

class SchedulerMetrics;

// The two session streams are raw (bytes in and out) so that the reactors
// parse each message themselves: gRPC's typed callback API reports a
// message that does not parse exactly like the end of the stream, and the
// peer would get a plain OK instead of an error naming the problem. The
// unary methods stay typed. (Every method of v1.Scheduler must be listed.)
using SchedulerServiceBase = v1::Scheduler::WithRawCallbackMethod_ClientSession<
    v1::Scheduler::WithRawCallbackMethod_WorkerSession<
        v1::Scheduler::WithCallbackMethod_ClusterInfo<
            v1::Scheduler::WithCallbackMethod_RetireWorkers<
                v1::Scheduler::WithCallbackMethod_WhoHas<
                    v1::Scheduler::WithCallbackMethod_Restart<
                        v1::Scheduler::WithCallbackMethod_Replicate<
                            v1::Scheduler::WithCallbackMethod_Rebalance<
                                v1::Scheduler::Service>>>>>>>>;
using RawBidiReactor = grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>;

class SchedulerService final : public SchedulerServiceBase {
 public:
  struct Options {
    SchedulerState::Options state;
    double heartbeat_interval_seconds = 1.0;
    // A worker session whose unsent messages pass this is disconnected.
    size_t max_queued_bytes = size_t{512} << 20;
    // The same for a client session (--client-queue-bytes): a client that
    // stops reading cannot grow the scheduler's memory past it.
    size_t client_queue_bytes = size_t{512} << 20;
    // --token-file: when set and enabled, every call needs one of its
    // bearer tokens. Not owned; outlives the service.
    const TokenStore* tokens = nullptr;
  };
  // `metrics` may be null.
  SchedulerService(Options options, SchedulerMetrics* metrics);
  ~SchedulerService() override;

  void Start();
  // Stops the event loop (call after the gRPC server has shut down).
  void Stop();
  const std::string& scheduler_id() const { return scheduler_id_; }

  // Read v1.ClientBatch, write v1.ClientEventBatch (session_reactors.cc).
  RawBidiReactor* ClientSession(grpc::CallbackServerContext* ctx) override;
  // Read v1.WorkerBatch, write v1.WorkerCommandBatch.
  RawBidiReactor* WorkerSession(grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* ClusterInfo(grpc::CallbackServerContext* ctx,
                                        const v1::ClusterInfoRequest* req,
                                        v1::ClusterInfoResponse* resp) override;
  grpc::ServerUnaryReactor* RetireWorkers(grpc::CallbackServerContext* ctx,
                                          const v1::RetireWorkersRequest* req,
                                          v1::RetireWorkersResponse* resp) override;
  grpc::ServerUnaryReactor* WhoHas(grpc::CallbackServerContext* ctx,
                                   const v1::WhoHasRequest* req,
                                   v1::WhoHasResponse* resp) override;
  grpc::ServerUnaryReactor* Restart(grpc::CallbackServerContext* ctx,
                                    const v1::RestartRequest* req,
                                    v1::RestartResponse* resp) override;
  // scheduler_data_rpcs.cc: answered once the copies are confirmed.
  grpc::ServerUnaryReactor* Replicate(grpc::CallbackServerContext* ctx,
                                      const v1::ReplicateRequest* req,
                                      v1::ReplicateResponse* resp) override;
  grpc::ServerUnaryReactor* Rebalance(grpc::CallbackServerContext* ctx,
                                      const v1::RebalanceRequest* req,
                                      v1::RebalanceResponse* resp) override;

  // For the session reactors (loop thread only).
  EventLoop& loop() { return *loop_; }
  SchedulerState& state() { return *state_; }
  GrpcOutbox& outbox() { return outbox_; }
  const Options& options() const { return options_; }
  // Null when metrics are off.
  SchedulerMetrics* metrics() { return metrics_; }
  // Closes the live stream of each attached named client session, so a
  // newer connection resuming the session can take it over.
  absl::flat_hash_map<ClientId, std::function<void()>>& session_closers() {
    return session_closers_;
  }

 private:
  void Tick();
  void AfterBatch();
  // CheckCallToken with a log line naming the peer and method on refusal.
  grpc::Status Authenticate(grpc::CallbackServerContext* ctx, const char* method) const;
  // A Replicate/Rebalance call waiting for the copies of `keys`.
  struct TransferWait {
    grpc::ServerUnaryReactor* reactor;
    std::vector<std::string> keys;
    std::function<void()> fill_response;
    std::chrono::system_clock::time_point deadline;
  };
  // Answers the waits whose copies are done (or whose deadline passed).
  void AnswerTransferWaits();
  void WaitForTransfers(TransferWait wait);

  Options options_;
  SchedulerMetrics* metrics_;
  std::string scheduler_id_;
  double start_time_;
  GrpcOutbox outbox_;
  std::unique_ptr<SchedulerState> state_;
  std::unique_ptr<EventLoop> loop_;
  uint64_t batches_seen_ = 0;  // loop thread only
  std::vector<TransferWait> transfer_waits_;  // loop thread only
  absl::flat_hash_map<ClientId, std::function<void()>> session_closers_;  // loop thread only
};

}  // namespace taskgrid::scheduler
