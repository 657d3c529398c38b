#pragma once
// The benchmark workloads on taskgrid, one function per workload, each
// returning its metrics as a JSON object. They mirror bench/dask_workloads.py
// one for one: same functions (inc, add), graph shapes, sizes and timing
// boundaries (graph construction is outside the timed region; submission,
// scheduling, execution and fetching the result are inside). Every workload
// checks its results, so a fast wrong answer is an error, not a number.
//
// Thread-safety: call from one thread; the Client may be shared.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "bench/cluster_probe.h"
#include "clients/cpp/client.h"

namespace taskgrid::bench {

struct WorkloadOptions {
  int64_t n = 0;            // tasks, chain length, tree leaves or bytes
  int reps = 3;             // transfer repetitions (median is reported)
  int scheduler_pid = 0;    // for memory: whose RSS to read
  std::string consumer = "nbytes";  // transfer: builtin run on the array
  std::string key_prefix;   // makes this run's graph keys unique
};

// Names accepted by RunWorkload.
const std::vector<std::string>& WorkloadNames();

absl::StatusOr<nlohmann::json> RunWorkload(const std::string& name, Client& client,
                                           const ClusterProbe& probe,
                                           const WorkloadOptions& options);

}  // namespace taskgrid::bench
