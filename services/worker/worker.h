#pragma once
// Worker: the worker's core. It turns the scheduler's commands into work
// and reports the outcomes:
//
//  ComputeTask -> the function is looked up, the dependencies this worker
//     lacks are fetched from the holders the scheduler named (fetched
//     copies are stored and announced with KeysAdded), the task is queued
//     on the executor (higher priority first), runs, its result is stored,
//     and TaskFinished / TaskErred is sent. A dependency no holder could
//     provide gives MissingData and the task is dropped. A task for a key
//     already held is answered with TaskFinished at once; a duplicate of a
//     task already queued or running is ignored.
//     A dependency with no holder that this worker is itself computing
//     (the scheduler sent a chain's next task ahead) is waited for here:
//     the task becomes ready when it finishes, and gets MissingData if it
//     does not produce a value (erred, freed, stolen, dropped).
//  FreeKeys -> the data is dropped, a queued or fetching task for the key
//     is dropped, a running one finishes and its result is discarded
//     unreported, unless a new ComputeTask for the key arrived meanwhile.
//  StealRequest -> a task not yet started is dropped (stolen=true).
//  AcquireReplicas -> each key not held is fetched from the holders named
//     and stored (KeysAdded, as for any fetched key); a key no holder could
//     serve gives MissingData with an empty task key. A key already held is
//     confirmed with KeysAdded at once.
//  PutData -> values a peer hands off are stored and announced (KeysAdded);
//     values a client scattered are stored silently (the client tells the
//     scheduler, so the two never disagree).
//  close -> the close-request callback (the process shuts down).
//
// Task lifecycle: waiting (fetching deps) -> ready (queued) -> running ->
// gone; each acceptance has a unique id, so stale queue entries and fetch
// completions of a dropped task are recognised and ignored.
//
// Thread-safety: all methods are thread-safe. One mutex guards the task
// table; it is never held while calling out (executor, fetcher, sink)
// except for the data store, whose lock is always taken after it.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "services/worker/data_store.h"
#include "services/worker/function_registry.h"
#include "services/worker/peer_fetcher.h"
#include "services/worker/scheduler_link.h"
#include "services/worker/task_executor.h"
#include "services/worker/worker_service.h"
#include "services/worker/worker_stats.h"

namespace taskgrid::worker {

struct WorkerIdentity {
  std::string address;  // host:port of this worker's Worker service
  std::string name;
  int nthreads = 1;
  int64_t memory_limit = 0;
  std::map<std::string, double> resources;
  std::string metrics_address;
};

class Worker final : public SessionHandler, public WorkerServiceHandler {
 public:
  Worker(WorkerIdentity identity, const FunctionRegistry* functions, DataStore* store,
         TaskExecutor* executor, PeerFetcher* fetcher, WorkerStats* stats, MessageSink* sink);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Called with the reason when the scheduler asks this worker to close.
  void SetCloseRequestHandler(std::function<void(const std::string& reason)> handler);

  // SessionHandler.
  v1::RegisterWorker MakeRegistration() override;
  void FillHeartbeat(v1::WorkerHeartbeat* heartbeat) override;
  void HandleCommands(v1::WorkerCommandBatch* batch) override;
  void OnSchedulerLost() override;

  // WorkerServiceHandler.
  std::vector<v1::KeyLocation> HandlePutData(std::vector<std::pair<std::string, Value>> values,
                                             const std::string& client_id) override;
  void HandleStatus(v1::WorkerStatus* status) override;

  // Tasks accepted and not yet finished (waiting, ready or running).
  size_t tasks_in_progress() const;

 private:
  struct Task;
  enum class TaskState { kWaiting, kReady, kRunning };
  struct TaskRecord {
    uint64_t id = 0;
    TaskState state = TaskState::kWaiting;
    bool discard = false;         // running, but freed: drop the result
    std::unique_ptr<Task> task;   // held here only while waiting
  };
  struct FetchWaiter {
    std::string task_key;
    uint64_t task_id;
  };
  // What a command batch produces, acted on after the lock is released.
  struct Outcome {
    std::vector<std::unique_ptr<v1::WorkerMessage>> messages;
    std::vector<TaskExecutor::Item> ready;
    std::vector<FetchRequest> fetches;
  };

  void AcceptTask(v1::ComputeTask* command, Outcome* out);
  void FreeKeys(const v1::FreeKeys& command, Outcome* out);
  void Steal(const std::string& key, Outcome* out);
  void AcquireReplicas(const v1::AcquireReplicas& command, Outcome* out);
  void Act(Outcome* out);

  TaskExecutor::Item MakeReadyItem(std::unique_ptr<Task> task);
  void RunTask(std::unique_ptr<Task> task);
  void OnFetched(FetchResult result);
  // The task computing `key` here ended: hands its value (null: none) to
  // the tasks waiting for it locally.
  void LocalInputDone(const std::string& key, const std::shared_ptr<const Value>& value,
                      Outcome* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::unique_ptr<v1::WorkerMessage> KeysAddedMessage(const std::string& key, int64_t nbytes) const;
  // `task_key` (empty for a replica the scheduler asked for) cannot run:
  // `failed` names the holders tried and those that never answered.
  static std::unique_ptr<v1::WorkerMessage> MissingDataMessage(const std::string& task_key,
                                                               const FetchResult& failed);
  std::unique_ptr<v1::WorkerMessage> TaskErredMessage(const std::string& key,
                                                      const std::string& function,
                                                      const absl::Status& error) const;

  const WorkerIdentity identity_;
  const FunctionRegistry* functions_;
  DataStore* store_;
  TaskExecutor* executor_;
  PeerFetcher* fetcher_;
  WorkerStats* stats_;
  MessageSink* sink_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, TaskRecord> tasks_ ABSL_GUARDED_BY(mu_);
  // Dependencies being fetched -> the tasks waiting for them.
  absl::flat_hash_map<std::string, std::vector<FetchWaiter>> fetching_ ABSL_GUARDED_BY(mu_);
  // Keys this worker is computing -> the tasks waiting here for them.
  absl::flat_hash_map<std::string, std::vector<FetchWaiter>> local_waiters_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_task_id_ ABSL_GUARDED_BY(mu_) = 0;
  // Keys being fetched as replicas (AcquireReplicas), whose failure the
  // scheduler must hear about even when no task waits for them.
  absl::flat_hash_set<std::string> replicas_wanted_ ABSL_GUARDED_BY(mu_);
  std::function<void(const std::string&)> on_close_request_ ABSL_GUARDED_BY(mu_);
};

}  // namespace taskgrid::worker
