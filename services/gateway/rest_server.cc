#include "services/gateway/rest_server.h"

#include <glog/logging.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "services/gateway/dashboard.h"
#include "services/gateway/json_views.h"
#include "services/gateway/openapi.h"

namespace taskgrid::gateway {
namespace {

using Clock = std::chrono::steady_clock;

// httplib runs the pre-routing handler, the route and the logger of one
// request on the same thread, so the start time can live here.
thread_local Clock::time_point request_start;

bool IsPublic(const std::string& path) { return path == "/healthz" || path == "/readyz"; }

}  // namespace

int HttpStatusFor(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

void SendJson(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  // Replace: invalid UTF-8 in a user's key or error text must not throw.
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                  "application/json");
}

void SendError(httplib::Response& res, int status, const std::string& message) {
  SendJson(res, status, {{"error", message}, {"code", status}});
}

void SendStatus(httplib::Response& res, const absl::Status& s) {
  SendError(res, HttpStatusFor(s), std::string(s.message()));
}

void InstallRestServer(httplib::Server& http, const RestContext& ctx) {
  http.set_payload_max_length(static_cast<size_t>(ctx.limits.max_request_bytes));

  http.set_pre_routing_handler([ctx](const httplib::Request& req, httplib::Response& res) {
    request_start = Clock::now();
    if (IsPublic(req.path) || !ctx.tokens->enabled()) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    std::string authorization = req.get_header_value("Authorization");
    // A browser cannot attach a header when opening the dashboard, so the
    // page alone also takes the token as ?token= (its script then sends
    // the header on every API call).
    if (authorization.empty() && req.path == "/" && req.has_param("token")) {
      authorization = "Bearer " + req.get_param_value("token");
    }
    if (ctx.tokens->Check(authorization)) return httplib::Server::HandlerResponse::Unhandled;
    ctx.metrics->AuthFailure("http");
    res.set_header("WWW-Authenticate", "Bearer realm=\"taskgrid\"");
    SendError(res, 401,
              authorization.empty() ? "missing bearer token (Authorization: Bearer TOKEN)"
                                    : "unknown bearer token");
    return httplib::Server::HandlerResponse::Handled;
  });

  http.set_error_handler(
      httplib::Server::HandlerWithResponse([ctx](const httplib::Request&, httplib::Response& res) {
        // Routes set their own JSON bodies; only fill in httplib's bare errors.
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        switch (res.status) {
          case 413:
            SendError(res, 413,
                      absl::StrCat("request body larger than the limit of ",
                                   ctx.limits.max_request_bytes, " bytes (--max-request-bytes)"));
            break;
          case 404:
            SendError(res, 404, "no such route (see GET /v1/openapi.json)");
            break;
          default:
            SendError(res, res.status, absl::StrCat("HTTP error ", res.status));
        }
        return httplib::Server::HandlerResponse::Handled;
      }));

  http.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        LOG(ERROR) << req.method << " " << req.path << ": " << what;
        SendError(res, 500, what);
      });

  http.set_logger([ctx](const httplib::Request& req, const httplib::Response& res) {
    const double seconds = std::chrono::duration<double>(Clock::now() - request_start).count();
    ctx.metrics->ObserveHttp(req.path, req.method, res.status, seconds);
  });

  InstallJobRoutes(http, ctx);

  http.Get("/v1/cluster", [ctx](const httplib::Request&, httplib::Response& res) {
    absl::StatusOr<v1::ClusterInfoResponse> info = ctx.jobs->ClusterInfo(absl::Seconds(5));
    if (!info.ok()) return SendStatus(res, info.status());
    SendJson(res, 200, ClusterToJson(*info));
  });

  http.Get("/v1/functions", [ctx](const httplib::Request&, httplib::Response& res) {
    absl::StatusOr<v1::ClusterInfoResponse> info = ctx.jobs->ClusterInfo(absl::Seconds(5));
    if (!info.ok()) return SendStatus(res, info.status());
    SendJson(res, 200, {{"functions", ClusterToJson(*info)["functions"]}});
  });

  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });

  http.Get("/readyz", [ctx](const httplib::Request&, httplib::Response& res) {
    absl::StatusOr<v1::ClusterInfoResponse> info = ctx.jobs->ClusterInfo(absl::Seconds(2));
    // Ready once the session is open too, which means a restarted gateway
    // has restored its jobs.
    absl::Status ready = info.ok() ? ctx.jobs->EnsureSession() : info.status();
    if (!ready.ok()) {
      res.status = 503;
      res.set_content(absl::StrCat("not ready: ", ready.message(), "\n"), "text/plain");
      return;
    }
    res.set_content(absl::StrCat("ready: scheduler ", ctx.jobs->scheduler_address(), " has ",
                                 info->workers_size(), " workers\n"),
                    "text/plain");
  });

  http.Get("/metrics", [ctx](const httplib::Request&, httplib::Response& res) {
    std::vector<std::pair<std::string, int>> jobs;
    for (const auto& [state, n] : ctx.jobs->registry().CountByState()) {
      jobs.emplace_back(JobStateName(state), n);
    }
    ctx.metrics->SetJobs(jobs);
    res.set_content(ctx.metrics->Serialize(), "text/plain; version=0.0.4");
  });

  http.Get("/v1/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(OpenApiDocument().dump(2) + "\n", "application/json");
  });

  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(DashboardHtml(), "text/html; charset=utf-8");
  });
}

}  // namespace taskgrid::gateway
