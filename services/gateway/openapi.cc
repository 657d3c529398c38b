#include "services/gateway/openapi.h"

namespace taskgrid::gateway {
namespace {

using nlohmann::json;

json Ref(const std::string& schema) { return {{"$ref", "#/components/schemas/" + schema}}; }

json JsonContent(const json& schema) { return {{"application/json", {{"schema", schema}}}}; }

json Error(const std::string& description) {
  return {{"description", description}, {"content", JsonContent(Ref("Error"))}};
}

json PathParam(const std::string& name, const std::string& description) {
  return {{"name", name},
          {"in", "path"},
          {"required", true},
          {"description", description},
          {"schema", {{"type", "string"}}}};
}

// An operation with the responses every authenticated route shares.
json Operation(const std::string& id, const std::string& summary, json responses,
               bool authenticated = true) {
  if (authenticated) responses["401"] = Error("Missing or unknown bearer token");
  json op = {{"operationId", id}, {"summary", summary}, {"responses", std::move(responses)}};
  if (!authenticated) op["security"] = json::array();
  return op;
}

json Schemas() {
  json key_state = {{"type", "object"},
                    {"properties",
                     {{"state",
                       {{"type", "string"},
                        {"description", "pending, memory, erred, cancelled, lost, no-worker"}}},
                      {"worker", {{"type", "string"}, {"nullable", true}}},
                      {"workers", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                      {"nbytes", {{"type", "integer"}}},
                      {"type", {{"type", "string"}}},
                      {"error", {{"type", "string"}, {"nullable", true}}},
                      {"traceback", {{"type", "string"}}}}}};
  json summary_props = {
      {"id", {{"type", "string"}}},
      {"name", {{"type", "string"}}},
      {"state",
       {{"type", "string"}, {"enum", {"pending", "running", "finished", "failed", "cancelled"}}}},
      {"created", {{"type", "number"}, {"description", "Unix time"}}},
      {"tasks", {{"type", "integer"}}},
      {"progress",
       {{"type", "object"},
        {"properties",
         {{"total", {{"type", "integer"}}},
          {"done", {{"type", "integer"}}},
          {"erred", {{"type", "integer"}}}}}}}};
  json job_props = summary_props;
  job_props["keys"] = {{"type", "object"}, {"additionalProperties", Ref("KeyState")}};
  return {
      {"Error",
       {{"type", "object"},
        {"properties", {{"error", {{"type", "string"}}}, {"code", {{"type", "integer"}}}}}}},
      {"Task",
       {{"type", "object"},
        {"required", {"fn"}},
        {"properties",
         {{"fn", {{"type", "string"}}},
          {"args", {{"type", "array"}, {"items", json::object()}}},
          {"kwargs", {{"type", "object"}}},
          {"runtime", {{"type", "string"}, {"default", "builtin"}}},
          {"retries", {{"type", "integer"}}},
          {"priority", {{"type", "integer"}}},
          {"workers", {{"type", "array"}, {"items", {{"type", "string"}}}}},
          {"allow_other_workers", {{"type", "boolean"}}},
          {"resources", {{"type", "object"}, {"additionalProperties", {{"type", "number"}}}}}}},
        {"description",
         "Arguments are JSON values; {\"ref\": KEY} is a dependency, {\"b64\": ...} bytes."}}},
      {"JobRequest",
       {{"type", "object"},
        {"required", {"tasks"}},
        {"properties",
         {{"tasks", {{"type", "object"}, {"additionalProperties", Ref("Task")}}},
          {"keys", {{"type", "array"}, {"items", {{"type", "string"}}}}},
          {"priority", {{"type", "integer"}}},
          {"name", {{"type", "string"}}},
          {"ttl_seconds", {{"type", "number"}}}}}}},
      {"JobCreated",
       {{"type", "object"},
        {"properties",
         {{"id", {{"type", "string"}}},
          {"keys", {{"type", "array"}, {"items", {{"type", "string"}}}}},
          {"state", {{"type", "string"}}}}}}},
      {"KeyState", key_state},
      {"JobSummary", {{"type", "object"}, {"properties", summary_props}}},
      {"Job", {{"type", "object"}, {"properties", job_props}}},
      {"Cluster", {{"type", "object"}}},
  };
}

json BuildDocument() {
  const json id = PathParam("id", "Job id");
  const json ok_job = {{"description", "The job"}, {"content", JsonContent(Ref("Job"))}};
  json paths = {
      {"/v1/jobs",
       {{"post",
         Operation(
             "submitJob", "Submit a task graph as a job",
             {{"201", {{"description", "Accepted"}, {"content", JsonContent(Ref("JobCreated"))}}},
              {"400", Error("Malformed JSON, unknown function, cycle, missing dependency "
                            "or a limit exceeded (the message names it)")},
              {"413", Error("Request body larger than --max-request-bytes")},
              {"503", Error("Scheduler unreachable")}})},
        {"get",
         Operation(
             "listJobs", "Jobs known to the gateway",
             {{"200",
               {{"description", "Jobs"},
                {"content",
                 JsonContent(
                     {{"type", "object"},
                      {"properties",
                       {{"jobs", {{"type", "array"}, {"items", Ref("JobSummary")}}}}}})}}}})}}},
      {"/v1/jobs/{id}",
       {{"parameters", json::array({id})},
        {"get", Operation("getJob", "State of a job and of each of its keys",
                          {{"200", ok_job}, {"404", Error("No such job")}})},
        {"delete", Operation("cancelJob", "Cancel the job and release its keys",
                             {{"200", ok_job}, {"404", Error("No such job")}})}}},
      {"/v1/jobs/{id}/results/{key}",
       {
           {"parameters", json::array({id, PathParam("key", "A key the job wants")})},
           {"get",
            Operation(
                "getResult",
                "The value of a key: JSON, or raw bytes for bytes/arrays/pickles (array dtype and "
                "shape in X-Taskgrid-Dtype / X-Taskgrid-Shape; ?format=json gives them as JSON)",
                {{"200",
                  {{"description", "The value"},
                   {"content",
                    {{"application/json", {{"schema", json::object()}}},
                     {"application/octet-stream",
                      {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}}},
                 {"404", Error("No such job or key")},
                 {"409", Error("Pending (see ?timeout=), erred, or the job was cancelled")}})},
       }},
      {"/v1/jobs/{id}/events",
       {{"parameters", json::array({id})},
        {"get",
         Operation("watchJob",
                   "Server-Sent Events: `key` per key state change (current states first), "
                   "then one `end` when the job is done",
                   {{"200",
                     {{"description", "Event stream"},
                      {"content", {{"text/event-stream", {{"schema", {{"type", "string"}}}}}}}}},
                    {"404", Error("No such job")},
                    {"429", Error("Too many open streams for this client")}})}}},
      {"/v1/cluster",
       {{"get",
         Operation("getCluster", "Workers and task counts by state",
                   {{"200", {{"description", "Cluster"}, {"content", JsonContent(Ref("Cluster"))}}},
                    {"503", Error("Scheduler unreachable")}})}}},
      {"/v1/functions",
       {{"get", Operation("listFunctions", "Functions the workers offer",
                          {{"200",
                            {{"description", "Functions"},
                             {"content", JsonContent({{"type", "object"}})}}},
                           {"503", Error("Scheduler unreachable")}})}}},
      {"/v1/openapi.json",
       {{"get", Operation("getOpenApi", "This document",
                          {{"200",
                            {{"description", "OpenAPI 3 document"},
                             {"content", JsonContent({{"type", "object"}})}}}})}}},
      {"/healthz",
       {{"get", Operation("healthz", "Liveness", {{"200", {{"description", "Alive"}}}},
                          /*authenticated=*/false)}}},
      {"/readyz",
       {{"get", Operation("readyz", "Readiness: the scheduler answers",
                          {{"200", {{"description", "Ready"}}},
                           {"503", {{"description", "Scheduler unreachable"}}}},
                          /*authenticated=*/false)}}},
      {"/metrics",
       {{"get", Operation("metrics", "Prometheus metrics",
                          {{"200", {{"description", "Prometheus text format"}}}})}}},
      {"/",
       {{"get", Operation("dashboard", "Live dashboard page (takes the token as ?token= too)",
                          {{"200", {{"description", "HTML page"}}}})}}},
  };
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "taskgrid gateway"},
            {"version", "v1"},
            {"description", "REST front door of a taskgrid cluster (gRPC: taskgrid.v1.Jobs)."}}},
          {"paths", std::move(paths)},
          {"security", {{{"bearer", json::array()}}}},
          {"components",
           {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}},
            {"schemas", Schemas()}}}};
}

}  // namespace

const json& OpenApiDocument() {
  static const json* const doc = new json(BuildDocument());
  return *doc;
}

}  // namespace taskgrid::gateway
