#pragma once
// Turns the body of a POST /v1/jobs request into a job submission: the
// request limits (nesting depth, task count), the gateway's own fields
// ("name", "ttl_seconds") and the graph format of common/graph_json.h.
// Kept apart from the HTTP server so it can be fuzzed on its own.
//
// Thread-safety: a pure function.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/graph_json.h"
#include "services/gateway/limits.h"

namespace taskgrid::gateway {

struct JobSubmission {
  GraphRequest graph;
  std::string name;
  absl::Duration ttl = absl::ZeroDuration();
};

// InvalidArgument naming the problem (malformed JSON, a limit exceeded, a
// field of the wrong type) when `body` is not an acceptable job.
absl::StatusOr<JobSubmission> ParseJobSubmission(absl::string_view body, const Limits& limits);

}  // namespace taskgrid::gateway
