// Durable (named) client sessions of SchedulerState: a session that names
// itself in its hello survives its stream. When the stream drops, the keys
// it wants and its session data stay for its linger time; a new stream
// with the same name (and owner) resumes it, learns the current state of
// its keys (ReplayWanted) and gets its data back. This is what lets a
// gateway restart, or move to another pod, without losing the jobs the
// scheduler holds for it. Unnamed clients are untouched by all of this.

#include <cmath>

#include "absl/strings/str_cat.h"
#include "services/scheduler/scheduler_model.h"
#include "services/scheduler/scheduler_state.h"

namespace taskgrid::scheduler {

absl::StatusOr<SchedulerState::SessionOpened> SchedulerState::OpenSession(
    const SessionRequest& request) {
  if (!std::isfinite(request.linger_seconds) || request.linger_seconds < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("linger_seconds must be a finite number >= 0, not ", request.linger_seconds));
  }
  SessionOpened opened;
  if (request.session_name.empty()) {
    opened.id = AddClient(request.name);
    return opened;
  }
  const double linger =
      request.linger_seconds > 0 ? request.linger_seconds : options_.default_linger;
  auto known = sessions_.find(request.session_name);
  if (known != sessions_.end()) {
    Client& c = clients_.at(known->second);
    if (c.owner != request.owner) {
      return absl::PermissionDeniedError(absl::StrCat(
          "session \"", request.session_name, "\" belongs to another token"));
    }
    opened.id = known->second;
    opened.resumed = true;
    opened.taken_over = !c.detached;
    c.name = request.name;
    c.linger = linger;
    c.detached = false;
    c.linger_until = 0;
    opened.data = &c.data;
    return opened;
  }
  opened.id = AddClient(request.name);
  Client& c = clients_.at(opened.id);
  c.session_name = request.session_name;
  c.owner = request.owner;
  c.linger = linger;
  sessions_.emplace(request.session_name, opened.id);
  opened.data = &c.data;
  return opened;
}

void SchedulerState::DetachClient(ClientId client) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  if (it->second.session_name.empty()) {
    RemoveClient(client);
    return;
  }
  it->second.detached = true;
  it->second.linger_until = clock_() + it->second.linger;
}

void SchedulerState::ReplayWanted(ClientId client) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  for (Task* t : it->second.wants) {
    KeyEventOut ev;
    ev.key = t->key;
    ev.status = t->status;
    if (t->status == KeyStatus::kMemory) {
      ev.nbytes = t->nbytes;
      ev.type_name = *t->type_name;
      for (Worker* w : t->who_has) ev.workers.push_back(w->def.address);
    } else if (t->status == KeyStatus::kErred) {
      ev.error = t->error;
    }
    outbox_->KeyEvent(client, ev);
  }
}

std::vector<ClientId> SchedulerState::ExpireDetachedSessions() {
  if (sessions_.empty()) return {};
  const double now = clock_();
  std::vector<ClientId> expired;
  for (const auto& [name, id] : sessions_) {
    const Client& c = clients_.at(id);
    if (c.detached && now >= c.linger_until) expired.push_back(id);
  }
  for (ClientId id : expired) RemoveClient(id);
  return expired;
}

void SchedulerState::SetSessionData(ClientId client, const std::string& name,
                                    std::string value) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  if (value.empty()) {
    it->second.data.erase(name);
  } else {
    it->second.data[name] = std::move(value);
  }
}

size_t SchedulerState::num_detached_sessions() const {
  size_t n = 0;
  for (const auto& [name, id] : sessions_) n += clients_.at(id).detached;
  return n;
}

}  // namespace taskgrid::scheduler
