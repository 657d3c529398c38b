// SchedulerState work stealing: moving tasks already sent to a saturated
// worker (waiting in its local queue) to an idle one.
//
// A steal is a request, not a command: the victim answers whether it still
// had the task unstarted. Until the answer comes the task stays processing
// on the victim, so a steal that races with the task starting (or
// finishing) never runs it twice: only "stolen" moves it.

#include <algorithm>
#include <limits>
#include <vector>

#include "services/scheduler/scheduler_model.h"
#include "services/scheduler/scheduler_state.h"

namespace taskgrid::scheduler {

void SchedulerState::Balance() {
  if (!options_.work_stealing || worker_order_.size() < 2) return;
  std::vector<Worker*> idle;
  std::vector<Worker*> saturated;
  for (Worker* w : worker_order_) {
    const size_t threads = static_cast<size_t>(w->def.nthreads);
    if (w->paused && !w->processing.empty()) {
      saturated.push_back(w);  // its queue waits for memory: move it
    } else if (!Accepting(w)) {
      continue;
    } else if (w->load() < threads) {
      idle.push_back(w);
    } else if (w->load() > threads) {
      saturated.push_back(w);
    }
  }
  if (idle.empty() || saturated.empty()) return;
  // Most loaded victims first.
  std::sort(saturated.begin(), saturated.end(), [](const Worker* a, const Worker* b) {
    return a->occupancy / a->def.nthreads > b->occupancy / b->def.nthreads;
  });
  for (Worker* thief : idle) {
    const size_t busy = thief->load() + thief->incoming_steals;
    const size_t threads = static_cast<size_t>(thief->def.nthreads);
    size_t room = busy < threads ? threads - busy : 0;
    for (Worker* victim : saturated) {
      if (room == 0) break;
      // A paused victim runs nothing new: all of its queue may move.
      const size_t threads = victim->paused ? 0 : static_cast<size_t>(victim->def.nthreads);
      if (victim->load() <= threads) continue;
      // The victim runs its highest priority first: take from the end.
      // The wait is re-estimated with what is known now: occupancy was
      // charged when each task was sent, maybe before its function's first
      // completion taught the real duration.
      std::vector<Task*> candidates;
      double queued_seconds = 0;
      for (Task* t : victim->processing) {
        queued_seconds += EstimatedDuration(t);
        if (t->steal_to == kNoWorker && CanRun(thief, t) && !Pinned(t)) {
          candidates.push_back(t);
        }
      }
      std::sort(candidates.begin(), candidates.end(), RunsBefore());
      const double victim_wait =
          victim->paused ? std::numeric_limits<double>::infinity()
                         : queued_seconds / static_cast<double>(threads);
      size_t excess = victim->load() - threads;
      for (auto it = candidates.rbegin(); it != candidates.rend() && room > 0 && excess > 0;
           ++it) {
        Task* t = *it;
        const Restrictions* r = t->restrictions.get();
        if (r != nullptr && !r->workers.empty() && !r->allow_other_workers) {
          bool allowed = false;
          for (const auto& name : r->workers) {
            allowed |= name == thief->def.address || name == thief->def.name;
          }
          if (!allowed) continue;
        }
        if (IsGated(t) && !HasRoom(thief, t)) continue;
        // Worth it only if fetching its inputs to the thief beats waiting.
        if (FetchSeconds(t, thief) + EstimatedDuration(t) >= victim_wait) continue;
        t->steal_to = thief->id;
        ++thief->incoming_steals;
        ++steal_requests_;
        outbox_->StealRequest(victim->id, t->key);
        --room;
        --excess;
      }
    }
  }
}

WorkerId SchedulerState::ClearSteal(Task* t) {
  const WorkerId thief = t->steal_to;
  if (thief == kNoWorker) return kNoWorker;
  t->steal_to = kNoWorker;
  auto it = workers_.find(thief);
  if (it != workers_.end()) --it->second->incoming_steals;
  return thief;
}

void SchedulerState::StealResponse(WorkerId id, const std::string& key, bool stolen) {
  auto wit = workers_.find(id);
  if (wit == workers_.end()) return;
  Task* t = Find(key);
  if (t == nullptr || t->status != KeyStatus::kProcessing ||
      t->processing_on != wit->second.get() || t->steal_to == kNoWorker) {
    return;  // finished, released or rescheduled meanwhile
  }
  const WorkerId thief_id = ClearSteal(t);
  if (!stolen) return;  // already running there
  ++steals_;
  DetachFromWorker(t);
  auto thief = workers_.find(thief_id);
  if (thief != workers_.end() && CanRun(thief->second.get(), t) &&
      (!IsGated(t) || HasRoom(thief->second.get(), t))) {
    SendCompute(t, thief->second.get());
  } else {
    EnterWaiting(t);  // the thief left: place it again
  }
  Drain();
}

}  // namespace taskgrid::scheduler
