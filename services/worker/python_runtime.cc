// Python.h (through pybind11) must come before the standard headers.
#include <pybind11/embed.h>
#include <pybind11/pybind11.h>

#include "services/worker/python_runtime.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "services/worker/function_errors.h"
#include "services/worker/python_convert.h"

namespace py = pybind11;

namespace taskgrid::worker {

// Everything here is only touched with the GIL held.
struct PythonRuntime::State {
  PythonModules modules;
  // Deserialized callables by payload: a map of 20k tasks unpickles its
  // function once. Bounded; cleared when full (payloads are small).
  absl::flat_hash_map<std::string, py::object> callables;
  absl::flat_hash_map<std::string, py::object> imported;  // by "module.name"
  // Held while a task's callable and arguments are unpickled. Unpickling
  // imports modules, and CPython's per-module import locks let two threads
  // that import the same package cycle (dask.array's submodules) see
  // partially initialised modules; deserializing on one thread at a time,
  // as distributed does on its event loop, avoids that. A threading.RLock:
  // waiting for it releases the GIL.
  py::object deserialize_lock;
};

namespace {

constexpr size_t kMaxCachedCallables = 1024;

// Holds the GIL for a scope through this thread's persistent thread state.
class ScopedGil {
 public:
  ScopedGil() { PyEval_RestoreThread(ThreadState()); }
  ~ScopedGil() { PyEval_SaveThread(); }
  ScopedGil(const ScopedGil&) = delete;
  ScopedGil& operator=(const ScopedGil&) = delete;

 private:
  static PyThreadState* ThreadState() {
    // Created once per thread through the PyGILState API, so code that
    // calls PyGILState_Ensure (numpy, pybind11) finds and reuses it.
    thread_local PyThreadState* state = [] {
      PyGILState_Ensure();
      return PyEval_SaveThread();
    }();
    return state;
  }
};

// Holds a Python lock for a scope. REQUIRES: the GIL.
class DeserializeLock {
 public:
  explicit DeserializeLock(const py::object& lock) : lock_(lock) { lock_.attr("acquire")(); }
  ~DeserializeLock() {
    PyObject *type, *value, *trace;  // release() must not see a pending error
    PyErr_Fetch(&type, &value, &trace);
    PyObject* r = PyObject_CallMethod(lock_.ptr(), "release", nullptr);
    Py_XDECREF(r);
    PyErr_Restore(type, value, trace);
  }
  DeserializeLock(const DeserializeLock&) = delete;
  DeserializeLock& operator=(const DeserializeLock&) = delete;

 private:
  const py::object& lock_;
};

// "ValueError" for builtins, "module.Qualname" otherwise, so a client can
// import the class.
std::string ExceptionTypeName(py::handle type) {
  try {
    std::string module = py::str(type.attr("__module__"));
    std::string name = py::str(type.attr("__qualname__"));
    return module == "builtins" ? name : absl::StrCat(module, ".", name);
  } catch (const py::error_already_set&) {
    return "Exception";
  }
}

absl::Status ErrorFromPython(py::error_already_set& e, const PythonModules& m) {
  const std::string type = ExceptionTypeName(e.type());
  std::string message;
  std::string traceback;
  try {
    message = py::str(e.value());
  } catch (const py::error_already_set&) {
    message = "<exception str() failed>";
  }
  try {
    py::handle trace = e.trace() ? e.trace() : py::none();
    py::object lines = m.format_exception(e.type(), e.value(), trace);
    traceback = py::str("").attr("join")(lines).cast<std::string>();
  } catch (const std::exception&) {  // error_already_set or cast_error
  }
  return FunctionErrorWithTraceback(type, message, traceback);
}

// Module "taskgrid_worker": what clients' pickles may name on a worker.
// loads_cached(b) is pickle.loads with a cache by the bytes: a graph's
// payloads embed each callable's pickle (clients/python/taskgrid/_dask.py),
// so a dask.array graph's thousands of tasks unpickle their few functions
// and classes once per worker instead of once per task. Bounded.
void DefineWorkerModule() {
  py::dict scope;
  scope["__builtins__"] = py::module_::import("builtins");
  py::exec(R"(
import pickle, sys, types
_cache = {}
def loads_cached(b):
    obj = _cache.get(b)
    if obj is None:
        if len(_cache) >= 4096:
            _cache.clear()
        obj = _cache[b] = pickle.loads(b)
    return obj
module = types.ModuleType("taskgrid_worker")
module.loads_cached = loads_cached
loads_cached.__module__ = "taskgrid_worker"
sys.modules["taskgrid_worker"] = module
)",
           scope);
}

absl::StatusOr<PythonRuntime::State*> StartInterpreter() {
  if (!Py_IsInitialized()) {
    // No Python signal handlers: the worker takes SIGINT/SIGTERM itself.
    py::initialize_interpreter(/*init_signal_handlers=*/false, 0, nullptr,
                               /*add_program_dir_to_path=*/false);
  } else {
    PyGILState_Ensure();
  }
  auto* state = new PythonRuntime::State;
  absl::Status status;
  try {
    py::module_ sys = py::module_::import("sys");
    py::object cwd = py::module_::import("os").attr("getcwd")();
    if (!sys.attr("path").contains(cwd)) sys.attr("path").attr("insert")(0, cwd);
    state->deserialize_lock = py::module_::import("threading").attr("RLock")();
    DefineWorkerModule();
    absl::StatusOr<PythonModules> modules = PythonModules::Import();
    if (modules.ok()) {
      state->modules = *std::move(modules);
    } else {
      status = modules.status();
    }
  } catch (const py::error_already_set& e) {
    status = absl::InternalError(absl::StrCat("cannot start the python runtime: ", e.what()));
  }
  // This thread gives up the GIL for good; task threads take it per call.
  PyEval_SaveThread();
  if (!status.ok()) return status;
  return state;
}

py::object ImportByName(absl::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == absl::string_view::npos) {
    return py::module_::import("builtins").attr(std::string(name).c_str());
  }
  return py::module_::import(std::string(name.substr(0, dot)).c_str())
      .attr(std::string(name.substr(dot + 1)).c_str());
}

py::object FindCallable(PythonRuntime::State* state, const RuntimeCall& call) {
  if (call.payload.empty()) {
    auto it = state->imported.find(call.function);
    if (it != state->imported.end()) return it->second;
    py::object fn = ImportByName(call.function);
    state->imported.emplace(std::string(call.function), fn);
    return fn;
  }
  auto it = state->callables.find(call.payload);
  if (it != state->callables.end()) return it->second;
  py::object view = py::reinterpret_steal<py::object>(PyMemoryView_FromMemory(
      const_cast<char*>(call.payload.data()), static_cast<Py_ssize_t>(call.payload.size()),
      PyBUF_READ));
  if (!view) throw py::error_already_set();
  py::object fn = state->modules.pickle_loads(view);
  if (state->callables.size() >= kMaxCachedCallables) state->callables.clear();
  state->callables.emplace(std::string(call.payload), fn);
  return fn;
}

}  // namespace

absl::StatusOr<PythonRuntime*> PythonRuntime::Start() {
  static const absl::StatusOr<PythonRuntime*>* const runtime = [] {
    absl::StatusOr<State*> state = StartInterpreter();
    if (!state.ok()) return new absl::StatusOr<PythonRuntime*>(state.status());
    return new absl::StatusOr<PythonRuntime*>(new PythonRuntime(*state));
  }();
  return *runtime;
}

absl::StatusOr<Value> PythonRuntime::Call(const RuntimeCall& call) {
  ScopedGil gil;
  try {
    py::object fn;
    py::tuple args(call.args.size());
    py::dict kwargs;
    {
      DeserializeLock lock(state_->deserialize_lock);
      fn = FindCallable(state_, call);
      for (size_t i = 0; i < call.args.size(); ++i) {
        args[i] = ValueToPython(call.args[i], state_->modules);
      }
      for (const auto& [name, value] : call.kwargs) {
        kwargs[py::str(name)] = ValueToPython(value, state_->modules);
      }
    }
    py::object result =
        py::reinterpret_steal<py::object>(PyObject_Call(fn.ptr(), args.ptr(), kwargs.ptr()));
    if (!result) throw py::error_already_set();
    return PythonToValue(result, state_->modules);
  } catch (py::error_already_set& e) {
    return ErrorFromPython(e, state_->modules);
  } catch (const py::cast_error& e) {
    return FunctionError("TypeError", e.what(), absl::StatusCode::kUnknown);
  }
}

absl::Status RegisterPythonRuntime(FunctionRegistry* registry) {
  absl::StatusOr<PythonRuntime*> runtime = PythonRuntime::Start();
  if (!runtime.ok()) return runtime.status();
  PythonRuntime* python = *runtime;
  return registry->RegisterRuntime(
      "python", [python](const RuntimeCall& call) { return python->Call(call); });
}

}  // namespace taskgrid::worker
