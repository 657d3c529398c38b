#pragma once
// TaskExecutor: a fixed pool of threads running queued work items, the
// highest priority first and, among equal priorities, in arrival order.
//
// Used for task execution (one thread per --nthreads), so there is no
// per-task thread creation; submitting a batch takes the lock once.
//
// Thread-safety: all methods are thread-safe. Items must not call Stop().

#include <cstdint>
#include <queue>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace taskgrid::worker {

class TaskExecutor {
 public:
  struct Item {
    int64_t priority = 0;
    absl::AnyInvocable<void() &&> run;
  };

  explicit TaskExecutor(int nthreads);
  ~TaskExecutor();  // Stop(absl::InfiniteDuration())
  TaskExecutor(const TaskExecutor&) = delete;
  TaskExecutor& operator=(const TaskExecutor&) = delete;

  void Submit(int64_t priority, absl::AnyInvocable<void() &&> run);
  void SubmitBatch(std::vector<Item> items);

  // Drops queued items, waits up to `timeout` for running ones; returns
  // false if some were still running: their threads are then detached and
  // still use this object, so the caller must end the process instead of
  // destroying it. Call from one thread, once.
  bool Stop(absl::Duration timeout);

  // While paused, queued items stay queued (running ones finish): the
  // worker pauses when memory is short.
  void SetPaused(bool paused);
  bool paused() const;

  int nthreads() const { return nthreads_; }
  size_t queued() const;
  int running() const;

 private:
  struct Queued {
    int64_t priority;
    uint64_t seq;
    // mutable: std::priority_queue only exposes top() as const.
    mutable absl::AnyInvocable<void() &&> run;
  };
  struct Later {
    bool operator()(const Queued& a, const Queued& b) const {
      if (a.priority != b.priority) return a.priority < b.priority;
      return a.seq > b.seq;
    }
  };

  void Loop();

  mutable absl::Mutex mu_;
  std::priority_queue<Queued, std::vector<Queued>, Later> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  int alive_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  const int nthreads_;
  std::vector<std::thread> threads_;  // touched only by the constructor and Stop
};

}  // namespace taskgrid::worker
