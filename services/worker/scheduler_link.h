#pragma once
// The two directions between the worker core and its scheduler session:
//  - MessageSink: where the worker's messages go (TaskFinished, KeysAdded,
//    ...); the session queues them for its next batched stream write;
//  - SessionHandler: what the session asks of the worker (registration
//    contents, heartbeat contents, incoming command batches, loss of the
//    scheduler).
// Interfaces only, so the core is tested without gRPC and the session
// without the core.
//
// Thread-safety: MessageSink::Send may be called from any thread.
// SessionHandler methods are called from the session's threads, one
// command batch at a time.

#include <memory>
#include <vector>

#include "taskgrid/v1/scheduler.pb.h"

namespace taskgrid::worker {

class MessageSink {
 public:
  virtual ~MessageSink() = default;
  virtual void Send(std::vector<std::unique_ptr<v1::WorkerMessage>> messages) = 0;
};

class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  // The RegisterWorker message of a new session (held_keys included).
  virtual v1::RegisterWorker MakeRegistration() = 0;
  virtual void FillHeartbeat(v1::WorkerHeartbeat* heartbeat) = 0;
  // May consume (swap out) the batch's contents.
  virtual void HandleCommands(v1::WorkerCommandBatch* batch) = 0;
  // A registered session ended: what that scheduler assigned is void.
  virtual void OnSchedulerLost() = 0;
};

}  // namespace taskgrid::worker
