#pragma once
// Conversions between taskgrid.v1 messages and the state machine's plain
// types. Runs on transport threads, so the event loop only sees ready-made
// TaskDefs.

#include "services/scheduler/scheduler_types.h"
#include "taskgrid/v1/common.pb.h"
#include "taskgrid/v1/scheduler.pb.h"

namespace taskgrid::scheduler {

// Dependencies are every `ref` anywhere in args/kwargs plus
// extra_dependencies, without duplicates; run_spec is the serialized spec.
TaskDef TaskDefFromSpec(const v1::TaskSpec& spec);
WorkerDef WorkerDefFromRegister(const v1::RegisterWorker& reg);
v1::KeyState ToProtoState(KeyStatus s);
void ToProto(const ErrorInfo& e, v1::TaskError* out);
void ToProto(const KeyEventOut& ev, v1::KeyEvent* out);
DepLocation FromProto(const v1::KeyLocation& loc);
ErrorInfo FromProto(const v1::TaskError& e);

}  // namespace taskgrid::scheduler
