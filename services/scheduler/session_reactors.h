#pragma once
// The two long-lived streams of the scheduler: one reactor per connected
// client (ClientSession) and per connected worker (WorkerSession). Each
// reads batches, parses and converts them off the event loop, and posts
// them to it; writes go through a StreamOutlet (one write in flight, merged
// queue). A message that does not parse ends the session with
// INVALID_ARGUMENT naming the message. OnDone() deletes the reactor.

#include <atomic>
#include <memory>

#include <grpcpp/support/byte_buffer.h>

#include "services/scheduler/grpc_outbox.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"

namespace taskgrid::scheduler {

class SchedulerService;

// Reads v1.ClientBatch, writes v1.ClientEventBatch.
grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* NewClientSession(
    SchedulerService* service, grpc::CallbackServerContext* ctx);
// Reads v1.WorkerBatch, writes v1.WorkerCommandBatch.
grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* NewWorkerSession(
    SchedulerService* service, grpc::CallbackServerContext* ctx);

}  // namespace taskgrid::scheduler
