#include "services/worker/task_executor.h"

#include <atomic>
#include <vector>

#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"

namespace taskgrid::worker {
namespace {

// With the only thread blocked, queued items then run by priority, then FIFO.
TEST(TaskExecutorTest, OrderIsPriorityThenFifo) {
  TaskExecutor executor(1);
  absl::Notification release, started;
  executor.Submit(0, [&] {
    started.Notify();
    release.WaitForNotification();
  });
  started.WaitForNotification();

  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification all_done;
  const int n = 6;
  auto record = [&](int id) {
    return [&, id] {
      absl::MutexLock lock(&mu);
      order.push_back(id);
      if (static_cast<int>(order.size()) == n) all_done.Notify();
    };
  };
  executor.Submit(0, record(1));
  executor.Submit(5, record(2));
  executor.Submit(0, record(3));
  std::vector<TaskExecutor::Item> batch;
  batch.push_back({5, record(4)});
  batch.push_back({-1, record(5)});
  batch.push_back({10, record(6)});
  executor.SubmitBatch(std::move(batch));
  release.Notify();
  all_done.WaitForNotification();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<int>{6, 2, 4, 1, 3, 5}));
}

// While paused, an idle thread takes nothing: items submitted meanwhile
// all wait and then run by priority (unpaused, the idle thread would start
// the first one submitted at once).
TEST(TaskExecutorTest, PausedExecutorStartsNothingUntilResumed) {
  TaskExecutor executor(1);
  executor.SetPaused(true);
  EXPECT_TRUE(executor.paused());
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification all_done;
  for (int priority : {1, 5, 3}) {
    executor.Submit(priority, [&, priority] {
      absl::MutexLock lock(&mu);
      order.push_back(priority);
      if (order.size() == 3) all_done.Notify();
    });
  }
  EXPECT_EQ(executor.queued(), 3u);
  EXPECT_EQ(executor.running(), 0);
  executor.SetPaused(false);
  all_done.WaitForNotification();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<int>{5, 3, 1}));
}

TEST(TaskExecutorTest, UsesAllThreads) {
  TaskExecutor executor(3);
  EXPECT_EQ(executor.nthreads(), 3);
  absl::Mutex mu;
  int inside = 0;
  absl::Notification release;
  std::atomic<int> finished{0};
  for (int i = 0; i < 3; ++i) {
    executor.Submit(0, [&] {
      {
        absl::MutexLock lock(&mu);
        ++inside;
      }
      release.WaitForNotification();
      finished.fetch_add(1);
    });
  }
  // All three run at once: each waits for the release, so this only
  // returns if three threads picked them up.
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(+[](int* n) { return *n == 3; }, &inside));
  }
  EXPECT_EQ(executor.running(), 3);
  release.Notify();
  EXPECT_TRUE(executor.Stop(absl::InfiniteDuration()));
  EXPECT_EQ(finished.load(), 3);
}

TEST(TaskExecutorTest, StopDropsQueuedItems) {
  TaskExecutor executor(1);
  absl::Notification release, started;
  std::atomic<int> ran{0};
  executor.Submit(0, [&] {
    started.Notify();
    release.WaitForNotification();
  });
  started.WaitForNotification();
  for (int i = 0; i < 10; ++i) executor.Submit(0, [&] { ran.fetch_add(1); });
  EXPECT_EQ(executor.queued(), 10u);
  bool stopped = false;
  std::thread stopper([&] { stopped = executor.Stop(absl::InfiniteDuration()); });
  // Stop empties the queue at once, then waits for the running item.
  while (executor.queued() != 0) absl::SleepFor(absl::Milliseconds(1));
  release.Notify();
  stopper.join();
  EXPECT_TRUE(stopped);
  EXPECT_EQ(ran.load(), 0);
  executor.Submit(0, [&] { ran.fetch_add(1); });  // ignored after Stop
  EXPECT_EQ(executor.queued(), 0u);
}

TEST(TaskExecutorTest, StopTimesOutOnStuckItem) {
  // Deliberately never destroyed (static, so not a leak for LeakSanitizer):
  // the detached thread keeps using them.
  static auto* executor = new TaskExecutor(1);
  static auto* release = new absl::Notification();
  absl::Notification started;
  executor->Submit(0, [&started] {
    started.Notify();
    release->WaitForNotification();
  });
  started.WaitForNotification();
  EXPECT_FALSE(executor->Stop(absl::Milliseconds(20)));
  release->Notify();  // let the detached thread finish its item
}

}  // namespace
}  // namespace taskgrid::worker
