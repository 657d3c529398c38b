#include "services/scheduler/scheduler_service.h"

#include <glog/logging.h>

#include <chrono>
#include <random>

#include "absl/strings/str_format.h"
#include "common/grpc_auth.h"
#include "services/scheduler/proto_convert.h"
#include "services/scheduler/scheduler_metrics.h"
#include "services/scheduler/session_reactors.h"

namespace taskgrid::scheduler {
namespace {

double MonotonicNow() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string NewSchedulerId() {
  std::random_device rd;
  return absl::StrFormat("scheduler-%08x", rd());
}

}  // namespace

SchedulerService::SchedulerService(Options options, SchedulerMetrics* metrics)
    : options_(options),
      metrics_(metrics),
      scheduler_id_(NewSchedulerId()),
      start_time_(MonotonicNow()) {
  state_ = std::make_unique<SchedulerState>(&outbox_, MonotonicNow, options_.state);
  // Ticks at Dask's work-stealing interval (100 ms).
  loop_ = std::make_unique<EventLoop>([this] { AfterBatch(); }, [this] { Tick(); }, 0.1);
}

SchedulerService::~SchedulerService() { Stop(); }

void SchedulerService::Start() { loop_->Start(); }

void SchedulerService::Stop() { loop_->Stop(); }

void SchedulerService::Tick() {
  for (WorkerId id : state_->CheckWorkerTimeouts()) {
    LOG(WARNING) << "worker " << id << " missed its heartbeats; removed";
    outbox_.DetachWorker(id);
  }
  state_->Balance();
  for (ClientId id : state_->ExpireDetachedSessions()) {
    LOG(INFO) << "client session " << id << " lingered past its time; its keys are released";
  }
  state_->ExpireRecovery();
  state_->ReleaseCapacity();
  if (metrics_ != nullptr) {
    SchedulerMetrics::Counts counts;
    counts.tasks_by_state = state_->CountsByStatus();
    counts.graph_tasks = state_->num_tasks();
    counts.workers = state_->num_workers();
    counts.clients = state_->num_clients();
    counts.transitions = state_->transitions();
    counts.steal_requests = state_->steal_requests();
    counts.steals = state_->steals();
    metrics_->Update(counts);
  }
}

void SchedulerService::AfterBatch() {
  if (!transfer_waits_.empty()) AnswerTransferWaits();
  outbox_.Flush();
  // Once per batch of events (the hook also runs after tick-only wakeups).
  if (metrics_ != nullptr && loop_->batches() != batches_seen_) {
    batches_seen_ = loop_->batches();
    metrics_->ObserveLoopDelay(loop_->last_queue_delay());
  }
}

grpc::Status SchedulerService::Authenticate(grpc::CallbackServerContext* ctx,
                                            const char* method) const {
  grpc::Status status = CheckCallToken(options_.tokens, *ctx);
  if (!status.ok()) {
    LOG(WARNING) << method << " from " << ctx->peer() << " refused: " << status.error_message();
  }
  return status;
}

RawBidiReactor* SchedulerService::ClientSession(grpc::CallbackServerContext* ctx) {
  if (grpc::Status s = Authenticate(ctx, "client session"); !s.ok()) {
    return new RejectedBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>(std::move(s));
  }
  return NewClientSession(this, ctx);
}

RawBidiReactor* SchedulerService::WorkerSession(grpc::CallbackServerContext* ctx) {
  if (grpc::Status s = Authenticate(ctx, "worker registration"); !s.ok()) {
    return new RejectedBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>(std::move(s));
  }
  return NewWorkerSession(this, ctx);
}

grpc::ServerUnaryReactor* SchedulerService::ClusterInfo(grpc::CallbackServerContext* ctx,
                                                        const v1::ClusterInfoRequest*,
                                                        v1::ClusterInfoResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (grpc::Status auth = Authenticate(ctx, "ClusterInfo"); !auth.ok()) {
    reactor->Finish(auth);
    return reactor;
  }
  loop_->Post([this, reactor, resp] {
    resp->set_scheduler_id(scheduler_id_);
    const double now = MonotonicNow();
    for (const auto& w : state_->Workers()) {
      v1::WorkerInfo* info = resp->add_workers();
      info->set_id(std::to_string(w.id));
      info->set_address(w.def.address);
      info->set_name(w.def.name);
      info->set_nthreads(w.def.nthreads);
      info->set_memory_limit(w.def.memory_limit);
      info->set_memory_bytes(w.memory_bytes);
      info->mutable_resources()->insert(w.def.resources.begin(), w.def.resources.end());
      info->set_processing(w.processing);
      info->set_keys_held(w.keys_held);
      info->set_metrics_address(w.def.metrics_address);
      info->set_last_seen_seconds_ago(now - w.last_seen);
      info->set_spilled_bytes(w.spilled_bytes);
      info->set_status(w.status);
    }
    for (const auto& [state, n] : state_->CountsByStatus()) {
      (*resp->mutable_tasks_by_state())[state] = n;
    }
    resp->set_clients(static_cast<int32_t>(state_->num_clients()));
    for (const auto& f : state_->FunctionsOffered()) resp->add_functions(f);
    resp->set_uptime_seconds(now - start_time_);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* SchedulerService::RetireWorkers(
    grpc::CallbackServerContext* ctx, const v1::RetireWorkersRequest* req,
    v1::RetireWorkersResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (grpc::Status auth = Authenticate(ctx, "RetireWorkers"); !auth.ok()) {
    reactor->Finish(auth);
    return reactor;
  }
  loop_->Post([this, reactor, req, resp] {
    for (const auto& name : req->workers()) {
      auto id = state_->FindWorker(name);
      if (!id) {
        reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                     "no connected worker named or at " + name));
        return;
      }
    }
    for (const auto& name : req->workers()) {
      WorkerId id = *state_->FindWorker(name);
      for (const auto& w : state_->Workers()) {
        if (w.id == id) resp->add_retired(w.def.address);
      }
      state_->RetireWorker(id);
      outbox_.CloseWorker(id, "retired by request");
    }
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* SchedulerService::WhoHas(grpc::CallbackServerContext* ctx,
                                                   const v1::WhoHasRequest* req,
                                                   v1::WhoHasResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (grpc::Status auth = Authenticate(ctx, "WhoHas"); !auth.ok()) {
    reactor->Finish(auth);
    return reactor;
  }
  loop_->Post([this, reactor, req, resp] {
    for (const auto& loc :
         state_->WhoHas({req->keys().begin(), req->keys().end()})) {
      v1::KeyLocation* out = resp->add_locations();
      out->set_key(loc.key);
      out->set_nbytes(loc.nbytes);
      for (const auto& w : loc.workers) out->add_workers(w);
    }
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* SchedulerService::Restart(grpc::CallbackServerContext* ctx,
                                                    const v1::RestartRequest*,
                                                    v1::RestartResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (grpc::Status auth = Authenticate(ctx, "Restart"); !auth.ok()) {
    reactor->Finish(auth);
    return reactor;
  }
  loop_->Post([this, reactor, resp] {
    resp->set_tasks_forgotten(state_->Restart());
    LOG(INFO) << "restart: forgot " << resp->tasks_forgotten() << " tasks";
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace taskgrid::scheduler
