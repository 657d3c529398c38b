#include "common/grpc_server_metrics.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/grpc_util.h"
#include "prometheus/text_serializer.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"

namespace taskgrid {
namespace {

// A server whose ClusterInfo succeeds and whose WhoHas fails, both through
// the callback API the services use.
class FakeScheduler final : public v1::Scheduler::CallbackService {
  grpc::ServerUnaryReactor* ClusterInfo(grpc::CallbackServerContext* ctx,
                                        const v1::ClusterInfoRequest*,
                                        v1::ClusterInfoResponse*) override {
    auto* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
  grpc::ServerUnaryReactor* WhoHas(grpc::CallbackServerContext* ctx, const v1::WhoHasRequest*,
                                   v1::WhoHasResponse*) override {
    auto* r = ctx->DefaultReactor();
    r->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "no such key"));
    return r;
  }
};

double Value(const std::string& text, const std::string& series) {
  for (size_t pos = 0; (pos = text.find(series, pos)) != std::string::npos; ++pos) {
    if (pos > 0 && text[pos - 1] != '\n') continue;
    return std::stod(text.substr(pos + series.size() + 1));
  }
  return -1;
}

// ConfigureServerBuilder installs the interceptor on every server.
TEST(GrpcServerMetricsTest, CountsCallsByServiceMethodAndCode) {
  FakeScheduler service;
  grpc::ServerBuilder builder;
  ConfigureServerBuilder(&builder);
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  auto stub = v1::Scheduler::NewStub(MakeChannel(absl::StrCat("127.0.0.1:", port)));
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    v1::ClusterInfoResponse resp;
    ASSERT_TRUE(stub->ClusterInfo(&ctx, {}, &resp).ok());
  }
  {
    grpc::ClientContext ctx;
    v1::WhoHasResponse resp;
    EXPECT_EQ(stub->WhoHas(&ctx, {}, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  server->Shutdown();

  const std::string text =
      prometheus::TextSerializer().Serialize(GrpcServerMetricsRegistry()->Collect());
  const std::string labels =
      "grpc_method=\"ClusterInfo\",grpc_service=\"taskgrid.v1.Scheduler\",grpc_type=\"unary\"";
  EXPECT_EQ(Value(text, "taskgrid_grpc_server_started_total{" + labels + "}"), 3) << text;
  EXPECT_EQ(Value(text, "taskgrid_grpc_server_handled_total{grpc_code=\"OK\"," + labels + "}"),
            3)
      << text;
  EXPECT_EQ(Value(text, "taskgrid_grpc_server_handling_seconds_count{" + labels + "}"), 3);
  EXPECT_EQ(Value(text,
                  "taskgrid_grpc_server_handled_total{grpc_code=\"NOT_FOUND\","
                  "grpc_method=\"WhoHas\",grpc_service=\"taskgrid.v1.Scheduler\","
                  "grpc_type=\"unary\"}"),
            1)
      << text;
}

}  // namespace
}  // namespace taskgrid
