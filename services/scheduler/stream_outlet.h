#pragma once
// StreamOutlet: the outgoing side of one server stream, shared between the
// event loop (which sends) and the gRPC reactor (which writes). At most one
// write is in flight; whatever is queued meanwhile is merged into the next
// messages, each at most `max_message_bytes` (an item larger than that goes
// alone): a burst of big commands never makes one message over gRPC's
// limit, which would kill the stream. A consumer that stops reading gets
// disconnected once its queue passes a bound, so it can never stall the
// loop or grow memory unbounded.
//
// Thread-safety: every method may be called from any thread.

#include <algorithm>
#include <deque>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "absl/base/thread_annotations.h"

namespace taskgrid::scheduler {

// Messages of a stream are kept under this size (gRPC's limit here is
// 64 MiB; a part of a graph is far smaller).
inline constexpr size_t kMaxStreamMessageBytes = 16 << 20;

// Splits `msg`, a batch whose first field is its repeated items, into
// batches of at most `max_bytes` each (an item larger than that alone), in
// order.
template <typename Batch>
std::vector<Batch> SplitBatch(Batch&& msg, size_t max_bytes) {
  const google::protobuf::FieldDescriptor* items = Batch::descriptor()->field(0);
  const google::protobuf::Reflection* reflection = msg.GetReflection();
  std::vector<Batch> out(1);
  size_t out_bytes = 0;
  const int n = reflection->FieldSize(msg, items);
  for (int i = 0; i < n; ++i) {
    google::protobuf::Message* item = reflection->MutableRepeatedMessage(&msg, items, i);
    const size_t bytes = item->ByteSizeLong() + 10;  // + tag and length
    if (out_bytes > 0 && out_bytes + bytes > max_bytes) {
      out.emplace_back();
      out_bytes = 0;
    }
    google::protobuf::Message* moved = reflection->AddMessage(&out.back(), items);
    moved->GetReflection()->Swap(moved, item);
    out_bytes += bytes;
  }
  return out;
}

// Batch must be a protobuf message whose first field is its repeated items.
template <typename Batch>
class StreamOutlet {
 public:
  // `start_write` begins one write of the given message (the pointer stays
  // valid until OnWriteDone); `overflow` is called once if the queue passes
  // `max_queued_bytes`.
  StreamOutlet(std::function<void(const Batch*)> start_write,
               std::function<void()> overflow, size_t max_queued_bytes,
               size_t max_message_bytes = kMaxStreamMessageBytes)
      : start_write_(std::move(start_write)),
        overflow_(std::move(overflow)),
        max_queued_bytes_(max_queued_bytes),
        max_message_bytes_(max_message_bytes) {}

  void Send(Batch&& msg) {
    const size_t bytes = msg.ByteSizeLong();
    bool overflowed = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
      Enqueue(std::move(msg), bytes);
      // Only what waits behind a write in flight counts against the bound.
      if (writing_ && queued_bytes_ > max_queued_bytes_) {
        closed_ = true;
        queue_.clear();
        queued_bytes_ = 0;
        overflowed = true;
      } else if (!writing_) {
        writing_ = true;
        TakeFront();
      } else {
        return;
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
      if (closed_ || queue_.empty()) {
        writing_ = false;
        return closed_;
      }
      TakeFront();
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
  struct Queued {
    Batch msg;
    size_t bytes;
  };

  // Appends `msg` to the last queued message while that stays under the
  // message size, else queues it (split when it is too big by itself).
  void Enqueue(Batch&& msg, size_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    queued_bytes_ += bytes;
    if (!queue_.empty() && queue_.back().bytes + bytes <= max_message_bytes_) {
      queue_.back().msg.MergeFrom(msg);
      queue_.back().bytes += bytes;
      return;
    }
    if (bytes <= max_message_bytes_) {
      queue_.push_back(Queued{std::move(msg), bytes});
      return;
    }
    for (Batch& piece : SplitBatch(std::move(msg), max_message_bytes_)) {
      const size_t piece_bytes = piece.ByteSizeLong();
      queue_.push_back(Queued{std::move(piece), piece_bytes});
    }
  }

  // Moves the first queued message into current_ (the next write).
  void TakeFront() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    current_ = std::move(queue_.front().msg);
    queued_bytes_ -= std::min(queued_bytes_, queue_.front().bytes);
    queue_.pop_front();
  }

  std::function<void(const Batch*)> start_write_;
  std::function<void()> overflow_;
  const size_t max_queued_bytes_;
  const size_t max_message_bytes_;
  mutable std::mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // in queue_, not current_
  Batch current_;
};

}  // namespace taskgrid::scheduler
