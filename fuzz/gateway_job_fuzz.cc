#include "fuzz/fuzz_targets.h"
#include "services/gateway/job_request.h"

namespace taskgrid::fuzz::gateway_job {

int FuzzOne(const uint8_t* data, size_t size) {
  gateway::Limits limits;
  // Small enough that the fuzzer reaches the limits.
  limits.max_tasks_per_job = 50;
  limits.max_json_depth = 16;
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<gateway::JobSubmission> job = gateway::ParseJobSubmission(body, limits);
  if (!job.ok()) {
    FuzzCheck(job.status().code() == absl::StatusCode::kInvalidArgument,
              "a rejected job body is not InvalidArgument (HTTP 400)");
    FuzzCheck(!job.status().message().empty(), "a rejected job body has no error message");
    return 0;
  }
  FuzzCheck(static_cast<int64_t>(job->graph.tasks.size()) <= limits.max_tasks_per_job,
            "an accepted job exceeds --max-tasks-per-job");
  FuzzCheck(job->ttl >= absl::ZeroDuration() && job->ttl < absl::InfiniteDuration(),
            "an accepted job has a negative or infinite ttl");
  return 0;
}

}  // namespace taskgrid::fuzz::gateway_job
