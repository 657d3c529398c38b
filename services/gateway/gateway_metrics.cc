#include "services/gateway/gateway_metrics.h"

#include "absl/strings/str_split.h"
#include "common/grpc_server_metrics.h"
#include "prometheus/text_serializer.h"

namespace taskgrid::gateway {

std::string RouteLabel(absl::string_view path) {
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/', absl::SkipEmpty());
  if (parts.empty()) return "/";
  if (parts.size() == 1) {
    for (const char* fixed : {"healthz", "readyz", "metrics"}) {
      if (parts[0] == fixed) return std::string("/") + fixed;
    }
    return "other";
  }
  if (parts[0] != "v1") return "other";
  if (parts.size() == 2) {
    for (const char* fixed : {"jobs", "cluster", "functions", "openapi.json"}) {
      if (parts[1] == fixed) return std::string("/v1/") + fixed;
    }
    return "other";
  }
  if (parts[1] != "jobs") return "other";
  if (parts.size() == 3) return "/v1/jobs/{id}";
  if (parts.size() == 4 && parts[3] == "events") return "/v1/jobs/{id}/events";
  if (parts.size() == 5 && parts[3] == "results") return "/v1/jobs/{id}/results/{key}";
  return "other";
}

GatewayMetrics::GatewayMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      http_requests_(prometheus::BuildCounter()
                         .Name("taskgrid_gateway_http_requests_total")
                         .Help("HTTP requests by route template, method and status code")
                         .Register(*registry_)),
      http_latency_(prometheus::BuildHistogram()
                        .Name("taskgrid_gateway_http_request_duration_seconds")
                        .Help("HTTP request latency (event streams: their whole duration)")
                        .Register(*registry_)),
      grpc_requests_(prometheus::BuildCounter()
                         .Name("taskgrid_gateway_grpc_requests_total")
                         .Help("Jobs API gRPC calls by method and status code")
                         .Register(*registry_)),
      auth_failures_(prometheus::BuildCounter()
                         .Name("taskgrid_gateway_auth_failures_total")
                         .Help("Requests refused for a missing or unknown bearer token")
                         .Register(*registry_)),
      jobs_(prometheus::BuildGauge()
                .Name("taskgrid_gateway_jobs")
                .Help("Jobs known to the gateway by state")
                .Register(*registry_)),
      streams_(prometheus::BuildGauge()
                   .Name("taskgrid_gateway_open_streams")
                   .Help("Open job event streams (SSE and WatchJob)")
                   .Register(*registry_)) {
  for (const char* protocol : {"http", "grpc"}) {
    auth_failures_.Add({{"protocol", protocol}});
    streams_.Add({{"protocol", protocol}});
  }
}

void GatewayMetrics::ObserveHttp(absl::string_view path, const std::string& method, int code,
                                 double seconds) {
  const std::string route = RouteLabel(path);
  http_requests_.Add({{"route", route}, {"method", method}, {"code", std::to_string(code)}})
      .Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  http_latency_.Add({{"route", route}, {"method", method}}, kBuckets).Observe(seconds);
}

void GatewayMetrics::ObserveGrpc(const std::string& method, const std::string& code) {
  grpc_requests_.Add({{"method", method}, {"code", code}}).Increment();
}

void GatewayMetrics::AuthFailure(const std::string& protocol) {
  auth_failures_.Add({{"protocol", protocol}}).Increment();
}

void GatewayMetrics::SetJobs(const std::vector<std::pair<std::string, int>>& jobs_by_state) {
  for (const auto& [state, n] : jobs_by_state) jobs_.Add({{"state", state}}).Set(n);
}

void GatewayMetrics::StreamOpened(const std::string& protocol) {
  streams_.Add({{"protocol", protocol}}).Increment();
}

void GatewayMetrics::StreamClosed(const std::string& protocol) {
  streams_.Add({{"protocol", protocol}}).Decrement();
}

std::string GatewayMetrics::Serialize() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  // gRPC server calls by method and code (ConfigureServerBuilder counts them).
  for (auto& f : GrpcServerMetricsRegistry()->Collect()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace taskgrid::gateway
