#pragma once
// Writing a taskgrid plugin: C++ task functions in a shared library that a
// worker loads at start (`taskgrid-worker --plugin libmine.so`) and offers
// as runtime "plugin":
//
//   #include "services/worker/plugin_api.h"
//
//   absl::StatusOr<taskgrid::Value> Square(const taskgrid::ValueList& args,
//                                          const taskgrid::ValueMap& kwargs) {
//     if (args.size() != 1 || !args[0].is_number())
//       return taskgrid::worker::TypeError("square: expected one number");
//     return taskgrid::Value::Double(args[0].as_number() * args[0].as_number());
//   }
//   TASKGRID_REGISTER_FUNCTION(square, Square);
//
// Clients then submit tasks with runtime "plugin" and function "square".
// Functions must be thread-safe (they run on every task thread at once)
// and report failures as a Status (see function_errors.h for the Python
// exception types); a C++ exception is caught and reported as RuntimeError.
//
// Build: compile against the same taskgrid headers and toolchain as the
// worker, as position-independent code, and do not link taskgrid's own
// libraries: the worker exports them and the plugin uses the worker's copy
// (see taskgrid_add_plugin() in services/worker/CMakeLists.txt). A plugin is
// never unloaded, so values it created may outlive any task.

#include <cstddef>
#include <vector>

#include "absl/status/statusor.h"
#include "common/value.h"
#include "services/worker/function_errors.h"

namespace taskgrid::plugin {

using Function = absl::StatusOr<Value> (*)(const ValueList& args, const ValueMap& kwargs);

struct FunctionDef {
  const char* name;
  Function fn;
};

// Bumped on any incompatible change of this header.
inline constexpr int kApiVersion = 1;

// The functions of the library being built. Hidden, so that every plugin
// has its own list even when several are loaded into one worker.
__attribute__((visibility("hidden"))) inline std::vector<FunctionDef>& LocalFunctions() {
  static std::vector<FunctionDef> functions;
  return functions;
}

struct PluginFunctions {
  int api_version;
  const FunctionDef* functions;
  size_t count;
};

}  // namespace taskgrid::plugin

// The entry point the worker looks up after loading the library.
extern "C" __attribute__((visibility("default"))) inline taskgrid::plugin::PluginFunctions
taskgrid_plugin_functions_v1() {
  const auto& functions = taskgrid::plugin::LocalFunctions();
  return {taskgrid::plugin::kApiVersion, functions.data(), functions.size()};
}

namespace taskgrid::plugin {

// Adds a function at load time (static initialisation of the library).
struct Registrar {
  Registrar(const char* name, Function fn) {
    LocalFunctions().push_back({name, fn});
    // Referencing the entry point makes every plugin define it.
    static volatile auto entry = &taskgrid_plugin_functions_v1;
    (void)entry;
  }
};

}  // namespace taskgrid::plugin

#define TASKGRID_PLUGIN_CONCAT_INNER(a, b) a##b
#define TASKGRID_PLUGIN_CONCAT(a, b) TASKGRID_PLUGIN_CONCAT_INNER(a, b)

// Registers `fn` (a function or capture-less lambda with the signature of
// taskgrid::plugin::Function) as plugin function `name` (an identifier).
#define TASKGRID_REGISTER_FUNCTION(name, fn)                                              \
  static ::taskgrid::plugin::Registrar TASKGRID_PLUGIN_CONCAT(taskgrid_plugin_registrar_, \
                                                              name)(#name, fn)
