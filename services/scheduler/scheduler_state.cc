// Core transitions of SchedulerState: task states, data location and
// release/forget bookkeeping. Graph updates live in scheduler_graph.cc,
// placement in scheduler_placement.cc, queries in scheduler_queries.cc.

#include "services/scheduler/scheduler_state.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/scheduler/scheduler_model.h"

namespace taskgrid::scheduler {
namespace {

// Heap order for ready_: the top is the task that runs first.
bool RunsAfter(const Task* a, const Task* b) { return RunsBefore()(b, a); }

}  // namespace

const char* KeyStatusName(KeyStatus s) {
  switch (s) {
    case KeyStatus::kReleased: return "released";
    case KeyStatus::kWaiting: return "waiting";
    case KeyStatus::kQueued: return "queued";
    case KeyStatus::kProcessing: return "processing";
    case KeyStatus::kMemory: return "memory";
    case KeyStatus::kErred: return "erred";
    case KeyStatus::kForgotten: return "forgotten";
    case KeyStatus::kCancelled: return "cancelled";
    case KeyStatus::kLost: return "lost";
    case KeyStatus::kNoWorker: return "no-worker";
  }
  return "unknown";
}

SchedulerState::SchedulerState(SchedulerOutbox* outbox, Clock clock,
                               Options options)
    : outbox_(outbox), clock_(std::move(clock)), options_(options) {}

SchedulerState::~SchedulerState() = default;

Task* SchedulerState::Find(const std::string& key) const {
  auto it = tasks_.find(key);
  return it == tasks_.end() ? nullptr : it->second.get();
}

const std::string* SchedulerState::InternTypeName(const std::string& name) {
  if (name.empty()) return &kNoTypeName;
  auto it = type_names_.find(name);
  if (it != type_names_.end()) return &*it;
  // Type names come from workers: a bound keeps a misbehaving one (a new
  // name per result) from growing this set without limit.
  constexpr size_t kMaxTypeNames = 4096;
  if (type_names_.size() >= kMaxTypeNames) {
    static const std::string kOther = "object";
    return &kOther;
  }
  return &*type_names_.insert(name).first;
}

FunctionStats* SchedulerState::StatsFor(const std::string& function_id) {
  auto& slot = functions_[function_id];
  if (!slot) {
    slot = std::make_unique<FunctionStats>();
    slot->id = function_id;
  }
  return slot.get();
}

double SchedulerState::EstimatedDuration(const Task* t) const {
  if (t->fn != nullptr && t->fn->avg_duration >= 0) return t->fn->avg_duration;
  return options_.default_task_duration;
}

// The one place a task's status changes; keeps `waiters`, `missing` and the
// per-status counts consistent and queues the follow-up work.
void SchedulerState::Transition(Task* t, KeyStatus to) {
  const KeyStatus from = t->status;
  if (from == to) return;
  ++transitions_;
  --counts_[static_cast<int>(from)];
  ++counts_[static_cast<int>(to)];
  t->status = to;
  if (from == KeyStatus::kNoWorker) no_worker_.erase(t);
  if (from == KeyStatus::kQueued) queued_.erase(t);
  if (from == KeyStatus::kWaiting && !held_.empty()) held_.erase(t);

  const bool needed_before = NeedsDeps(from);
  const bool needed_now = NeedsDeps(to);
  if (needed_before && !needed_now) {
    for (Task* d : t->deps) {
      if (--d->waiters == 0) release_candidates_.push_back(d);
    }
  } else if (!needed_before && needed_now) {
    for (Task* d : t->deps) ++d->waiters;
  }

  if (from == KeyStatus::kMemory) {
    if (!transfers_.empty()) transfers_.erase(t);  // copies of it are moot
    for (Task* dep : t->dependents) {
      if (dep->status == KeyStatus::kWaiting) {
        ++dep->missing;
      } else if (dep->status == KeyStatus::kNoWorker) {
        Transition(dep, KeyStatus::kWaiting);
        dep->missing = 1;
      }
    }
  } else if (to == KeyStatus::kMemory) {
    for (Task* dep : t->dependents) {
      if (dep->status == KeyStatus::kWaiting && dep->missing > 0 &&
          --dep->missing == 0) {
        PushReady(dep);
      } else if (dep->ahead) {
        EndAhead(dep);  // its input is done: it runs now
      }
    }
  }
}

void SchedulerState::PushReady(Task* t) {
  ready_.push_back(t);
  std::push_heap(ready_.begin(), ready_.end(), RunsAfter);
}

void SchedulerState::Drain() {
  if (draining_) return;
  draining_ = true;
  while (true) {
    if (!compute_candidates_.empty()) {
      Task* t = compute_candidates_.back();
      compute_candidates_.pop_back();
      ComputeIfNeeded(t);
    } else if (!ready_.empty()) {
      // Best first, so one event that readies many tasks hands out the
      // scarce slots by (priority, graph order).
      std::pop_heap(ready_.begin(), ready_.end(), RunsAfter);
      Task* t = ready_.back();
      ready_.pop_back();
      if (t->status == KeyStatus::kWaiting && t->missing == 0) {
        if (Holding()) {
          held_.insert(t);  // placed when the recovery hold ends
        } else {
          Place(t);
        }
      }
    } else if (!freed_workers_.empty()) {
      WorkerId id = freed_workers_.back();
      freed_workers_.pop_back();
      auto it = workers_.find(id);
      if (it != workers_.end()) FillSlots(it->second.get());
    } else if (!release_candidates_.empty()) {
      Task* t = release_candidates_.back();
      release_candidates_.pop_back();
      MaybeRelease(t);
    } else if (!forget_candidates_.empty()) {
      Task* t = forget_candidates_.back();
      forget_candidates_.pop_back();
      MaybeForget(t);
    } else {
      break;
    }
  }
  graveyard_.clear();
  draining_ = false;
}

// A released task that someone needs goes to waiting, pulling in its
// released dependencies (transitively) for recomputation.
void SchedulerState::ComputeIfNeeded(Task* t) {
  if (t->status != KeyStatus::kReleased) return;
  if (t->who_wants.empty() && t->waiters == 0) {
    forget_candidates_.push_back(t);
    return;
  }
  // No definition to run: it waits for a worker to report it, or for a
  // client to define it, until ExpireRecovery gives up on it.
  if (t->adopted) {
    orphans_.insert(t);
    return;
  }
  for (Task* d : t->deps) {
    if (d->status == KeyStatus::kErred) {
      auto err = std::make_shared<ErrorInfo>(*d->error);
      err->key = t->key;
      if (err->cause_key.empty()) err->cause_key = d->key;
      MarkErred(t, std::move(err));
      return;
    }
  }
  EnterWaiting(t);
}

// Puts a task in waiting, counting the dependencies not in memory and
// queueing released ones for recomputation.
void SchedulerState::EnterWaiting(Task* t) {
  // Scattered data has no definition to run; a task rescheduled after its
  // input erred (a scattered input lost meanwhile) inherits the error.
  if (t->scattered) {
    MarkErred(t, ScatteredDataLost(t));
    return;
  }
  for (Task* d : t->deps) {
    if (d->status != KeyStatus::kErred || d->error == nullptr) continue;
    auto err = std::make_shared<ErrorInfo>(*d->error);
    err->key = t->key;
    if (err->cause_key.empty()) err->cause_key = d->key;
    MarkErred(t, std::move(err));
    return;
  }
  Transition(t, KeyStatus::kWaiting);
  t->missing = 0;
  for (Task* d : t->deps) {
    if (d->status != KeyStatus::kMemory) {
      ++t->missing;
      if (d->status == KeyStatus::kReleased) compute_candidates_.push_back(d);
    }
  }
  if (t->missing == 0) PushReady(t);
}

void SchedulerState::EndAhead(Task* t) {
  t->ahead = false;
  --t->processing_on->ahead;
}

void SchedulerState::DetachFromWorker(Task* t) {
  Worker* w = t->processing_on;
  if (w == nullptr) return;
  if (t->ahead) EndAhead(t);
  w->processing.erase(t);
  w->occupancy = std::max(0.0, w->occupancy - t->occupancy_charge);
  if (t->restrictions != nullptr) {
    for (const auto& [name, amount] : t->restrictions->resources) {
      w->resources_used[name] -= amount;
    }
  }
  t->processing_on = nullptr;
  ClearSteal(t);
  freed_workers_.push_back(w->id);
}

void SchedulerState::Reschedule(Task* t) {
  DetachFromWorker(t);
  if (!NeedsDeps(t->status)) {
    compute_candidates_.push_back(t);
    return;
  }
  EnterWaiting(t);
}

void SchedulerState::AddReplica(Task* t, Worker* w, int64_t nbytes) {
  if (std::find(t->who_has.begin(), t->who_has.end(), w) != t->who_has.end()) return;
  t->who_has.push_back(w);
  w->has_what.insert(t);
  w->bytes_held += nbytes;
}

void SchedulerState::RemoveReplica(Task* t, Worker* w) {
  auto it = std::find(t->who_has.begin(), t->who_has.end(), w);
  if (it == t->who_has.end()) return;
  t->who_has.erase(it);
  w->has_what.erase(t);
  w->bytes_held -= t->nbytes;
}

// The last copy of a result is gone: recompute it if anyone needs it.
void SchedulerState::DataLost(Task* t) {
  if (t->status != KeyStatus::kMemory || !t->who_has.empty()) return;
  Transition(t, KeyStatus::kReleased);
  if (t->scattered) {  // cannot be recomputed
    MarkErred(t, ScatteredDataLost(t));
    return;
  }
  NotifyClients(t, KeyStatus::kWaiting);
  compute_candidates_.push_back(t);
}

void SchedulerState::MarkErred(Task* root, std::shared_ptr<const ErrorInfo> error) {
  std::vector<std::pair<Task*, std::shared_ptr<const ErrorInfo>>> stack;
  stack.emplace_back(root, std::move(error));
  while (!stack.empty()) {
    auto [t, err] = std::move(stack.back());
    stack.pop_back();
    if (t->status == KeyStatus::kErred || t->status == KeyStatus::kMemory) continue;
    const Worker* was_on = t->processing_on;
    DetachFromWorker(t);
    Transition(t, KeyStatus::kErred);
    t->error = err;
    NotifyClients(t, KeyStatus::kErred, err);
    release_candidates_.push_back(t);
    for (Task* dep : t->dependents) {
      if (!NeedsDeps(dep->status)) continue;
      if (dep->status == KeyStatus::kProcessing) {
        // A dependent already running has its input (it was in memory);
        // one sent ahead to wait for it on the same worker (a pipelined
        // chain) never will: it errs too and the worker drops it.
        if (was_on == nullptr || dep->processing_on != was_on) continue;
        outbox_->FreeKeys(dep->processing_on->id, {dep->key});
      }
      auto inherited = std::make_shared<ErrorInfo>(*err);
      inherited->key = dep->key;
      if (inherited->cause_key.empty()) inherited->cause_key = t->key;
      stack.emplace_back(dep, std::move(inherited));
    }
  }
}

// Frees a result (or drops a pending task) that nobody needs any more.
void SchedulerState::MaybeRelease(Task* t) {
  if (t->status == KeyStatus::kForgotten) return;
  if (!t->who_wants.empty() || t->waiters > 0) return;
  // An adopted result waits out its grace period for a client to claim it.
  if (t->adopted && !t->claimed && t->status == KeyStatus::kMemory &&
      clock_() < t->claim_deadline) {
    return;
  }
  switch (t->status) {
    case KeyStatus::kMemory: {
      for (Worker* w : t->who_has) {
        w->has_what.erase(t);
        w->bytes_held -= t->nbytes;
        outbox_->FreeKeys(w->id, {t->key});
      }
      t->who_has.clear();
      Transition(t, KeyStatus::kReleased);
      break;
    }
    case KeyStatus::kProcessing: {
      outbox_->FreeKeys(t->processing_on->id, {t->key});
      DetachFromWorker(t);
      Transition(t, KeyStatus::kReleased);
      break;
    }
    case KeyStatus::kWaiting:
    case KeyStatus::kNoWorker:
    case KeyStatus::kQueued:
      Transition(t, KeyStatus::kReleased);
      break;
    default:
      break;
  }
  forget_candidates_.push_back(t);
}

void SchedulerState::MaybeForget(Task* t) {
  if (t->status != KeyStatus::kReleased && t->status != KeyStatus::kErred) return;
  if (!t->who_wants.empty() || !t->dependents.empty() || t->waiters > 0) return;
  Forget(t);
}

void SchedulerState::Forget(Task* t) {
  Transition(t, KeyStatus::kForgotten);
  for (Task* d : t->deps) {
    d->dependents.erase(t);
    if (d->dependents.empty()) {
      release_candidates_.push_back(d);
      forget_candidates_.push_back(d);
    }
  }
  --counts_[static_cast<int>(KeyStatus::kForgotten)];
  if (t->adopted) orphans_.erase(t);
  auto it = tasks_.find(t->key);
  graveyard_.push_back(std::move(it->second));
  tasks_.erase(it);
}

void SchedulerState::NotifyClients(Task* t, KeyStatus status,
                                   std::shared_ptr<const ErrorInfo> error) {
  if (t->who_wants.empty()) return;
  KeyEventOut ev;
  ev.key = t->key;
  ev.status = status;
  ev.error = std::move(error);
  if (status == KeyStatus::kMemory) {
    ev.nbytes = t->nbytes;
    ev.type_name = *t->type_name;
    for (Worker* w : t->who_has) ev.workers.push_back(w->def.address);
  }
  for (ClientId c : t->who_wants) outbox_->KeyEvent(c, ev);
}

void SchedulerState::Want(ClientId client, Task* t) {
  auto& c = clients_[client];
  if (!c.wants.insert(t).second) return;
  t->who_wants.push_back(client);
  t->claimed = true;
  KeyEventOut ev;
  ev.key = t->key;
  if (t->status == KeyStatus::kMemory) {
    ev.status = KeyStatus::kMemory;
    ev.nbytes = t->nbytes;
    ev.type_name = *t->type_name;
    for (Worker* w : t->who_has) ev.workers.push_back(w->def.address);
    outbox_->KeyEvent(client, ev);
  } else if (t->status == KeyStatus::kErred) {
    ev.status = KeyStatus::kErred;
    ev.error = t->error;
    outbox_->KeyEvent(client, ev);
  } else if (t->status == KeyStatus::kReleased) {
    compute_candidates_.push_back(t);
  }
}

void SchedulerState::Unwant(ClientId client, Task* t) {
  auto it = std::find(t->who_wants.begin(), t->who_wants.end(), client);
  if (it == t->who_wants.end()) return;
  t->who_wants.erase(it);
  auto c = clients_.find(client);
  if (c != clients_.end()) c->second.wants.erase(t);
  if (t->who_wants.empty()) {
    release_candidates_.push_back(t);
    forget_candidates_.push_back(t);
  }
}

// ---------------------------------------------------------------- clients

ClientId SchedulerState::AddClient(const std::string& name) {
  ClientId id = next_client_++;
  clients_[id].name = name;
  return id;
}

void SchedulerState::RemoveClient(ClientId client) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  std::vector<Task*> wants(it->second.wants.begin(), it->second.wants.end());
  for (Task* t : wants) Unwant(client, t);
  recovering_clients_.erase(client);
  if (!it->second.session_name.empty()) sessions_.erase(it->second.session_name);
  clients_.erase(it);
  Drain();
}

void SchedulerState::ReleaseKeys(ClientId client, const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    if (Task* t = Find(key)) Unwant(client, t);
  }
  Drain();
}

void SchedulerState::CancelKeys(ClientId client, const std::vector<std::string>& keys,
                                bool force) {
  std::vector<Task*> stack;
  absl::flat_hash_set<Task*> seen;
  for (const auto& key : keys) {
    if (Task* t = Find(key)) stack.push_back(t);
  }
  while (!stack.empty()) {
    Task* t = stack.back();
    stack.pop_back();
    if (!seen.insert(t).second) continue;
    std::vector<ClientId> cancelled;
    for (ClientId c : t->who_wants) {
      if (c == client || force) cancelled.push_back(c);
    }
    auto err = std::make_shared<ErrorInfo>();
    err->key = t->key;
    err->type = "CancelledError";
    err->message = absl::StrCat("key ", t->key, " was cancelled");
    for (ClientId c : cancelled) {
      KeyEventOut ev;
      ev.key = t->key;
      ev.status = KeyStatus::kCancelled;
      ev.error = err;
      outbox_->KeyEvent(c, ev);
      Unwant(c, t);
    }
    for (Task* dep : t->dependents) stack.push_back(dep);
  }
  Drain();
}

// ---------------------------------------------------------------- workers

absl::StatusOr<WorkerId> SchedulerState::AddWorker(WorkerDef def,
                                                   const std::vector<DepLocation>& held,
                                                   bool adopt_unknown) {
  for (Worker* w : worker_order_) {
    if (w->def.address == def.address) {
      return absl::AlreadyExistsError(
          absl::StrCat("a worker at ", def.address, " is already registered"));
    }
  }
  for (const auto& [name, amount] : def.resources) {
    // NaN or infinite capacity would make every placement test meaningless.
    if (!(amount >= 0) || std::isinf(amount)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "worker ", def.address, ": resource ", name, " must be a finite number >= 0"));
    }
  }
  auto w = std::make_unique<Worker>();
  w->id = next_worker_++;
  for (const auto& f : def.functions) {
    if (w->functions.insert(f).second) {
      ++offered_[f];
      ever_offered_.insert(f);
    }
  }
  w->def = std::move(def);
  if (w->def.nthreads < 1) w->def.nthreads = 1;
  w->last_seen = clock_();
  WorkerId id = w->id;
  worker_order_.push_back(w.get());
  workers_[id] = std::move(w);
  freed_workers_.push_back(id);
  AdoptHeld(workers_[id].get(), held, adopt_unknown);
  RetryNoWorker();
  Drain();
  return id;
}

void SchedulerState::RetryNoWorker() {
  std::vector<Task*> retry(no_worker_.begin(), no_worker_.end());
  for (Task* t : retry) {
    Transition(t, KeyStatus::kWaiting);
    t->missing = 0;
    PushReady(t);
  }
}

void SchedulerState::RemoveWorker(WorkerId id, const std::string& reason) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  Worker* w = it->second.get();
  ForgetTransfers(w);
  std::vector<Task*> processing(w->processing.begin(), w->processing.end());
  std::sort(processing.begin(), processing.end(),
            [](Task* a, Task* b) { return a->seq < b->seq; });
  for (Task* t : processing) {
    ++t->suspicious;
    if (t->suspicious > options_.allowed_failures) {
      auto err = std::make_shared<ErrorInfo>();
      err->key = t->key;
      err->function = t->fn ? t->fn->id : "";
      err->type = "KilledWorker";
      err->message = absl::StrCat("Attempted to run task ", t->key, " on ",
                                  t->suspicious,
                                  " different workers, but all those workers "
                                  "died while running it. The last worker was ",
                                  w->def.address, " (", reason, ")");
      MarkErred(t, std::move(err));
    } else {
      Reschedule(t);
    }
  }
  std::vector<Task*> held(w->has_what.begin(), w->has_what.end());
  for (Task* t : held) {
    RemoveReplica(t, w);
    DataLost(t);
  }
  for (const auto& f : w->functions) {
    if (--offered_[f] == 0) offered_.erase(f);
  }
  worker_order_.erase(std::find(worker_order_.begin(), worker_order_.end(), w));
  if (last_root_worker_ == w) last_root_worker_ = nullptr;
  workers_.erase(it);
  // Queued tasks may have been waiting for this worker alone: place them
  // again (they queue again, or become no-worker).
  std::vector<Task*> queued(queued_.begin(), queued_.end());
  for (Task* t : queued) {
    Transition(t, KeyStatus::kWaiting);
    t->missing = 0;
    PushReady(t);
  }
  Drain();
}

void SchedulerState::Heartbeat(WorkerId id, int64_t memory_bytes, int64_t spilled_bytes,
                               bool paused) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  Worker* w = it->second.get();
  w->last_seen = clock_();
  w->memory_bytes = memory_bytes;
  w->spilled_bytes = spilled_bytes;
  if (w->paused == paused) return;
  w->paused = paused;
  if (!paused) {
    freed_workers_.push_back(id);  // takes queued work again
    Drain();
  }
}

void SchedulerState::RetireWorker(WorkerId id) {
  auto it = workers_.find(id);
  if (it != workers_.end()) it->second->retiring = true;
}

std::vector<WorkerId> SchedulerState::CheckWorkerTimeouts() {
  const double now = clock_();
  std::vector<WorkerId> dead;
  for (Worker* w : worker_order_) {
    if (now - w->last_seen > options_.worker_timeout_seconds) dead.push_back(w->id);
  }
  for (WorkerId id : dead) RemoveWorker(id, "heartbeat timeout");
  return dead;
}

void SchedulerState::TaskFinished(WorkerId id, const std::string& key, int64_t nbytes,
                                  const std::string& type_name, double duration) {
  auto wit = workers_.find(id);
  if (wit == workers_.end()) return;
  Worker* w = wit->second.get();
  w->last_seen = clock_();
  Task* t = Find(key);
  if (t == nullptr) {
    outbox_->FreeKeys(id, {key});
    return;
  }
  if (t->processing_on != nullptr) {
    DetachFromWorker(t);
    if (t->fn != nullptr && duration >= 0) t->fn->Observe(duration);
  }
  if (t->status == KeyStatus::kMemory) {
    AddReplica(t, w, t->nbytes);
    return;
  }
  if (t->status == KeyStatus::kErred) {
    outbox_->FreeKeys(id, {key});
    return;
  }
  t->nbytes = nbytes;
  t->type_name = InternTypeName(type_name);
  AddReplica(t, w, nbytes);
  Transition(t, KeyStatus::kMemory);
  NotifyClients(t, KeyStatus::kMemory);
  release_candidates_.push_back(t);
  Drain();
}

void SchedulerState::TaskErred(WorkerId id, const std::string& key, ErrorInfo error) {
  auto wit = workers_.find(id);
  if (wit == workers_.end()) return;
  Worker* w = wit->second.get();
  w->last_seen = clock_();
  Task* t = Find(key);
  if (t == nullptr || t->status != KeyStatus::kProcessing || t->processing_on != w) return;
  if (t->retries_left > 0) {
    --t->retries_left;
    Reschedule(t);
    Drain();
    return;
  }
  error.key = t->key;
  if (error.function.empty() && t->fn != nullptr) error.function = t->fn->id;
  MarkErred(t, std::make_shared<ErrorInfo>(std::move(error)));
  Drain();
}

void SchedulerState::MissingData(WorkerId id, const std::string& key,
                                 const std::vector<DepLocation>& missing,
                                 const std::vector<std::string>& unreachable) {
  auto wit = workers_.find(id);
  if (wit == workers_.end()) return;
  for (const auto& m : missing) {
    Task* d = Find(m.key);
    if (d == nullptr) continue;
    if (!transfers_.empty()) TransferFailed(d, wit->second.get());
    for (const auto& address : m.workers) {
      auto holder = FindWorker(address);
      if (!holder) continue;
      Worker* hw = workers_[*holder].get();
      if (std::find(d->who_has.begin(), d->who_has.end(), hw) == d->who_has.end()) continue;
      // A holder that did not answer may be alive with the only copy:
      // dropping it would lose scattered data for good. Computed data is
      // dropped and recomputed rather than waited for.
      if (d->scattered &&
          std::find(unreachable.begin(), unreachable.end(), address) != unreachable.end()) {
        continue;
      }
      RemoveReplica(d, hw);
      outbox_->FreeKeys(hw->id, {d->key});
    }
    DataLost(d);
  }
  Task* t = Find(key);
  if (t != nullptr && t->status == KeyStatus::kProcessing &&
      t->processing_on == wit->second.get()) {
    Reschedule(t);
  }
  Drain();
}

void SchedulerState::KeysAdded(WorkerId id, const std::vector<DepLocation>& keys) {
  auto wit = workers_.find(id);
  if (wit == workers_.end()) return;
  for (const auto& k : keys) {
    Task* t = Find(k.key);
    if (t != nullptr && t->status == KeyStatus::kMemory) {
      AddReplica(t, wit->second.get(), t->nbytes);
      if (!transfers_.empty()) TransferArrived(t, wit->second.get());
    } else {
      outbox_->FreeKeys(id, {k.key});
    }
  }
}

void SchedulerState::KeysLost(WorkerId id, const std::vector<std::string>& keys) {
  auto wit = workers_.find(id);
  if (wit == workers_.end()) return;
  for (const auto& key : keys) {
    if (Task* t = Find(key)) {
      RemoveReplica(t, wit->second.get());
      DataLost(t);
    }
  }
  Drain();
}

int SchedulerState::Restart() {
  int n = static_cast<int>(tasks_.size());
  for (auto& [key, t] : tasks_) {
    auto err = std::make_shared<ErrorInfo>();
    err->key = t->key;
    err->type = "CancelledError";
    err->message = "the scheduler was restarted";
    NotifyClients(t.get(), KeyStatus::kCancelled, err);
  }
  for (Worker* w : worker_order_) {
    std::vector<std::string> keys;
    for (Task* t : w->has_what) keys.push_back(t->key);
    for (Task* t : w->processing) keys.push_back(t->key);
    if (!keys.empty()) outbox_->FreeKeys(w->id, keys);
    w->has_what.clear();
    w->processing.clear();
    w->occupancy = 0;
    w->bytes_held = 0;
    w->resources_used.clear();
    w->incoming_steals = 0;
  }
  for (auto& [id, c] : clients_) c.wants.clear();
  no_worker_.clear();
  queued_.clear();
  transfers_.clear();
  orphans_.clear();
  held_.clear();
  hold_until_ = 0;
  freed_workers_.clear();
  ready_.clear();
  release_candidates_.clear();
  forget_candidates_.clear();
  compute_candidates_.clear();
  tasks_.clear();
  for (auto& c : counts_) c = 0;
  return n;
}

}  // namespace taskgrid::scheduler
