// SchedulerService's Replicate and Rebalance RPCs. Each asks the state
// machine for copies, then waits on the event loop until the workers have
// confirmed them (or failed, or left), so the caller's next WhoHas sees the
// result, as Dask's replicate/rebalance return when done.

#include <glog/logging.h>

#include "services/scheduler/scheduler_service.h"

namespace taskgrid::scheduler {
namespace {

// Replies wait at most this long when the caller set no deadline.
constexpr std::chrono::seconds kLongestWait(300);

grpc::Status ToGrpc(const absl::Status& s) {
  const auto code = s.code() == absl::StatusCode::kFailedPrecondition
                        ? grpc::StatusCode::FAILED_PRECONDITION
                        : grpc::StatusCode::INVALID_ARGUMENT;
  return grpc::Status(code, std::string(s.message()));
}

std::chrono::system_clock::time_point WaitDeadline(const grpc::CallbackServerContext* ctx) {
  return std::min(ctx->deadline(), std::chrono::system_clock::now() + kLongestWait);
}

}  // namespace

void SchedulerService::WaitForTransfers(TransferWait wait) {
  if (!state_->TransfersPending(wait.keys)) {
    wait.fill_response();
    wait.reactor->Finish(grpc::Status::OK);
    return;
  }
  transfer_waits_.push_back(std::move(wait));
}

void SchedulerService::AnswerTransferWaits() {
  const auto now = std::chrono::system_clock::now();
  for (size_t i = 0; i < transfer_waits_.size();) {
    TransferWait& w = transfer_waits_[i];
    const bool done = !state_->TransfersPending(w.keys);
    if (!done && now < w.deadline) {
      ++i;
      continue;
    }
    if (done) {
      w.fill_response();
      w.reactor->Finish(grpc::Status::OK);
    } else {
      w.reactor->Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                     "the workers did not confirm every copy in time"));
    }
    transfer_waits_[i] = std::move(transfer_waits_.back());
    transfer_waits_.pop_back();
  }
}

grpc::ServerUnaryReactor* SchedulerService::Replicate(grpc::CallbackServerContext* ctx,
                                                      const v1::ReplicateRequest* req,
                                                      v1::ReplicateResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (grpc::Status auth = Authenticate(ctx, "Replicate"); !auth.ok()) {
    reactor->Finish(auth);
    return reactor;
  }
  const auto deadline = WaitDeadline(ctx);
  loop_->Post([this, reactor, req, resp, deadline] {
    std::vector<std::string> keys(req->keys().begin(), req->keys().end());
    absl::StatusOr<std::vector<std::string>> started =
        state_->Replicate(keys, req->n(), {req->workers().begin(), req->workers().end()});
    if (!started.ok()) {
      reactor->Finish(ToGrpc(started.status()));
      return;
    }
    if (!started->empty()) {
      LOG(INFO) << "replicate: copying " << started->size() << " keys to reach " << req->n()
                << " replicas";
    }
    auto fill = [this, keys, resp] {
      for (const DepLocation& loc : state_->WhoHas(keys)) {
        v1::KeyLocation* out = resp->add_locations();
        out->set_key(loc.key);
        out->set_nbytes(loc.nbytes);
        for (const std::string& w : loc.workers) out->add_workers(w);
      }
    };
    WaitForTransfers(TransferWait{reactor, *std::move(started), std::move(fill), deadline});
  });
  return reactor;
}

grpc::ServerUnaryReactor* SchedulerService::Rebalance(grpc::CallbackServerContext* ctx,
                                                      const v1::RebalanceRequest* req,
                                                      v1::RebalanceResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  if (grpc::Status auth = Authenticate(ctx, "Rebalance"); !auth.ok()) {
    reactor->Finish(auth);
    return reactor;
  }
  const auto deadline = WaitDeadline(ctx);
  loop_->Post([this, reactor, req, resp, deadline] {
    absl::StatusOr<SchedulerState::RebalanceResult> moved =
        state_->Rebalance({req->keys().begin(), req->keys().end()},
                          {req->workers().begin(), req->workers().end()});
    if (!moved.ok()) {
      reactor->Finish(ToGrpc(moved.status()));
      return;
    }
    LOG(INFO) << "rebalance: moving " << moved->keys_moved << " keys (" << moved->bytes_moved
              << " bytes)";
    resp->set_keys_moved(moved->keys_moved);
    resp->set_bytes_moved(moved->bytes_moved);
    WaitForTransfers(TransferWait{reactor, std::move(moved->keys), [] {}, deadline});
  });
  return reactor;
}

}  // namespace taskgrid::scheduler
