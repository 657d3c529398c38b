// EventLoop runs posted work in order on one thread and flushes once per
// batch.

#include "services/scheduler/event_loop.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace taskgrid::scheduler {
namespace {

TEST(EventLoopTest, RunsEverythingInOrderOnOneThreadAndFlushesPerBatch) {
  std::vector<int> seen;
  std::thread::id loop_thread;
  std::atomic<int> flushes{0};
  EventLoop loop([&] { ++flushes; }, [] {}, 10.0);
  loop.Start();
  for (int i = 0; i < 1000; ++i) {
    loop.Post([&seen, &loop_thread, i] {
      if (i == 0) loop_thread = std::this_thread::get_id();
      EXPECT_EQ(std::this_thread::get_id(), loop_thread);
      seen.push_back(i);
    });
  }
  loop.Stop();
  ASSERT_EQ(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(seen[i], i);
  EXPECT_GE(flushes.load(), 1);
  EXPECT_LE(flushes.load(), 1001);
  EXPECT_NE(loop_thread, std::this_thread::get_id());
}

TEST(EventLoopTest, TicksWithoutTraffic) {
  std::atomic<int> ticks{0};
  EventLoop loop([] {}, [&] { ++ticks; }, 0.01);
  loop.Start();
  while (ticks.load() < 3) std::this_thread::yield();
  loop.Stop();
  EXPECT_GE(ticks.load(), 3);
}

}  // namespace
}  // namespace taskgrid::scheduler
