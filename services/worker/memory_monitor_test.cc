#include "services/worker/memory_monitor.h"

#include <stdlib.h>

#include <atomic>
#include <fstream>
#include <vector>

#include <gtest/gtest.h>

namespace taskgrid::worker {
namespace {

std::string TempBase() {
  std::string pattern = testing::TempDir() + "/memory_monitor_test-XXXXXX";
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

Value BytesOf(size_t n) { return Value::Bytes(Blob::Copy(std::string(n, 'm'))); }

// The monitor with a fake process size and recorded callbacks.
struct Harness {
  explicit Harness(const std::string& spill_dir, int64_t limit = 10000)
      : spill(spill_dir), store(&spill, 0) {
    MemoryMonitor::Options options;
    options.limit = limit;
    options.process_bytes = [this] { return process.load(); };
    options.trim_heap = false;
    MemoryMonitor::Callbacks callbacks;
    callbacks.on_pause = [this](bool paused, const std::string&) { pauses.push_back(paused); };
    callbacks.on_terminate = [this](const std::string& why) { terminations.push_back(why); };
    monitor = std::make_unique<MemoryMonitor>(options, &store, callbacks);
  }
  SpillStore spill;
  DataStore store;
  std::atomic<int64_t> process{0};
  std::vector<bool> pauses;
  std::vector<std::string> terminations;
  std::unique_ptr<MemoryMonitor> monitor;
};

TEST(MemoryMonitorTest, ManagedBytesAboveTargetAreSpilled) {
  Harness h(TempBase());
  for (int i = 0; i < 10; ++i) h.store.Put("k" + std::to_string(i), BytesOf(1000));
  const int64_t each = BytesOf(1000).ByteSize();
  h.process = 0;
  h.monitor->Check();
  EXPECT_LE(h.store.memory_bytes(), 6000);  // target 0.6 of 10000
  EXPECT_EQ(h.store.memory_bytes() + h.store.spilled_bytes(), 10 * each);
  EXPECT_TRUE(h.pauses.empty());
}

TEST(MemoryMonitorTest, ProcessAboveSpillSpillsTheExcess) {
  Harness h(TempBase());
  for (int i = 0; i < 5; ++i) h.store.Put("k" + std::to_string(i), BytesOf(1000));
  h.process = 7500;  // above spill (7000); 1500 over the target
  h.monitor->Check();
  EXPECT_GE(h.store.spilled_bytes(), 1500);
  EXPECT_LT(h.store.spilled_bytes(), 5000);
  EXPECT_FALSE(h.monitor->paused());
}

TEST(MemoryMonitorTest, PutBudgetLeavesRoomForUnmanagedMemory) {
  Harness h(TempBase());
  h.store.Put("a", BytesOf(1000));
  const int64_t managed = h.store.memory_bytes();
  h.process = managed + 5000;  // 5000 bytes the store does not manage
  h.monitor->Check();
  EXPECT_EQ(h.store.memory_target(), 7000 - 5000);  // spill threshold - unmanaged
  h.process = managed;
  h.monitor->Check();
  EXPECT_EQ(h.store.memory_target(), 6000);  // the target itself
  // Puts now spill against the budget without waiting for the monitor.
  for (int i = 0; i < 10; ++i) h.store.Put("k" + std::to_string(i), BytesOf(1000));
  EXPECT_LE(h.store.memory_bytes(), 6000);
  EXPECT_GT(h.store.spilled_bytes(), 0);
}

TEST(MemoryMonitorTest, PausesAboveThePauseThresholdAndResumes) {
  Harness h(TempBase());
  h.process = 8500;
  h.monitor->Check();
  EXPECT_TRUE(h.monitor->paused());
  h.monitor->Check();  // no repeated callback
  h.process = 5000;
  h.monitor->Check();
  EXPECT_FALSE(h.monitor->paused());
  EXPECT_EQ(h.pauses, (std::vector<bool>{true, false}));
  EXPECT_TRUE(h.terminations.empty());
}

TEST(MemoryMonitorTest, PauseForUnmanagedMemoryIsLiftedWhenNothingIsLeftToSpill) {
  const std::string dir = TempBase();
  SpillStore spill(dir);
  DataStore store(&spill, 0);
  std::atomic<int64_t> process{8500};  // above pause (8000), and it stays there
  std::vector<bool> pauses;
  MemoryMonitor::Options options;
  options.limit = 10000;
  options.process_bytes = [&] { return process.load(); };
  options.trim_heap = false;
  options.unmanaged_pause_limit = absl::ZeroDuration();
  MemoryMonitor::Callbacks callbacks;
  callbacks.on_pause = [&](bool paused, const std::string&) { pauses.push_back(paused); };
  MemoryMonitor monitor(options, &store, callbacks);
  store.Put("a", BytesOf(3000));

  monitor.Check();  // spills "a" (the process is above spill) and pauses
  EXPECT_TRUE(monitor.paused());
  EXPECT_EQ(store.memory_bytes(), 0);
  monitor.Check();  // every result is on disk: the excess is unmanaged
  EXPECT_FALSE(monitor.paused());
  monitor.Check();  // and stays lifted while nothing changes
  EXPECT_FALSE(monitor.paused());
  EXPECT_EQ(pauses, (std::vector<bool>{true, false}));

  // Once below the threshold and above it again, the pause applies anew.
  process = 5000;
  monitor.Check();
  process = 8500;
  monitor.Check();
  EXPECT_TRUE(monitor.paused());
  EXPECT_EQ(pauses, (std::vector<bool>{true, false, true}));
}

TEST(MemoryMonitorTest, TerminatesOnceAboveTheTerminateThreshold) {
  Harness h(TempBase());
  h.process = 9600;
  h.monitor->Check();
  h.monitor->Check();
  ASSERT_EQ(h.terminations.size(), 1u);
  EXPECT_NE(h.terminations[0].find("terminate threshold"), std::string::npos);
}

TEST(MemoryMonitorTest, FailingSpillPausesAndKeepsValues) {
  const std::string file = TempBase() + "/file";
  std::ofstream(file) << "x";
  Harness h(file);
  for (int i = 0; i < 10; ++i) h.store.Put("k" + std::to_string(i), BytesOf(1000));
  h.monitor->Check();
  EXPECT_TRUE(h.monitor->paused());
  EXPECT_EQ(h.pauses, (std::vector<bool>{true}));
  EXPECT_EQ(h.store.spilled_bytes(), 0);
  for (int i = 0; i < 10; ++i) {
    std::shared_ptr<const Value> v = h.store.Get("k" + std::to_string(i));
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(*v, BytesOf(1000));
  }
}

TEST(MemoryMonitorTest, DisabledThresholdsDoNothing) {
  SpillStore spill(TempBase());
  DataStore store(&spill, 0);
  std::vector<bool> pauses;
  MemoryMonitor::Options options;
  options.limit = 10000;
  options.fractions = {0, 0, 0, 0};
  options.process_bytes = [] { return int64_t{1} << 40; };
  MemoryMonitor::Callbacks callbacks;
  callbacks.on_pause = [&pauses](bool p, const std::string&) { pauses.push_back(p); };
  MemoryMonitor monitor(options, &store, callbacks);
  for (int i = 0; i < 20; ++i) store.Put("k" + std::to_string(i), BytesOf(1000));
  monitor.Check();
  EXPECT_EQ(store.spilled_bytes(), 0);
  EXPECT_TRUE(pauses.empty());
}

}  // namespace
}  // namespace taskgrid::worker
