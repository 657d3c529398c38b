#include "bench/bench_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace taskgrid::bench {

double Percentile(const std::vector<double>& sorted, double p) {
  int64_t rank = static_cast<int64_t>(std::ceil(p / 100.0 * sorted.size()));
  size_t idx = static_cast<size_t>(std::max<int64_t>(rank - 1, 0));
  return sorted[std::min(idx, sorted.size() - 1)];
}

double Median(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  size_t mid = samples.size() / 2;
  return samples.size() % 2 ? samples[mid] : (samples[mid - 1] + samples[mid]) / 2;
}

}  // namespace taskgrid::bench
