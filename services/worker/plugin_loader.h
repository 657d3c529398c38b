#pragma once
// Loads plugin shared libraries (--plugin) and registers their functions
// under runtime "plugin". See plugin_api.h for how plugins are written.
//
// Thread-safety: call at startup, before the registry is shared.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/worker/function_registry.h"

namespace taskgrid::worker {

// Returns the names registered. Errors name the library and the problem
// (cannot be loaded, not a taskgrid plugin, API version, duplicate name).
// Libraries are never unloaded.
absl::StatusOr<std::vector<std::string>> LoadPlugin(const std::string& path,
                                                    FunctionRegistry* registry);

}  // namespace taskgrid::worker
