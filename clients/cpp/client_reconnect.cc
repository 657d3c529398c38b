// ClientImpl: reconnecting when the session stream drops (the scheduler
// restarted or was unreachable). A background thread opens new sessions
// until one is welcomed or reconnect_timeout_ passes; the hello re-declares
// the keys the client wants whose definitions it no longer keeps (results
// it was told are in memory), and the graphs of keys still pending are sent
// again exactly as first sent. The scheduler adopts what reconnecting
// workers report, so results that survived are not computed again.

#include <glog/logging.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "clients/cpp/client_impl.h"
#include "common/grpc_util.h"

namespace taskgrid {

bool ClientImpl::ShouldReconnect(const grpc::Status& status) {
  switch (status.error_code()) {
    // The scheduler refused this client, or a newer stream took its named
    // session over: trying again would not help (or would fight back).
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::UNIMPLEMENTED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::ALREADY_EXISTS:
      return false;
    default:
      return true;
  }
}

void ClientImpl::ResolveLocked(FutureState* s) {
  if (s->graph == 0) return;
  auto it = pending_graphs_.find(s->graph);
  s->graph = 0;
  if (it != pending_graphs_.end() && --it->second.unresolved == 0) pending_graphs_.erase(it);
}

void ClientImpl::BeginReconnectLocked(const grpc::Status& status) {
  LOG(WARNING) << "lost connection to scheduler at " << address_ << " ("
               << (status.ok() ? "the scheduler ended the session" : status.error_message())
               << "); reconnecting for up to " << absl::FormatDuration(reconnect_timeout_);
  reconnecting_ = true;
  if (reconnect_thread_.joinable()) reconnect_thread_.detach();  // the last loop, ending
  reconnect_thread_ = std::thread([this] { ReconnectLoop(); });
}

void ClientImpl::ReconnectLoop() {
  const absl::Time give_up = absl::Now() + reconnect_timeout_;
  absl::Duration backoff = absl::Milliseconds(200);
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      const absl::Time wake = std::min(absl::Now() + backoff, give_up);
      while (!shutting_down_ && absl::Now() < wake) changed_.WaitWithDeadline(&mu_, wake);
      if (shutting_down_) {
        reconnecting_ = false;
        return;
      }
      if (absl::Now() >= give_up) {
        reconnecting_ = false;
        closed_ = absl::UnavailableError(
            absl::StrCat("lost connection to scheduler at ", address_,
                         " and could not reconnect within ",
                         absl::FormatDuration(reconnect_timeout_)));
        LOG(WARNING) << closed_.message();
        for (auto& [key, s] : states_) {
          if (IsDoneLocked(*s)) NotifyDoneLocked(s);
        }
        changed_.SignalAll();
        return;
      }
    }
    if (TryReconnect()) return;
    backoff = std::min(backoff * 2, absl::Seconds(1));
  }
}

bool ClientImpl::TryReconnect() {
  v1::ClientHello hello = BaseHello();
  hello.set_reconnecting(true);
  absl::flat_hash_set<std::string> declared;
  {
    absl::MutexLock lock(&mu_);
    attempt_welcomed_ = false;
    attempt_closed_ = false;
    for (const auto& [key, s] : states_) {
      // Keys whose graph goes out again are declared by it; failed ones
      // the client already knows about.
      if (s->graph != 0 || !s->rejected.ok() || s->state == v1::KEY_STATE_ERRED ||
          s->state == v1::KEY_STATE_CANCELLED) {
        continue;
      }
      hello.add_wanted_keys(key);
      declared.insert(key);
    }
  }
  auto attempt = std::make_shared<client::SchedulerSession>(
      MakeChannel(address_), static_cast<client::SessionListener*>(this));
  attempt->Start(hello);

  std::shared_ptr<client::SchedulerSession> replaced;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!attempt_welcomed_ && !attempt_closed_ && !shutting_down_ &&
           !changed_.WaitWithDeadline(&mu_, deadline)) {
    }
    if (attempt_welcomed_ && !attempt_closed_ && !shutting_down_) {
      replaced = std::move(session_);
      session_ = attempt;
      attempt.reset();
      size_t graphs = 0;
      for (const auto& [id, graph] : pending_graphs_) {
        ++graphs;
        for (const std::string& part : graph.parts) session_->SendFramed(part);
      }
      // Keys wanted meanwhile without a graph (FutureOf).
      v1::ClientMessage late;
      v1::UpdateGraph* update = late.mutable_update_graph();
      update->set_request_id(NextRequestId());
      for (const auto& [key, s] : states_) {
        if (s->graph == 0 && !declared.contains(key) && s->rejected.ok() &&
            s->state != v1::KEY_STATE_ERRED && s->state != v1::KEY_STATE_CANCELLED) {
          update->add_wanted_keys(key);
        }
      }
      if (update->wanted_keys_size() > 0) session_->Send(late);
      // What the graphs sent again want that no Future holds any more
      // (released meanwhile, or carried between the parts of a big graph).
      for (const auto& [id, graph] : pending_graphs_) {
        if (!graph.complete) continue;  // its Declare releases them itself
        for (const std::string& key : graph.keys) {
          if (!states_.contains(key)) session_->AppendRelease(key);
        }
      }
      reconnecting_ = false;
      LOG(INFO) << "reconnected to scheduler at " << address_ << ": re-declared "
                << declared.size() << " keys, sent " << graphs << " pending graphs again";
      changed_.SignalAll();
    }
  }
  // Outside the lock: destroying a session waits for its stream to end.
  const bool ok = attempt == nullptr;
  attempt.reset();
  replaced.reset();
  return ok;
}

}  // namespace taskgrid
