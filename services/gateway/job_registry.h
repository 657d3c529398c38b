#pragma once
// JobRegistry: the gateway's record of jobs — which keys each job wants,
// what the scheduler last said about each key, who is watching, and when a
// finished job expires. Pure bookkeeping: no network, time comes from an
// injected clock, so it is unit-tested directly.
//
// A job holds its keys through an opaque JobHolds object (the gateway puts
// the client Futures there): dropping it releases the keys on the
// scheduler. Holds are always destroyed outside the registry's lock, since
// releasing a Future takes the client's lock.
//
// Thread-safety: every method may be called from any thread. Event sinks
// are invoked with the registry's lock held: they must only queue the
// event (never block, never call back into the registry).
//
// Invariants: a job is terminal (finished / failed / cancelled) iff
// `terminal_since` is set; a cancelled job has no holds and is not in
// jobs_of_key_; every subscriber receives the final event exactly once.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/cpp/client.h"
#include "taskgrid/v1/jobs.pb.h"

namespace taskgrid::gateway {

enum class JobState { kPending, kRunning, kFinished, kFailed, kCancelled };

// "pending", "running", "finished", "failed", "cancelled".
const char* JobStateName(JobState s);
v1::JobState JobStateToProto(JobState s);
bool IsTerminal(JobState s);
// REST name of a key state: "pending" (no news yet), "memory", "erred",
// "cancelled", "lost", "no-worker", ...
std::string KeyStateName(v1::KeyState s);
// True for the states in which a key will not change without a recompute.
bool IsKeyDone(v1::KeyState s);

// What keeps a job's keys alive on the scheduler (released on destruction).
class JobHolds {
 public:
  virtual ~JobHolds() = default;
};

struct JobSummary {
  std::string id;
  std::string name;
  JobState state = JobState::kPending;
  absl::Time created;
  int tasks_total = 0;  // tasks submitted with the job
  int keys_total = 0;
  int keys_done = 0;   // in memory
  int keys_erred = 0;  // erred, cancelled, lost or no-worker
};

struct JobKey {
  std::string key;
  KeyInfo info;
};

struct JobSnapshot {
  JobSummary summary;
  std::vector<JobKey> keys;  // in submission order
};

struct JobEvent {
  std::string job_id;
  JobKey key;  // unset key name on the final event
  JobState job_state;
  bool final = false;  // the job is terminal; no more events follow
};

class JobRegistry {
 public:
  using Clock = std::function<absl::Time()>;
  using EventSink = std::function<void(const JobEvent&)>;

  struct NewJob {
    std::string name;
    std::vector<std::string> keys;  // distinct
    std::vector<KeyInfo> initial;   // parallel to keys
    int tasks_total = 0;
    absl::Duration ttl = absl::ZeroDuration();  // zero: the registry default
    std::shared_ptr<JobHolds> holds;
    // A job restored after a gateway restart keeps its id and creation
    // time; empty / unset: a new id (NewId) and now.
    std::string id;
    std::optional<absl::Time> created;
  };

  explicit JobRegistry(absl::Duration default_ttl, Clock clock = &absl::Now);
  ~JobRegistry();

  // Registers a job and returns its id. REQUIRES: job.id, when set, is not
  // registered yet.
  std::string Add(NewJob job) ABSL_LOCKS_EXCLUDED(mu_);
  // A fresh job id: random, so ids are not guessable across tenants.
  std::string NewId() ABSL_LOCKS_EXCLUDED(mu_);
  bool Contains(const std::string& id) ABSL_LOCKS_EXCLUDED(mu_);
  // Gives a live job new holds (after the scheduler session was resumed by
  // a new client); returns the old ones, to drop outside any lock. A
  // cancelled or unknown job keeps nothing: `holds` is handed back.
  std::shared_ptr<JobHolds> ReplaceHolds(const std::string& id, std::shared_ptr<JobHolds> holds)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The scheduler's news about `key`; applied to every live job wanting
  // it unless older (by generation) than what the job already has.
  void OnKeyUpdate(const std::string& key, const KeyInfo& info) ABSL_LOCKS_EXCLUDED(mu_);

  std::optional<JobSnapshot> Get(const std::string& id) ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<JobSummary> List() ABSL_LOCKS_EXCLUDED(mu_);
  // The job's holds (nullptr when cancelled); NotFound for an unknown job,
  // and for a key the job does not own.
  absl::StatusOr<std::shared_ptr<JobHolds>> HoldsFor(const std::string& id, const std::string& key)
      ABSL_LOCKS_EXCLUDED(mu_);

  struct Cancelled {
    // Keys no other live job wants: safe to cancel on the scheduler.
    std::vector<std::string> exclusive_keys;
    // Destroy after cancelling, outside any lock, to release the keys.
    std::shared_ptr<JobHolds> holds;
  };
  // Marks the job cancelled and detaches its holds. Cancelling a terminal
  // job only releases its keys (exclusive_keys stays empty).
  absl::StatusOr<Cancelled> Cancel(const std::string& id) ABSL_LOCKS_EXCLUDED(mu_);

  // Forgets terminal jobs whose TTL has passed; their holds are returned
  // for the caller to drop outside any lock.
  std::vector<std::shared_ptr<JobHolds>> ExpireFinished() ABSL_LOCKS_EXCLUDED(mu_);

  // Replays the current state of every key that has news (one event each),
  // then streams live changes; a terminal job's replay ends with the final
  // event. Returns a subscription id.
  absl::StatusOr<uint64_t> Subscribe(const std::string& id, EventSink sink)
      ABSL_LOCKS_EXCLUDED(mu_);
  void Unsubscribe(uint64_t subscription) ABSL_LOCKS_EXCLUDED(mu_);

  // Jobs per state (for metrics).
  std::vector<std::pair<JobState, int>> CountByState() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Job;
  JobSummary SummaryLocked(const Job& job) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Recomputes the job's state; on becoming terminal notifies subscribers.
  void RefreshStateLocked(Job& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends `ev` (when given) to the job's subscribers, then, when the job is
  // terminal, the final event, and drops the subscriptions.
  void EmitLocked(Job& job, const JobEvent* ev) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DetachKeysLocked(const Job& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration default_ttl_;
  const Clock clock_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  // Live (not cancelled, not expired) jobs wanting each key.
  absl::flat_hash_map<std::string, std::vector<Job*>> jobs_of_key_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, Job*> subscriptions_ ABSL_GUARDED_BY(mu_);
  uint64_t next_subscription_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_job_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace taskgrid::gateway
