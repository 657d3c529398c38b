#pragma once
// Prometheus metrics of the gateway (names taskgrid_gateway_*), served as
// text by the HTTP server's /metrics route:
//   taskgrid_gateway_http_requests_total{route,method,code}
//   taskgrid_gateway_http_request_duration_seconds{route,method} (histogram)
//   taskgrid_gateway_grpc_requests_total{method,code}
//   taskgrid_gateway_auth_failures_total{protocol}
//   taskgrid_gateway_jobs{state}
//   taskgrid_gateway_open_streams{protocol}
//   taskgrid_grpc_server_* (common/grpc_server_metrics.h)
// Routes are labelled by their template ("/v1/jobs/{id}"), never by the raw
// path, so label cardinality stays fixed.
//
// Thread-safety: all methods may be called from any thread (prometheus-cpp
// metrics are thread-safe; the label-to-metric caches take a mutex).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace taskgrid::gateway {

// The route template of a request path ("other" when no route matches).
std::string RouteLabel(absl::string_view path);

class GatewayMetrics {
 public:
  GatewayMetrics();

  void ObserveHttp(absl::string_view path, const std::string& method, int code, double seconds);
  void ObserveGrpc(const std::string& method, const std::string& code);
  void AuthFailure(const std::string& protocol);
  void SetJobs(const std::vector<std::pair<std::string, int>>& jobs_by_state);
  void StreamOpened(const std::string& protocol);
  void StreamClosed(const std::string& protocol);

  // Prometheus text exposition of every metric.
  std::string Serialize() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& http_requests_;
  prometheus::Family<prometheus::Histogram>& http_latency_;
  prometheus::Family<prometheus::Counter>& grpc_requests_;
  prometheus::Family<prometheus::Counter>& auth_failures_;
  prometheus::Family<prometheus::Gauge>& jobs_;
  prometheus::Family<prometheus::Gauge>& streams_;
};

}  // namespace taskgrid::gateway
