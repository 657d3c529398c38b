#pragma once
// PythonRuntime: the worker's "python" runtime, an embedded CPython that runs
// cloudpickled callables.
//
// A python task carries cloudpickle.dumps(callable) in TaskSpec.payload (or,
// with an empty payload, names an importable "module.function"); its args
// and kwargs convert to Python objects (python_convert.h), the callable runs,
// and its result converts back to a Value. A raised exception becomes an
// error whose type is the exception class name ("ValueError", or
// "module.Class" outside builtins), whose message is str(exc), and which
// carries the formatted traceback (function_errors.h).
//
// The interpreter is process-wide: Start() initialises it once (without
// Python's own signal handlers, so the worker keeps SIGINT/SIGTERM), puts
// the current directory first on sys.path so user modules import, and then
// releases the GIL. Each call takes the GIL only while converting values and
// running Python, so tasks that release it (numpy, I/O, time.sleep) run in
// parallel on the executor's threads. Each thread keeps one Python thread
// state for its whole life (threading.local survives between tasks).
//
// Thread-safety: Call may be used from any number of threads at once.
// Lifetime: the runtime is never destroyed (CPython cannot be finalised
// safely while worker threads may still hold references).

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/value.h"
#include "services/worker/function_registry.h"

namespace taskgrid::worker {

class PythonRuntime {
 public:
  // The process's runtime, started on first use; an error when Python or
  // its required modules (numpy, cloudpickle) are unavailable.
  static absl::StatusOr<PythonRuntime*> Start();

  absl::StatusOr<Value> Call(const RuntimeCall& call);

  struct State;  // the interpreter-side state (python_runtime.cc)

 private:
  explicit PythonRuntime(State* state) : state_(state) {}
  State* state_;  // leaked with the interpreter
};

// Starts the runtime and registers it as "python/*".
absl::Status RegisterPythonRuntime(FunctionRegistry* registry);

}  // namespace taskgrid::worker
