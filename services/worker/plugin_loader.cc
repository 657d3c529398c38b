#include "services/worker/plugin_loader.h"

#include <dlfcn.h>

#include "absl/strings/str_cat.h"
#include "services/worker/plugin_api.h"

namespace taskgrid::worker {

absl::StatusOr<std::vector<std::string>> LoadPlugin(const std::string& path,
                                                    FunctionRegistry* registry) {
  // RTLD_LOCAL: two plugins may define the same internal symbols.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load plugin ", path, ": ", why != nullptr ? why : "unknown error"));
  }
  using Entry = plugin::PluginFunctions (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, "taskgrid_plugin_functions_v1"));
  if (entry == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "plugin ", path, " registers no functions (no TASKGRID_REGISTER_FUNCTION seen)"));
  }
  plugin::PluginFunctions functions = entry();
  if (functions.api_version != plugin::kApiVersion) {
    return absl::FailedPreconditionError(absl::StrCat("plugin ", path, " was built for plugin API ",
                                                      functions.api_version, ", this worker has ",
                                                      plugin::kApiVersion));
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < functions.count; ++i) {
    const plugin::FunctionDef& def = functions.functions[i];
    if (absl::Status s = registry->Register("plugin", def.name, def.fn); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("plugin ", path, ": ", s.message()));
    }
    names.emplace_back(def.name);
  }
  return names;
}

}  // namespace taskgrid::worker
