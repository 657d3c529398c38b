#pragma once
// SchedulerState: taskgrid's scheduling brain, a single-threaded,
// event-driven state machine with no transport inside it.
//
// Inputs are events (a client added tasks, a worker finished a task, a
// worker disappeared, time passed); outputs go to a SchedulerOutbox
// (compute-task and free-keys commands for workers, key events for
// clients). The gRPC adapter feeds it from one event-loop thread; tests
// drive it directly with fake workers and an injected clock.
//
// Task life cycle (as in Dask.distributed):
//   released -> waiting -> processing -> memory | erred, and forgotten once
//   no client wants a key and no task that still needs it remains.
// A task that is ready but that no connected worker can run is no-worker
// until a suitable worker joins.
//
// Invariants (checked by Validate(), used by every test):
//  - a task in waiting has `missing` == number of dependencies not in memory;
//  - `waiters` of a task == number of its dependents in waiting, no-worker or
//    processing (they still need its value);
//  - a task in memory has at least one holder, and every holder lists it;
//  - a task in processing is in exactly its worker's processing set;
//  - a task in memory is kept only while some client wants it or waiters > 0
//    (otherwise its value is freed and it drops to released);
//  - a released/erred task that nobody wants and no task depends on is
//    forgotten.
//
// Thread-safety: none; call from one thread.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_set.h"
#include "absl/status/statusor.h"
#include "common/string_view_hash.h"
#include "services/scheduler/scheduler_model.h"
#include "services/scheduler/scheduler_types.h"

namespace taskgrid::scheduler {

struct Task;
struct Worker;
struct FunctionStats;

class SchedulerState {
 public:
  struct Options {
    // A worker silent for this long is removed (its tasks rescheduled).
    double worker_timeout_seconds = 30.0;
    // A task whose worker died while running it this many times errs.
    int allowed_failures = 3;
    // Duration assumed for a function before any completion was seen.
    double default_task_duration = 0.0005;
    // Assumed worker-to-worker bandwidth (bytes/s) for transfer costs.
    double bandwidth = 500e6;
    // Fixed cost of fetching one input from another worker: the request's
    // round trip and both workers' work per transfer, whatever the size
    // (a 1 KiB value measured ~0.4 ms on loopback). Without it a tiny task
    // went to whichever worker was a few tasks less busy and fetched all
    // its inputs there.
    double transfer_latency = 0.001;
    // Root tasks (no dependencies) a worker gets per thread before the rest
    // wait in the scheduler's queue, as Dask's worker-saturation; infinity
    // sends every ready task at once.
    double worker_saturation = 1.1;
    // Once a function's duration is known, a worker may hold this many
    // seconds of its root tasks per thread (so tiny tasks don't idle
    // workers between round trips), at most max_queue_ahead per thread.
    double queue_ahead_seconds = 0.005;
    double max_queue_ahead = 256;
    // Chain pipelining: a task whose only dependency was just sent to a
    // worker, and which is that dependency's only dependent, is sent to
    // the same worker at once, to start there as soon as its input is
    // computed, and so on down the chain up to this many tasks. Each step
    // of a chain then costs no worker->scheduler->worker round trip. 0 off.
    int max_ahead = 32;
    // Work stealing (Balance): off when false.
    bool work_stealing = true;
    // How long a named client session whose stream dropped keeps its keys
    // when its hello asked for no particular linger (--client-linger).
    double default_linger = 600.0;
    // Scheduler restart recovery (see AddWorker's held keys and
    // RedeclareKeys): a result a reconnecting worker holds that no client
    // claims within this time is freed; a key a client re-declares that no
    // worker reports within it errs.
    double orphan_grace_seconds = 30.0;
    // After a sign of a restart (a worker or client reporting keys this
    // scheduler does not know), ready tasks wait this long before being
    // placed, so workers still reconnecting can report what they hold
    // instead of having it recomputed.
    double recovery_hold_seconds = 2.0;
  };
  // Seconds on some monotonic scale.
  using Clock = std::function<double()>;

  SchedulerState(SchedulerOutbox* outbox, Clock clock, Options options);
  SchedulerState(SchedulerOutbox* outbox, Clock clock)
      : SchedulerState(outbox, std::move(clock), Options()) {}
  ~SchedulerState();
  SchedulerState(const SchedulerState&) = delete;
  SchedulerState& operator=(const SchedulerState&) = delete;

  // ---- clients
  ClientId AddClient(const std::string& name);
  // Releases everything the client wanted.
  void RemoveClient(ClientId client);
  // Adds `tasks` and makes `client` want `wanted`, all or nothing. Errors
  // (InvalidArgument) name the offending task: empty, duplicate or invalid
  // UTF-8 key, a key already known with another definition, a dependency on
  // a missing key, a cycle (also one closed through adopted keys), an
  // unknown runtime, a function no worker offers, a negative, NaN or
  // infinite resource request, a wanted key that doesn't exist.
  // Returns the number of tasks added (known keys are shared, not re-added).
  absl::StatusOr<int> UpdateGraph(ClientId client, std::vector<TaskDef> tasks,
                                  const std::vector<std::string>& wanted,
                                  int64_t priority);
  void ReleaseKeys(ClientId client, const std::vector<std::string>& keys);
  // Cancels the keys, and the dependents of theirs the client wants: the
  // client gets a cancelled event for each and stops wanting it.
  // Without `force`, keys other clients also want stay theirs.
  void CancelKeys(ClientId client, const std::vector<std::string>& keys,
                  bool force = false);

  // ---- durable (named) client sessions (scheduler_sessions.cc)
  struct SessionRequest {
    std::string name;          // shown in logs
    std::string session_name;  // empty: an ordinary client (AddClient)
    // Who may resume the session (e.g. a digest of the bearer token).
    std::string owner;
    // How long a dropped session keeps its keys; 0: default_linger.
    double linger_seconds = 0;
  };
  struct SessionOpened {
    ClientId id = 0;
    // An existing session was resumed: call ReplayWanted once its stream
    // is attached.
    bool resumed = false;
    // The session still had a live stream, which the caller must close.
    bool taken_over = false;
    const std::map<std::string, std::string>* data = nullptr;
  };
  // A new client, or the named session of that name resumed with the keys
  // it wants. PermissionDenied when the session belongs to another owner,
  // InvalidArgument for a negative or non-finite linger.
  absl::StatusOr<SessionOpened> OpenSession(const SessionRequest& request);
  // The client's stream ended: a named session keeps its keys and data
  // until its linger passes (or it is resumed); any other client is
  // removed as by RemoveClient.
  void DetachClient(ClientId client);
  // Sends `client` the current state of every key it wants (memory and
  // erred with their details, other states by name).
  void ReplayWanted(ClientId client);
  // Removes detached sessions whose linger has passed; returns them.
  std::vector<ClientId> ExpireDetachedSessions();
  // Stores (empty value: erases) a record of the client's session.
  void SetSessionData(ClientId client, const std::string& name, std::string value);
  size_t num_detached_sessions() const;
  // A client reconnecting after a scheduler restart wants these keys again
  // (ClientHello.wanted_keys). Known keys are wanted as by UpdateGraph;
  // unknown ones are remembered by key (adopted) until a worker reports
  // holding them or a client defines them, and err after the grace period.
  // The client is marked as reconnecting: its later updates may also
  // depend on (or want) keys this scheduler does not know, adopted so too.
  void RedeclareKeys(ClientId client, const std::vector<std::string>& keys);

  // ---- workers
  // AlreadyExists if a worker with the same address is connected;
  // InvalidArgument for a negative, NaN or infinite resource.
  // `held`: results the worker already holds (RegisterWorker.held_keys,
  // after a scheduler restart or a lost connection). Known keys not yet in
  // memory go to memory there without being (re)computed; unknown keys are
  // adopted: kept until a client claims or defines them, freed after the
  // grace period otherwise. Without `adopt_unknown` (a worker rejoining this
  // same scheduler, which forgot those keys on purpose) they are freed.
  absl::StatusOr<WorkerId> AddWorker(WorkerDef def,
                                     const std::vector<DepLocation>& held = {},
                                     bool adopt_unknown = true);
  bool has_worker(WorkerId worker) const { return workers_.contains(worker); }
  void RemoveWorker(WorkerId worker, const std::string& reason);
  void Heartbeat(WorkerId worker, int64_t memory_bytes, int64_t spilled_bytes = 0,
                 bool paused = false);
  // The worker is being retired: nothing new is placed or stolen onto it.
  void RetireWorker(WorkerId worker);
  void TaskFinished(WorkerId worker, const std::string& key, int64_t nbytes,
                    const std::string& type_name, double duration_seconds);
  void TaskErred(WorkerId worker, const std::string& key, ErrorInfo error);
  // `worker` could not fetch these dependencies of `key` from the listed
  // holders: forget those replicas and reschedule `key`. Holders in
  // `unreachable` never answered (the transfer broke or stalled); a
  // connected one keeps its copy of scattered data, which cannot be
  // recomputed: that is only lost when every holder has left.
  void MissingData(WorkerId worker, const std::string& key,
                   const std::vector<DepLocation>& missing,
                   const std::vector<std::string>& unreachable = {});
  // The worker now also holds these keys (fetched replicas).
  void KeysAdded(WorkerId worker, const std::vector<DepLocation>& keys);
  void KeysLost(WorkerId worker, const std::vector<std::string>& keys);
  // Answer to a steal request: `stolen` if the worker dropped the task
  // before starting it (the scheduler then runs it elsewhere).
  void StealResponse(WorkerId worker, const std::string& key, bool stolen);
  // Work stealing: asks saturated workers to give queued tasks to idle
  // ones where the move pays for its transfer. Call periodically.
  void Balance();
  // Removes workers silent for longer than the timeout; returns them.
  std::vector<WorkerId> CheckWorkerTimeouts();
  // Ends the recovery hold and the grace period of adopted keys once their
  // time has come. Call periodically.
  void ExpireRecovery();
  // Gives back the capacity of containers sized for a graph that has since
  // been released (hash tables never shrink by themselves): memory returns
  // once a big graph is gone. Call periodically; cheap when nothing shrank.
  void ReleaseCapacity();
  // Forgets every task (clients get cancelled events) and frees all data.
  int Restart();

  // ---- cluster data operations (scheduler_data_ops.cc)
  // Scatter: `client` pushed these values to the workers named itself and
  // wants them. Each key goes to memory there (a new key is created with no
  // definition; it errs, "scattered data lost", if every holder leaves).
  // All or nothing; InvalidArgument names the key: empty key, negative
  // size, none of its workers connected, a key that is a computed task.
  absl::Status UpdateData(ClientId client, const std::vector<DepLocation>& keys);
  // Asks workers to copy `keys` (all in memory) until each has `n` replicas
  // among `workers` (names or addresses; empty: every worker not retiring;
  // n == 0 or more than there are: one on each), and drops replicas beyond
  // n. Returns the keys whose copies are on their way (see TransfersPending).
  absl::StatusOr<std::vector<std::string>> Replicate(const std::vector<std::string>& keys,
                                                     int n,
                                                     const std::vector<std::string>& workers);
  struct RebalanceResult {
    int keys_moved = 0;
    int64_t bytes_moved = 0;
    std::vector<std::string> keys;  // moving now
  };
  // Moves keys (empty: every key in memory) from workers holding more than
  // the mean bytes among `workers` to workers holding less; a sender's copy
  // is dropped once the recipient confirms it.
  absl::StatusOr<RebalanceResult> Rebalance(const std::vector<std::string>& keys,
                                            const std::vector<std::string>& workers);
  // True while a copy or move of any of `keys` is unconfirmed.
  bool TransfersPending(const std::vector<std::string>& keys) const;

  // ---- queries
  struct WorkerView {
    WorkerId id;
    WorkerDef def;
    int processing;
    int keys_held;
    int64_t bytes_held;
    int64_t memory_bytes;
    double last_seen;
    int64_t spilled_bytes;
    const char* status;  // "running", "paused", "retiring"
  };
  std::vector<WorkerView> Workers() const;
  std::optional<WorkerId> FindWorker(const std::string& address_or_name) const;
  std::map<std::string, int64_t> CountsByStatus() const;
  std::vector<DepLocation> WhoHas(const std::vector<std::string>& keys) const;
  std::optional<KeyStatus> StatusOf(const std::string& key) const;
  std::vector<std::string> FunctionsOffered() const;
  size_t num_tasks() const { return tasks_.size(); }
  // The function record of `key` while it is processing (so a worker's
  // finished/erred report for it is one the state will act on), else null.
  // Function records live as long as the state.
  const FunctionStats* RunningFunction(const std::string& key) const;
  size_t num_clients() const { return clients_.size(); }
  size_t num_workers() const { return workers_.size(); }
  uint64_t transitions() const { return transitions_; }
  uint64_t steal_requests() const { return steal_requests_; }
  uint64_t steals() const { return steals_; }
  size_t num_queued() const { return queued_.size(); }
  size_t num_transfers() const { return transfers_.size(); }
  // Adopted keys still in their grace period; ready tasks held back.
  size_t num_orphans() const { return orphans_.size(); }
  size_t num_held() const { return held_.size(); }
  // Checks the invariants listed above; the first violation as an error.
  absl::Status Validate() const;

 private:
  struct Client {
    std::string name;
    absl::flat_hash_set<Task*> wants;
    // Named (durable) sessions only.
    std::string session_name;
    std::string owner;
    double linger = 0;
    bool detached = false;
    double linger_until = 0;  // while detached
    std::map<std::string, std::string> data;
  };

  const std::string* InternTypeName(const std::string& name);
  Task* Find(const std::string& key) const;
  void Transition(Task* t, KeyStatus to);
  // Drains the work lists filled by transitions until nothing is left.
  void Drain();
  void PushReady(Task* t);
  void ComputeIfNeeded(Task* t);
  void MakeReady(Task* t);
  void Place(Task* t);
  Worker* ChooseWorker(Task* t, bool* restricted, bool* full);
  bool CanRun(const Worker* w, const Task* t) const;
  // Takes new tasks (not paused, not retiring).
  static bool Accepting(const Worker* w) { return !w->paused && !w->retiring; }
  // Starts `t` on `w`, then pipelines its chain there (max_ahead).
  void SendCompute(Task* t, Worker* w);
  void StartOn(Task* t, Worker* w);
  // A task sent ahead becomes an ordinary processing one.
  void EndAhead(Task* t);
  // Sent ahead of its input, or has a dependent sent ahead to wait for it
  // on the same worker: must not be stolen.
  bool Pinned(const Task* t) const;
  // Takes a processing task off its worker (slots, occupancy, resources).
  void DetachFromWorker(Task* t);
  // Forgets a pending steal of `t`; returns the would-be thief (kNoWorker
  // if none was pending).
  WorkerId ClearSteal(Task* t);
  // Root tasks and tasks needing resources start only where there is room.
  bool IsGated(const Task* t) const;
  // Gated by root slots (not by resources): a root task without them.
  bool UsesRootSlots(const Task* t) const;
  bool HasRoom(const Worker* w, const Task* t) const;
  size_t RootSlots(const Worker* w, const Task* t) const;
  // Starts queued tasks on a worker that has room again.
  void FillSlots(Worker* w);
  void AssignGraphOrder(const std::vector<Task*>& created);
  double FetchSeconds(const Task* t, const Worker* w) const;
  void AddReplica(Task* t, Worker* w, int64_t nbytes);
  void RemoveReplica(Task* t, Worker* w);
  void DataLost(Task* t);
  void Reschedule(Task* t);
  void EnterWaiting(Task* t);
  void MarkErred(Task* t, std::shared_ptr<const ErrorInfo> error);
  void MaybeRelease(Task* t);
  void MaybeForget(Task* t);
  void Forget(Task* t);
  void Want(ClientId client, Task* t);
  void Unwant(ClientId client, Task* t);
  // What validating an update learnt, for UpdateGraph to use rather than
  // look up again: per task, the known task of its key (or null), and the
  // index of each incoming key in `tasks`.
  struct UpdateLookup {
    std::vector<Task*> known;
    StringViewMap<size_t> incoming;
  };
  // `adopt_unknown`: dependencies and wanted keys nobody defined are
  // allowed (a reconnecting client's; they are adopted by key).
  absl::Status ValidateUpdate(const std::vector<TaskDef>& tasks,
                              const std::vector<std::string>& wanted,
                              bool adopt_unknown, UpdateLookup* lookup) const;
  void NotifyClients(Task* t, KeyStatus status,
                     std::shared_ptr<const ErrorInfo> error = nullptr);
  void RetryNoWorker();
  // ---- scheduler_recovery.cc
  // A task known only by key (see Task::adopted), status released.
  Task* AdoptKey(const std::string& key);
  void AdoptHeld(Worker* w, const std::vector<DepLocation>& held, bool adopt_unknown);
  // Gives an adopted task the definition a client sent.
  void DefineAdopted(Task* t, TaskDef& d, int64_t priority);
  // Keeps ready tasks from being placed for recovery_hold_seconds.
  void StartRecoveryHold();
  bool Holding() const { return hold_until_ > 0 && clock_() < hold_until_; }
  FunctionStats* StatsFor(const std::string& function_id);
  double EstimatedDuration(const Task* t) const;
  // ---- scheduler_data_ops.cc
  // A copy of `t` is to arrive at `to` (then `drop_from`, when set, frees
  // its copy): one AcquireReplicas entry for `to` in *commands.
  struct Transfer {
    Worker* to;
    Worker* drop_from;
  };
  using AcquireCommands = std::map<WorkerId, std::vector<DepLocation>>;
  void StartTransfer(Task* t, Worker* to, Worker* drop_from, AcquireCommands* commands);
  void SendAcquires(const AcquireCommands& commands);
  // `w` confirmed (KeysAdded) or failed (MissingData) its copy of `t`.
  void TransferArrived(Task* t, Worker* w);
  void TransferFailed(Task* t, Worker* w);
  // `w` is leaving: no copy goes to it, none is dropped from it.
  void ForgetTransfers(Worker* w);
  // The workers named (all running ones when empty), not retiring.
  absl::StatusOr<std::vector<Worker*>> DataWorkers(const std::vector<std::string>& names) const;
  std::shared_ptr<const ErrorInfo> ScatteredDataLost(const Task* t) const;
  absl::Status ValidateTransfers() const;

  SchedulerOutbox* outbox_;
  Clock clock_;
  Options options_;
  StringViewMap<std::unique_ptr<Task>> tasks_;
  absl::flat_hash_map<WorkerId, std::unique_ptr<Worker>> workers_;
  absl::flat_hash_map<ClientId, Client> clients_;
  // Named sessions (attached or detached) by name.
  absl::flat_hash_map<std::string, ClientId> sessions_;
  absl::flat_hash_map<std::string, std::unique_ptr<FunctionStats>> functions_;
  // Result type names, interned for Task::type_name (node set: stable).
  absl::node_hash_set<std::string> type_names_;
  // Functions offered by workers, "runtime/name" -> number of workers.
  absl::flat_hash_map<std::string, int> offered_;
  absl::flat_hash_set<std::string> ever_offered_;
  absl::flat_hash_set<Task*> no_worker_;
  // Ready tasks waiting for room on a worker (status queued).
  std::set<Task*, RunsBefore> queued_;
  // Copies being made by replicate/rebalance, by key (cleared when the key
  // leaves memory).
  absl::flat_hash_map<Task*, std::vector<Transfer>> transfers_;
  // Adopted tasks in their grace period (scheduler_recovery.cc).
  absl::flat_hash_set<Task*> orphans_;
  // Clients that reconnected after a restart (see RedeclareKeys).
  absl::flat_hash_set<ClientId> recovering_clients_;
  // Ready tasks (waiting, missing == 0) not placed during a recovery hold,
  // which lasts until hold_until_ (0: none).
  absl::flat_hash_set<Task*> held_;
  double hold_until_ = 0;
  // Work lists filled by transitions and drained by Drain().
  std::vector<Task*> ready_;  // a heap, best first (see PushReady)
  std::vector<Task*> release_candidates_;
  std::vector<Task*> forget_candidates_;
  std::vector<Task*> compute_candidates_;
  std::vector<WorkerId> freed_workers_;  // had a task leave; may take queued ones
  // Forgotten tasks live here until Drain() ends, so work lists never hold
  // dangling pointers.
  std::vector<std::unique_ptr<Task>> graveyard_;
  std::vector<Worker*> worker_order_;  // in join order, for even spreading
  int64_t counts_[10] = {};            // tasks by KeyStatus
  bool draining_ = false;
  uint64_t next_seq_ = 1;
  ClientId next_client_ = 1;
  WorkerId next_worker_ = 1;
  uint64_t transitions_ = 0;
  uint64_t next_order_ = 1;
  uint64_t steal_requests_ = 0;
  uint64_t steals_ = 0;
  size_t place_cursor_ = 0;
  // The worker given the last plain root task: consecutive root tasks stay
  // on it while it has room (see ChooseWorker). Cleared when it leaves.
  Worker* last_root_worker_ = nullptr;
};

}  // namespace taskgrid::scheduler
