#pragma once
// Writes a taskgrid.v1.ComputeTask in wire form straight from the state
// machine's command: the task's spec is stored as the serialized TaskSpec
// the client sent, which is already its wire form inside ComputeTask, so it
// is copied as bytes instead of being parsed into a message and serialized
// again (the scheduler's hottest allocation path).
//
// Thread-safety: pure function.

#include <string>

#include "services/scheduler/scheduler_types.h"

namespace taskgrid::scheduler {

// Appends the ComputeTask's fields (not a length prefix) to *out.
void AppendComputeTaskWire(const ComputeTaskCommand& cmd, std::string* out);

}  // namespace taskgrid::scheduler
