#include "services/gateway/jobs_service.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "clients/cpp/graph_split.h"

namespace taskgrid::gateway {

grpc::Status ToGrpcStatus(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

std::string GrpcCodeName(grpc::StatusCode code) {
  // absl's and gRPC's canonical codes are the same numbers and names.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

absl::string_view AuthorizationOf(const grpc::CallbackServerContext& ctx) {
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  return it == md.end() ? absl::string_view()
                        : absl::string_view(it->second.data(), it->second.size());
}

void KeyToProto(const JobKey& key, v1::JobKey* out) {
  out->set_key(key.key);
  out->set_state(key.info.state);
  if (!key.info.workers.empty()) out->set_worker(key.info.workers.front());
  out->set_nbytes(key.info.nbytes);
  if (key.info.has_error) *out->mutable_error() = key.info.error;
}

void JobToProto(const JobSnapshot& job, v1::Job* out) {
  const JobSummary& s = job.summary;
  out->set_id(s.id);
  out->set_state(JobStateToProto(s.state));
  out->set_name(s.name);
  out->set_created_time(absl::ToDoubleSeconds(s.created - absl::UnixEpoch()));
  // Progress counts the job's keys: the gateway hears only about those.
  out->set_tasks_total(s.keys_total);
  out->set_tasks_done(s.keys_done);
  out->set_tasks_erred(s.keys_erred);
  for (const JobKey& k : job.keys) KeyToProto(k, out->add_keys());
}

std::vector<std::string> WantedKeys(const v1::SubmitJobRequest& request) {
  if (request.keys_size() > 0) return {request.keys().begin(), request.keys().end()};
  absl::flat_hash_set<std::string> depended_on;
  for (const v1::TaskSpec& spec : request.tasks()) {
    for (std::string& dep : client::TaskDependencies(spec)) depended_on.insert(std::move(dep));
  }
  std::vector<std::string> keys;
  for (const v1::TaskSpec& spec : request.tasks()) {
    if (!depended_on.contains(spec.key())) keys.push_back(spec.key());
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

JobsService::JobsService(Deps deps) : deps_(deps), pool_(4) {}

JobsService::~JobsService() = default;

grpc::Status JobsService::Authenticate(grpc::CallbackServerContext* ctx) {
  if (!deps_.tokens->enabled()) return grpc::Status::OK;
  const absl::string_view value = AuthorizationOf(*ctx);
  if (deps_.tokens->Check(value)) return grpc::Status::OK;
  deps_.metrics->AuthFailure("grpc");
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      value.empty() ? "missing bearer token (authorization: Bearer TOKEN)"
                                    : "unknown bearer token");
}

void JobsService::Finish(grpc::ServerUnaryReactor* reactor, const char* method,
                         const grpc::Status& s) {
  deps_.metrics->ObserveGrpc(method, GrpcCodeName(s.error_code()));
  reactor->Finish(s);
}

grpc::ServerUnaryReactor* JobsService::SubmitJob(grpc::CallbackServerContext* ctx,
                                                 const v1::SubmitJobRequest* request,
                                                 v1::Job* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (grpc::Status auth = Authenticate(ctx); !auth.ok()) {
    Finish(reactor, "SubmitJob", auth);
    return reactor;
  }
  if (request->tasks_size() > deps_.limits.max_tasks_per_job) {
    Finish(
        reactor, "SubmitJob",
        grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("the job has ", request->tasks_size(), " tasks, more than the limit of ",
                         deps_.limits.max_tasks_per_job, " tasks per job (--max-tasks-per-job)")));
    return reactor;
  }
  if (request->ttl_seconds() < 0) {
    Finish(reactor, "SubmitJob",
           grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "ttl_seconds must not be negative"));
    return reactor;
  }
  // SubmitGraph waits for the scheduler's acknowledgement: not on a gRPC
  // thread.
  pool_.Post([this, reactor, request, response] {
    JobManager::SubmitRequest submit;
    submit.graph.tasks.assign(request->tasks().begin(), request->tasks().end());
    submit.graph.keys = WantedKeys(*request);
    submit.graph.priority = request->priority();
    submit.name = request->name();
    submit.ttl = absl::Seconds(request->ttl_seconds());
    absl::StatusOr<JobSnapshot> job = deps_.jobs->Submit(std::move(submit));
    if (job.ok()) JobToProto(*job, response);
    Finish(reactor, "SubmitJob", ToGrpcStatus(job.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* JobsService::GetJob(grpc::CallbackServerContext* ctx,
                                              const v1::GetJobRequest* request, v1::Job* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  grpc::Status s = Authenticate(ctx);
  if (s.ok()) {
    std::optional<JobSnapshot> job = deps_.jobs->registry().Get(request->id());
    if (job.has_value()) {
      JobToProto(*job, response);
    } else {
      s = grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no job ", request->id()));
    }
  }
  Finish(reactor, "GetJob", s);
  return reactor;
}

grpc::ServerUnaryReactor* JobsService::CancelJob(grpc::CallbackServerContext* ctx,
                                                 const v1::CancelJobRequest* request,
                                                 v1::Job* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  grpc::Status s = Authenticate(ctx);
  if (s.ok()) {
    absl::StatusOr<JobSnapshot> job = deps_.jobs->Cancel(request->id());
    if (job.ok()) JobToProto(*job, response);
    s = ToGrpcStatus(job.status());
  }
  Finish(reactor, "CancelJob", s);
  return reactor;
}

grpc::ServerUnaryReactor* JobsService::ListWorkers(grpc::CallbackServerContext* ctx,
                                                   const v1::ListWorkersRequest*,
                                                   v1::ListWorkersResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (grpc::Status auth = Authenticate(ctx); !auth.ok()) {
    Finish(reactor, "ListWorkers", auth);
    return reactor;
  }
  pool_.Post([this, reactor, response] {
    absl::StatusOr<v1::ClusterInfoResponse> info = deps_.jobs->ClusterInfo(absl::Seconds(5));
    if (info.ok()) {
      for (const v1::WorkerInfo& w : info->workers()) {
        v1::WorkerSummary* out = response->add_workers();
        out->set_address(w.address());
        out->set_name(w.name());
        out->set_nthreads(w.nthreads());
        out->set_memory_limit(w.memory_limit());
        out->set_memory_bytes(w.memory_bytes());
        out->mutable_resources()->insert(w.resources().begin(), w.resources().end());
        out->set_processing(w.processing());
      }
    }
    Finish(reactor, "ListWorkers", ToGrpcStatus(info.status()));
  });
  return reactor;
}

}  // namespace taskgrid::gateway
