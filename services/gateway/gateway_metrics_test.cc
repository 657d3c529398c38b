#include "services/gateway/gateway_metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid::gateway {
namespace {

using ::testing::HasSubstr;

TEST(RouteLabelTest, MapsPathsToTemplates) {
  EXPECT_EQ(RouteLabel("/"), "/");
  EXPECT_EQ(RouteLabel("/healthz"), "/healthz");
  EXPECT_EQ(RouteLabel("/v1/jobs"), "/v1/jobs");
  EXPECT_EQ(RouteLabel("/v1/jobs/j123"), "/v1/jobs/{id}");
  EXPECT_EQ(RouteLabel("/v1/jobs/j123/events"), "/v1/jobs/{id}/events");
  EXPECT_EQ(RouteLabel("/v1/jobs/j123/results/x"), "/v1/jobs/{id}/results/{key}");
  EXPECT_EQ(RouteLabel("/v1/cluster"), "/v1/cluster");
  EXPECT_EQ(RouteLabel("/v1/openapi.json"), "/v1/openapi.json");
  EXPECT_EQ(RouteLabel("/etc/passwd"), "other");
  EXPECT_EQ(RouteLabel("/v1/jobs/a/b/c/d/e"), "other");
}

TEST(GatewayMetricsTest, SerializesEveryFamilyWithLabels) {
  GatewayMetrics m;
  m.ObserveHttp("/v1/jobs/j1", "GET", 200, 0.002);
  m.ObserveGrpc("SubmitJob", "OK");
  m.AuthFailure("http");
  m.AuthFailure("http");
  m.SetJobs({{"running", 3}});
  m.StreamOpened("grpc");
  const std::string text = m.Serialize();
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(taskgrid_gateway_http_requests_total{code="200",method="GET",route="/v1/jobs/{id}"} 1)"));
  EXPECT_THAT(text, HasSubstr("taskgrid_gateway_http_request_duration_seconds_bucket{"));
  EXPECT_THAT(text,
              HasSubstr(R"(taskgrid_gateway_grpc_requests_total{code="OK",method="SubmitJob"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(taskgrid_gateway_auth_failures_total{protocol="http"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(taskgrid_gateway_jobs{state="running"} 3)"));
  EXPECT_THAT(text, HasSubstr(R"(taskgrid_gateway_open_streams{protocol="grpc"} 1)"));
}

}  // namespace
}  // namespace taskgrid::gateway
