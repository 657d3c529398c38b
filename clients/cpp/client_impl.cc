#include "clients/cpp/client_impl.h"

#include <unistd.h>

#include <glog/logging.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "clients/cpp/as_completed.h"
#include "common/grpc_util.h"

namespace taskgrid {

FutureState::FutureState(std::shared_ptr<ClientImpl> c, std::string k)
    : client(std::move(c)), key(std::move(k)) {}

FutureState::~FutureState() { client->Forget(this); }

ClientImpl::ClientImpl(std::string scheduler_address)
    : address_(std::move(scheduler_address)) {
  if (const char* env = std::getenv("TASKGRID_RECONNECT_TIMEOUT")) {
    double seconds = 0;
    if (absl::SimpleAtod(env, &seconds) && seconds >= 0) {
      reconnect_timeout_ = absl::Seconds(seconds);
    } else {
      LOG(WARNING) << "ignoring TASKGRID_RECONNECT_TIMEOUT=\"" << env
                   << "\": not a number of seconds >= 0";
    }
  }
}

ClientImpl::~ClientImpl() { Shutdown(); }

v1::ClientHello ClientImpl::BaseHello() const {
  v1::ClientHello hello;
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  hello.set_name(absl::StrCat("cpp-client@", host, ":", getpid()));
  hello.set_api_version("v1");
  hello.set_session_name(session_options_.name);
  hello.set_linger_seconds(session_options_.linger_seconds);
  return hello;
}

absl::Status ClientImpl::Start(absl::Duration timeout) {
  std::shared_ptr<grpc::Channel> channel = MakeChannel(address_);
  scheduler_ = v1::Scheduler::NewStub(channel);
  session_ = std::make_unique<client::SchedulerSession>(
      channel, static_cast<client::SessionListener*>(this));
  session_->Start(BaseHello());

  absl::MutexLock lock(&mu_);
  auto answered = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return welcomed_ || !closed_.ok();
  };
  const absl::Time deadline = absl::Now() + timeout;
  while (!answered()) {
    if (changed_.WaitWithDeadline(&mu_, deadline) && !answered()) {
      return absl::DeadlineExceededError(
          absl::StrCat("no answer from scheduler at ", address_, " within ",
                       absl::FormatDuration(timeout)));
    }
  }
  if (!welcomed_) return closed_;
  fetcher_.set_requester(absl::StrCat("client:", client_id_));
  return absl::OkStatus();
}

void ClientImpl::Shutdown() {
  bool welcomed;
  std::thread reconnecting;
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return;
    shutting_down_ = true;
    welcomed = welcomed_;
    reconnecting = std::move(reconnect_thread_);
    changed_.SignalAll();  // wakes the reconnect loop
  }
  if (reconnecting.joinable()) {
    if (reconnecting.get_id() == std::this_thread::get_id()) {
      reconnecting.detach();
    } else {
      reconnecting.join();
    }
  }
  // A session that never got its welcome (Connect timed out) has nothing
  // to flush: cancel it at once rather than wait for a polite close.
  if (session_ != nullptr) {
    session_->Shutdown(welcomed ? std::chrono::seconds(2) : std::chrono::seconds(0));
  }
  absl::MutexLock lock(&mu_);
  if (closed_.ok()) {
    closed_ = absl::CancelledError(
        absl::StrCat("the client of scheduler ", address_, " was closed"));
  }
  for (auto& [key, s] : states_) {
    if (IsDoneLocked(*s)) NotifyDoneLocked(s);
  }
  changed_.SignalAll();
}

void ClientImpl::OnEvents(v1::ClientEventBatch& batch) {
  std::shared_ptr<const Client::KeyListener> listener;
  std::vector<std::pair<std::string, KeyInfo>> changed;
  {
    absl::MutexLock lock(&mu_);
    listener = key_listener_;
    bool replay = false;  // a resumed session's keys follow its Welcome
    for (v1::ClientEvent& ev : *batch.mutable_events()) {
      switch (ev.event_case()) {
        case v1::ClientEvent::kKeyEvent:
          if (FutureState* s = ApplyKeyEvent(*ev.mutable_key_event()); s == nullptr) {
            KeepResumedLocked(*ev.mutable_key_event(), replay);
          } else if (listener != nullptr) {
            changed.emplace_back(s->key, InfoLocked(*s));
          }
          break;
        case v1::ClientEvent::kGraphAck:
          ApplyAck(*ev.mutable_graph_ack());
          break;
        case v1::ClientEvent::kWelcome:
          if (!welcomed_) {
            client_id_ = ev.welcome().client_id();
            replay = ApplyWelcomeLocked(*ev.mutable_welcome());
            welcomed_ = true;
          } else if (reconnecting_) {
            attempt_welcomed_ = true;
          }
          break;
        case v1::ClientEvent::EVENT_NOT_SET:
          break;  // a newer scheduler's event kind: ignored
      }
    }
    changed_.SignalAll();
  }
  for (const auto& [key, info] : changed) (*listener)(key, info);
}

KeyInfo ClientImpl::InfoLocked(const FutureState& s) const {
  KeyInfo info;
  info.state = s.state;
  info.workers = s.workers;
  info.nbytes = s.nbytes;
  info.type_name = s.type_name;
  if (s.error != nullptr) {
    info.has_error = true;
    info.error = *s.error;
  }
  info.generation = s.generation;
  return info;
}

KeyInfo ClientImpl::Info(const FutureState& s) {
  absl::MutexLock lock(&mu_);
  return InfoLocked(s);
}

void ClientImpl::SetKeyListener(Client::KeyListener listener) {
  auto shared = listener ? std::make_shared<const Client::KeyListener>(std::move(listener))
                         : nullptr;
  absl::MutexLock lock(&mu_);
  key_listener_ = std::move(shared);
}

FutureState* ClientImpl::ApplyKeyEvent(v1::KeyEvent& ev) {
  auto it = states_.find(ev.key());
  if (it == states_.end()) return nullptr;  // released meanwhile, or a helper key
  FutureState* s = it->second;
  s->state = ev.state();
  ++s->generation;
  if (ev.state() == v1::KEY_STATE_MEMORY) {
    s->workers.assign(std::make_move_iterator(ev.mutable_workers()->begin()),
                      std::make_move_iterator(ev.mutable_workers()->end()));
    s->nbytes = ev.nbytes();
    s->type_name = ev.type_name();
    s->error.reset();
  } else {
    s->workers.clear();
    if (ev.has_error()) {
      auto error = std::make_shared<v1::TaskError>();
      error->Swap(ev.mutable_error());
      s->error = std::move(error);
    }
  }
  if (IsDoneLocked(*s)) {
    ResolveLocked(s);
    NotifyDoneLocked(s);
  }
  return s;
}

void ClientImpl::ApplyAck(v1::GraphAck& ack) {
  auto waiting = awaited_acks_.find(ack.request_id());
  if (waiting != awaited_acks_.end()) waiting->second = ack;
  if (ack.accepted()) return;
  // Rejections are rare; finding the keys the update declared by a scan
  // saves remembering every request's keys.
  const absl::Status rejected = absl::InvalidArgumentError(ack.error());
  for (auto& [key, s] : states_) {
    if (s->request_id != ack.request_id() || s->state != v1::KEY_STATE_UNSPECIFIED) continue;
    s->rejected = rejected;
    ResolveLocked(s);
    ++s->generation;
    NotifyDoneLocked(s);
  }
}

void ClientImpl::OnClosed(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  if (reconnecting_) {  // a failed reconnect attempt
    attempt_closed_ = true;
    changed_.SignalAll();
    return;
  }
  if (closed_.ok() && welcomed_ && !shutting_down_ && ShouldReconnect(status) &&
      reconnect_timeout_ > absl::ZeroDuration()) {
    BeginReconnectLocked(status);
    return;
  }
  if (closed_.ok()) {
    if (!welcomed_) {
      closed_ = absl::UnavailableError(absl::StrCat(
          "cannot connect to scheduler at ", address_, ": ", status.error_message()));
    } else if (shutting_down_) {
      closed_ = absl::CancelledError(
          absl::StrCat("the client of scheduler ", address_, " was closed"));
    } else {
      closed_ = absl::UnavailableError(absl::StrCat(
          "lost connection to scheduler at ", address_, ": ",
          status.ok() ? "the scheduler ended the session" : status.error_message()));
      LOG(WARNING) << closed_.message();
    }
  }
  for (auto& [key, s] : states_) {
    if (IsDoneLocked(*s)) NotifyDoneLocked(s);
  }
  changed_.SignalAll();
}

void ClientImpl::Forget(FutureState* s) {
  absl::MutexLock lock(&mu_);
  auto it = states_.find(s->key);
  // A newer state may have taken the key over while this one was dying;
  // then the key is still wanted.
  if (it == states_.end() || it->second != s) return;
  ResolveLocked(s);
  states_.erase(it);
  if (s->rejected.ok() && session_ != nullptr) session_->AppendRelease(s->key);
}

bool ClientImpl::IsDoneLocked(const FutureState& s) const {
  switch (s.state) {
    case v1::KEY_STATE_MEMORY:
    case v1::KEY_STATE_ERRED:
    case v1::KEY_STATE_CANCELLED:
    case v1::KEY_STATE_NO_WORKER:
    case v1::KEY_STATE_LOST:
      return true;
    default:
      return !s.rejected.ok() || !closed_.ok();
  }
}

void ClientImpl::NotifyDoneLocked(FutureState* s) {
  for (client::CompletionQueue* q : s->listeners) q->ready.push_back(s);
  s->listeners.clear();
}

bool ClientImpl::AwaitDoneLocked(const FutureState& s, absl::Time deadline) {
  while (!IsDoneLocked(s)) {
    if (changed_.WaitWithDeadline(&mu_, deadline) && !IsDoneLocked(s)) return false;
  }
  return true;
}

std::string ClientImpl::StatusName(const FutureState& s) {
  absl::MutexLock lock(&mu_);
  if (!IsDoneLocked(s)) return "pending";
  switch (s.state) {
    case v1::KEY_STATE_MEMORY: return "finished";
    case v1::KEY_STATE_CANCELLED: return "cancelled";
    case v1::KEY_STATE_LOST: return "lost";
    default: return "error";
  }
}

bool ClientImpl::Done(const FutureState& s) {
  absl::MutexLock lock(&mu_);
  return IsDoneLocked(s);
}

bool ClientImpl::WaitDone(const FutureState& s, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  return AwaitDoneLocked(s, deadline);
}

absl::Status ClientImpl::Exception(const FutureState& s) {
  absl::MutexLock lock(&mu_);
  if (!IsDoneLocked(s) || s.state == v1::KEY_STATE_MEMORY) return absl::OkStatus();
  return FailureLocked(s);
}

}  // namespace taskgrid
