#pragma once
// WorkerStats: the worker's counters, shared by the Status RPC, heartbeats
// and the Prometheus exporter (one source of truth, read at request time,
// so the hot paths only do relaxed atomic adds).
//
// Thread-safety: every member is atomic; values read together are not a
// consistent snapshot, which is fine for monitoring.

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace taskgrid::worker {

// Cumulative histogram of task durations with fixed bucket bounds.
class DurationHistogram {
 public:
  // Upper bounds in seconds (the last bucket, +Inf, is implicit).
  static const std::vector<double>& Bounds();

  DurationHistogram();
  void Observe(double seconds);
  // Per-bucket (non-cumulative) counts, Bounds().size() + 1 of them.
  std::vector<uint64_t> BucketCounts() const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum_seconds() const {
    return static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) * 1e-9;
  }

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_nanos_{0};
};

struct WorkerStats {
  explicit WorkerStats(size_t num_functions)
      : task_durations(std::make_unique<DurationHistogram[]>(num_functions)),
        num_functions(num_functions) {}

  void Add(std::atomic<int64_t>& counter, int64_t n) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
  static int64_t Read(const std::atomic<int64_t>& counter) {
    return counter.load(std::memory_order_relaxed);
  }

  std::atomic<int64_t> tasks_completed{0};
  std::atomic<int64_t> tasks_erred{0};
  std::atomic<int64_t> executing{0};
  std::atomic<int64_t> ready{0};    // queued on the executor
  std::atomic<int64_t> waiting{0};  // waiting for dependencies from peers
  std::atomic<int64_t> transfer_bytes_in{0};
  std::atomic<int64_t> transfer_bytes_out{0};
  std::atomic<int64_t> transfers_in{0};   // keys received from peers/clients
  std::atomic<int64_t> transfers_out{0};  // keys sent to peers/clients
  std::atomic<int64_t> fetch_failures{0};
  // Keys asked again of a holder after a transport failure (PeerFetcher).
  std::atomic<int64_t> fetch_retries{0};
  std::atomic<int64_t> paused{0};  // 1 while memory is short (MemoryMonitor)
  // Indexed by FunctionRegistry::Entry::index.
  std::unique_ptr<DurationHistogram[]> task_durations;
  const size_t num_functions;
};

}  // namespace taskgrid::worker
