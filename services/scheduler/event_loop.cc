#include "services/scheduler/event_loop.h"

#include <chrono>

namespace taskgrid::scheduler {
namespace {

double Now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

EventLoop::EventLoop(std::function<void()> after_batch, std::function<void()> tick,
                     double tick_seconds)
    : after_batch_(std::move(after_batch)),
      tick_(std::move(tick)),
      tick_seconds_(tick_seconds) {}

EventLoop::~EventLoop() { Stop(); }

void EventLoop::Start() { thread_ = std::thread([this] { Run(); }); }

void EventLoop::Post(Task task) {
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.empty()) first_enqueued_ = Now();
  queue_.push_back(std::move(task));
  if (queue_.size() == 1) cv_.notify_one();
}

void EventLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void EventLoop::Run() {
  std::vector<Task> batch;
  double next_tick = Now() + tick_seconds_;
  while (true) {
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_until(lock,
                     std::chrono::steady_clock::time_point(
                         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(next_tick))),
                     [this] { return !queue_.empty() || stopping_; });
      batch.swap(queue_);
      stopping = stopping_;
      if (!batch.empty()) {
        last_queue_delay_ = Now() - first_enqueued_;
        ++batches_;
      }
    }
    for (Task& t : batch) std::move(t)();
    batch.clear();
    if (Now() >= next_tick) {
      tick_();
      next_tick = Now() + tick_seconds_;
    }
    after_batch_();
    if (stopping) {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty()) return;
    }
  }
}

}  // namespace taskgrid::scheduler
