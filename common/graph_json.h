#pragma once
// Parses the REST/CLI JSON graph format of the design:
//   {"tasks": {KEY: {"fn": NAME, "args": [...], "kwargs": {...},
//                    "runtime": "builtin", "retries": 0, "resources": {...},
//                    "priority": 0, "workers": [...],
//                    "allow_other_workers": false}},
//    "keys": [KEY...], "priority": 0}
// into TaskSpec messages. Checks structure only (types, required fields);
// cycles and missing dependencies are the scheduler's to reject.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "taskgrid/v1/common.pb.h"

namespace taskgrid {

struct GraphRequest {
  std::vector<v1::TaskSpec> tasks;
  // Wanted keys; when the document has no "keys", every task that no other
  // task depends on.
  std::vector<std::string> keys;
  int64_t priority = 0;
};

// Parses a JSON document, refusing one where an object has a key twice
// (plain parsing silently keeps one of them: a graph with a task key twice
// would run one definition and drop the other). Errors: `syntax_prefix`
// followed by the parser's message (naming the byte position), or the
// duplicate key named.
absl::StatusOr<nlohmann::json> ParseJsonNoDuplicateKeys(std::string_view text,
                                                        std::string_view syntax_prefix);

absl::StatusOr<GraphRequest> GraphFromJson(const nlohmann::json& doc);
absl::StatusOr<GraphRequest> GraphFromJsonText(std::string_view text);

}  // namespace taskgrid
