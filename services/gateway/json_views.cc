#include "services/gateway/json_views.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace taskgrid::gateway {

using nlohmann::json;

namespace {

json ErrorText(const KeyInfo& info) {
  if (!info.has_error) return nullptr;
  const v1::TaskError& e = info.error;
  if (e.type().empty()) return e.message();
  return absl::StrCat(e.type(), ": ", e.message());
}

}  // namespace

json KeyToJson(const KeyInfo& info) {
  json k = {{"state", KeyStateName(info.state)},
            {"worker", info.workers.empty() ? json(nullptr) : json(info.workers.front())},
            {"workers", info.workers},
            {"nbytes", info.nbytes},
            {"error", ErrorText(info)}};
  if (!info.type_name.empty()) k["type"] = info.type_name;
  if (info.has_error && !info.error.traceback().empty()) k["traceback"] = info.error.traceback();
  return k;
}

json JobSummaryToJson(const JobSummary& s) {
  return {{"id", s.id},
          {"name", s.name},
          {"state", JobStateName(s.state)},
          {"created", absl::ToDoubleSeconds(s.created - absl::UnixEpoch())},
          {"tasks", s.tasks_total},
          {"progress", {{"total", s.keys_total}, {"done", s.keys_done}, {"erred", s.keys_erred}}}};
}

json JobToJson(const JobSnapshot& job) {
  json j = JobSummaryToJson(job.summary);
  json keys = json::object();
  for (const JobKey& k : job.keys) keys[k.key] = KeyToJson(k.info);
  j["keys"] = std::move(keys);
  return j;
}

json EventToJson(const JobEvent& ev) {
  if (ev.final) return {{"job", ev.job_id}, {"job_state", JobStateName(ev.job_state)}};
  json j = KeyToJson(ev.key.info);
  j["job"] = ev.job_id;
  j["key"] = ev.key.key;
  j["job_state"] = JobStateName(ev.job_state);
  return j;
}

json ClusterToJson(const v1::ClusterInfoResponse& info) {
  json workers = json::array();
  for (const v1::WorkerInfo& w : info.workers()) {
    json resources = json::object();
    for (const auto& [name, amount] : w.resources()) resources[name] = amount;
    workers.push_back({{"id", w.id()},
                       {"address", w.address()},
                       {"name", w.name()},
                       {"nthreads", w.nthreads()},
                       {"memory", w.memory_bytes()},
                       {"memory_limit", w.memory_limit()},
                       {"resources", std::move(resources)},
                       {"tasks", w.processing()},
                       {"keys_held", w.keys_held()},
                       {"last_seen_seconds_ago", w.last_seen_seconds_ago()}});
  }
  json tasks = json::object();
  for (const auto& [state, n] : info.tasks_by_state()) tasks[state] = n;
  return {
      {"scheduler", info.scheduler_id()},
      {"uptime_seconds", info.uptime_seconds()},
      {"clients", info.clients()},
      {"workers", std::move(workers)},
      {"tasks", std::move(tasks)},
      {"functions", std::vector<std::string>(info.functions().begin(), info.functions().end())}};
}

}  // namespace taskgrid::gateway
