#pragma once
// gRPC server metrics of every taskgrid server (ConfigureServerBuilder
// installs them): an interceptor counts every call by service, method and
// status code and times it, into one process-wide Prometheus registry that
// each service serves beside its own metrics:
//   taskgrid_grpc_server_started_total{grpc_service,grpc_method,grpc_type}
//   taskgrid_grpc_server_handled_total{grpc_service,grpc_method,grpc_type,grpc_code}
//   taskgrid_grpc_server_handling_seconds{grpc_service,grpc_method,grpc_type} (histogram)
// (the label scheme of go-grpc-prometheus, so existing dashboards apply).
// Streams count once, when they end; their handling time is the stream's life.
//
// Thread-safety: everything may be called from any thread.

#include <memory>

#include <grpcpp/grpcpp.h>

#include "prometheus/registry.h"

namespace taskgrid {

// The registry holding the gRPC server metrics of this process.
std::shared_ptr<prometheus::Registry> GrpcServerMetricsRegistry();

// Installs the counting interceptor on `builder` (before BuildAndStart).
// gRPC keeps one list of interceptor creators per builder and this sets it:
// a server that needs more interceptors must pass them in the same list.
void AddGrpcServerMetrics(grpc::ServerBuilder* builder);

}  // namespace taskgrid
