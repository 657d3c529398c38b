#pragma once
// The scheduler's ClusterInfo for the CLI: fetching it (`status`, the
// progress of `submit`, `up` waiting for its workers) and rendering it as
// the `taskgrid status` report.
//
// Thread-safety: pure functions, and a stub that gRPC makes thread-safe.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"

namespace taskgrid::cli {

class SchedulerInfoClient {
 public:
  explicit SchedulerInfoClient(const std::string& address);
  // Errors read "cannot reach scheduler at ADDR: ...".
  absl::StatusOr<v1::ClusterInfoResponse> ClusterInfo(absl::Duration timeout);
  const std::string& address() const { return address_; }

 private:
  std::string address_;
  std::unique_ptr<v1::Scheduler::Stub> stub_;
};

// "512 B", "12.0 KiB", "3.5 GiB".
std::string FormatBytes(int64_t bytes);

// The `taskgrid status` report: a header line, a workers table (address,
// name, threads, memory, processing, keys) and the task counts by state.
std::string FormatClusterStatus(const std::string& scheduler_address,
                                const v1::ClusterInfoResponse& info);

}  // namespace taskgrid::cli
