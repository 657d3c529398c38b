// SchedulerState placement: which worker runs a ready task.
//
// Each candidate's cost is the estimated time before the task could start
// there: bytes of inputs it would have to fetch at the assumed bandwidth
// (data locality) plus its queued work divided by its threads. Ties go to
// the next worker after the previous choice, so even graphs spread evenly.

#include <algorithm>
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

Worker* SchedulerState::ChooseWorker(Task* t, bool* restricted) {
  *restricted = false;
  const size_t n = worker_order_.size();
  if (n == 0) return nullptr;
  const Restrictions* r = t->restrictions.get();
  Worker* best = nullptr;
  double best_cost = std::numeric_limits<double>::infinity();
  for (int pass = 0; pass < 2 && best == nullptr; ++pass) {
    // Pass 0 honours `workers=`; pass 1 (loose restrictions only) any worker.
    if (pass == 1 && (r == nullptr || r->workers.empty() || !r->allow_other_workers)) break;
    for (size_t k = 0; k < n; ++k) {
      Worker* w = worker_order_[(place_cursor_ + k) % n];
      if (pass == 0 && r != nullptr && !MatchesRestriction(w, *r)) {
        *restricted = true;
        continue;
      }
      if (!CanRun(w, t)) continue;
      double fetch_bytes = 0;
      for (const Task* d : t->deps) {
        if (std::find(d->who_has.begin(), d->who_has.end(), w) == d->who_has.end()) {
          fetch_bytes += static_cast<double>(d->nbytes);
        }
      }
      const double cost = fetch_bytes / options_.bandwidth +
                          w->occupancy / static_cast<double>(w->def.nthreads);
      if (cost < best_cost) {
        best_cost = cost;
        best = w;
      }
    }
  }
  ++place_cursor_;
  return best;
}

void SchedulerState::Place(Task* t) {
  bool restricted = false;
  Worker* w = ChooseWorker(t, &restricted);
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
  Transition(t, KeyStatus::kProcessing);
  t->processing_on = w;
  t->occupancy_charge = EstimatedDuration(t);
  w->occupancy += t->occupancy_charge;
  w->processing.insert(t);
  ComputeTaskCommand cmd;
  cmd.key = t->key;
  cmd.run_spec = &t->run_spec;
  cmd.priority = t->priority;
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

}  // namespace taskgrid::scheduler
