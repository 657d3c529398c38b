#pragma once
// Summary statistics of benchmark samples. The percentile definition
// (nearest rank) is the one bench/dask_workloads.py uses, so p50/p99 of both
// systems are computed the same way.
//
// Thread-safety: pure functions.

#include <vector>

namespace taskgrid::bench {

// Nearest-rank percentile of ascending `sorted`, p in [0, 100]: the smallest
// sample with at least p% of the samples at or below it.
// REQUIRES: !sorted.empty(), sorted ascending.
double Percentile(const std::vector<double>& sorted, double p);

// REQUIRES: !samples.empty().
double Median(std::vector<double> samples);

}  // namespace taskgrid::bench
