#pragma once
// ClientImpl: the machinery behind taskgrid::Client.
//
//  - one SchedulerSession stream carries graph updates, releases and cancels
//    out and key events in; events are applied under one mutex, a batch at a
//    time, and waiters are woken once per batch (no per-key threads, no
//    per-key locks);
//  - states_ maps each wanted key to its FutureState (shared by all Futures
//    of the key); ~FutureState removes the entry and queues a ReleaseKeys;
//  - results are fetched from workers by DataFetcher on the calling thread.
//
// Split over client_impl.cc (session, events, waiting, results),
// client_submit.cc (building and sending graph updates) and
// as_completed.cc.
//
// Thread-safety: every public method may be called from any thread. Lock
// order: mu_, then the session's lock. A shared_ptr<FutureState> must never
// be dropped while holding mu_ (the destructor takes it).
//
// Lifetime: shared by the Client and every FutureState, so Futures stay
// usable (for values already in memory) after the Client is destroyed.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/arena.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/cpp/client.h"
#include "clients/cpp/data_fetch.h"
#include "clients/cpp/future_state.h"
#include "clients/cpp/session.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"
#include "taskgrid/v1/scheduler.pb.h"

namespace taskgrid {

namespace client {
class CompletionQueue;
}  // namespace client

class ClientImpl : public std::enable_shared_from_this<ClientImpl>,
                   private client::SessionListener {
 public:
  // Map builds and sends its tasks this many at a time (measured on
  // bench/'s 20k map: 1024 ~80k tasks/s, 2048 ~97k, 4096 ~95k, 8192 ~88k).
  static constexpr size_t kMapBatch = 2048;
  // Gather fetches the values of this many futures at a time, as soon as
  // they are done.
  static constexpr size_t kGatherWave = 2048;

  explicit ClientImpl(std::string scheduler_address);
  ~ClientImpl() override;

  // Opens the session and waits for the scheduler's Welcome.
  absl::Status Start(absl::Duration timeout);
  // Closes the session; pending futures fail. Idempotent.
  void Shutdown();

  const std::string& client_id() const { return client_id_; }
  const std::string& scheduler_address() const { return address_; }

  // ---- submitting (client_submit.cc)
  absl::StatusOr<Future> Submit(const std::string& fn, std::vector<Value> args,
                                const SubmitOptions& opts);
  absl::StatusOr<std::vector<Future>> Map(const std::string& fn,
                                          const std::vector<Value>& items,
                                          const SubmitOptions& opts, bool star);
  absl::StatusOr<std::vector<Future>> SubmitGraph(std::vector<v1::TaskSpec> tasks,
                                                  const std::vector<std::string>& keys,
                                                  int64_t priority);
  Future FutureOf(const std::string& key);
  absl::Status CancelKeys(const std::vector<std::string>& keys, bool force);

  // ---- cluster data operations (client_data.cc)
  absl::StatusOr<std::vector<Future>> Scatter(std::vector<Value> values,
                                              const ScatterOptions& opts) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Replicate(const std::vector<Future>& futures, int n,
                         const std::vector<std::string>& workers) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<int> Rebalance(const std::vector<Future>& futures,
                                const std::vector<std::string>& workers)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::map<std::string, std::vector<std::string>>> WhoHas(
      const std::vector<Future>& futures) ABSL_LOCKS_EXCLUDED(mu_);

  // ---- durable sessions (client_session_data.cc)
  // REQUIRES: before Start.
  void set_session(SessionOptions session) { session_options_ = std::move(session); }
  bool resumed() ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<std::string> ResumedKeys() ABSL_LOCKS_EXCLUDED(mu_);
  std::map<std::string, std::string> SessionData() ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status SetSessionData(const std::string& name, const std::string& value)
      ABSL_LOCKS_EXCLUDED(mu_);

  // ---- state and results (client_impl.cc)
  std::string StatusName(const FutureState& s) ABSL_LOCKS_EXCLUDED(mu_);
  bool Done(const FutureState& s) ABSL_LOCKS_EXCLUDED(mu_);
  // True when done before the deadline.
  bool WaitDone(const FutureState& s, absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Exception(const FutureState& s) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<Value> Result(const FutureState& s, absl::Time deadline)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::vector<Value>> Gather(const std::vector<Future>& futures,
                                            absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);

  // ---- as-completed iteration (as_completed.cc)
  std::shared_ptr<client::CompletionQueue> Watch(const std::vector<Future>& futures);
  // Next done future, or an invalid Future when none is left or at the
  // deadline.
  Future NextCompleted(client::CompletionQueue& q, absl::Time deadline);
  void Unwatch(client::CompletionQueue& q);
  size_t Remaining(client::CompletionQueue& q);

  KeyInfo Info(const FutureState& s) ABSL_LOCKS_EXCLUDED(mu_);
  void SetKeyListener(Client::KeyListener listener) ABSL_LOCKS_EXCLUDED(mu_);

  // Called by ~FutureState.
  void Forget(FutureState* s) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class client::CompletionQueue;

  // client::SessionListener
  void OnEvents(v1::ClientEventBatch& batch) override ABSL_LOCKS_EXCLUDED(mu_);
  void OnClosed(const grpc::Status& status) override ABSL_LOCKS_EXCLUDED(mu_);

  // Returns the key's state when the client wants it (nullptr otherwise).
  FutureState* ApplyKeyEvent(v1::KeyEvent& ev) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  KeyInfo InfoLocked(const FutureState& s) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyAck(v1::GraphAck& ack) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tells AsCompleted iterators that `s` is done (each registration fires
  // once).
  void NotifyDoneLocked(FutureState* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IsDoneLocked(const FutureState& s) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Why a done, not-in-memory key has no value.
  absl::Status FailureLocked(const FutureState& s) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // False at the deadline.
  bool AwaitDoneLocked(const FutureState& s, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // ---- client_submit.cc
  // The state of `key`, created (pending, declared by `request_id`) when
  // the client doesn't want the key yet or only holds a cancelled or
  // rejected state for it; *fresh says whether the key must be declared to
  // the scheduler.
  std::shared_ptr<FutureState> AcquireLocked(const std::string& key, uint64_t request_id,
                                             bool* fresh) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Task specs about to be sent; owned by `arena` when set (Map builds on
  // one), else by the list (deleted unless handed to a message).
  struct TaskList {
    TaskList() = default;
    TaskList(TaskList&&) = default;
    TaskList& operator=(TaskList&&) = delete;
    ~TaskList();
    std::unique_ptr<google::protobuf::Arena> arena;
    std::vector<v1::TaskSpec*> specs;
  };
  // Sends `tasks` (split into parts when too large for one message) and
  // declares `wanted`, returning their futures in order. With `independent`
  // (Submit, Map) tasks[i] computes wanted[i] and a task for a key this
  // client already wants is not sent again. Ids of the updates sent go to
  // *request_ids when given (the caller then awaits their acks).
  absl::StatusOr<std::vector<Future>> Declare(std::vector<std::string> wanted, TaskList tasks,
                                              int64_t priority, bool independent,
                                              std::vector<uint64_t>* request_ids)
      ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t NextRequestId() { return next_request_id_.fetch_add(1) + 1; }
  // Blocks until the update's ack arrived (or the session closed).
  void WaitForAck(uint64_t request_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Parts of a split graph sent before waiting for an ack.
  static constexpr size_t kPartsInFlight = 2;

  // ---- client_data.cc
  // Addresses of the workers named (every worker not retiring when empty).
  absl::StatusOr<std::vector<std::string>> ScatterTargets(const std::vector<std::string>& names);
  // Keys of futures of this client, after waiting for them to be in memory.
  absl::StatusOr<std::vector<std::string>> KeysInMemory(const std::vector<Future>& futures)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The holders the scheduler knows for `key` now (empty on error).
  std::vector<std::string> AskWhoHas(const std::string& key);

  const std::string address_;
  std::string client_id_;  // written once in Start, before it returns
  client::DataFetcher fetcher_;
  // Replaced (under mu_) when a reconnect succeeds; read it under mu_
  // once Start returned.
  std::shared_ptr<client::SchedulerSession> session_;
  // Unary calls (WhoHas, ClusterInfo, Replicate...); set in Start.
  std::unique_ptr<v1::Scheduler::Stub> scheduler_;
  std::atomic<uint64_t> scatter_cursor_{0};  // round robin over workers
  std::atomic<uint64_t> next_request_id_{0};

  absl::Mutex mu_;
  absl::CondVar changed_;  // signalled after each applied batch
  absl::flat_hash_map<std::string, FutureState*> states_ ABSL_GUARDED_BY(mu_);
  // SubmitGraph calls waiting for their acknowledgement.
  absl::flat_hash_map<uint64_t, std::optional<v1::GraphAck>> awaited_acks_
      ABSL_GUARDED_BY(mu_);
  // Shared so OnEvents can call it after releasing mu_.
  std::shared_ptr<const Client::KeyListener> key_listener_ ABSL_GUARDED_BY(mu_);
  bool welcomed_ ABSL_GUARDED_BY(mu_) = false;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  // Set once the session has ended: why pending keys can't complete.
  absl::Status closed_ ABSL_GUARDED_BY(mu_);

  // ---- reconnecting when the session drops (client_reconnect.cc)
  // The session stream of a welcomed client ended without Shutdown: retry
  // until reconnect_timeout_, re-declaring the keys it wants (hello) and
  // sending again the graphs whose keys are still pending. Pending futures
  // stay pending meanwhile.
  static bool ShouldReconnect(const grpc::Status& status);
  void BeginReconnectLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReconnectLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // One attempt; true when welcomed and everything was sent again.
  bool TryReconnect() ABSL_LOCKS_EXCLUDED(mu_);
  // Name, API version and session fields of every hello.
  v1::ClientHello BaseHello() const;
  // `s` no longer needs its definition kept (done, rejected or dropped).
  void ResolveLocked(FutureState* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A Declare whose keys are not all resolved yet: its UpdateGraph
  // messages as sent (framed), and the keys they want.
  struct PendingGraph {
    std::vector<std::string> parts;
    std::vector<std::string> keys;  // declared and carried
    size_t unresolved = 0;
    bool complete = false;  // every part was sent
  };
  // By id: graphs go out again in the order they were first sent.
  std::map<uint64_t, PendingGraph> pending_graphs_ ABSL_GUARDED_BY(mu_);
  uint64_t next_graph_id_ ABSL_GUARDED_BY(mu_) = 0;
  bool reconnecting_ ABSL_GUARDED_BY(mu_) = false;
  bool attempt_welcomed_ ABSL_GUARDED_BY(mu_) = false;
  bool attempt_closed_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reconnect_thread_ ABSL_GUARDED_BY(mu_);
  // TASKGRID_RECONNECT_TIMEOUT (seconds; 0: fail at once), default 60.
  absl::Duration reconnect_timeout_ = absl::Seconds(60);

  // ---- durable sessions
  // Records a resumed session's Welcome; true when it resumed one.
  bool ApplyWelcomeLocked(v1::Welcome& welcome) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A key event for a key no Future holds: kept when it belongs to the
  // resumed session (replayed with the Welcome, or news of such a key).
  void KeepResumedLocked(v1::KeyEvent& ev, bool replay) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // FutureOf for a key of the resumed session: the Future, adopted without
  // declaring the key again; an invalid Future when `key` is not one.
  Future AdoptResumedLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  SessionOptions session_options_;
  bool resumed_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::string> session_data_ ABSL_GUARDED_BY(mu_);
  // The latest event of each resumed key no Future has adopted yet.
  absl::flat_hash_map<std::string, v1::KeyEvent> resumed_keys_ ABSL_GUARDED_BY(mu_);
};

}  // namespace taskgrid
