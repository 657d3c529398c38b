#pragma once
// Small helpers shared by the end-to-end tests: a TaskSpec built from
// values, polling until a condition holds, and a task count by state from
// ClusterInfo.
//
// Thread-safety: stateless functions.

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/value.h"
#include "common/value_proto.h"
#include "taskgrid/v1/scheduler.pb.h"

namespace taskgrid::testing {

// A builtin-runtime task `fn(args...)` under `key`.
inline v1::TaskSpec Spec(const std::string& key, const std::string& fn,
                         const std::vector<Value>& args) {
  v1::TaskSpec s;
  s.set_key(key);
  s.set_function(fn);
  for (const auto& a : args) ValueToProto(a, s.add_args());
  return s;
}

// Polls `done` every 20 ms until it holds (true) or `timeout` passes
// (false). The timeout only bounds a hang; it is not a timing assertion.
inline bool WaitUntil(const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// ClusterInfo's count of tasks in `state` ("memory", "processing", ...).
inline int64_t TasksIn(const v1::ClusterInfoResponse& info, const std::string& state) {
  auto it = info.tasks_by_state().find(state);
  return it == info.tasks_by_state().end() ? 0 : it->second;
}

}  // namespace taskgrid::testing
