#pragma once
// Plain data that crosses the boundary between the scheduler's state machine
// (SchedulerState) and its transport adapter. No gRPC or protobuf types here:
// the state machine sees tasks as keys, dependency lists and an opaque
// serialized spec it forwards to workers unchanged.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace taskgrid::scheduler {

using WorkerId = uint64_t;
using ClientId = uint64_t;
inline constexpr WorkerId kNoWorker = 0;

// What a client submits for one task.
struct TaskDef {
  std::string key;
  std::string runtime;   // "builtin", "python", ...
  std::string function;  // name within the runtime
  std::vector<std::string> dependencies;  // keys referenced by the args
  std::string run_spec;  // serialized spec, forwarded to workers as is
  int64_t priority = 0;
  int retries = 0;
  std::vector<std::string> workers;  // restriction (names or addresses)
  bool allow_other_workers = false;
  std::map<std::string, double> resources;
};

struct WorkerDef {
  std::string address;
  std::string name;
  int nthreads = 1;
  int64_t memory_limit = 0;
  std::map<std::string, double> resources;
  std::vector<std::string> functions;  // "runtime/function"
  std::string metrics_address;
};

// Mirrors taskgrid.v1.KeyState.
enum class KeyStatus {
  kReleased, kWaiting, kQueued, kProcessing, kMemory, kErred, kForgotten,
  kCancelled, kLost, kNoWorker
};
const char* KeyStatusName(KeyStatus s);

struct ErrorInfo {
  std::string key;
  std::string function;
  std::string message;
  std::string traceback;
  std::string type;
  std::string cause_key;
};

struct DepLocation {
  std::string key;
  std::vector<std::string> workers;  // addresses
  int64_t nbytes = 0;
};

struct ComputeTaskCommand {
  std::string key;
  const std::string* run_spec = nullptr;  // valid until the call returns
  int64_t priority = 0;
  std::vector<DepLocation> who_has;
};

struct KeyEventOut {
  std::string key;
  KeyStatus status = KeyStatus::kReleased;
  std::vector<std::string> workers;  // kMemory
  int64_t nbytes = 0;
  std::string type_name;
  std::shared_ptr<const ErrorInfo> error;  // kErred, kCancelled, kNoWorker...
};

// Where the state machine's decisions go. The adapter batches them per
// stream; tests record them.
class SchedulerOutbox {
 public:
  virtual ~SchedulerOutbox() = default;
  virtual void ComputeTask(WorkerId worker, const ComputeTaskCommand& cmd) = 0;
  virtual void FreeKeys(WorkerId worker, const std::vector<std::string>& keys) = 0;
  virtual void CloseWorker(WorkerId worker, const std::string& reason) = 0;
  virtual void StealRequest(WorkerId worker, const std::string& key) = 0;
  virtual void KeyEvent(ClientId client, const KeyEventOut& event) = 0;
  // Fetch these keys from the holders named and keep copies (replicate,
  // rebalance); the worker answers with KeysAdded or MissingData.
  virtual void AcquireReplicas(WorkerId worker, const std::vector<DepLocation>& who_has) = 0;
};

}  // namespace taskgrid::scheduler
