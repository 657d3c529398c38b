#include "common/grpc_server_metrics.h"

#include <grpcpp/support/server_interceptor.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "prometheus/counter.h"
#include "prometheus/histogram.h"

namespace taskgrid {
namespace {

namespace gx = grpc::experimental;

// grpc::StatusCode -> the canonical upper-case name Prometheus users expect.
const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

const char* TypeName(gx::ServerRpcInfo::Type type) {
  switch (type) {
    case gx::ServerRpcInfo::Type::UNARY: return "unary";
    case gx::ServerRpcInfo::Type::CLIENT_STREAMING: return "client_stream";
    case gx::ServerRpcInfo::Type::SERVER_STREAMING: return "server_stream";
    case gx::ServerRpcInfo::Type::BIDI_STREAMING: return "bidi_stream";
  }
  return "unknown";
}

class Families {
 public:
  Families()
      : registry_(std::make_shared<prometheus::Registry>()),
        started_(prometheus::BuildCounter()
                     .Name("taskgrid_grpc_server_started_total")
                     .Help("gRPC calls started on this server")
                     .Register(*registry_)),
        handled_(prometheus::BuildCounter()
                     .Name("taskgrid_grpc_server_handled_total")
                     .Help("gRPC calls completed on this server, by status code")
                     .Register(*registry_)),
        seconds_(prometheus::BuildHistogram()
                     .Name("taskgrid_grpc_server_handling_seconds")
                     .Help("Time from the start of a gRPC call to its status")
                     .Register(*registry_)) {}

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  void Started(const prometheus::Labels& labels) { started_.Add(labels).Increment(); }

  void Handled(prometheus::Labels labels, const char* code, double seconds) {
    seconds_.Add(labels, Buckets()).Observe(seconds);
    labels.emplace("grpc_code", code);
    handled_.Add(labels).Increment();
  }

 private:
  static const prometheus::Histogram::BucketBoundaries& Buckets() {
    static const auto* b = new prometheus::Histogram::BucketBoundaries{
        0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600};
    return *b;
  }

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& seconds_;
};

Families& Global() {
  static Families* f = new Families();  // never destroyed: servers outlive main's scope
  return *f;
}

// One per call; gRPC deletes it when the call ends.
class CountingInterceptor final : public gx::Interceptor {
 public:
  explicit CountingInterceptor(gx::ServerRpcInfo* info)
      : start_(std::chrono::steady_clock::now()) {
    // "/taskgrid.v1.Scheduler/ClusterInfo" -> service, method.
    const std::string full = info->method() != nullptr ? info->method() : "";
    const size_t slash = full.rfind('/');
    std::string service = "unknown", method = "unknown";
    if (slash != std::string::npos && slash > 0) {
      service = full.substr(1, slash - 1);
      method = full.substr(slash + 1);
    }
    labels_ = {{"grpc_service", service},
               {"grpc_method", method},
               {"grpc_type", TypeName(info->type())}};
    Global().Started(labels_);
  }

  void Intercept(gx::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(gx::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      Global().Handled(labels_, CodeName(methods->GetSendStatus().error_code()), seconds);
    }
    methods->Proceed();
  }

 private:
  std::chrono::steady_clock::time_point start_;
  prometheus::Labels labels_;
};

class CountingInterceptorFactory final : public gx::ServerInterceptorFactoryInterface {
 public:
  gx::Interceptor* CreateServerInterceptor(gx::ServerRpcInfo* info) override {
    return new CountingInterceptor(info);
  }
};

}  // namespace

std::shared_ptr<prometheus::Registry> GrpcServerMetricsRegistry() { return Global().registry(); }

void AddGrpcServerMetrics(grpc::ServerBuilder* builder) {
  std::vector<std::unique_ptr<gx::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<CountingInterceptorFactory>());
  builder->experimental().SetInterceptorCreators(std::move(creators));
}

}  // namespace taskgrid
