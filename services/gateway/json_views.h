#pragma once
// The JSON shapes of the REST API (design.md "REST"), shared by the REST
// routes, the event stream and the dashboard so each shape is defined once:
//   job:     {"id", "name", "state", "created", "tasks",
//             "progress": {"total", "done", "erred"},
//             "keys": {KEY: {"state", "worker", "workers", "nbytes", "type",
//                            "error", "traceback"}}}
//   summary: the job without "keys"
//   event:   {"job", "key", "state", "worker", "nbytes", "error",
//             "job_state"}
//   cluster: {"scheduler", "uptime_seconds", "clients", "workers": [...],
//             "tasks": {STATE: N}, "functions": [...]}
//
// Thread-safety: pure functions.

#include "nlohmann/json.hpp"
#include "services/gateway/job_registry.h"
#include "taskgrid/v1/scheduler.pb.h"

namespace taskgrid::gateway {

nlohmann::json JobSummaryToJson(const JobSummary& s);
nlohmann::json JobToJson(const JobSnapshot& job);
nlohmann::json KeyToJson(const KeyInfo& info);
nlohmann::json EventToJson(const JobEvent& ev);
nlohmann::json ClusterToJson(const v1::ClusterInfoResponse& info);

}  // namespace taskgrid::gateway
