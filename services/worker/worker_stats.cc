#include "services/worker/worker_stats.h"

#include <algorithm>

namespace taskgrid::worker {

const std::vector<double>& DurationHistogram::Bounds() {
  static const std::vector<double> bounds = {1e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05,
                                             0.1,  0.5,  1.0,  5.0,  10.0, 60.0};
  return bounds;
}

DurationHistogram::DurationHistogram()
    : buckets_(std::make_unique<std::atomic<uint64_t>[]>(Bounds().size() + 1)) {
  for (size_t i = 0; i <= Bounds().size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void DurationHistogram::Observe(double seconds) {
  const std::vector<double>& bounds = Bounds();
  size_t i = std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  if (seconds > 0) {
    sum_nanos_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  }
}

std::vector<uint64_t> DurationHistogram::BucketCounts() const {
  std::vector<uint64_t> out(Bounds().size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

}  // namespace taskgrid::worker
