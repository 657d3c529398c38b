#include "services/gateway/job_request.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace taskgrid::gateway {

using nlohmann::json;

absl::StatusOr<JobSubmission> ParseJobSubmission(absl::string_view body, const Limits& limits) {
  if (absl::Status depth = CheckJsonDepth(body, limits.max_json_depth); !depth.ok()) {
    return depth;
  }
  absl::StatusOr<json> parsed =
      ParseJsonNoDuplicateKeys(std::string_view(body.data(), body.size()), "malformed JSON: ");
  if (!parsed.ok()) return parsed.status();
  json doc = *std::move(parsed);
  if (!doc.is_object()) return absl::InvalidArgumentError("the job must be a JSON object");
  if (auto tasks = doc.find("tasks"); tasks != doc.end() && tasks->is_object() &&
                                      static_cast<int64_t>(tasks->size()) > limits.max_tasks_per_job) {
    return absl::InvalidArgumentError(
        absl::StrCat("the job has ", tasks->size(), " tasks, more than the limit of ",
                     limits.max_tasks_per_job, " tasks per job (--max-tasks-per-job)"));
  }
  // The gateway's own fields; the rest is the graph format of graph_json.h.
  JobSubmission job;
  if (auto name = doc.find("name"); name != doc.end()) {
    if (!name->is_string()) return absl::InvalidArgumentError("\"name\" must be a string");
    job.name = name->get<std::string>();
    doc.erase(name);
  }
  if (auto ttl = doc.find("ttl_seconds"); ttl != doc.end()) {
    // absl::Seconds of a huge double saturates to an infinite duration,
    // which would keep the job forever: cap at ten years.
    constexpr double kMaxTtlSeconds = 10.0 * 365 * 24 * 3600;
    if (!ttl->is_number() || !(ttl->get<double>() >= 0) ||
        ttl->get<double>() > kMaxTtlSeconds) {
      return absl::InvalidArgumentError(
          "\"ttl_seconds\" must be a number of seconds between 0 and ten years");
    }
    job.ttl = absl::Seconds(ttl->get<double>());
    doc.erase(ttl);
  }
  absl::StatusOr<GraphRequest> graph = GraphFromJson(doc);
  if (!graph.ok()) return graph.status();
  job.graph = *std::move(graph);
  return job;
}

}  // namespace taskgrid::gateway
