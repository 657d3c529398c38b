#pragma once
// The state machine's internal records (tasks, workers, function
// statistics). Only SchedulerState and its own source files use these.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "services/scheduler/scheduler_types.h"

namespace taskgrid::scheduler {

struct Worker;

// Learned run time of one function ("runtime/name").
struct FunctionStats {
  std::string id;
  double avg_duration = -1;  // seconds; < 0 until the first completion
  int64_t completed = 0;
  void Observe(double seconds) {
    avg_duration = completed == 0 ? seconds : 0.75 * avg_duration + 0.25 * seconds;
    ++completed;
  }
};

struct Restrictions {
  std::vector<std::string> workers;  // names or addresses
  bool allow_other_workers = false;
  std::vector<std::pair<std::string, double>> resources;
};

// Reported type of a result with no type name (and the default).
inline const std::string kNoTypeName;

// Field order packs the small fields together: a Task is 304 bytes, under
// jemalloc's 320-byte size class (one more bool in the wrong place makes
// it 384); bench/ measures the scheduler's memory per task.
struct Task {
  std::string key;
  KeyStatus status = KeyStatus::kReleased;
  // Data a client pushed to workers itself (scatter): no definition, so it
  // is never computed; losing its last holder errs it.
  bool scattered = false;
  // Known only by key after a scheduler restart: a reconnecting worker
  // reported holding it, or a reconnecting client re-declared it, before
  // any client sent its definition (run_spec is empty, fn null). Never
  // computed; a client's UpdateGraph with the key fills the definition in.
  // Until claim_deadline it is kept even when nobody wants it.
  bool adopted = false;
  // A client wanted it: once released it is freed at once, as any result.
  bool claimed = false;
  // Processing, sent ahead of its input (chain pipelining): it waits on its
  // worker for that input, computed there, and takes no root slot.
  bool ahead = false;
  std::string run_spec;
  FunctionStats* fn = nullptr;
  int64_t priority = 0;
  uint64_t seq = 0;
  // Static graph order (post-order DFS of each submitted graph, so that a
  // branch finishes before the next starts); global across submissions.
  uint64_t order = 0;
  int retries_left = 0;
  int suspicious = 0;  // workers that died while running it
  std::vector<Task*> deps;
  absl::flat_hash_set<Task*> dependents;
  uint32_t missing = 0;  // deps not in memory, while waiting
  uint32_t waiters = 0;  // dependents that still need this value
  absl::InlinedVector<Worker*, 1> who_has;
  Worker* processing_on = nullptr;
  double occupancy_charge = 0;
  // A steal request to move it from processing_on to this worker is out.
  WorkerId steal_to = kNoWorker;
  int64_t nbytes = 0;
  // Interned by the state (few distinct names); never null.
  const std::string* type_name = &kNoTypeName;
  absl::InlinedVector<ClientId, 1> who_wants;
  std::shared_ptr<const ErrorInfo> error;
  std::unique_ptr<Restrictions> restrictions;
  double claim_deadline = 0;  // see adopted
};

struct Worker {
  // Tasks it was sent whose inputs are all computed (queued or running).
  size_t load() const { return processing.size() - ahead; }

  WorkerId id = kNoWorker;
  WorkerDef def;
  absl::flat_hash_set<std::string> functions;
  absl::flat_hash_set<Task*> processing;
  size_t ahead = 0;  // of `processing`, tasks sent ahead of their inputs
  absl::flat_hash_set<Task*> has_what;
  double occupancy = 0;  // estimated seconds of queued work
  // Steal requests out whose task would come here.
  size_t incoming_steals = 0;
  // Abstract resources held by the tasks processing on it.
  absl::flat_hash_map<std::string, double> resources_used;
  int64_t bytes_held = 0;
  int64_t memory_bytes = 0;
  int64_t spilled_bytes = 0;
  double last_seen = 0;
  bool paused = false;    // memory is short: no new tasks
  bool retiring = false;  // asked to leave: no new tasks
};

// Scheduler-side run order: higher user priority first, then graph order.
struct RunsBefore {
  bool operator()(const Task* a, const Task* b) const {
    if (a->priority != b->priority) return a->priority > b->priority;
    return a->order < b->order;
  }
};

// A task needs its dependencies' values while in one of these states.
inline bool NeedsDeps(KeyStatus s) {
  return s == KeyStatus::kWaiting || s == KeyStatus::kProcessing ||
         s == KeyStatus::kNoWorker || s == KeyStatus::kQueued;
}

}  // namespace taskgrid::scheduler
