#pragma once
// GrpcOutbox: the SchedulerOutbox of the running service. Collects the
// state machine's outputs per stream during one event-loop batch and hands
// each stream one merged message when the batch ends (Flush).
//
// Thread-safety: used only on the event-loop thread.

#include <memory>

#include "absl/container/flat_hash_map.h"
#include "services/scheduler/scheduler_types.h"
#include "services/scheduler/stream_outlet.h"
#include "taskgrid/v1/scheduler.pb.h"

namespace taskgrid::scheduler {

using WorkerOutlet = StreamOutlet<v1::WorkerCommandBatch>;
using ClientOutlet = StreamOutlet<v1::ClientEventBatch>;

class GrpcOutbox : public SchedulerOutbox {
 public:
  void AttachWorker(WorkerId id, std::shared_ptr<WorkerOutlet> outlet);
  void DetachWorker(WorkerId id);
  void AttachClient(ClientId id, std::shared_ptr<ClientOutlet> outlet);
  // Sends what is still queued for the client, then forgets its stream.
  void DetachClient(ClientId id);

  void ComputeTask(WorkerId worker, const ComputeTaskCommand& cmd) override;
  void FreeKeys(WorkerId worker, const std::vector<std::string>& keys) override;
  void CloseWorker(WorkerId worker, const std::string& reason) override;
  void StealRequest(WorkerId worker, const std::string& key) override;
  void KeyEvent(ClientId client, const KeyEventOut& event) override;
  void AcquireReplicas(WorkerId worker, const std::vector<DepLocation>& who_has) override;

  v1::WorkerCommand* AddWorkerCommand(WorkerId worker);
  v1::ClientEvent* AddClientEvent(ClientId client);
  // Sends every stream's pending batch.
  void Flush();

 private:
  template <typename Batch>
  struct Stream {
    // Null until attached: SchedulerState::AddWorker may already place
    // tasks on a worker (those waiting for a worker like it) before the
    // session attaches it. Flush drops a stream still unattached then.
    std::shared_ptr<StreamOutlet<Batch>> outlet;
    Batch pending;
    // Attached with commands already pending: the session's RegisterAck,
    // queued after them, must go first (workers expect it first).
    bool ack_goes_first = false;
  };
  absl::flat_hash_map<WorkerId, Stream<v1::WorkerCommandBatch>> workers_;
  absl::flat_hash_map<ClientId, Stream<v1::ClientEventBatch>> clients_;
  std::vector<WorkerId> dirty_workers_;
  std::vector<ClientId> dirty_clients_;
};

}  // namespace taskgrid::scheduler
