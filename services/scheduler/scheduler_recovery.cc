// SchedulerState: recovery after a scheduler restart. Workers reconnect and
// report the results they hold (AddWorker's `held`), clients reconnect and
// re-declare the keys they want (RedeclareKeys) and re-send the definitions
// of what is still pending (UpdateGraph). Either may come first, so a key
// one of them names before the other is adopted: known by key only, kept
// for a grace period, never computed until a client defines it.

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/scheduler/scheduler_model.h"
#include "services/scheduler/scheduler_state.h"

namespace taskgrid::scheduler {

Task* SchedulerState::AdoptKey(const std::string& key) {
  auto t = std::make_unique<Task>();
  t->key = key;
  t->seq = next_seq_++;
  t->adopted = true;
  t->claim_deadline = clock_() + options_.orphan_grace_seconds;
  ++counts_[static_cast<int>(KeyStatus::kReleased)];
  Task* raw = t.get();
  tasks_.emplace(raw->key, std::move(t));
  orphans_.insert(raw);
  return raw;
}

void SchedulerState::StartRecoveryHold() {
  if (options_.recovery_hold_seconds <= 0) return;
  hold_until_ = std::max(hold_until_, clock_() + options_.recovery_hold_seconds);
}

void SchedulerState::AdoptHeld(Worker* w, const std::vector<DepLocation>& held,
                               bool adopt_unknown) {
  bool unknown = false;
  std::vector<std::string> unwanted;
  for (const DepLocation& h : held) {
    if (h.key.empty()) continue;
    Task* t = Find(h.key);
    if (t == nullptr && !adopt_unknown) {
      unwanted.push_back(h.key);
      continue;
    }
    if (t == nullptr) {
      t = AdoptKey(h.key);
      unknown = true;
    }
    switch (t->status) {
      case KeyStatus::kMemory:
        AddReplica(t, w, t->nbytes);
        break;
      case KeyStatus::kErred:
      case KeyStatus::kForgotten:
        outbox_->FreeKeys(w->id, {h.key});
        break;
      default: {
        // Released, waiting, queued, no-worker or processing elsewhere:
        // the value exists, so it need not be computed (again).
        if (t->status == KeyStatus::kProcessing) {
          outbox_->FreeKeys(t->processing_on->id, {t->key});
          DetachFromWorker(t);
        }
        t->nbytes = h.nbytes;
        AddReplica(t, w, h.nbytes);
        Transition(t, KeyStatus::kMemory);
        NotifyClients(t, KeyStatus::kMemory);
        release_candidates_.push_back(t);
        break;
      }
    }
  }
  if (!unwanted.empty()) outbox_->FreeKeys(w->id, unwanted);
  if (unknown) StartRecoveryHold();
}

void SchedulerState::RedeclareKeys(ClientId client, const std::vector<std::string>& keys) {
  if (!clients_.contains(client)) return;
  recovering_clients_.insert(client);
  for (const std::string& key : keys) {
    if (key.empty()) continue;
    Task* t = Find(key);
    Want(client, t != nullptr ? t : AdoptKey(key));
  }
  // A reconnecting client means the scheduler (or its link) went away:
  // give workers that are reconnecting too the hold to report first.
  StartRecoveryHold();
  Drain();
}

void SchedulerState::DefineAdopted(Task* t, TaskDef& d, int64_t priority) {
  orphans_.erase(t);
  t->adopted = false;
  t->claim_deadline = 0;
  if (t->status == KeyStatus::kErred) {  // given up on; computable now
    Transition(t, KeyStatus::kReleased);
    t->error.reset();
  }
  t->run_spec = std::move(d.run_spec);
  t->fn = StatsFor(absl::StrCat(d.runtime.empty() ? "builtin" : d.runtime, "/", d.function));
  t->priority = priority + d.priority;
  t->retries_left = d.retries;
  if (!d.workers.empty() || !d.resources.empty()) {
    t->restrictions = std::make_unique<Restrictions>();
    t->restrictions->workers = std::move(d.workers);
    t->restrictions->allow_other_workers = d.allow_other_workers;
    t->restrictions->resources.assign(d.resources.begin(), d.resources.end());
  }
}

void SchedulerState::ExpireRecovery() {
  const double now = clock_();
  if (hold_until_ > 0 && now >= hold_until_) {
    hold_until_ = 0;
    for (Task* t : held_) PushReady(t);
    held_.clear();
  }
  std::vector<Task*> expired;
  for (Task* t : orphans_) {
    if (now >= t->claim_deadline) expired.push_back(t);
  }
  for (Task* t : expired) {
    orphans_.erase(t);
    if (t->status == KeyStatus::kMemory) {
      release_candidates_.push_back(t);  // freed unless claimed meanwhile
    } else if (t->status == KeyStatus::kReleased) {
      if (t->who_wants.empty() && t->waiters == 0) {
        forget_candidates_.push_back(t);
        continue;
      }
      auto err = std::make_shared<ErrorInfo>();
      err->key = t->key;
      err->type = "LostResultError";
      err->message = absl::StrCat(
          "the result of ", t->key,
          " was lost: the scheduler restarted, no reconnecting worker reported holding it "
          "within ", options_.orphan_grace_seconds,
          " s, and no client sent its task again");
      MarkErred(t, std::move(err));
    }
  }
  Drain();
}

}  // namespace taskgrid::scheduler
