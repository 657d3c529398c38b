#pragma once
// Splitting a graph update that is too large for one gRPC message (and too
// large for the scheduler to ingest in one event-loop turn) into parts sent
// one after another on the session stream.
//
// The scheduler forgets a task nobody wants and nothing depends on, and
// rejects a task whose dependency it doesn't know, so the parts must come in
// dependency order, and a key that a later part depends on must be wanted
// ("carried") until that part has arrived; the client releases carried keys
// after the last part. The atomicity of a single UpdateGraph is lost across
// parts: a rejected part leaves the earlier parts submitted (and their keys
// released again).
//
// Thread-safety: pure functions.

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "taskgrid/v1/common.pb.h"

namespace taskgrid::client {

// The scheduler ingests each part in one turn of its event loop, so parts
// are small (a few thousand tasks): other events never wait long behind a
// big graph, and the scheduler never holds much of it in parsed form. With
// 16 MiB parts a 1M-task graph stalled the loop for seconds and doubled the
// scheduler's peak memory; 256 KiB parts were also faster (bench/ tree1m).
// A single task larger than this gets a part of its own (up to the 64 MiB
// message limit).
inline constexpr size_t kMaxUpdateBytes = 256 << 10;

struct UpdatePart {
  std::vector<size_t> tasks;         // indexes into the task list, in order
  std::vector<std::string> carried;  // this part's keys that later parts use
};

// Keys `spec` depends on: references anywhere in its arguments plus its
// extra dependencies (duplicates possible).
std::vector<std::string> TaskDependencies(const v1::TaskSpec& spec);

// One part holding every task when they fit in `max_bytes`; otherwise parts
// of at most `max_bytes` each (a lone larger task gets a part of its own),
// in dependency order unless `independent` says no task depends on another
// in the list. Errors: a cycle (naming a task on it), or a task too large
// for any message.
absl::StatusOr<std::vector<UpdatePart>> SplitUpdate(const std::vector<v1::TaskSpec*>& tasks,
                                                   bool independent,
                                                   size_t max_bytes = kMaxUpdateBytes);

}  // namespace taskgrid::client
