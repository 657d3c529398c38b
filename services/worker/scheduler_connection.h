#pragma once
// SchedulerConnection: the worker's one Scheduler.WorkerSession stream,
// driven with gRPC's callback API (no thread waits on the stream).
//
//  - A session starts with RegisterWorker; the scheduler's first reply
//    must begin with RegisterAck. Command batches are handed to the
//    SessionHandler as they arrive (on a gRPC thread; it must not block).
//  - Writes: one in flight at a time. Send() queues messages; if no write
//    is in flight the caller's thread starts one right away, otherwise the
//    completion of the current write sends everything queued meanwhile as
//    one WorkerBatch. So batches are "whatever is queued when the stream
//    is ready", with no timer and no writer thread to wake.
//  - A session thread owns each session: it sends a heartbeat every
//    heartbeat_interval_seconds (from RegisterAck), and when the stream
//    ends it runs the handler's OnSchedulerLost (what that scheduler
//    assigned is void), drops queued messages, and reconnects every
//    retry_interval, registering again with the keys the worker holds.
//
// Thread-safety: Send may be called from any thread; Start and Close from
// one controlling thread. Lock order: never hold mu_ while calling into
// gRPC (reactions may run inline) or the handler.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/worker/scheduler_link.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"

namespace taskgrid::worker {

class SchedulerConnection final : public MessageSink {
 public:
  struct Options {
    std::string address;  // scheduler host:port
    absl::Duration retry_interval = absl::Seconds(1);
    // Used until the scheduler's RegisterAck says otherwise.
    absl::Duration heartbeat_interval = absl::Seconds(1);
    // A scheduler that accepts the stream but does not acknowledge the
    // registration within this time is treated as unreachable.
    absl::Duration registration_timeout = absl::Seconds(10);
  };

  explicit SchedulerConnection(Options options);
  ~SchedulerConnection() override;  // Close("", 0)

  // Starts connecting in the background. REQUIRES: called once.
  void Start(SessionHandler* handler);

  // Queues messages for the current session; dropped while disconnected.
  void Send(std::vector<std::unique_ptr<v1::WorkerMessage>> messages) override;

  // Sends WorkerClosing{reason} if registered, waits up to `timeout` for
  // the scheduler to end the session, then stops for good.
  void Close(const std::string& reason, absl::Duration timeout);

  bool registered() const;
  std::string worker_id() const;

 private:
  class Session;
  enum class State { kIdle, kRegistering, kRegistered };

  void SessionLoop();
  // Runs one session to its end; returns whether it got registered.
  bool RunSession(v1::Scheduler::Stub* stub, bool log_failure);
  // Starts a write of what is queued if the stream is free for one.
  void MaybeWrite();

  // Reactions of the live session (gRPC threads).
  void OnAck(const v1::RegisterAck& ack);
  void OnReadFailed();
  void OnWriteDone(bool ok);
  void OnSessionDone(const grpc::Status& status);

  const Options options_;
  SessionHandler* handler_ = nullptr;
  std::thread session_thread_;

  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;  // no more sessions
  State state_ ABSL_GUARDED_BY(mu_) = State::kIdle;
  v1::WorkerBatch pending_ ABSL_GUARDED_BY(mu_);
  absl::Duration heartbeat_interval_ ABSL_GUARDED_BY(mu_);
  std::string worker_id_ ABSL_GUARDED_BY(mu_);
  // Of the last RegisterAck; sent with the next registration.
  std::string scheduler_id_ ABSL_GUARDED_BY(mu_);
  std::string closing_reason_ ABSL_GUARDED_BY(mu_);  // non-empty: send WorkerClosing
  // The live session (owned by the session thread) and its stream state.
  Session* session_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool stream_dead_ ABSL_GUARDED_BY(mu_) = false;     // no more writes
  bool hold_released_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_written_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_done_next_ ABSL_GUARDED_BY(mu_) = false;  // half-close after this write
  bool session_done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status session_status_ ABSL_GUARDED_BY(mu_);
  std::string session_error_ ABSL_GUARDED_BY(mu_);  // protocol error, for the log
};

}  // namespace taskgrid::worker
