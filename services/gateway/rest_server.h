#pragma once
// The gateway's REST API on a cpp-httplib server (design.md "REST"):
// routes, bearer-token check, request limits, JSON error bodies and request
// metrics. rest_routes.cc holds the /v1/jobs routes, rest_server.cc the
// rest (cluster, functions, health, metrics, OpenAPI, dashboard) and the
// cross-cutting handlers.
//
// Thread-safety: httplib runs handlers on its thread pool; everything the
// handlers touch (RestContext members) is thread-safe.

#include <httplib.h>

#include <string>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "common/token_store.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/job_manager.h"
#include "services/gateway/limits.h"

namespace taskgrid::gateway {

struct RestContext {
  JobManager* jobs;
  TokenStore* tokens;
  GatewayMetrics* metrics;
  StreamLimiter* streams;
  Limits limits;
};

// Installs every route and the auth/limit/metrics handlers on `http`.
// REQUIRES: `ctx` members outlive the server.
void InstallRestServer(httplib::Server& http, const RestContext& ctx);

// ---- shared by rest_server.cc and rest_routes.cc
void InstallJobRoutes(httplib::Server& http, const RestContext& ctx);
// HTTP status for a Status (InvalidArgument 400, NotFound 404,
// FailedPrecondition 409, Unavailable 503, ...).
int HttpStatusFor(const absl::Status& s);
void SendJson(httplib::Response& res, int status, const nlohmann::json& body);
void SendError(httplib::Response& res, int status, const std::string& message);
void SendStatus(httplib::Response& res, const absl::Status& s);

}  // namespace taskgrid::gateway
