#pragma once
// Checks a client makes before a graph update leaves it: every text field
// of a task (key, function, runtime, references and strings inside its
// arguments, keyword names, worker names, resource names, annotations) and
// every wanted key must be valid UTF-8. The wire format's `string` fields
// require it, and the scheduler cannot parse a message that breaks the rule:
// the whole session stream would fail, taking the client's other work with
// it, where this check fails the one call with an error naming the field.
//
// Thread-safety: pure functions.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "taskgrid/v1/common.pb.h"

namespace taskgrid::client {

// InvalidArgument naming the task and field (bad bytes shown as \xNN).
absl::Status CheckSpecText(const v1::TaskSpec& spec);
absl::Status CheckWantedKeys(const std::vector<std::string>& keys);

}  // namespace taskgrid::client
