#pragma once
// What the benchmark asks of a running cluster besides running tasks: the
// scheduler's ClusterInfo (worker addresses, task counts), waiting until the
// workers registered or until earlier runs' tasks are forgotten, and a
// process's resident memory.
//
// Thread-safety: ClusterProbe is immutable after construction; its calls may
// run from any thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"

namespace taskgrid::bench {

class ClusterProbe {
 public:
  explicit ClusterProbe(const std::string& scheduler_address);

  absl::StatusOr<v1::ClusterInfoResponse> Info() const;
  // Worker data addresses, sorted, once at least `n` workers registered.
  absl::StatusOr<std::vector<std::string>> WaitForWorkers(
      int n, std::chrono::milliseconds timeout) const;
  // Waits until the scheduler tracks no task at all; returns how many were
  // still tracked at the timeout (0 when drained).
  absl::StatusOr<int64_t> WaitUntilNoTasks(std::chrono::milliseconds timeout) const;

 private:
  std::unique_ptr<v1::Scheduler::Stub> stub_;
};

// VmRSS of process `pid` in bytes, from /proc/PID/status.
absl::StatusOr<int64_t> ReadResidentBytes(int pid);

}  // namespace taskgrid::bench
