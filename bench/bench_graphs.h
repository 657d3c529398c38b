#pragma once
// Task graphs of the benchmark workloads, built as taskgrid.v1.TaskSpec lists
// with the same shapes as bench/dask_workloads.py builds for Dask:
//   chain: key_0 = inc(0), key_i = inc(key_{i-1})      -> result n
//   tree:  leaves inc(j), then levels of add(left, right) up to one root
//          -> result leaves * (leaves + 1) / 2
// Keys carry a caller-chosen prefix so runs never share keys.
//
// Thread-safety: pure functions.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "taskgrid/v1/common.pb.h"

namespace taskgrid::bench {

struct BenchGraph {
  std::vector<v1::TaskSpec> tasks;
  std::string root;          // the one key the workload wants
  int64_t expected_result;   // what the root must evaluate to
};

// REQUIRES: n >= 1.
BenchGraph ChainGraph(const std::string& prefix, int64_t n);

// A binary tree of add over `leaves` inc(j) leaves: 2 * leaves - 1 tasks.
// Errors when leaves is not a positive power of two.
absl::StatusOr<BenchGraph> TreeGraph(const std::string& prefix, int64_t leaves);

}  // namespace taskgrid::bench
