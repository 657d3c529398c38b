// Python.h (through pybind11) must come before the standard headers.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "services/worker/python_convert.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"

namespace py = pybind11;

namespace taskgrid::worker {
namespace {

// Deeper structures are pickled whole rather than converted natively.
constexpr int kMaxNativeDepth = 64;

py::object ImportAttr(const char* module, const char* attr) {
  return py::module_::import(module).attr(attr);
}

py::object ArrayToPython(const NDArray& a) {
  // The numpy array views the Blob's bytes; the capsule owns a copy of the
  // Blob handle (not the bytes) so the buffer outlives the Value if needed.
  auto* keep = new Blob(a.data);
  py::capsule owner(keep, [](void* p) { delete static_cast<Blob*>(p); });
  std::vector<py::ssize_t> shape(a.shape.begin(), a.shape.end());
  py::array out(py::dtype(DTypeName(a.dtype)), shape, {}, keep->data(), owner);
  // Shared with the store (and maybe other tasks): never writable in place.
  py::detail::array_proxy(out.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return std::move(out);
}

py::object PickleToPython(const Blob& b, const PythonModules& m) {
  // A read-only memoryview over the Blob (alive for the call): no copy of
  // the pickle bytes; loads copies out what it keeps.
  py::object view = py::reinterpret_steal<py::object>(
      PyMemoryView_FromMemory(const_cast<char*>(b.data()), static_cast<Py_ssize_t>(b.size()),
                              PyBUF_READ));
  if (!view) throw py::error_already_set();
  return m.pickle_loads(view);
}

std::optional<NDArray> NumpyToArray(py::handle obj, const PythonModules& m) {
  py::array array = py::reinterpret_borrow<py::array>(obj);
  py::dtype dtype = array.dtype();
  const char kind = dtype.kind();
  if (kind != 'b' && kind != 'i' && kind != 'u' && kind != 'f') return std::nullopt;
  const char order = dtype.attr("byteorder").cast<std::string>()[0];
  if (order == '>') return std::nullopt;  // taskgrid arrays are little-endian
  absl::StatusOr<DType> parsed = ParseDType(dtype.attr("name").cast<std::string>());
  if (!parsed.ok()) return std::nullopt;  // float16, ...
  if (!(array.flags() & py::array::c_style)) {
    array = py::reinterpret_steal<py::array>(m.ascontiguous(array).release());
  }
  NDArray out;
  out.dtype = *parsed;
  out.shape.assign(array.shape(), array.shape() + array.ndim());
  const size_t nbytes = static_cast<size_t>(array.nbytes());
  char* dst = nullptr;
  out.data = Blob::Allocate(nbytes, &dst);
  if (nbytes > 0) {
    const void* src = array.data();
    // Large copies run without the GIL: the array is kept alive by `array`
    // and nobody can free it while we hold a reference.
    if (nbytes >= (1 << 20)) {
      py::gil_scoped_release unlocked;
      std::memcpy(dst, src, nbytes);
    } else {
      std::memcpy(dst, src, nbytes);
    }
  }
  return out;
}

// Converts natively, or returns nullopt when some part has no native form.
std::optional<Value> ToNative(py::handle obj, const PythonModules& m, int depth) {
  if (depth > kMaxNativeDepth) return std::nullopt;
  PyObject* o = obj.ptr();
  PyTypeObject* type = Py_TYPE(o);
  if (o == Py_None) return Value::Null();
  if (type == &PyBool_Type) return Value::Bool(o == Py_True);
  if (type == &PyLong_Type) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow != 0) return std::nullopt;
    if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
    return Value::Int(v);
  }
  if (type == &PyFloat_Type) return Value::Double(PyFloat_AS_DOUBLE(o));
  if (type == &PyUnicode_Type) {
    Py_ssize_t size = 0;
    const char* utf8 = PyUnicode_AsUTF8AndSize(o, &size);
    if (utf8 == nullptr) {  // lone surrogates: keep the exact object
      PyErr_Clear();
      return std::nullopt;
    }
    return Value::String(std::string(utf8, static_cast<size_t>(size)));
  }
  if (type == &PyBytes_Type) {
    return Value::Bytes(Blob::Copy(std::string_view(PyBytes_AS_STRING(o),
                                                     static_cast<size_t>(PyBytes_GET_SIZE(o)))));
  }
  if (type == &PyList_Type) {
    ValueList items;
    const Py_ssize_t n = PyList_GET_SIZE(o);
    items.reserve(static_cast<size_t>(n));
    for (Py_ssize_t i = 0; i < n; ++i) {
      std::optional<Value> item = ToNative(PyList_GET_ITEM(o, i), m, depth + 1);
      if (!item) return std::nullopt;
      items.push_back(*std::move(item));
    }
    return Value::List(std::move(items));
  }
  if (type == &PyDict_Type) {
    ValueMap entries;
    PyObject* key = nullptr;
    PyObject* value = nullptr;
    Py_ssize_t pos = 0;
    while (PyDict_Next(o, &pos, &key, &value)) {
      if (Py_TYPE(key) != &PyUnicode_Type) return std::nullopt;
      Py_ssize_t size = 0;
      const char* utf8 = PyUnicode_AsUTF8AndSize(key, &size);
      if (utf8 == nullptr) {
        PyErr_Clear();
        return std::nullopt;
      }
      std::optional<Value> item = ToNative(value, m, depth + 1);
      if (!item) return std::nullopt;
      entries.emplace(std::string(utf8, static_cast<size_t>(size)), *std::move(item));
    }
    // A ValueMap is ordered by key: a dict in another order would come back
    // reordered, so only sorted dicts are native.
    pos = 0;
    auto it = entries.begin();
    while (PyDict_Next(o, &pos, &key, &value)) {
      if (it->first != PyUnicode_AsUTF8(key)) return std::nullopt;
      ++it;
    }
    return Value::Map(std::move(entries));
  }
  if (reinterpret_cast<PyObject*>(type) == m.ndarray_type.ptr()) {
    std::optional<NDArray> array = NumpyToArray(obj, m);
    if (!array) return std::nullopt;
    return Value::Array(*std::move(array));
  }
  return std::nullopt;
}

// A Python object kept as is, pickled on first need (LocalObject).
// Every touch of the object takes the GIL through PyGILState, which also
// works on threads that hold it already or never ran Python; the GIL is
// the lock that makes the one-time pickling safe.
class PythonObject final : public LocalObject {
 public:
  PythonObject(py::object obj, int64_t nbytes, const PythonModules* m)
      : obj_(std::move(obj)), nbytes_(nbytes), modules_(m) {}
  ~PythonObject() override {
    PyGILState_STATE gil = PyGILState_Ensure();
    obj_ = py::object();
    PyGILState_Release(gil);
  }

  int64_t ByteSize() const override { return nbytes_; }

  const absl::StatusOr<Blob>& Pickled() const override {
    if (pickled_ready_.load(std::memory_order_acquire)) return pickled_;
    PyGILState_STATE gil = PyGILState_Ensure();
    if (!pickled_ready_.load(std::memory_order_relaxed)) {
      pickled_ = Pickle();
      pickled_ready_.store(true, std::memory_order_release);
    }
    PyGILState_Release(gil);
    return pickled_;
  }

  // REQUIRES: the GIL.
  const py::object& object() const { return obj_; }

 private:
  // REQUIRES: the GIL.
  absl::StatusOr<Blob> Pickle() const {
    try {
      py::bytes pickled = modules_->pickle_dumps(obj_, py::arg("protocol") = 5);
      char* data = nullptr;
      Py_ssize_t size = 0;
      PyBytes_AsStringAndSize(pickled.ptr(), &data, &size);
      return Blob::Copy(std::string_view(data, static_cast<size_t>(size)));
    } catch (py::error_already_set& e) {
      std::string type = "object";
      try {
        type = py::str(py::type::of(obj_).attr("__qualname__"));
      } catch (const py::error_already_set&) {
      }
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot pickle a result of type ", type, " to move it off its worker: ", e.what()));
    }
  }

  py::object obj_;
  const int64_t nbytes_;
  const PythonModules* const modules_;
  mutable std::atomic<bool> pickled_ready_{false};
  mutable absl::StatusOr<Blob> pickled_;  // written once, under the GIL
};

// dask.sizeof when the tasks have loaded dask (it knows DataFrames and
// containers), else sys.getsizeof. Never imports anything.
int64_t EstimateSize(py::handle obj) {
  PyObject* modules = PyImport_GetModuleDict();
  PyObject* sizeof_module = PyDict_GetItemString(modules, "dask.sizeof");  // borrowed
  if (sizeof_module != nullptr) {
    try {
      py::object n = py::reinterpret_borrow<py::object>(sizeof_module).attr("sizeof")(obj);
      return std::max<int64_t>(1, n.cast<int64_t>());
    } catch (const py::error_already_set&) {
    } catch (const py::cast_error&) {
    }
  }
  PyObject* getsizeof = PySys_GetObject("getsizeof");  // borrowed
  if (getsizeof != nullptr) {
    try {
      py::object n = py::reinterpret_borrow<py::object>(getsizeof)(obj);
      return std::max<int64_t>(1, n.cast<int64_t>());
    } catch (const py::error_already_set&) {
    } catch (const py::cast_error&) {
    }
  }
  return 64;  // an object that will not say
}

}  // namespace

absl::StatusOr<PythonModules> PythonModules::Import() {
  try {
    PythonModules m;
    m.numpy = py::module_::import("numpy");
    m.ndarray_type = m.numpy.attr("ndarray");
    m.ascontiguous = m.numpy.attr("ascontiguousarray");
    m.pickle_dumps = ImportAttr("cloudpickle", "dumps");
    m.pickle_loads = ImportAttr("pickle", "loads");
    m.format_exception = ImportAttr("traceback", "format_exception");
    return m;
  } catch (const py::error_already_set& e) {
    return absl::FailedPreconditionError(
        absl::StrCat("the python runtime needs numpy and cloudpickle: ", e.what()));
  }
}

py::object ValueToPython(const Value& v, const PythonModules& m) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return py::none();
    case Value::Kind::kBool:
      return py::bool_(v.as_bool());
    case Value::Kind::kInt:
      return py::int_(v.as_int());
    case Value::Kind::kDouble:
      return py::float_(v.as_double());
    case Value::Kind::kString: {
      const std::string& s = v.as_string();
      PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()),
                                         "surrogateescape");
      if (o == nullptr) throw py::error_already_set();
      return py::reinterpret_steal<py::object>(o);
    }
    case Value::Kind::kBytes:
      return py::bytes(v.as_bytes().data(), v.as_bytes().size());
    case Value::Kind::kList: {
      const ValueList& items = v.as_list();
      py::list out(items.size());
      for (size_t i = 0; i < items.size(); ++i) out[i] = ValueToPython(items[i], m);
      return std::move(out);
    }
    case Value::Kind::kMap: {
      py::dict out;
      for (const auto& [key, item] : v.as_map()) out[py::str(key)] = ValueToPython(item, m);
      return std::move(out);
    }
    case Value::Kind::kArray:
      return ArrayToPython(v.as_array());
    case Value::Kind::kPickle:
      if (const auto* local = dynamic_cast<const PythonObject*>(v.local_object())) {
        return local->object();
      }
      return PickleToPython(v.as_pickle(), m);
    case Value::Kind::kRef:
      PyErr_SetString(PyExc_ValueError,
                      ("unresolved reference to key '" + v.as_ref() + "'").c_str());
      throw py::error_already_set();
  }
  return py::none();
}

Value PythonToValue(py::handle obj, const PythonModules& m) {
  if (std::optional<Value> native = ToNative(obj, m, 0)) return *std::move(native);
  return Value::LocalPickle(std::make_shared<PythonObject>(
      py::reinterpret_borrow<py::object>(obj), EstimateSize(obj), &m));
}

}  // namespace taskgrid::worker
