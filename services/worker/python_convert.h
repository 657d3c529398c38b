#pragma once
// Conversions between taskgrid::Value and Python objects for the embedded
// "python" runtime.
//
// Value -> Python: null/bool/int/double/string/bytes/list/map become the
// matching builtins; an n-d array becomes a read-only numpy array that views
// the Value's buffer (no copy; the array keeps the buffer alive); a pickle is
// unpickled. Python -> Value: an object built only from None, bool, int
// (64-bit), float, str, bytes, list, dict with str keys and numpy arrays of a
// taskgrid dtype converts natively (arrays as raw little-endian buffers);
// anything else (tuples, numpy scalars, user classes, DataFrames...) stays
// the Python object it is, as a Value::LocalPickle: a task on the same
// worker gets that very object back, and it is cloudpickled (as a whole,
// so it comes back exactly as it was) only when it leaves the worker -- a
// transfer, a spill. Its nbytes is dask.sizeof when dask is loaded, else
// sys.getsizeof. One that cannot be pickled fails only then, with an error
// naming its type.
//
// Thread-safety: every function REQUIRES the GIL. PythonModules is created
// once (under the GIL) and then only read.

#include <string>

#include <pybind11/pybind11.h>

#include "absl/status/statusor.h"
#include "common/value.h"

namespace taskgrid::worker {

// Modules and functions the conversions use, imported once.
struct PythonModules {
  pybind11::object numpy;
  pybind11::object ndarray_type;     // numpy.ndarray
  pybind11::object ascontiguous;     // numpy.ascontiguousarray
  pybind11::object pickle_dumps;     // cloudpickle.dumps
  pybind11::object pickle_loads;     // pickle.loads
  pybind11::object format_exception; // traceback.format_exception

  // Imports numpy, cloudpickle, pickle and traceback. REQUIRES: the GIL.
  static absl::StatusOr<PythonModules> Import();
};

// Throws pybind11::error_already_set on Python errors (e.g. an unpicklable
// payload); a ref inside `v` raises ValueError.
pybind11::object ValueToPython(const Value& v, const PythonModules& m);

// Throws pybind11::error_already_set when the object's size cannot be
// estimated. `m` must outlive the returned value.
Value PythonToValue(pybind11::handle obj, const PythonModules& m);

}  // namespace taskgrid::worker
