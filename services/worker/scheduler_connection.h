#pragma once
// SchedulerConnection: the worker's one Scheduler.WorkerSession stream.
//
// A session thread connects, sends RegisterWorker, waits for RegisterAck,
// then reads command batches and hands each to the SessionHandler. A
// writer thread sends, in one WorkerBatch per stream Write, every message
// queued since the previous write (no batching timer: while a write is in
// flight, messages accumulate for the next one) plus a heartbeat every
// heartbeat_interval_seconds the scheduler asked for.
//
// When the stream breaks the handler's OnSchedulerLost runs, queued
// messages are dropped (they belonged to the lost session), and the
// session thread reconnects every retry_interval, registering again with
// the keys the worker holds.
//
// Thread-safety: Send may be called from any thread; Start and Close from
// one controlling thread.

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
  };

  explicit SchedulerConnection(Options options);
  ~SchedulerConnection() override;  // Close("connection destroyed", 0)

  // Starts connecting in the background. REQUIRES: called once.
  void Start(SessionHandler* handler);

  // Queues messages for the current session; dropped while disconnected.
  void Send(std::vector<std::unique_ptr<v1::WorkerMessage>> messages) override;

  // Sends WorkerClosing{reason} if connected, waits up to `timeout` for
  // the scheduler to end the session, then stops for good.
  void Close(const std::string& reason, absl::Duration timeout);

  bool registered() const;
  std::string worker_id() const;

 private:
  enum class State { kIdle, kRegistering, kRegistered, kClosed };
  using Stream = grpc::ClientReaderWriter<v1::WorkerBatch, v1::WorkerCommandBatch>;

  void SessionLoop();
  // One session; returns true if it got registered.
  bool RunSession(const std::shared_ptr<grpc::Channel>& channel, bool log_failure);
  void WriterLoop(Stream* stream);

  const Options options_;
  SessionHandler* handler_ = nullptr;
  std::thread session_thread_;

  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kIdle;
  v1::WorkerBatch pending_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;           // no more sessions
  bool end_session_ ABSL_GUARDED_BY(mu_) = false;    // writer: the session ended
  std::string closing_reason_ ABSL_GUARDED_BY(mu_);  // non-empty: send WorkerClosing
  bool closing_sent_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration heartbeat_interval_ ABSL_GUARDED_BY(mu_);
  std::string worker_id_ ABSL_GUARDED_BY(mu_);
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;  // of the live session
};

}  // namespace taskgrid::worker
