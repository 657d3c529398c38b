// ClientImpl: turning key states into values or errors (Result, Gather).

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "clients/cpp/client_impl.h"
#include "common/string_view_hash.h"

namespace taskgrid {
namespace {

// "task inc-1f.. (function fail) erred: boom [ValueError]", plus the cause
// and the remote traceback, the way Dask users read failures.
std::string DescribeTaskError(const std::string& key, const v1::TaskError* e) {
  if (e == nullptr) return absl::StrCat("task ", key, " erred");
  std::string out = absl::StrCat("task ", key);
  if (!e->function().empty()) absl::StrAppend(&out, " (function ", e->function(), ")");
  absl::StrAppend(&out, " erred: ", e->message());
  if (!e->type().empty()) absl::StrAppend(&out, " [", e->type(), "]");
  if (!e->cause_key().empty() && e->cause_key() != key) {
    absl::StrAppend(&out, "; caused by the failure of task ", e->cause_key());
  }
  if (!e->traceback().empty()) {
    absl::StrAppend(&out, "\nremote traceback:\n", e->traceback());
  }
  return out;
}

std::chrono::system_clock::time_point ToChrono(absl::Time t) {
  if (t == absl::InfiniteFuture()) return std::chrono::system_clock::time_point::max();
  return absl::ToChronoTime(t);
}

}  // namespace

absl::Status ClientImpl::FailureLocked(const FutureState& s) const {
  if (!s.rejected.ok()) return s.rejected;
  const v1::TaskError* e = s.error.get();
  const std::string detail = e != nullptr && !e->message().empty() ? ": " + e->message() : "";
  switch (s.state) {
    case v1::KEY_STATE_ERRED:
      return absl::AbortedError(DescribeTaskError(s.key, e));
    case v1::KEY_STATE_CANCELLED:
      // The scheduler's message says who cancelled it, when it knows.
      return absl::CancelledError(e != nullptr && !e->message().empty()
                                      ? e->message()
                                      : absl::StrCat("task ", s.key, " was cancelled"));
    case v1::KEY_STATE_NO_WORKER:
      return absl::FailedPreconditionError(
          e != nullptr && !e->message().empty()
              ? e->message()
              : absl::StrCat("no connected worker can run task ", s.key));
    case v1::KEY_STATE_LOST:
      return absl::DataLossError(
          absl::StrCat("the result of task ", s.key, " was lost", detail));
    default:
      return closed_.ok() ? absl::UnknownError(absl::StrCat("task ", s.key, " is pending"))
                          : closed_;
  }
}

absl::StatusOr<Value> ClientImpl::Result(const FutureState& s, absl::Time deadline) {
  absl::Status last_error;
  while (true) {
    std::vector<std::string> holders;
    uint64_t generation;
    {
      absl::MutexLock lock(&mu_);
      if (!AwaitDoneLocked(s, deadline)) {
        if (!last_error.ok()) return last_error;
        return absl::DeadlineExceededError(
            absl::StrCat("timed out waiting for task ", s.key));
      }
      if (s.state != v1::KEY_STATE_MEMORY) return FailureLocked(s);
      holders = s.workers;
      generation = s.generation;
    }
    for (const std::string& address : holders) {
      absl::StatusOr<Value> v = std::move(fetcher_.Fetch(address, {s.key}, ToChrono(deadline))[0]);
      if (v.ok()) return v;
      last_error = v.status();
    }
    // The holders this client was told about may have left while copies
    // live on elsewhere (a retired worker's handoff, replicas): ask the
    // scheduler who holds the key now before waiting for its next word.
    for (const std::string& address : AskWhoHas(s.key)) {
      if (std::find(holders.begin(), holders.end(), address) != holders.end()) continue;
      absl::StatusOr<Value> v = std::move(fetcher_.Fetch(address, {s.key}, ToChrono(deadline))[0]);
      if (v.ok()) return v;
      last_error = v.status();
    }
    if (holders.empty()) {
      last_error = absl::UnavailableError(
          absl::StrCat("the scheduler named no worker holding ", s.key));
    }
    // Every holder failed: the scheduler will notice the loss and compute
    // the key again (or say it is lost); wait for its next word.
    absl::MutexLock lock(&mu_);
    while (s.generation == generation && closed_.ok()) {
      if (changed_.WaitWithDeadline(&mu_, deadline) && s.generation == generation) {
        return last_error;
      }
    }
    if (s.generation == generation) {
      return absl::Status(last_error.code(),
                          absl::StrCat(last_error.message(), "; ", closed_.message()));
    }
  }
}

absl::StatusOr<std::vector<Value>> ClientImpl::Gather(const std::vector<Future>& futures,
                                                      absl::Time deadline) {
  // Distinct keys, each fetched once; slot_of maps a state to its slot.
  absl::flat_hash_map<const FutureState*, size_t> slot_of;
  std::vector<const FutureState*> slots;
  std::vector<size_t> slot_for(futures.size());
  slot_of.reserve(futures.size());
  for (size_t i = 0; i < futures.size(); ++i) {
    const FutureState* s = futures[i].state_.get();
    if (s == nullptr) return absl::InvalidArgumentError("Gather of an invalid Future");
    if (s->client.get() != this) {
      return absl::InvalidArgumentError(
          absl::StrCat("future ", s->key, " belongs to another client"));
    }
    auto [it, inserted] = slot_of.emplace(s, slots.size());
    if (inserted) slots.push_back(s);
    slot_for[i] = it->second;
  }

  // Wait in order, failing on the first error as Dask's gather does, and
  // fetch in waves: the keys of a wave, grouped by the worker to fetch them
  // from, are fetched as soon as they are all done, while later tasks are
  // still running, instead of after the last one.
  std::vector<std::optional<Value>> values(slots.size());
  std::vector<bool> requested(slots.size(), false);
  for (size_t begin = 0; begin < futures.size(); begin += kGatherWave) {
    const size_t end = std::min(futures.size(), begin + kGatherWave);
    std::vector<client::DataFetcher::Group> groups;
    std::vector<std::vector<size_t>> group_slots;
    {
      StringViewMap<size_t> group_of;
      absl::MutexLock lock(&mu_);
      for (size_t i = begin; i < end; ++i) {
        const size_t slot = slot_for[i];
        const FutureState& s = *slots[slot];
        if (!AwaitDoneLocked(s, deadline)) {
          return absl::DeadlineExceededError(
              absl::StrCat("timed out waiting for task ", s.key));
        }
        if (s.state != v1::KEY_STATE_MEMORY) return FailureLocked(s);
        if (requested[slot] || s.workers.empty()) continue;  // no holder: Result() below
        requested[slot] = true;
        const std::string& address = s.workers.front();
        auto [it, inserted] = group_of.emplace(address, groups.size());
        if (inserted) {
          groups.push_back({address, {}});
          group_slots.emplace_back();
        }
        groups[it->second].keys.push_back(s.key);
        group_slots[it->second].push_back(slot);
      }
    }
    std::vector<std::vector<absl::StatusOr<Value>>> fetched =
        fetcher_.FetchGroups(groups, ToChrono(deadline));
    for (size_t g = 0; g < groups.size(); ++g) {
      for (size_t j = 0; j < group_slots[g].size(); ++j) {
        if (fetched[g][j].ok()) values[group_slots[g][j]] = *std::move(fetched[g][j]);
      }
    }
  }
  // Whatever the bulk fetch missed goes the slow way: other holders, then
  // waiting for a recompute.
  for (size_t slot = 0; slot < slots.size(); ++slot) {
    if (values[slot].has_value()) continue;
    absl::StatusOr<Value> v = Result(*slots[slot], deadline);
    if (!v.ok()) return v.status();
    values[slot] = *std::move(v);
  }
  std::vector<Value> out;
  out.reserve(futures.size());
  for (size_t i = 0; i < futures.size(); ++i) out.push_back(*values[slot_for[i]]);
  return out;
}

}  // namespace taskgrid
