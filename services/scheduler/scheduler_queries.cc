// SchedulerState queries and the invariant check used by tests.

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "services/scheduler/scheduler_model.h"
#include "services/scheduler/scheduler_state.h"

namespace taskgrid::scheduler {

std::vector<SchedulerState::WorkerView> SchedulerState::Workers() const {
  std::vector<WorkerView> out;
  for (const Worker* w : worker_order_) {
    out.push_back(WorkerView{w->id, w->def, static_cast<int>(w->processing.size()),
                             static_cast<int>(w->has_what.size()), w->bytes_held,
                             w->memory_bytes, w->last_seen, w->spilled_bytes,
                             w->retiring ? "retiring" : w->paused ? "paused" : "running"});
  }
  return out;
}

const FunctionStats* SchedulerState::RunningFunction(const std::string& key) const {
  const Task* t = Find(key);
  return t != nullptr && t->status == KeyStatus::kProcessing ? t->fn : nullptr;
}

std::optional<WorkerId> SchedulerState::FindWorker(const std::string& address_or_name) const {
  for (const Worker* w : worker_order_) {
    if (w->def.address == address_or_name) return w->id;
  }
  for (const Worker* w : worker_order_) {
    if (!w->def.name.empty() && w->def.name == address_or_name) return w->id;
  }
  return std::nullopt;
}

std::map<std::string, int64_t> SchedulerState::CountsByStatus() const {
  std::map<std::string, int64_t> out;
  for (int s = 0; s < 10; ++s) {
    if (counts_[s] != 0) out[KeyStatusName(static_cast<KeyStatus>(s))] = counts_[s];
  }
  return out;
}

std::vector<DepLocation> SchedulerState::WhoHas(const std::vector<std::string>& keys) const {
  std::vector<DepLocation> out;
  auto add = [&out](const Task* t) {
    DepLocation loc;
    loc.key = t->key;
    loc.nbytes = t->nbytes;
    for (const Worker* w : t->who_has) loc.workers.push_back(w->def.address);
    out.push_back(std::move(loc));
  };
  if (keys.empty()) {
    for (const auto& [k, t] : tasks_) {
      if (t->status == KeyStatus::kMemory) add(t.get());
    }
    std::sort(out.begin(), out.end(),
              [](const DepLocation& a, const DepLocation& b) { return a.key < b.key; });
  } else {
    for (const auto& key : keys) {
      if (const Task* t = Find(key)) add(t);
    }
  }
  return out;
}

std::optional<KeyStatus> SchedulerState::StatusOf(const std::string& key) const {
  const Task* t = Find(key);
  if (t == nullptr) return std::nullopt;
  return t->status;
}

std::vector<std::string> SchedulerState::FunctionsOffered() const {
  std::vector<std::string> out;
  for (const auto& [f, n] : offered_) out.push_back(f);
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status SchedulerState::Validate() const {
  int64_t counts[10] = {};
  size_t links_down = 0, links_up = 0;
  for (const auto& [key, tp] : tasks_) {
    const Task* t = tp.get();
    ++counts[static_cast<int>(t->status)];
    auto fail = [&](const std::string& what) {
      return absl::InternalError(absl::StrCat("task ", t->key, " (",
                                              KeyStatusName(t->status), "): ", what));
    };
    // Links both ways: every dependency lists this task as a dependent (a
    // hash lookup), and the totals of both sides match (below), so every
    // dependent lists it too. Searching each dependent's deps instead is
    // quadratic in a fan-in of 10^6 dependencies.
    uint32_t waiters = 0;
    for (const Task* dep : t->dependents) {
      if (NeedsDeps(dep->status)) ++waiters;
    }
    links_down += t->deps.size();
    links_up += t->dependents.size();
    for (const Task* d : t->deps) {
      if (!d->dependents.contains(t)) return fail("dependency " + d->key + " does not list it");
    }
    if (waiters != t->waiters) {
      return fail(absl::StrCat("waiters ", t->waiters, " != ", waiters));
    }
    if (t->status == KeyStatus::kWaiting) {
      uint32_t missing = 0;
      for (const Task* d : t->deps) missing += d->status != KeyStatus::kMemory;
      if (missing != t->missing) {
        return fail(absl::StrCat("missing ", t->missing, " != ", missing));
      }
      if (missing == 0 && !held_.contains(t)) {
        return fail("waiting with every dependency in memory");
      }
    }
    if (t->status == KeyStatus::kMemory) {
      if (t->who_has.empty()) return fail("in memory with no holder");
      if (t->who_wants.empty() && t->waiters == 0 &&
          !(t->adopted && !t->claimed && clock_() < t->claim_deadline)) {
        return fail("in memory but unwanted");
      }
    } else if (!t->who_has.empty()) {
      return fail("has holders but is not in memory");
    }
    for (const Worker* w : t->who_has) {
      if (!w->has_what.contains(t)) return fail("holder " + w->def.address + " lacks it");
    }
    if (t->status == KeyStatus::kProcessing) {
      if (t->processing_on == nullptr || !t->processing_on->processing.contains(t)) {
        return fail("processing but not on its worker");
      }
    } else if (t->processing_on != nullptr) {
      return fail("has a worker but is not processing");
    }
    if (t->ahead && (t->deps.size() != 1 || t->deps[0]->status == KeyStatus::kMemory)) {
      return fail("sent ahead, but not of one input still being computed");
    }
    if ((t->status == KeyStatus::kReleased || t->status == KeyStatus::kErred) &&
        t->who_wants.empty() && t->dependents.empty()) {
      return fail("should have been forgotten");
    }
    if (t->status == KeyStatus::kReleased && (!t->who_wants.empty() || t->waiters > 0)) {
      // Only a task known by key alone waits so, and never past its grace.
      if (!t->adopted) return fail("released although needed");
      if (!orphans_.contains(t)) return fail("adopted, needed, and given up on by no one");
    }
    if (t->adopted && (t->fn != nullptr || !t->run_spec.empty() || !t->deps.empty())) {
      return fail("adopted but has a definition");
    }
    if (t->adopted && NeedsDeps(t->status)) return fail("adopted but being computed");
    for (ClientId c : t->who_wants) {
      auto it = clients_.find(c);
      if (it == clients_.end() || !it->second.wants.contains(t)) {
        return fail(absl::StrCat("client ", c, " does not list it"));
      }
    }
  }
  if (links_down != links_up) {
    return absl::InternalError(absl::StrCat(links_up, " dependent links but ", links_down,
                                            " dependency links"));
  }
  for (int s = 0; s < 10; ++s) {
    if (counts[s] != counts_[s]) {
      return absl::InternalError(absl::StrCat("count of ", KeyStatusName(static_cast<KeyStatus>(s)),
                                              " is ", counts_[s], ", actual ", counts[s]));
    }
  }
  for (const auto& [id, w] : workers_) {
    size_t ahead = 0;
    for (const Task* t : w->processing) {
      if (t->processing_on != w.get()) {
        return absl::InternalError("worker " + w->def.address + " processes " + t->key +
                                   " which is not on it");
      }
      ahead += t->ahead;
    }
    if (ahead != w->ahead) {
      return absl::InternalError(absl::StrCat("worker ", w->def.address, " counts ", w->ahead,
                                              " tasks sent ahead, actual ", ahead));
    }
  }
  size_t queued = 0;
  for (const auto& [key, tp] : tasks_) queued += tp->status == KeyStatus::kQueued;
  if (queued != queued_.size()) {
    return absl::InternalError(absl::StrCat(queued, " tasks queued, queue holds ", queued_.size()));
  }
  for (const Task* t : queued_) {
    if (t->status != KeyStatus::kQueued) {
      return absl::InternalError("queue holds " + t->key + " which is not queued");
    }
  }
  for (const Task* t : orphans_) {
    const Task* known = Find(t->key);
    if (known != t || !t->adopted) {
      return absl::InternalError("orphan list holds " + t->key + " which is not adopted");
    }
  }
  for (ClientId c : recovering_clients_) {
    if (!clients_.contains(c)) {
      return absl::InternalError(absl::StrCat("reconnected client ", c, " is gone"));
    }
  }
  for (const Task* t : held_) {
    const Task* known = Find(t->key);
    if (known != t || t->status != KeyStatus::kWaiting || t->missing != 0) {
      return absl::InternalError("held list holds " + t->key + " which is not ready");
    }
  }
  absl::flat_hash_map<WorkerId, size_t> steals;
  for (const auto& [key, tp] : tasks_) {
    if (tp->steal_to != kNoWorker && workers_.contains(tp->steal_to)) ++steals[tp->steal_to];
  }
  for (const auto& [id, w] : workers_) {
    if (steals[id] != w->incoming_steals) {
      return absl::InternalError(absl::StrCat("worker ", w->def.address, " expects ",
                                              w->incoming_steals, " stolen tasks, ",
                                              steals[id], " are pending"));
    }
    absl::flat_hash_map<std::string, double> used;
    for (const Task* t : w->processing) {
      if (t->restrictions == nullptr) continue;
      for (const auto& [name, amount] : t->restrictions->resources) used[name] += amount;
    }
    for (const auto& [name, amount] : w->resources_used) {
      auto it = used.find(name);
      if (std::abs((it == used.end() ? 0.0 : it->second) - amount) > 1e-9) {
        return absl::InternalError(absl::StrCat("worker ", w->def.address, " holds ", amount,
                                                " of ", name, " for its tasks' ",
                                                it == used.end() ? 0.0 : it->second));
      }
    }
  }
  if (absl::Status s = ValidateTransfers(); !s.ok()) return s;
  if (!ready_.empty() || !release_candidates_.empty() || !forget_candidates_.empty() ||
      !compute_candidates_.empty() || !graveyard_.empty() || !freed_workers_.empty()) {
    return absl::InternalError("work lists not drained");
  }
  return absl::OkStatus();
}

}  // namespace taskgrid::scheduler
