#include "services/scheduler/grpc_outbox.h"

#include <google/protobuf/unknown_field_set.h>

#include "services/scheduler/compute_task_wire.h"
#include "services/scheduler/proto_convert.h"

namespace taskgrid::scheduler {

void GrpcOutbox::AttachWorker(WorkerId id, std::shared_ptr<WorkerOutlet> outlet) {
  Stream<v1::WorkerCommandBatch>& stream = workers_[id];
  stream.outlet = std::move(outlet);
  stream.ack_goes_first = stream.pending.commands_size() > 0;
}

void GrpcOutbox::DetachWorker(WorkerId id) { workers_.erase(id); }

void GrpcOutbox::AttachClient(ClientId id, std::shared_ptr<ClientOutlet> outlet) {
  clients_[id].outlet = std::move(outlet);
}

void GrpcOutbox::DetachClient(ClientId id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  // Events queued before the client left still go out, ahead of the end
  // of its stream: a client that half-closes right after its hello gets
  // its welcome (Flush would only have run after this).
  if (it->second.outlet != nullptr && it->second.pending.events_size() > 0) {
    it->second.outlet->Send(std::move(it->second.pending));
  }
  clients_.erase(it);
}

v1::WorkerCommand* GrpcOutbox::AddWorkerCommand(WorkerId worker) {
  // An unknown worker is being registered (held until it attaches) or gone
  // (dropped at Flush).
  Stream<v1::WorkerCommandBatch>& stream = workers_[worker];
  if (stream.pending.commands_size() == 0) dirty_workers_.push_back(worker);
  return stream.pending.add_commands();
}

v1::ClientEvent* GrpcOutbox::AddClientEvent(ClientId client) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return nullptr;
  if (it->second.pending.events_size() == 0) dirty_clients_.push_back(client);
  return it->second.pending.add_events();
}

void GrpcOutbox::ComputeTask(WorkerId worker, const ComputeTaskCommand& cmd) {
  v1::WorkerCommand* c = AddWorkerCommand(worker);
  if (c == nullptr) return;
  // Written as the raw compute_task field: unknown to this message object,
  // serialized verbatim, parsed by the worker as compute_task.
  AppendComputeTaskWire(cmd, c->GetReflection()->MutableUnknownFields(c)->AddLengthDelimited(
                                 v1::WorkerCommand::kComputeTaskFieldNumber));
}

void GrpcOutbox::FreeKeys(WorkerId worker, const std::vector<std::string>& keys) {
  auto it = workers_.find(worker);
  if (it == workers_.end()) return;  // gone: nothing of it to free
  auto& pending = it->second.pending;
  // Consecutive frees share one command.
  v1::FreeKeys* free = nullptr;
  if (pending.commands_size() > 0 && pending.commands().rbegin()->has_free_keys()) {
    free = pending.mutable_commands()->rbegin()->mutable_free_keys();
  } else {
    free = AddWorkerCommand(worker)->mutable_free_keys();
  }
  for (const auto& k : keys) free->add_keys(k);
}

void GrpcOutbox::StealRequest(WorkerId worker, const std::string& key) {
  if (v1::WorkerCommand* c = AddWorkerCommand(worker)) c->mutable_steal_request()->set_key(key);
}

void GrpcOutbox::CloseWorker(WorkerId worker, const std::string& reason) {
  if (v1::WorkerCommand* c = AddWorkerCommand(worker)) {
    c->mutable_close()->set_reason(reason);
  }
}

void GrpcOutbox::KeyEvent(ClientId client, const KeyEventOut& event) {
  if (v1::ClientEvent* e = AddClientEvent(client)) ToProto(event, e->mutable_key_event());
}

void GrpcOutbox::AcquireReplicas(WorkerId worker, const std::vector<DepLocation>& who_has) {
  v1::AcquireReplicas* acquire = AddWorkerCommand(worker)->mutable_acquire_replicas();
  for (const DepLocation& loc : who_has) {
    v1::KeyLocation* out = acquire->add_who_has();
    out->set_key(loc.key);
    out->set_nbytes(loc.nbytes);
    for (const std::string& w : loc.workers) out->add_workers(w);
  }
}

void GrpcOutbox::Flush() {
  for (WorkerId id : dirty_workers_) {
    auto it = workers_.find(id);
    if (it == workers_.end() || it->second.pending.commands_size() == 0) continue;
    if (it->second.outlet == nullptr) {
      workers_.erase(it);
      continue;
    }
    if (it->second.ack_goes_first) {
      it->second.ack_goes_first = false;
      auto* commands = it->second.pending.mutable_commands();
      for (int i = 1; i < commands->size(); ++i) {
        if (!commands->Get(i).has_register_ack()) continue;
        for (int j = i; j > 0; --j) commands->SwapElements(j, j - 1);
        break;
      }
    }
    it->second.outlet->Send(std::move(it->second.pending));
    it->second.pending.Clear();
  }
  dirty_workers_.clear();
  for (ClientId id : dirty_clients_) {
    auto it = clients_.find(id);
    if (it == clients_.end() || it->second.pending.events_size() == 0) continue;
    it->second.outlet->Send(std::move(it->second.pending));
    it->second.pending.Clear();
  }
  dirty_clients_.clear();
}

}  // namespace taskgrid::scheduler
