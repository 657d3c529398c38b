// SchedulerState's cluster data operations: scatter (UpdateData),
// replicate and rebalance, and the copies ("transfers") the last two ask
// workers to make.
//
// A transfer is a request to worker `to` to fetch a key from its holders
// (AcquireReplicas). It ends when `to` confirms the copy (KeysAdded; a move
// then frees the sender's copy), reports it could not get it (MissingData),
// leaves, or when the key leaves memory.

#include <algorithm>
#include <map>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/scheduler/scheduler_model.h"
#include "services/scheduler/scheduler_state.h"

namespace taskgrid::scheduler {
namespace {

bool Holds(const Task* t, const Worker* w) {
  return std::find(t->who_has.begin(), t->who_has.end(), w) != t->who_has.end();
}

}  // namespace

std::shared_ptr<const ErrorInfo> SchedulerState::ScatteredDataLost(const Task* t) const {
  auto err = std::make_shared<ErrorInfo>();
  err->key = t->key;
  err->type = "ScatteredDataLost";
  err->message = absl::StrCat(
      "scattered data lost: no worker holds ", t->key,
      " any more, and scattered data cannot be recomputed (scatter it again)");
  return err;
}

absl::StatusOr<std::vector<Worker*>> SchedulerState::DataWorkers(
    const std::vector<std::string>& names) const {
  std::vector<Worker*> out;
  if (names.empty()) {
    for (Worker* w : worker_order_) {
      if (!w->retiring) out.push_back(w);
    }
    return out;
  }
  for (const std::string& name : names) {
    std::optional<WorkerId> id = FindWorker(name);
    if (!id) {
      return absl::InvalidArgumentError(
          absl::StrCat("no connected worker named or at ", name));
    }
    Worker* w = workers_.at(*id).get();
    if (!w->retiring && std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
  }
  return out;
}

// ---------------------------------------------------------------- scatter

absl::Status SchedulerState::UpdateData(ClientId client, const std::vector<DepLocation>& keys) {
  auto cit = clients_.find(client);
  if (cit == clients_.end()) return absl::FailedPreconditionError("unknown client session");
  std::vector<std::vector<Worker*>> holders(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const DepLocation& k = keys[i];
    if (k.key.empty()) return absl::InvalidArgumentError("scattered data with an empty key");
    if (k.nbytes < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("scattered key \"", k.key, "\" has a negative size"));
    }
    const Task* existing = Find(k.key);
    if (existing != nullptr && !existing->scattered) {
      return absl::InvalidArgumentError(absl::StrCat(
          "scattered key \"", k.key, "\" already exists as a task with a definition"));
    }
    for (const std::string& address : k.workers) {
      std::optional<WorkerId> id = FindWorker(address);
      if (!id) continue;
      Worker* w = workers_.at(*id).get();
      if (std::find(holders[i].begin(), holders[i].end(), w) == holders[i].end()) {
        holders[i].push_back(w);
      }
    }
    if (holders[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("scattered key \"", k.key, "\": none of its workers (",
                       absl::StrJoin(k.workers, ", "), ") is connected"));
    }
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    const DepLocation& k = keys[i];
    Task* t = Find(k.key);
    if (t == nullptr) {
      auto owned = std::make_unique<Task>();
      t = owned.get();
      t->key = k.key;
      t->scattered = true;
      t->seq = next_seq_++;
      t->order = next_order_++;
      ++counts_[static_cast<int>(KeyStatus::kReleased)];
      tasks_.emplace(t->key, std::move(owned));
    }
    const bool wanted_before = cit->second.wants.contains(t);
    bool told = false;
    if (t->status != KeyStatus::kMemory) {  // new, or scattered again after a loss
      t->nbytes = k.nbytes;
      t->error.reset();
      for (Worker* w : holders[i]) AddReplica(t, w, t->nbytes);
      Transition(t, KeyStatus::kMemory);
      NotifyClients(t, KeyStatus::kMemory);
      told = wanted_before;
    } else {
      for (Worker* w : holders[i]) AddReplica(t, w, t->nbytes);
    }
    Want(client, t);
    if (wanted_before && !told) {
      // Scattered again by a client that already wants it: confirm anyway.
      KeyEventOut ev;
      ev.key = t->key;
      ev.status = KeyStatus::kMemory;
      ev.nbytes = t->nbytes;
      for (Worker* w : t->who_has) ev.workers.push_back(w->def.address);
      outbox_->KeyEvent(client, ev);
    }
  }
  Drain();
  return absl::OkStatus();
}

// ---------------------------------------------------------------- transfers

void SchedulerState::StartTransfer(Task* t, Worker* to, Worker* drop_from,
                                   AcquireCommands* commands) {
  transfers_[t].push_back(Transfer{to, drop_from});
  DepLocation loc;
  loc.key = t->key;
  loc.nbytes = t->nbytes;
  // The sender of a move first: its copy is the one to go.
  if (drop_from != nullptr) loc.workers.push_back(drop_from->def.address);
  for (const Worker* w : t->who_has) {
    if (w != drop_from) loc.workers.push_back(w->def.address);
  }
  (*commands)[to->id].push_back(std::move(loc));
}

void SchedulerState::SendAcquires(const AcquireCommands& commands) {
  for (const auto& [worker, locations] : commands) outbox_->AcquireReplicas(worker, locations);
}

void SchedulerState::TransferArrived(Task* t, Worker* w) {
  auto it = transfers_.find(t);
  if (it == transfers_.end()) return;
  std::vector<Transfer>& list = it->second;
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].to != w) continue;
    Worker* from = list[i].drop_from;
    list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
    if (from != nullptr && from != w && Holds(t, from) && t->who_has.size() > 1) {
      RemoveReplica(t, from);
      outbox_->FreeKeys(from->id, {t->key});
    }
    break;
  }
  if (list.empty()) transfers_.erase(it);
}

void SchedulerState::TransferFailed(Task* t, Worker* w) {
  auto it = transfers_.find(t);
  if (it == transfers_.end()) return;
  std::vector<Transfer>& list = it->second;
  list.erase(std::remove_if(list.begin(), list.end(),
                            [w](const Transfer& x) { return x.to == w; }),
             list.end());
  if (list.empty()) transfers_.erase(it);
}

void SchedulerState::ForgetTransfers(Worker* w) {
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    std::vector<Transfer>& list = it->second;
    list.erase(std::remove_if(list.begin(), list.end(),
                              [w](const Transfer& x) { return x.to == w; }),
               list.end());
    for (Transfer& x : list) {
      if (x.drop_from == w) x.drop_from = nullptr;
    }
    if (list.empty()) {
      transfers_.erase(it++);
    } else {
      ++it;
    }
  }
}

bool SchedulerState::TransfersPending(const std::vector<std::string>& keys) const {
  if (transfers_.empty()) return false;
  for (const std::string& key : keys) {
    Task* t = Find(key);
    if (t != nullptr && transfers_.contains(t)) return true;
  }
  return false;
}

absl::Status SchedulerState::ValidateTransfers() const {
  for (const auto& [t, list] : transfers_) {
    if (t->status != KeyStatus::kMemory) {
      return absl::InternalError(absl::StrCat("transfer of ", t->key, " which is ",
                                              KeyStatusName(t->status)));
    }
    if (list.empty()) return absl::InternalError("empty transfer list of " + t->key);
    for (const Transfer& x : list) {
      if (!workers_.contains(x.to->id) || workers_.at(x.to->id).get() != x.to) {
        return absl::InternalError("transfer of " + t->key + " to a worker that left");
      }
      if (Holds(t, x.to)) {
        return absl::InternalError("transfer of " + t->key + " to " + x.to->def.address +
                                   " which already holds it");
      }
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- replicate

absl::StatusOr<std::vector<std::string>> SchedulerState::Replicate(
    const std::vector<std::string>& keys, int n, const std::vector<std::string>& workers) {
  if (n < 0) return absl::InvalidArgumentError("replicate: n must be >= 0");
  absl::StatusOr<std::vector<Worker*>> pool = DataWorkers(workers);
  if (!pool.ok()) return pool.status();
  if (pool->empty()) return absl::FailedPreconditionError("replicate: no worker to copy to");
  std::vector<Task*> tasks;
  for (const std::string& key : keys) {
    Task* t = Find(key);
    if (t == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("replicate: unknown key \"", key, "\""));
    }
    if (t->status != KeyStatus::kMemory) {
      return absl::FailedPreconditionError(absl::StrCat(
          "replicate: key \"", key, "\" is not in memory (", KeyStatusName(t->status), ")"));
    }
    tasks.push_back(t);
  }
  const size_t want = n == 0 ? pool->size() : std::min<size_t>(n, pool->size());
  // Bytes each worker would hold once the copies so far arrive.
  absl::flat_hash_map<const Worker*, int64_t> projected;
  for (const Worker* w : *pool) projected[w] = w->bytes_held;
  auto lightest_first = [&projected](const Worker* a, const Worker* b) {
    return projected[a] != projected[b] ? projected[a] < projected[b] : a->id < b->id;
  };
  AcquireCommands commands;
  std::vector<std::string> started;
  for (Task* t : tasks) {
    std::vector<Worker*> holding, incoming, others;
    auto pending = transfers_.find(t);
    for (Worker* w : *pool) {
      bool coming = false;
      if (pending != transfers_.end()) {
        for (const Transfer& x : pending->second) coming = coming || x.to == w;
      }
      (Holds(t, w) ? holding : coming ? incoming : others).push_back(w);
    }
    const size_t have = holding.size() + incoming.size();
    if (have < want) {
      std::sort(others.begin(), others.end(), lightest_first);
      for (size_t i = 0; i < want - have; ++i) {
        StartTransfer(t, others[i], nullptr, &commands);
        projected[others[i]] += t->nbytes;
      }
      started.push_back(t->key);
    } else if (holding.size() > want && incoming.empty()) {
      // Too many copies: the heaviest holders let theirs go.
      std::sort(holding.begin(), holding.end(), lightest_first);
      for (size_t i = want; i < holding.size() && t->who_has.size() > 1; ++i) {
        RemoveReplica(t, holding[i]);
        projected[holding[i]] -= t->nbytes;
        outbox_->FreeKeys(holding[i]->id, {t->key});
      }
    } else if (!incoming.empty()) {
      started.push_back(t->key);
    }
  }
  SendAcquires(commands);
  return started;
}

// ---------------------------------------------------------------- rebalance

// As Dask's rebalance: with the mean of the bytes each worker holds as the
// goal, senders (above it) give keys, largest first, to the recipient
// holding least (below it), as long as the recipient then still holds no
// more than the sender (so keys never ping-pong).
absl::StatusOr<SchedulerState::RebalanceResult> SchedulerState::Rebalance(
    const std::vector<std::string>& keys, const std::vector<std::string>& workers) {
  absl::StatusOr<std::vector<Worker*>> pool = DataWorkers(workers);
  if (!pool.ok()) return pool.status();
  absl::flat_hash_set<const Task*> only;
  for (const std::string& key : keys) {
    Task* t = Find(key);
    if (t == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("rebalance: unknown key \"", key, "\""));
    }
    only.insert(t);
  }
  RebalanceResult result;
  if (pool->size() < 2) return result;
  absl::flat_hash_map<const Worker*, int64_t> bytes;
  int64_t total = 0;
  for (const Worker* w : *pool) {
    bytes[w] = w->bytes_held;
    total += w->bytes_held;
  }
  const double mean = static_cast<double>(total) / static_cast<double>(pool->size());
  std::vector<Worker*> senders, recipients;
  for (Worker* w : *pool) {
    if (bytes[w] > mean) senders.push_back(w);
    if (bytes[w] < mean) recipients.push_back(w);
  }
  std::sort(senders.begin(), senders.end(), [&bytes](const Worker* a, const Worker* b) {
    return bytes[a] != bytes[b] ? bytes[a] > bytes[b] : a->id < b->id;
  });
  AcquireCommands commands;
  for (Worker* sender : senders) {
    std::vector<Task*> movable;
    for (Task* t : sender->has_what) {
      if (t->status != KeyStatus::kMemory || transfers_.contains(t)) continue;
      if (!keys.empty() && !only.contains(t)) continue;
      movable.push_back(t);
    }
    std::sort(movable.begin(), movable.end(), [](const Task* a, const Task* b) {
      return a->nbytes != b->nbytes ? a->nbytes > b->nbytes : a->key < b->key;
    });
    for (Task* t : movable) {
      if (bytes[sender] <= mean) break;
      Worker* best = nullptr;
      for (Worker* r : recipients) {
        if (bytes[r] >= mean || Holds(t, r)) continue;
        if (best == nullptr || bytes[r] < bytes[best]) best = r;
      }
      if (best == nullptr) break;
      if (bytes[best] + t->nbytes > bytes[sender] - t->nbytes) continue;  // overshoots
      StartTransfer(t, best, sender, &commands);
      bytes[sender] -= t->nbytes;
      bytes[best] += t->nbytes;
      ++result.keys_moved;
      result.bytes_moved += t->nbytes;
      result.keys.push_back(t->key);
    }
  }
  SendAcquires(commands);
  return result;
}

}  // namespace taskgrid::scheduler
