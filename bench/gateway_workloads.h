#pragma once
// Submit->result latency of a one-task job through taskgrid-gateway, the
// way a program in another language uses it: REST (HTTP/1.1 keep-alive:
// POST /v1/jobs, then GET /v1/jobs/{id}/results/{key}, which waits for the
// value) and gRPC Jobs (SubmitJob, then the GetResult stream). Each round
// trip is timed from the submit to the decoded value; the job is deleted
// afterwards, outside the timed region. The first 20 round trips warm the
// connections up and are not counted. Results are checked (inc(i) == i+1).
//
// Thread-safety: call from one thread.

#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "bench/bench_workloads.h"

namespace taskgrid::bench {

// `http_address` is host:port of the gateway's HTTP listener.
absl::StatusOr<nlohmann::json> RunGatewayRest(const std::string& http_address,
                                              const WorkloadOptions& options);
// `grpc_address` is host:port of the gateway's gRPC listener.
absl::StatusOr<nlohmann::json> RunGatewayGrpc(const std::string& grpc_address,
                                              const WorkloadOptions& options);

}  // namespace taskgrid::bench
