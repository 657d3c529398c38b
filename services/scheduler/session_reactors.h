#pragma once
// The two long-lived streams of the scheduler: one reactor per connected
// client (ClientSession) and per connected worker (WorkerSession). Each
// reads batches, converts them off the event loop, and posts them to it;
// writes go through a StreamOutlet (one write in flight, merged queue).
// OnDone() deletes the reactor.

#include <atomic>
#include <memory>

#include "services/scheduler/grpc_outbox.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"

namespace taskgrid::scheduler {

class SchedulerService;

grpc::ServerBidiReactor<v1::ClientBatch, v1::ClientEventBatch>* NewClientSession(
    SchedulerService* service, grpc::CallbackServerContext* ctx);
grpc::ServerBidiReactor<v1::WorkerBatch, v1::WorkerCommandBatch>* NewWorkerSession(
    SchedulerService* service, grpc::CallbackServerContext* ctx);

}  // namespace taskgrid::scheduler
