#include "services/worker/task_executor.h"

namespace taskgrid::worker {

TaskExecutor::TaskExecutor(int nthreads) : nthreads_(nthreads < 1 ? 1 : nthreads) {
  {
    absl::MutexLock lock(&mu_);
    alive_ = nthreads_;
  }
  threads_.reserve(nthreads_);
  for (int i = 0; i < nthreads_; ++i) threads_.emplace_back([this] { Loop(); });
}

TaskExecutor::~TaskExecutor() { Stop(absl::InfiniteDuration()); }

void TaskExecutor::Submit(int64_t priority, absl::AnyInvocable<void() &&> run) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  queue_.push(Queued{priority, next_seq_++, std::move(run)});
}

void TaskExecutor::SubmitBatch(std::vector<Item> items) {
  if (items.empty()) return;
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  for (Item& item : items) queue_.push(Queued{item.priority, next_seq_++, std::move(item.run)});
}

void TaskExecutor::Loop() {
  for (;;) {
    absl::AnyInvocable<void() &&> run;
    {
      absl::MutexLock lock(&mu_);
      // absl::Mutex wakes waiters whose condition became true when the
      // holder of the lock unlocks, so Submit needs no explicit signal.
      mu_.Await(absl::Condition(
          +[](TaskExecutor* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || (!self->paused_ && !self->queue_.empty());
          },
          this));
      if (stopping_) {
        --alive_;
        return;
      }
      run = std::move(queue_.top().run);
      queue_.pop();
      ++running_;
    }
    std::move(run)();
    absl::MutexLock lock(&mu_);
    --running_;
  }
}

bool TaskExecutor::Stop(absl::Duration timeout) {
  std::priority_queue<Queued, std::vector<Queued>, Later> dropped;  // freed unlocked
  {
    absl::MutexLock lock(&mu_);
    if (threads_.empty()) return true;
    stopping_ = true;
    std::swap(dropped, queue_);
    bool done = mu_.AwaitWithTimeout(
        absl::Condition(
            +[](TaskExecutor* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
              return self->alive_ == 0;
            },
            this),
        timeout);
    if (!done) {
      for (std::thread& t : threads_) t.detach();
      threads_.clear();
      return false;
    }
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  return true;
}

void TaskExecutor::SetPaused(bool paused) {
  absl::MutexLock lock(&mu_);
  paused_ = paused;
}

bool TaskExecutor::paused() const {
  absl::MutexLock lock(&mu_);
  return paused_;
}

size_t TaskExecutor::queued() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

int TaskExecutor::running() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

}  // namespace taskgrid::worker
