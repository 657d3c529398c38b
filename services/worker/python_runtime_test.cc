// Python.h (through pybind11) must come before the standard headers.
#include <pybind11/embed.h>

#include "services/worker/python_runtime.h"

#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/value_codec.h"
#include "services/worker/function_errors.h"

namespace py = pybind11;

namespace taskgrid::worker {
namespace {

class PythonRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<PythonRuntime*> runtime = PythonRuntime::Start();
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    runtime_ = *runtime;
  }

  // cloudpickle.dumps of `name` after running `source` (as module
  // "usermod", so classes defined there report that module).
  static std::string Pickled(const std::string& source, const std::string& name) {
    py::gil_scoped_acquire gil;
    py::dict globals;
    globals["__name__"] = "usermod";
    globals["__builtins__"] = py::module_::import("builtins");
    py::exec(source, globals);
    py::bytes b = py::module_::import("cloudpickle").attr("dumps")(globals[name.c_str()]);
    return std::string(b);
  }

  absl::StatusOr<Value> Run(const std::string& payload, ValueList args, ValueMap kwargs = {},
                            const std::string& function = "f") {
    return runtime_->Call(RuntimeCall{function, payload, args, kwargs});
  }

  PythonRuntime* runtime_ = nullptr;
};

NDArray Int32Array(std::vector<int32_t> v, std::vector<int64_t> shape) {
  NDArray a;
  a.dtype = DType::kInt32;
  a.shape = std::move(shape);
  a.data = Blob::Copy(std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * 4));
  return a;
}

TEST_F(PythonRuntimeTest, NativeValuesRoundTripWithPythonTypes) {
  const std::string identity = Pickled("f = lambda x: x", "f");
  const std::string type_name = Pickled("f = lambda x: type(x).__name__", "f");
  const std::vector<std::pair<Value, std::string>> cases = {
      {Value::Null(), "NoneType"},
      {Value::Bool(true), "bool"},
      {Value::Int(-(int64_t{1} << 62)), "int"},
      {Value::Double(2.5), "float"},
      {Value::String("héllo"), "str"},
      {Value::Bytes(Blob::Copy(std::string_view("a\0b", 3))), "bytes"},
      {Value::List({Value::Int(1), Value::String("x"), Value::List({})}), "list"},
      {Value::Map({{"a", Value::Int(1)}, {"b", Value::Null()}}), "dict"},
      {Value::Array(Int32Array({1, 2, 3, 4, 5, 6}, {2, 3})), "ndarray"},
  };
  for (const auto& [value, name] : cases) {
    absl::StatusOr<Value> same = Run(identity, {value});
    ASSERT_TRUE(same.ok()) << same.status();
    EXPECT_EQ(*same, value) << value.DebugString();
    EXPECT_EQ(Run(type_name, {value}).value(), Value::String(name));
  }
}

TEST_F(PythonRuntimeTest, ArraysArriveAsReadOnlyViewsAndLeaveAsRawBuffers) {
  const std::string inspect = Pickled(
      "def f(x):\n"
      "    return [bool(x.flags.owndata), bool(x.flags.writeable), str(x.dtype), list(x.shape),\n"
      "            int(x.sum())]\n",
      "f");
  Value array = Value::Array(Int32Array({1, 2, 3, 4, 5, 6}, {3, 2}));
  EXPECT_EQ(Run(inspect, {array}).value(),
            Value::List({Value::Bool(false), Value::Bool(false), Value::String("int32"),
                         Value::List({Value::Int(3), Value::Int(2)}), Value::Int(21)}));

  // A transposed (non-contiguous) float64 result comes back in C order.
  absl::StatusOr<Value> made = Run(
      Pickled("import numpy as np\nf = lambda: np.arange(6, dtype='float64').reshape(2, 3).T", "f"),
      {});
  ASSERT_TRUE(made.ok()) << made.status();
  ASSERT_EQ(made->kind(), Value::Kind::kArray);
  const NDArray& a = made->as_array();
  EXPECT_EQ(a.dtype, DType::kFloat64);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(std::vector<double>(a.As<double>(), a.As<double>() + 6),
            (std::vector<double>{0, 3, 1, 4, 2, 5}));
}

TEST_F(PythonRuntimeTest, OtherObjectsStayPythonObjectsUntilTheyLeaveTheWorker) {
  absl::StatusOr<Value> made =
      Run(Pickled("class Box:\n    pass\ndef f():\n    b = Box()\n    b.items = [1, 2]\n"
                  "    return b\n",
                  "f"),
          {});
  ASSERT_TRUE(made.ok()) << made.status();
  ASSERT_EQ(made->kind(), Value::Kind::kPickle);
  ASSERT_NE(made->local_object(), nullptr);
  EXPECT_GT(made->ByteSize(), 0);
  // Two tasks on this worker get the very same object: nothing was pickled.
  const std::string identity = Pickled("f = lambda x: id(x)", "f");
  absl::StatusOr<Value> id1 = Run(identity, {*made});
  absl::StatusOr<Value> id2 = Run(identity, {*made});
  ASSERT_TRUE(id1.ok() && id2.ok());
  EXPECT_EQ(*id1, *id2);
  // Leaving the worker: the wire form is a real pickle of the object.
  ASSERT_TRUE(PreparePickles(*made).ok());
  absl::StatusOr<Value> moved = DecodeValue(Blob::FromString(EncodeValue(*made).Flatten()));
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->local_object(), nullptr);
  EXPECT_EQ(Run(Pickled("f = lambda x: (type(x).__name__, x.items)", "f"), {*moved}).value(),
            Run(Pickled("f = lambda x: (type(x).__name__, x.items)", "f"), {*made}).value());
  EXPECT_NE(Run(identity, {*moved}).value(), *id1);  // a copy, not the object
}

TEST_F(PythonRuntimeTest, AnUnpicklableResultWorksLocallyAndFailsOnlyToLeave) {
  absl::StatusOr<Value> lock = Run(Pickled("import threading\nf = threading.Lock", "f"), {});
  ASSERT_TRUE(lock.ok()) << lock.status();
  ASSERT_NE(lock->local_object(), nullptr);
  EXPECT_EQ(Run(Pickled("f = lambda l: l.acquire(blocking=False)", "f"), {*lock}).value(),
            Value::Bool(true));
  absl::Status sendable = PreparePickles(Value::List({Value::Int(1), *lock}));
  EXPECT_EQ(sendable.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(sendable.message(), "cannot pickle a result of type lock"))
      << sendable;
}

TEST_F(PythonRuntimeTest, OtherObjectsArePickledAndUnpickledAsArguments) {
  for (const char* expr : {"(1, 2)", "np.float32(1.5)", "{1: 'a'}", "{'b': 1, 'a': 2}",
                           "2 ** 70", "[1, (2,)]", "np.arange(3, dtype=np.complex128)"}) {
    absl::StatusOr<Value> v =
        Run(Pickled(absl::StrCat("import numpy as np\nf = lambda: ", expr), "f"), {});
    ASSERT_TRUE(v.ok()) << expr << ": " << v.status();
    EXPECT_EQ(v->kind(), Value::Kind::kPickle) << expr;
    // The pickle comes back as exactly the object (type and order kept).
    EXPECT_EQ(Run(Pickled(absl::StrCat("import numpy as np\n"
                                       "def f(x):\n"
                                       "    y = ", expr, "\n"
                                       "    return type(x) is type(y) and repr(x) == repr(y)\n"),
                          "f"),
                  {*v})
                  .value(),
              Value::Bool(true))
        << expr;
  }
}

TEST_F(PythonRuntimeTest, PassesKeywordArguments) {
  EXPECT_EQ(Run(Pickled("def f(a, b=0, *, c=1):\n    return (a - b) * c\n", "f"),
                {Value::Int(10)}, {{"b", Value::Int(3)}, {"c", Value::Int(2)}})
                .value(),
            Value::Int(14));
}

TEST_F(PythonRuntimeTest, ExceptionsCarryTypeMessageAndTraceback) {
  absl::StatusOr<Value> r =
      Run(Pickled("def inner(x):\n    raise ValueError('bad value %d' % x)\n"
                  "def f(x):\n    return inner(x)\n",
                  "f"),
          {Value::Int(3)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorTypeName(r.status()), "ValueError");
  EXPECT_EQ(r.status().message(), "bad value 3");
  const std::string tb = ErrorTraceback(r.status());
  EXPECT_TRUE(absl::StrContains(tb, "in inner")) << tb;
  EXPECT_TRUE(absl::StrContains(tb, "in f")) << tb;
  EXPECT_TRUE(absl::StrContains(tb, "ValueError: bad value 3")) << tb;

  absl::StatusOr<Value> custom =
      Run(Pickled("class MyError(Exception):\n    pass\n"
                  "def f():\n    raise MyError('custom')\n",
                  "f"),
          {});
  ASSERT_FALSE(custom.ok());
  EXPECT_EQ(ErrorTypeName(custom.status()), "usermod.MyError");
  EXPECT_EQ(custom.status().message(), "custom");

  // A payload that is not a pickle is an error of the task, not a crash.
  absl::StatusOr<Value> garbage = Run("not a pickle", {});
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(ErrorTypeName(garbage.status()), "_pickle.UnpicklingError");
}

TEST_F(PythonRuntimeTest, ImportsFunctionsByNameWithoutPayload) {
  EXPECT_EQ(Run("", {Value::Double(16.0)}, {}, "math.sqrt").value(), Value::Double(4.0));
  EXPECT_EQ(Run("", {Value::String("abc")}, {}, "len").value(), Value::Int(3));
  absl::StatusOr<Value> missing = Run("", {}, {}, "no_such_module_xyz.f");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(ErrorTypeName(missing.status()), "ModuleNotFoundError");
}

TEST_F(PythonRuntimeTest, WorkingDirectoryIsOnSysPath) {
  EXPECT_EQ(Run(Pickled("import os, sys\nf = lambda: os.getcwd() in sys.path", "f"), {}).value(),
            Value::Bool(true));
}

// Two tasks meet at a two-party barrier: they only both pass if they run at
// the same time, i.e. neither holds the GIL while the other waits.
TEST_F(PythonRuntimeTest, TasksOnTwoThreadsRunConcurrently) {
  {
    py::gil_scoped_acquire gil;
    py::module_ mod = py::module_::import("types").attr("ModuleType")("gil_meeting");
    py::exec("import threading\nbarrier = threading.Barrier(2)\n"
             "def meet():\n    return barrier.wait(timeout=30)\n",
             mod.attr("__dict__"));
    py::module_::import("sys").attr("modules")["gil_meeting"] = mod;
  }
  absl::StatusOr<Value> results[2];
  std::thread other([&] { results[1] = Run("", {}, {}, "gil_meeting.meet"); });
  results[0] = Run("", {}, {}, "gil_meeting.meet");
  other.join();
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  ASSERT_TRUE(results[1].ok()) << results[1].status();
  // Barrier.wait returns a distinct index to each party.
  EXPECT_EQ(results[0]->as_int() + results[1]->as_int(), 1);
}

}  // namespace
}  // namespace taskgrid::worker
