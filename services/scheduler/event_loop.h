#pragma once
// EventLoop: the single thread that owns the scheduler's state. Transport
// threads Post() closures; the loop runs everything queued, in order, then
// calls the after-batch hook once (where outgoing messages are flushed), so
// messages are batched by "whatever was queued", never by a timer. A tick
// hook runs about once per tick interval for time-based work.
//
// Thread-safety: Post() and Stop() from any thread; hooks run on the loop.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"

namespace taskgrid::scheduler {

class EventLoop {
 public:
  using Task = absl::AnyInvocable<void() &&>;

  EventLoop(std::function<void()> after_batch, std::function<void()> tick,
            double tick_seconds);
  ~EventLoop();

  void Start();
  void Post(Task task);
  // Runs the remaining tasks, then joins the thread.
  void Stop();
  // Seconds the last batch waited in the queue before running (loop lag).
  double last_queue_delay() const { return last_queue_delay_; }
  // Batches run so far (loop thread only, e.g. from the after-batch hook).
  uint64_t batches() const { return batches_; }

 private:
  void Run();

  std::function<void()> after_batch_;
  std::function<void()> tick_;
  double tick_seconds_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Task> queue_ ABSL_GUARDED_BY(mu_);
  double first_enqueued_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
  double last_queue_delay_ = 0;
  uint64_t batches_ = 0;
};

}  // namespace taskgrid::scheduler
