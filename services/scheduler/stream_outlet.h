#pragma once
// StreamOutlet: the outgoing side of one server stream, shared between the
// event loop (which sends) and the gRPC reactor (which writes). At most one
// write is in flight; whatever is queued meanwhile is merged into the next
// message. A consumer that stops reading gets disconnected once its queue
// passes a bound, so it can never stall the loop or grow memory unbounded.
//
// Thread-safety: every method may be called from any thread.

#include <functional>
#include <mutex>
#include <utility>

#include "absl/base/thread_annotations.h"

namespace taskgrid::scheduler {

// Batch must be a protobuf message with MergeFrom and ByteSizeLong.
template <typename Batch>
class StreamOutlet {
 public:
  // `start_write` begins one write of the given message (the pointer stays
  // valid until OnWriteDone); `overflow` is called once if the queue passes
  // `max_queued_bytes`.
  StreamOutlet(std::function<void(const Batch*)> start_write,
               std::function<void()> overflow, size_t max_queued_bytes)
      : start_write_(std::move(start_write)),
        overflow_(std::move(overflow)),
        max_queued_bytes_(max_queued_bytes) {}

  void Send(Batch&& msg) {
    const size_t bytes = msg.ByteSizeLong();
    bool overflowed = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
      if (writing_) {
        pending_.MergeFrom(msg);
        has_pending_ = true;
        pending_bytes_ += bytes;
        if (pending_bytes_ <= max_queued_bytes_) return;
        closed_ = true;
        pending_.Clear();
        has_pending_ = false;
        overflowed = true;
      } else {
        writing_ = true;
        current_ = std::move(msg);
      }
    }
    if (overflowed) {
      overflow_();
      return;
    }
    start_write_(&current_);
  }

  // Called by the reactor when a write completes; returns true when the
  // stream may be finished (closed and nothing in flight).
  bool OnWriteDone(bool ok) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!ok) closed_ = true;
      if (closed_ || !has_pending_) {
        writing_ = false;
        return closed_;
      }
      current_ = std::move(pending_);
      pending_.Clear();
      has_pending_ = false;
      pending_bytes_ = 0;
    }
    start_write_(&current_);
    return false;
  }

  // No more sends; returns true when no write is in flight (the stream may
  // be finished now; otherwise OnWriteDone will say so).
  bool Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    return !writing_;
  }

  bool closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

 private:
  std::function<void(const Batch*)> start_write_;
  std::function<void()> overflow_;
  const size_t max_queued_bytes_;
  mutable std::mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool has_pending_ ABSL_GUARDED_BY(mu_) = false;
  size_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  Batch current_;
  Batch pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace taskgrid::scheduler
