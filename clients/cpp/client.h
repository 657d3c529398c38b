#pragma once
// taskgrid::Client — the native C++ client. Opens one ClientSession stream
// to the scheduler, submits tasks and graphs, tracks the state of the keys
// it holds, and fetches results directly from the workers that hold them
// (Worker.GetData), never through the scheduler.
//
//   taskgrid::Client client("127.0.0.1:8786");
//   auto f = client.Submit("inc", {taskgrid::Value::Int(1)});
//   absl::StatusOr<taskgrid::Value> v = f.Result();   // 2
//
// Futures are reference-counted handles: when the last Future for a key is
// destroyed, the client tells the scheduler it no longer wants the key.
//
// Thread-safety: Client and Future are safe to use from any thread.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/value.h"
#include "taskgrid/v1/common.pb.h"

namespace taskgrid {

class ClientImpl;
struct FutureState;

// What the client knows about one key it wants: a snapshot for gateways and
// UIs. `generation` grows with every event for the key, so a consumer can
// tell a newer snapshot from an older one.
struct KeyInfo {
  v1::KeyState state = v1::KEY_STATE_UNSPECIFIED;  // UNSPECIFIED: pending
  std::vector<std::string> workers;                // MEMORY: holders
  int64_t nbytes = 0;
  std::string type_name;
  bool has_error = false;
  v1::TaskError error;  // ERRED / CANCELLED / LOST / NO_WORKER, when given
  uint64_t generation = 0;
};

// Options of one task, as in distributed.Client.submit.
struct SubmitOptions {
  // Submit: the task key; empty: derived (pure: "<fn>-<content hash>", else
  // "<fn>-<unique token>"). Map: replaces <fn> as the keys' name prefix.
  std::string key;
  bool pure = true;
  std::string runtime = "builtin";
  int retries = 0;
  int64_t priority = 0;
  std::vector<std::string> workers;
  bool allow_other_workers = false;
  std::map<std::string, double> resources;
  ValueMap kwargs;
};

// Options of Scatter, as in distributed.Client.scatter.
struct ScatterOptions {
  // Keys of the values, one each; empty: "<type>-<hash of the value>" (with
  // `hash`) or "<type>-<unique token>".
  std::vector<std::string> keys;
  bool hash = true;
  // Workers (addresses or names) to put the values on, round robin; empty:
  // every worker not retiring.
  std::vector<std::string> workers;
  // Every value on every chosen worker.
  bool broadcast = false;
};

class Future {
 public:
  Future() = default;
  const std::string& key() const;
  // "pending", "finished", "error", "cancelled", "lost".
  std::string status() const;
  bool done() const;
  // Waits for the key, then fetches its value from a worker holding it.
  // An erred task returns a Status whose message names the key, function
  // and error text.
  absl::StatusOr<Value> Result() const;
  absl::StatusOr<Value> Result(std::chrono::milliseconds timeout) const;
  // Waits until done (or timeout); true when done.
  bool Wait(std::chrono::milliseconds timeout = std::chrono::hours(24)) const;
  // The error of an erred future (OK otherwise).
  absl::Status Exception() const;
  void Cancel() const;
  // Use as an argument of another Submit: a reference to this key.
  Value AsArg() const { return Value::Ref(key()); }
  bool valid() const { return state_ != nullptr; }
  // A snapshot of the key's state (an empty KeyInfo for an invalid Future).
  KeyInfo Info() const;

 private:
  friend class ClientImpl;
  explicit Future(std::shared_ptr<FutureState> s) : state_(std::move(s)) {}
  std::shared_ptr<FutureState> state_;
};

// A durable session (ClientHello.session_name): when the connection drops,
// the scheduler keeps the keys the session wants for `linger_seconds` (0:
// the scheduler's --client-linger), and a client connecting with the same
// name (and token) resumes it: resumed() is true, ResumedKeys() lists the
// keys it still wants, FutureOf() adopts them without re-declaring, and
// SessionData() returns the records stored with SetSessionData().
struct SessionOptions {
  std::string name;
  double linger_seconds = 0;
};

class Client {
 public:
  // Connects and waits for the scheduler's welcome (fails after timeout).
  static absl::StatusOr<std::unique_ptr<Client>> Connect(
      const std::string& scheduler_address,
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  static absl::StatusOr<std::unique_ptr<Client>> Connect(
      const std::string& scheduler_address, std::chrono::milliseconds timeout,
      const SessionOptions& session);
  ~Client();

  // Submits fn(*args) and wants its result. Arguments may be Future::AsArg()
  // references, also nested inside lists and maps.
  absl::StatusOr<Future> Submit(const std::string& fn, std::vector<Value> args,
                                const SubmitOptions& opts = {});
  // One task per element: fn(element) (element is passed as one argument,
  // or when it is a list and `star` is true, as the argument list).
  absl::StatusOr<std::vector<Future>> Map(const std::string& fn,
                                          const std::vector<Value>& items,
                                          const SubmitOptions& opts = {},
                                          bool star = false);
  // Results of many futures, fetched in parallel, in order; the first error
  // is returned.
  absl::StatusOr<std::vector<Value>> Gather(const std::vector<Future>& futures);
  // Submits a whole graph (TaskSpec per key) and wants `keys`; returns their
  // futures in the order of `keys`. The graph is rejected as a whole with a
  // clear error (cycle, missing dependency, unknown function...).
  absl::StatusOr<std::vector<Future>> SubmitGraph(
      std::vector<v1::TaskSpec> tasks, const std::vector<std::string>& keys,
      int64_t priority = 0);
  // SubmitGraph + Gather.
  absl::StatusOr<std::vector<Value>> Get(std::vector<v1::TaskSpec> tasks,
                                         const std::vector<std::string>& keys);
  // Puts values on workers straight from this client (Worker.PutData; the
  // scheduler only learns where they are) and wants them: Futures in the
  // order of `values`, already done. Scattered data is never recomputed: if
  // every worker holding it leaves, its future errs ("scattered data lost").
  absl::StatusOr<std::vector<Future>> Scatter(std::vector<Value> values,
                                              const ScatterOptions& opts = {});
  // Waits for the futures, then has the cluster copy their values until each
  // has `n` replicas (0: one on every worker) among `workers` (empty: all);
  // returns once the copies are confirmed.
  absl::Status Replicate(const std::vector<Future>& futures, int n = 0,
                         const std::vector<std::string>& workers = {});
  // Moves data from workers holding more than the mean to workers holding
  // less (only the futures' keys when given); returns the keys moved, once
  // the moves are confirmed.
  absl::StatusOr<int> Rebalance(const std::vector<Future>& futures = {},
                                const std::vector<std::string>& workers = {});
  // Key -> addresses of the workers holding it (every key in memory when
  // `futures` is empty), asked of the scheduler.
  absl::StatusOr<std::map<std::string, std::vector<std::string>>> WhoHas(
      const std::vector<Future>& futures = {});
  // Futures in the order they finish.
  class AsCompleted {
   public:
    // Next finished future; nullopt-like invalid Future when all are done.
    Future Next();
    // Same, but an invalid Future also when nothing finished within
    // `timeout` (then remaining() > 0).
    Future Next(std::chrono::milliseconds timeout);
    // Futures not handed out yet.
    size_t remaining() const;
   private:
    friend class Client;
    std::shared_ptr<void> impl_;
  };
  AsCompleted AsCompletedIter(const std::vector<Future>& futures);
  absl::Status Cancel(const std::vector<Future>& futures);
  // Cancels keys by name. With `force`, also for every other client that
  // wants them (what `taskgrid cancel` does).
  absl::Status CancelKeys(const std::vector<std::string>& keys, bool force);
  // Re-attach to a key someone else submitted (wants it), or adopt a key
  // of a resumed session.
  Future FutureOf(const std::string& key);
  // ---- durable sessions (see SessionOptions)
  bool resumed() const;
  // Keys the resumed session wants that no Future has adopted yet.
  std::vector<std::string> ResumedKeys() const;
  // The session's records as the scheduler kept them (at connect time).
  std::map<std::string, std::string> SessionData() const;
  // Stores (empty value: erases) a record of the session on the scheduler,
  // ordered with the graph updates and releases this client sends.
  absl::Status SetSessionData(const std::string& name, const std::string& value);
  const std::string& client_id() const;
  const std::string& scheduler_address() const;
  // Called with each wanted key's new state after the client applied a
  // batch of scheduler events (on the client's event thread, with no client
  // lock held: the callback may call Future methods but must not block).
  // Replaces any earlier listener; nullptr removes it.
  using KeyListener = std::function<void(const std::string& key, const KeyInfo& info)>;
  void SetKeyListener(KeyListener listener);

 private:
  // Shared with every FutureState, so futures outlive the Client safely.
  explicit Client(std::shared_ptr<ClientImpl> impl);
  std::shared_ptr<ClientImpl> impl_;
};

}  // namespace taskgrid
