#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_targets.h"
#include "services/scheduler/proto_convert.h"
#include "services/scheduler/scheduler_state.h"
#include "taskgrid/v1/scheduler.pb.h"

namespace taskgrid::fuzz::scheduler_graph {
namespace {

using scheduler::ClientId;
using scheduler::SchedulerState;
using scheduler::WorkerId;

// Records the compute commands, the only output the fake worker acts on.
class RecordingOutbox : public scheduler::SchedulerOutbox {
 public:
  void ComputeTask(WorkerId w, const scheduler::ComputeTaskCommand& cmd) override {
    computes.emplace_back(w, cmd.key);
  }
  void FreeKeys(WorkerId, const std::vector<std::string>&) override {}
  void CloseWorker(WorkerId, const std::string&) override {}
  void StealRequest(WorkerId, const std::string&) override {}
  void KeyEvent(ClientId, const scheduler::KeyEventOut&) override { ++events; }
  void AcquireReplicas(WorkerId, const std::vector<scheduler::DepLocation>&) override {}

  std::vector<std::pair<WorkerId, std::string>> computes;
  size_t events = 0;
};

void CheckValid(const SchedulerState& state, absl::string_view when) {
  absl::Status s = state.Validate();
  FuzzCheck(s.ok(), absl::StrCat("Validate() failed ", when, ": ", s.message()));
}

}  // namespace

int FuzzOne(const uint8_t* data, size_t size) {
  v1::UpdateGraph update;
  if (!update.ParseFromArray(data, static_cast<int>(size))) return 0;
  std::vector<scheduler::TaskDef> tasks;
  tasks.reserve(update.tasks_size());
  for (const v1::TaskSpec& spec : update.tasks()) tasks.push_back(scheduler::TaskDefFromSpec(spec));
  const std::vector<std::string> wanted(update.wanted_keys().begin(), update.wanted_keys().end());

  RecordingOutbox out;
  SchedulerState state(&out, [] { return 1000.0; });
  scheduler::WorkerDef worker_def;
  worker_def.address = "127.0.0.1:7001";
  worker_def.name = "w1";
  worker_def.nthreads = 2;
  worker_def.resources = {{"GPU", 2}};
  worker_def.functions = {"builtin/inc", "builtin/add", "builtin/sum", "python/f"};
  absl::StatusOr<WorkerId> worker = state.AddWorker(worker_def);
  FuzzCheck(worker.ok(), "the fake worker was refused");
  const ClientId client = state.AddClient("fuzz");

  absl::StatusOr<int> added = state.UpdateGraph(client, tasks, wanted, update.priority());
  CheckValid(state, "after UpdateGraph");
  if (!added.ok()) {
    FuzzCheck(!added.status().message().empty(), "a rejected graph has no error message");
    FuzzCheck(state.num_tasks() == 0, "a rejected graph left tasks behind");
    return 0;
  }
  // Every wanted key is known now. The same graph again is accepted and
  // shares the keys still known (tasks nobody wants or needs were already
  // forgotten and come back).
  for (const std::string& key : wanted) {
    FuzzCheck(state.StatusOf(key).has_value(), absl::StrCat("wanted key ", key, " is unknown"));
  }
  absl::StatusOr<int> again = state.UpdateGraph(client, tasks, wanted, update.priority());
  FuzzCheck(again.ok() && *again <= *added,
            absl::StrCat("re-submitting an accepted graph of ", *added, " tasks: ",
                         again.ok() ? absl::StrCat(*again, " added") : again.status().ToString()));
  CheckValid(state, "after re-submitting the graph");

  // Act as the worker: run what it is sent; keys ending in '!' fail.
  for (size_t i = 0; i < out.computes.size(); ++i) {
    const auto [w, key] = out.computes[i];
    if (state.StatusOf(key) != scheduler::KeyStatus::kProcessing) continue;
    if (absl::EndsWith(key, "!")) {
      scheduler::ErrorInfo error;
      error.key = key;
      error.message = "fuzz failure";
      state.TaskErred(w, key, error);
    } else {
      state.TaskFinished(w, key, 8, "int", 0.001);
    }
    CheckValid(state, absl::StrCat("after task ", key, " ended"));
  }
  state.Balance();
  CheckValid(state, "after Balance");
  state.RemoveClient(client);
  CheckValid(state, "after the client left");
  FuzzCheck(state.num_tasks() == 0, "tasks remain after their only client left");
  state.RemoveWorker(*worker, "fuzz done");
  CheckValid(state, "after the worker left");
  return 0;
}

}  // namespace taskgrid::fuzz::scheduler_graph
