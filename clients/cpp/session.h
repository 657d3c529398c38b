#pragma once
// SchedulerSession: the client's one Scheduler.ClientSession stream, on
// gRPC's callback API.
//
// Writing: Send() serializes a ClientMessage on the caller's thread and
// queues the bytes; when no write is in flight the caller starts one at
// once, carrying everything queued (one ClientBatch per Write); when a
// write completes, whatever queued meanwhile goes out in the next batch. No
// timers, so a lone Submit is on the wire immediately and a burst becomes
// one batch. The stream is driven through gRPC's generic (ByteBuffer) stub:
// a ClientBatch is exactly the concatenation of its framed ClientMessages,
// so queued messages are never parsed, merged or copied again, and callers
// may build them on an arena and free it right after Send().
// Reading: every ClientEventBatch is handed to the listener on a gRPC
// callback thread, in stream order, then the next read starts.
//
// Thread-safety: Send/AppendRelease/Shutdown may be called from any thread.
// The listener must not call Shutdown from inside OnEvents. Lifetime: the
// object must outlive the stream; the destructor calls Shutdown().

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "taskgrid/v1/scheduler.pb.h"

namespace taskgrid::client {

class SessionListener {
 public:
  virtual ~SessionListener() = default;
  // Called on a gRPC thread, one batch at a time, in order.
  virtual void OnEvents(v1::ClientEventBatch& batch) = 0;
  // The stream ended (scheduler gone, or Shutdown); called exactly once,
  // after the last OnEvents.
  virtual void OnClosed(const grpc::Status& status) = 0;
};

// The bytes of `msg` as one element of ClientBatch.messages.
std::string FrameClientMessage(const v1::ClientMessage& msg);

class SchedulerSession : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  // `listener` must outlive this object.
  SchedulerSession(std::shared_ptr<grpc::Channel> channel, SessionListener* listener);
  ~SchedulerSession() override;

  // Starts the call with `hello` as the first message.
  void Start(const v1::ClientHello& hello);
  // Queues a message. Dropped once the stream closed.
  void Send(const v1::ClientMessage& msg);
  // Queues a message framed by FrameClientMessage.
  void SendFramed(std::string framed);
  // Queues a release of `key`; consecutive releases travel as one
  // ReleaseKeys message, so dropping many futures sends one message.
  void AppendRelease(const std::string& key);
  // Flushes what is queued, half-closes, and waits for the stream to end;
  // after `grace` the call is cancelled instead. Idempotent.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(2));

  // grpc::ClientBidiReactor
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnWritesDoneDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  // Picks the next write (a batch or the half-close) if none is in flight;
  // the caller starts it after unlocking, because gRPC may run the
  // completion callback inline.
  enum class NextWrite { kNone, kBatch, kWritesDone };
  NextWrite TakeNextWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartNext(NextWrite next);
  // Moves pending releases into the queue as one framed ReleaseKeys.
  void FlushReleasesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // True when the caller must call RemoveHold (once, outside the lock).
  bool ReleaseHoldIfIdleLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  grpc::GenericStub stub_;
  SessionListener* const listener_;
  grpc::ClientContext context_;
  // Only touched by the read callbacks.
  grpc::ByteBuffer incoming_;
  v1::ClientEventBatch events_;

  absl::Mutex mu_;
  std::vector<std::string> queued_ ABSL_GUARDED_BY(mu_);  // framed messages
  v1::ReleaseKeys releases_ ABSL_GUARDED_BY(mu_);         // after queued_
  grpc::ByteBuffer in_flight_;  // owned by the write in flight
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;  // no more writes can go out
  bool half_close_wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool half_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool hold_released_ ABSL_GUARDED_BY(mu_) = false;

  std::mutex done_mu_;
  std::condition_variable done_cv_;
  bool done_ = false;  // guarded by done_mu_: OnDone has run
};

}  // namespace taskgrid::client
