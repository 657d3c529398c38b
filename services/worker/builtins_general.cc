// Builtins on any value: len identity concat getitem nbytes sleep fail,
// and for tests of the cluster itself: timed_sleep fail_times.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "services/worker/buffer_pool.h"
#include "services/worker/builtin_args.h"
#include "services/worker/builtins.h"
#include "services/worker/function_errors.h"

namespace taskgrid::worker::builtin {
namespace {

// Python's len(str) counts code points, not UTF-8 bytes.
int64_t CountCodePoints(const std::string& s) {
  int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

absl::StatusOr<Value> Len(const ValueList& args, const ValueMap& kwargs) {
  Args a("len", args, kwargs);
  if (absl::Status s = a.Expect(1, 1); !s.ok()) return s;
  const Value& v = args[0];
  switch (v.kind()) {
    case Value::Kind::kList: return Value::Int(static_cast<int64_t>(v.as_list().size()));
    case Value::Kind::kMap: return Value::Int(static_cast<int64_t>(v.as_map().size()));
    case Value::Kind::kString: return Value::Int(CountCodePoints(v.as_string()));
    case Value::Kind::kBytes: return Value::Int(static_cast<int64_t>(v.as_bytes().size()));
    case Value::Kind::kArray:
      if (v.as_array().shape.empty()) return TypeError("len: len() of unsized object");
      return Value::Int(v.as_array().shape[0]);
    default:
      return a.WrongType(0, v, "a list, dict, str, bytes or ndarray");
  }
}

absl::StatusOr<Value> Identity(const ValueList& args, const ValueMap& kwargs) {
  Args a("identity", args, kwargs);
  if (absl::Status s = a.Expect(1, 1); !s.ok()) return s;
  return args[0];
}

bool IsConcatenable(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kList:
    case Value::Kind::kString:
    case Value::Kind::kBytes:
    case Value::Kind::kArray: return true;
    default: return false;
  }
}

// concat(a, b, ...) or concat([a, b, ...]): lists, strs, bytes or arrays,
// all of one kind.
absl::StatusOr<Value> Concat(const ValueList& args, const ValueMap& kwargs) {
  Args a("concat", args, kwargs);
  if (absl::Status s = a.Expect(1, SIZE_MAX); !s.ok()) return s;
  const ValueList* parts = &args;
  bool items = false;
  if (args.size() == 1 && args[0].kind() == Value::Kind::kList) {
    const ValueList& inner = args[0].as_list();
    bool all = true;
    for (const Value& v : inner) all = all && IsConcatenable(v);
    // concat([[1], [2]]) joins the parts; concat([1, 2]) is just that list.
    if (all && !inner.empty()) {
      parts = &inner;
      items = true;
    }
  }
  const Value::Kind kind = (*parts)[0].kind();
  for (size_t i = 0; i < parts->size(); ++i) {
    const Value& v = (*parts)[i];
    if (!IsConcatenable(v) || v.kind() != kind) {
      std::string expected = i == 0 ? "a list, str, bytes or ndarray"
                                    : absl::StrCat("a ", (*parts)[0].TypeName(), " like the first");
      return items ? a.WrongItemType(i, v, expected) : a.WrongType(i, v, expected);
    }
  }
  switch (kind) {
    case Value::Kind::kList: {
      size_t n = 0;
      for (const Value& v : *parts) n += v.as_list().size();
      ValueList out;
      out.reserve(n);
      for (const Value& v : *parts) out.insert(out.end(), v.as_list().begin(), v.as_list().end());
      return Value::List(std::move(out));
    }
    case Value::Kind::kString: {
      std::string out;
      for (const Value& v : *parts) out += v.as_string();
      return Value::String(std::move(out));
    }
    case Value::Kind::kBytes: {
      if (parts->size() == 1) return (*parts)[0];
      size_t n = 0;
      for (const Value& v : *parts) n += v.as_bytes().size();
      char* w = nullptr;
      Blob out = AllocateBuffer(n, &w);
      for (const Value& v : *parts) {
        if (!v.as_bytes().empty()) std::memcpy(w, v.as_bytes().data(), v.as_bytes().size());
        w += v.as_bytes().size();
      }
      return Value::Bytes(std::move(out));
    }
    default:
      return ConcatArrays("concat", *parts);
  }
}

// getitem(list, int) with negative indices, or getitem(dict, str), as
// Dask graphs use operator.getitem to pick parts of a result.
absl::StatusOr<Value> GetItem(const ValueList& args, const ValueMap& kwargs) {
  Args a("getitem", args, kwargs);
  if (absl::Status s = a.Expect(2, 2); !s.ok()) return s;
  const Value& container = args[0];
  if (container.kind() == Value::Kind::kList) {
    absl::StatusOr<int64_t> index = a.GetInt(1);
    if (!index.ok()) return index.status();
    const ValueList& list = container.as_list();
    int64_t i = *index < 0 ? *index + static_cast<int64_t>(list.size()) : *index;
    if (i < 0 || i >= static_cast<int64_t>(list.size())) {
      return FunctionError("IndexError", absl::StrCat("getitem: list index ", *index,
                                                      " out of range (length ", list.size(), ")"));
    }
    return list[i];
  }
  if (container.kind() == Value::Kind::kMap) {
    if (args[1].kind() != Value::Kind::kString) return a.WrongType(1, args[1], "a str");
    auto it = container.as_map().find(args[1].as_string());
    if (it == container.as_map().end()) {
      return FunctionError("KeyError", absl::StrCat("getitem: key '", args[1].as_string(),
                                                    "' not found"));
    }
    return it->second;
  }
  return a.WrongType(0, container, "a list or dict");
}

absl::StatusOr<Value> NBytes(const ValueList& args, const ValueMap& kwargs) {
  Args a("nbytes", args, kwargs);
  if (absl::Status s = a.Expect(1, 1); !s.ok()) return s;
  return Value::Int(args[0].ByteSize());
}

// The `seconds` argument of sleep and timed_sleep.
absl::StatusOr<double> GetSeconds(const Args& a) {
  absl::StatusOr<Number> seconds = a.GetNumber(0, "seconds");
  if (!seconds.ok()) return seconds.status();
  const double t = seconds->as_double();
  if (!(t >= 0.0) || std::isinf(t)) {
    return ValueError(absl::StrCat(a.fn(), ": seconds must be a finite number >= 0, got ", t));
  }
  return t;
}

// sleep(seconds, value=None): sleeps, then returns value.
absl::StatusOr<Value> Sleep(const ValueList& args, const ValueMap& kwargs) {
  Args a("sleep", args, kwargs);
  if (absl::Status s = a.Expect(0, 2, "seconds,value"); !s.ok()) return s;
  absl::StatusOr<double> t = GetSeconds(a);
  if (!t.ok()) return t.status();
  std::this_thread::sleep_for(std::chrono::duration<double>(*t));
  const Value* value = a.Find(1, "value");
  return value != nullptr ? *value : Value::Null();
}

double UnixSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// timed_sleep(seconds): sleeps, then returns [start, stop] in seconds since
// the Unix epoch, so tests can see when tasks ran (and whether they
// overlapped) across the workers of one machine.
absl::StatusOr<Value> TimedSleep(const ValueList& args, const ValueMap& kwargs) {
  Args a("timed_sleep", args, kwargs);
  if (absl::Status s = a.Expect(0, 1, "seconds"); !s.ok()) return s;
  absl::StatusOr<double> t = GetSeconds(a);
  if (!t.ok()) return t.status();
  const double start = UnixSeconds();
  std::this_thread::sleep_for(std::chrono::duration<double>(*t));
  return Value::List({Value::Double(start), Value::Double(UnixSeconds())});
}

absl::Status CounterError(const std::string& what, const std::string& path) {
  return FunctionError("OSError", absl::StrCat("fail_times: cannot ", what, " counter file ",
                                               path, ": ", std::strerror(errno)));
}

// Adds one to the decimal count in the file at `path` (created at 0) under
// an exclusive flock, so concurrent callers in any process of this machine
// each see a distinct count. Returns the new count.
absl::StatusOr<int64_t> IncrementCounterFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return CounterError("open", path);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }  // also drops the flock
  } closer{fd};
  if (::flock(fd, LOCK_EX) != 0) return CounterError("lock", path);
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n < 0) return CounterError("read", path);
  const int64_t count = std::strtoll(buf, nullptr, 10) + 1;
  const std::string text = std::to_string(count);
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    return CounterError("write", path);
  }
  return count;
}

// fail_times(counter_path, n, value=None): counts its calls in the file
// counter_path (shared by every worker on the machine) and raises
// RuntimeError on the first n calls, then returns value; for tests of
// retries.
absl::StatusOr<Value> FailTimes(const ValueList& args, const ValueMap& kwargs) {
  Args a("fail_times", args, kwargs);
  if (absl::Status s = a.Expect(0, 3, "counter_path,n,value"); !s.ok()) return s;
  absl::StatusOr<const Value*> path = a.Get(0, "counter_path");
  if (!path.ok()) return path.status();
  if ((*path)->kind() != Value::Kind::kString || (*path)->as_string().empty()) {
    return a.WrongType(0, **path, "a non-empty str (a file path)");
  }
  absl::StatusOr<int64_t> n = a.GetInt(1, "n");
  if (!n.ok()) return n.status();
  absl::StatusOr<int64_t> count = IncrementCounterFile((*path)->as_string());
  if (!count.ok()) return count.status();
  if (*count <= *n) {
    return FunctionError("RuntimeError",
                         absl::StrCat("fail_times: failure ", *count, " of ", *n),
                         absl::StatusCode::kUnknown);
  }
  const Value* value = a.Find(2, "value");
  return value != nullptr ? *value : Value::Null();
}

// fail(message, type="FunctionError"): always raises; for tests.
absl::StatusOr<Value> Fail(const ValueList& args, const ValueMap& kwargs) {
  Args a("fail", args, kwargs);
  if (absl::Status s = a.Expect(0, 1, "message,type"); !s.ok()) return s;
  std::string message = "fail() called";
  if (const Value* m = a.Find(0, "message"); m != nullptr) {
    message = m->kind() == Value::Kind::kString ? m->as_string() : m->DebugString();
  }
  std::string type = "FunctionError";
  if (const Value* t = a.Find(SIZE_MAX, "type"); t != nullptr) {
    if (t->kind() != Value::Kind::kString) {
      return TypeError(absl::StrCat("fail: keyword type is ", t->TypeName(), ", expected a str"));
    }
    type = t->as_string();
  }
  return FunctionError(type, message, absl::StatusCode::kUnknown);
}

}  // namespace

absl::Status RegisterGeneralBuiltins(FunctionRegistry* registry) {
  const std::pair<const char*, TaskFunction> functions[] = {
      {"len", Len},       {"identity", Identity}, {"concat", Concat}, {"getitem", GetItem},
      {"nbytes", NBytes}, {"sleep", Sleep},       {"fail", Fail},
      {"timed_sleep", TimedSleep}, {"fail_times", FailTimes},
  };
  for (const auto& [name, fn] : functions) {
    if (absl::Status s = registry->Register("builtin", name, fn); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace taskgrid::worker::builtin
