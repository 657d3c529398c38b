// SchedulerState placement: which worker runs a ready task, and when.
//
// Each candidate's cost is the estimated time before the task could start
// there: the inputs it would have to fetch (a fixed latency each plus their
// bytes at the assumed bandwidth: data locality) plus its queued work
// divided by its threads. Ties go to the next worker after the previous
// choice, so even graphs spread evenly; consecutive root tasks stay
// together (see ChooseWorker and FillSlots).
//
// Root tasks (no dependencies) and tasks needing abstract resources are
// gated: they only go to a worker with room (a free root slot, or the
// resources free), otherwise they wait in the scheduler's queue, ordered by
// (priority, graph order), until a task leaves a worker (FillSlots). So a
// wide graph never floods workers with inputs they can't consume yet.

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/scheduler/scheduler_model.h"
#include "services/scheduler/scheduler_state.h"

namespace taskgrid::scheduler {
namespace {

bool MatchesRestriction(const Worker* w, const Restrictions& r) {
  if (r.workers.empty()) return true;
  for (const auto& name : r.workers) {
    if (name == w->def.address || name == w->def.name) return true;
  }
  return false;
}

// Workers run the highest priority first: user priority in the high bits,
// then earlier graph order.
int64_t WorkerPriority(const Task& t) {
  constexpr int64_t kLimit = int64_t{1} << 22;
  const int64_t user = std::clamp<int64_t>(t.priority, -kLimit, kLimit);
  return user * (int64_t{1} << 40) - static_cast<int64_t>(t.order & ((uint64_t{1} << 40) - 1));
}

}  // namespace

bool SchedulerState::CanRun(const Worker* w, const Task* t) const {
  const std::string& fid = t->fn->id;
  const bool lists = fid.rfind("builtin/", 0) == 0 || fid.rfind("plugin/", 0) == 0;
  if (lists) {
    if (!w->functions.contains(fid)) return false;
  } else {
    const std::string runtime_wildcard = fid.substr(0, fid.find('/')) + "/*";
    if (!w->functions.contains(runtime_wildcard)) return false;
  }
  if (t->restrictions != nullptr) {
    for (const auto& [name, amount] : t->restrictions->resources) {
      auto it = w->def.resources.find(name);
      if (it == w->def.resources.end() || it->second < amount) return false;
    }
  }
  return true;
}

double SchedulerState::FetchSeconds(const Task* t, const Worker* w) const {
  double fetch_bytes = 0;
  int fetches = 0;
  for (const Task* d : t->deps) {
    if (std::find(d->who_has.begin(), d->who_has.end(), w) == d->who_has.end()) {
      fetch_bytes += static_cast<double>(d->nbytes);
      ++fetches;
    }
  }
  return fetches * options_.transfer_latency + fetch_bytes / options_.bandwidth;
}

bool SchedulerState::IsGated(const Task* t) const {
  if (t->restrictions != nullptr && !t->restrictions->resources.empty()) return true;
  return t->deps.empty() && std::isfinite(options_.worker_saturation) &&
         (t->restrictions == nullptr || t->restrictions->workers.empty());
}

bool SchedulerState::UsesRootSlots(const Task* t) const {
  return IsGated(t) && (t->restrictions == nullptr || t->restrictions->resources.empty());
}

size_t SchedulerState::RootSlots(const Worker* w, const Task* t) const {
  double per_thread = options_.worker_saturation;
  // Before the function's first completion nothing says its tasks are
  // short, so only the saturation factor applies.
  if (t->fn != nullptr && t->fn->avg_duration >= 0) {
    const double d = std::max(t->fn->avg_duration, 1e-7);
    per_thread = std::max(per_thread, std::min(options_.queue_ahead_seconds / d,
                                               options_.max_queue_ahead));
  }
  return std::max<size_t>(1, static_cast<size_t>(std::ceil(w->def.nthreads * per_thread)));
}

bool SchedulerState::HasRoom(const Worker* w, const Task* t) const {
  if (t->restrictions != nullptr && !t->restrictions->resources.empty()) {
    for (const auto& [name, amount] : t->restrictions->resources) {
      auto used = w->resources_used.find(name);
      const double in_use = used == w->resources_used.end() ? 0.0 : used->second;
      if (in_use + amount > w->def.resources.at(name) + 1e-9) return false;
    }
    return true;
  }
  if (!UsesRootSlots(t)) return true;
  return w->load() < RootSlots(w, t);
}

// Returns the cheapest worker that can run `t`. Sets *restricted when a
// `workers=` restriction excluded someone and *full when a gated task found
// suitable workers but none with room.
Worker* SchedulerState::ChooseWorker(Task* t, bool* restricted, bool* full) {
  *restricted = false;
  *full = false;
  const size_t n = worker_order_.size();
  if (n == 0) return nullptr;
  const Restrictions* r = t->restrictions.get();
  const bool gated = IsGated(t);
  // Co-assignment of root tasks: consecutive root tasks (graph order) go
  // to the same worker while it has room, instead of alternating between
  // equally loaded workers. Neighbouring leaves are what the next level of
  // a reduction combines, so this keeps its inputs on one worker: on a
  // 65,536-leaf tree with 2 workers, 78% of the adds fetched an input from
  // the other worker before. The room (RootSlots) bounds the imbalance.
  const bool plain_root = UsesRootSlots(t);
  if (plain_root && last_root_worker_ != nullptr && CanRun(last_root_worker_, t) &&
      Accepting(last_root_worker_) && HasRoom(last_root_worker_, t)) {
    return last_root_worker_;
  }
  Worker* best = nullptr;
  double best_cost = std::numeric_limits<double>::infinity();
  for (int pass = 0; pass < 2 && best == nullptr && !*full; ++pass) {
    // Pass 0 honours `workers=`; pass 1 (loose restrictions only) any worker.
    if (pass == 1 && (r == nullptr || r->workers.empty() || !r->allow_other_workers)) break;
    for (size_t k = 0; k < n; ++k) {
      Worker* w = worker_order_[(place_cursor_ + k) % n];
      if (pass == 0 && r != nullptr && !MatchesRestriction(w, *r)) {
        *restricted = true;
        continue;
      }
      if (!CanRun(w, t)) continue;
      if (!Accepting(w) || (gated && !HasRoom(w, t))) {
        *full = true;
        continue;
      }
      const double cost =
          FetchSeconds(t, w) + w->occupancy / static_cast<double>(w->def.nthreads);
      if (cost < best_cost) {
        best_cost = cost;
        best = w;
      }
    }
    if (best != nullptr) *full = false;
  }
  ++place_cursor_;
  if (plain_root && best != nullptr) last_root_worker_ = best;
  return best;
}

void SchedulerState::Place(Task* t) {
  bool restricted = false;
  bool full = false;
  Worker* w = ChooseWorker(t, &restricted, &full);
  if (w == nullptr && full) {
    Transition(t, KeyStatus::kQueued);
    queued_.insert(t);
    return;
  }
  if (w == nullptr) {
    Transition(t, KeyStatus::kNoWorker);
    no_worker_.insert(t);
    if (!worker_order_.empty()) {
      auto err = std::make_shared<ErrorInfo>();
      err->key = t->key;
      err->function = t->fn->id;
      err->type = "NoWorkerError";
      std::vector<std::string> why;
      if (restricted) {
        why.push_back(absl::StrCat("restricted to workers [",
                                   absl::StrJoin(t->restrictions->workers, ", "), "]"));
      }
      if (t->restrictions != nullptr && !t->restrictions->resources.empty()) {
        std::vector<std::string> res;
        for (const auto& [name, amount] : t->restrictions->resources) {
          res.push_back(absl::StrCat(name, "=", amount));
        }
        why.push_back(absl::StrCat("needs resources ", absl::StrJoin(res, ",")));
      }
      why.push_back(absl::StrCat("function ", t->fn->id));
      err->message = absl::StrCat("no connected worker can run task ", t->key, " (",
                                  absl::StrJoin(why, "; "),
                                  "); it will start when a suitable worker joins");
      NotifyClients(t, KeyStatus::kNoWorker, std::move(err));
    }
    return;
  }
  SendCompute(t, w);
}

void SchedulerState::SendCompute(Task* t, Worker* w) {
  StartOn(t, w);
  // A chain (each task the only dependent of the one before) is a round
  // trip per step if each task waits for its input to be reported: it
  // measured ~7k tasks/s. Its next tasks go to the worker now instead,
  // and wait there for their inputs (the worker runs them as the inputs
  // finish). A task sent ahead has no other inputs and no restrictions,
  // so it would have been placed there anyway. If an input fails or
  // leaves that worker, the worker answers MissingData and the task is
  // placed again.
  Task* cur = t;
  for (int sent = 0; sent < options_.max_ahead && cur->dependents.size() == 1; ++sent) {
    Task* next = *cur->dependents.begin();
    if (next->status != KeyStatus::kWaiting || next->deps.size() != 1 ||
        next->restrictions != nullptr || !Accepting(w) || !CanRun(w, next) || Holding()) {
      break;
    }
    StartOn(next, w);
    next->ahead = true;
    ++w->ahead;
    cur = next;
  }
}

bool SchedulerState::Pinned(const Task* t) const {
  for (const Task* d : t->deps) {
    if (d->status != KeyStatus::kMemory) return true;
  }
  for (const Task* d : t->dependents) {
    if (d->processing_on != nullptr && d->processing_on == t->processing_on) return true;
  }
  return false;
}

void SchedulerState::StartOn(Task* t, Worker* w) {
  Transition(t, KeyStatus::kProcessing);
  t->processing_on = w;
  t->occupancy_charge = EstimatedDuration(t);
  w->occupancy += t->occupancy_charge;
  w->processing.insert(t);
  if (t->restrictions != nullptr) {
    for (const auto& [name, amount] : t->restrictions->resources) {
      w->resources_used[name] += amount;
    }
  }
  ComputeTaskCommand cmd;
  cmd.key = t->key;
  cmd.run_spec = &t->run_spec;
  cmd.priority = WorkerPriority(*t);
  cmd.who_has.reserve(t->deps.size());
  for (const Task* d : t->deps) {
    DepLocation loc;
    loc.key = d->key;
    loc.nbytes = d->nbytes;
    for (const Worker* h : d->who_has) loc.workers.push_back(h->def.address);
    cmd.who_has.push_back(std::move(loc));
  }
  outbox_->ComputeTask(w->id, cmd);
}

// Starts queued tasks on `w` while it has room, in queue order. Tasks `w`
// can't run are skipped; a bounded scan keeps this cheap when many of them
// are restricted elsewhere.
void SchedulerState::FillSlots(Worker* w) {
  if (!Accepting(w) || queued_.empty()) return;
  // Root slots are refilled once at least half of them are free, not one
  // at a time: a worker then receives runs of consecutive queued tasks
  // (neighbouring leaves, which the next level of a reduction combines)
  // instead of alternating with the other workers task by task.
  if (const Task* front = *queued_.begin(); UsesRootSlots(front)) {
    const size_t slots = RootSlots(w, front);
    if (w->load() + std::max<size_t>(1, slots / 2) > slots) return;
  }
  constexpr int kMaxSkipped = 64;
  int skipped = 0;
  for (auto it = queued_.begin(); it != queued_.end() && skipped < kMaxSkipped;) {
    Task* t = *it;
    const Restrictions* r = t->restrictions.get();
    const bool allowed = r == nullptr || r->workers.empty() || r->allow_other_workers ||
                         MatchesRestriction(w, *r);
    if (!allowed || !CanRun(w, t)) {
      ++skipped;
      ++it;
      continue;
    }
    if (!HasRoom(w, t)) {
      // Root tasks: the worker is full. Resource tasks: others may fit.
      if (r == nullptr || r->resources.empty()) break;
      ++skipped;
      ++it;
      continue;
    }
    ++it;
    SendCompute(t, w);  // leaves the queue through Transition
  }
}

}  // namespace taskgrid::scheduler
