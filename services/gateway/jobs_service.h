#pragma once
// JobsService: the gRPC taskgrid.v1.Jobs API (callback API), the same
// capabilities as REST for clients that only have generated stubs:
// SubmitJob, GetJob, WatchJob (stream of key events, ends with the job),
// GetResult (stream of chunks of the serialized taskgrid.v1.Value),
// CancelJob, ListWorkers. Every call needs `authorization: Bearer TOKEN`
// metadata when a token file is configured.
//
// Thread-safety: handlers run on gRPC's threads and never block there:
// blocking steps go to a WorkPool, streams are fed by registry callbacks.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "common/token_store.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/job_manager.h"
#include "services/gateway/limits.h"
#include "services/gateway/work_pool.h"
#include "taskgrid/v1/jobs.grpc.pb.h"

namespace taskgrid::gateway {

// Proto views of the registry's records (also used by tests).
void JobToProto(const JobSnapshot& job, v1::Job* out);
void KeyToProto(const JobKey& key, v1::JobKey* out);
// The keys a SubmitJobRequest wants: its `keys`, else every task no other
// task depends on (as the REST format does), sorted.
std::vector<std::string> WantedKeys(const v1::SubmitJobRequest& request);

class JobsService final : public v1::Jobs::CallbackService {
 public:
  struct Deps {
    JobManager* jobs;
    TokenStore* tokens;
    GatewayMetrics* metrics;
    StreamLimiter* streams;
    Limits limits;
  };
  explicit JobsService(Deps deps);
  ~JobsService() override;

  grpc::ServerUnaryReactor* SubmitJob(grpc::CallbackServerContext* ctx,
                                      const v1::SubmitJobRequest* request,
                                      v1::Job* response) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* ctx,
                                   const v1::GetJobRequest* request, v1::Job* response) override;
  grpc::ServerWriteReactor<v1::JobEvent>* WatchJob(grpc::CallbackServerContext* ctx,
                                                   const v1::GetJobRequest* request) override;
  grpc::ServerWriteReactor<v1::ResultChunk>* GetResult(
      grpc::CallbackServerContext* ctx, const v1::GetResultRequest* request) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* ctx,
                                      const v1::CancelJobRequest* request,
                                      v1::Job* response) override;
  grpc::ServerUnaryReactor* ListWorkers(grpc::CallbackServerContext* ctx,
                                        const v1::ListWorkersRequest* request,
                                        v1::ListWorkersResponse* response) override;

 private:
  // OK, or UNAUTHENTICATED (counted) when the token is missing or unknown.
  grpc::Status Authenticate(grpc::CallbackServerContext* ctx);
  // Finishes a unary call and counts it.
  void Finish(grpc::ServerUnaryReactor* reactor, const char* method, const grpc::Status& s);

  Deps deps_;
  WorkPool pool_;
};

// The call's `authorization` metadata ("" when absent).
absl::string_view AuthorizationOf(const grpc::CallbackServerContext& ctx);
// absl::Status -> grpc::Status with the same code and message.
grpc::Status ToGrpcStatus(const absl::Status& s);
// "OK", "INVALID_ARGUMENT", ... for metrics labels.
std::string GrpcCodeName(grpc::StatusCode code);

}  // namespace taskgrid::gateway
