// ClientImpl: durable sessions. A client connecting with a session name
// that the scheduler still holds resumes it: the Welcome carries the
// session's records and is followed, in the same batch, by the current
// state of every key the session wants. Those keys have no Future in this
// new process yet, so their latest event is kept in resumed_keys_ until
// FutureOf adopts it (without declaring the key again: the scheduler
// already counts the session as wanting it).

#include <utility>

#include "clients/cpp/client_impl.h"

namespace taskgrid {

bool ClientImpl::ApplyWelcomeLocked(v1::Welcome& welcome) {
  resumed_ = welcome.resumed();
  for (auto& [name, value] : *welcome.mutable_session_data()) {
    session_data_.emplace(name, std::move(value));
  }
  return resumed_;
}

void ClientImpl::KeepResumedLocked(v1::KeyEvent& ev, bool replay) {
  if (!resumed_) return;
  auto it = resumed_keys_.find(ev.key());
  if (it != resumed_keys_.end()) {
    it->second = std::move(ev);
  } else if (replay) {
    resumed_keys_.emplace(ev.key(), std::move(ev));
  }
}

Future ClientImpl::AdoptResumedLocked(const std::string& key) {
  auto it = resumed_keys_.find(key);
  if (it == resumed_keys_.end() || states_.contains(key)) return Future();
  auto s = std::make_shared<FutureState>(shared_from_this(), key);
  states_.emplace(key, s.get());
  v1::KeyEvent ev = std::move(it->second);
  resumed_keys_.erase(it);
  ApplyKeyEvent(ev);
  return Future(std::move(s));
}

bool ClientImpl::resumed() {
  absl::MutexLock lock(&mu_);
  return resumed_;
}

std::vector<std::string> ClientImpl::ResumedKeys() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> keys;
  keys.reserve(resumed_keys_.size());
  for (const auto& [key, ev] : resumed_keys_) keys.push_back(key);
  return keys;
}

std::map<std::string, std::string> ClientImpl::SessionData() {
  absl::MutexLock lock(&mu_);
  return session_data_;
}

absl::Status ClientImpl::SetSessionData(const std::string& name, const std::string& value) {
  v1::ClientMessage msg;
  msg.mutable_set_session_data()->set_name(name);
  msg.mutable_set_session_data()->set_value(value);
  absl::MutexLock lock(&mu_);  // keeps the order with updates and releases
  if (!closed_.ok()) return closed_;
  session_->Send(msg);
  return absl::OkStatus();
}

}  // namespace taskgrid
