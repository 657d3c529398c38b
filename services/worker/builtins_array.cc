// Builtins on n-d arrays and bulk data: arange full array_sum array_add
// random_bytes (plus the array part of concat).
#include <cstring>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/worker/buffer_pool.h"
#include "services/worker/builtin_args.h"
#include "services/worker/builtins.h"
#include "services/worker/function_errors.h"

namespace taskgrid::worker::builtin {
namespace {

// Arrays larger than this are refused up front (a typo like arange(1e15)
// should be an error, not an out-of-memory kill).
constexpr int64_t kMaxArrayBytes = int64_t{1} << 38;  // 256 GiB

// Calls f(T{}) with the C++ element type of `d` (bool is stored as uint8).
template <typename F>
auto VisitDType(DType d, F&& f) {
  switch (d) {
    case DType::kBool: return f(uint8_t{});
    case DType::kInt8: return f(int8_t{});
    case DType::kInt16: return f(int16_t{});
    case DType::kInt32: return f(int32_t{});
    case DType::kInt64: return f(int64_t{});
    case DType::kUInt8: return f(uint8_t{});
    case DType::kUInt16: return f(uint16_t{});
    case DType::kUInt32: return f(uint32_t{});
    case DType::kUInt64: return f(uint64_t{});
    case DType::kFloat32: return f(float{});
    case DType::kFloat64: break;
  }
  return f(double{});
}

bool IsFloat(DType d) { return d == DType::kFloat32 || d == DType::kFloat64; }

// Reads the elements of an array argument. Its data may sit at any offset
// (a value decoded from a received buffer shares that buffer), so elements
// are loaded with memcpy, which compiles to plain unaligned loads, rather
// than through a T* that the optimiser may assume aligned.
template <typename T>
struct Elements {
  explicit Elements(const NDArray& a) : data(a.data.data()) {}
  explicit Elements(const char* d) : data(d) {}
  T operator[](int64_t i) const {
    T v;
    std::memcpy(&v, data + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
    return v;
  }
  const char* data;
};

absl::StatusOr<NDArray> NewArray(const char* fn, DType dtype, std::vector<int64_t> shape,
                                 char** writable) {
  int64_t n = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return ValueError(absl::StrCat(fn, ": negative dimension ", dim));
    if (dim != 0 && n > kMaxArrayBytes / dim) n = kMaxArrayBytes;  // saturate
    n *= dim;
  }
  if (n > kMaxArrayBytes / static_cast<int64_t>(DTypeSize(dtype))) {
    return FunctionError("MemoryError", absl::StrCat(fn, ": array of shape (",
                                                     absl::StrJoin(shape, ", "), ") is too large"),
                         absl::StatusCode::kResourceExhausted);
  }
  NDArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data = AllocateBuffer(static_cast<size_t>(n) * DTypeSize(dtype), writable);
  return a;
}

// arange(stop) or arange(start, stop[, step]) -> int64 array.
absl::StatusOr<Value> Arange(const ValueList& args, const ValueMap& kwargs) {
  Args a("arange", args, kwargs);
  if (absl::Status s = a.Expect(1, 3); !s.ok()) return s;
  int64_t start = 0, stop = 0, step = 1;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::StatusOr<int64_t> x = a.GetInt(i);
    if (!x.ok()) return x.status();
    if (args.size() == 1) {
      stop = *x;
    } else {
      (i == 0 ? start : i == 1 ? stop : step) = *x;
    }
  }
  if (step == 0) return ValueError("arange: step must not be zero");
  __int128 span = static_cast<__int128>(stop) - start;
  __int128 count = 0;
  if ((step > 0 && span > 0) || (step < 0 && span < 0)) {
    count = (span + step + (step > 0 ? -1 : 1)) / step;
  }
  if (count > kMaxArrayBytes) count = kMaxArrayBytes;  // NewArray refuses it
  char* w = nullptr;
  absl::StatusOr<NDArray> out = NewArray("arange", DType::kInt64, {static_cast<int64_t>(count)}, &w);
  if (!out.ok()) return out.status();
  int64_t* p = reinterpret_cast<int64_t*>(w);
  for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) p[i] = start + i * step;
  return Value::Array(*std::move(out));
}

absl::StatusOr<std::vector<int64_t>> ShapeArg(const Args& a, size_t index) {
  absl::StatusOr<const Value*> v = a.Get(index);
  if (!v.ok()) return v.status();
  std::vector<int64_t> shape;
  if ((*v)->kind() == Value::Kind::kList) {
    for (const Value& d : (*v)->as_list()) {
      if (d.kind() != Value::Kind::kInt) return a.WrongType(index, **v, "an int or a list of ints");
      shape.push_back(d.as_int());
    }
    return shape;
  }
  absl::StatusOr<int64_t> n = a.GetInt(index);
  if (!n.ok()) return a.WrongType(index, **v, "an int or a list of ints");
  shape.push_back(*n);
  return shape;
}

// full(shape, value) -> float64 array filled with value.
absl::StatusOr<Value> Full(const ValueList& args, const ValueMap& kwargs) {
  Args a("full", args, kwargs);
  if (absl::Status s = a.Expect(2, 2); !s.ok()) return s;
  absl::StatusOr<std::vector<int64_t>> shape = ShapeArg(a, 0);
  if (!shape.ok()) return shape.status();
  absl::StatusOr<Number> value = a.GetNumber(1);
  if (!value.ok()) return value.status();
  char* w = nullptr;
  absl::StatusOr<NDArray> out = NewArray("full", DType::kFloat64, *std::move(shape), &w);
  if (!out.ok()) return out.status();
  double* p = reinterpret_cast<double*>(w);
  std::fill(p, p + out->NumElements(), value->as_double());
  return Value::Array(*std::move(out));
}

// Sum of all elements: int for integer/bool dtypes, float otherwise.
absl::StatusOr<Value> ArraySum(const ValueList& args, const ValueMap& kwargs) {
  Args a("array_sum", args, kwargs);
  if (absl::Status s = a.Expect(1, 1); !s.ok()) return s;
  if (args[0].kind() != Value::Kind::kArray) return a.WrongType(0, args[0], "an ndarray");
  const NDArray& arr = args[0].as_array();
  const int64_t n = arr.NumElements();
  return VisitDType(arr.dtype, [&](auto tag) -> absl::StatusOr<Value> {
    using T = decltype(tag);
    Elements<T> p(arr);
    if constexpr (std::is_floating_point_v<T>) {
      double total = 0.0;
      for (int64_t i = 0; i < n; ++i) total += p[i];
      return Value::Double(total);
    } else {
      __int128 total = 0;
      for (int64_t i = 0; i < n; ++i) total += p[i];
      if (total > INT64_MAX || total < INT64_MIN) {
        return FunctionError("OverflowError", "array_sum: sum does not fit in int64");
      }
      return Value::Int(static_cast<int64_t>(total));
    }
  });
}

// Element-wise a + b for arrays of one shape, or array + number. Same dtype
// keeps the dtype (integers wrap, as numpy does); mixed dtypes give float64.
absl::StatusOr<Value> ArrayAdd(const ValueList& args, const ValueMap& kwargs) {
  Args a("array_add", args, kwargs);
  if (absl::Status s = a.Expect(2, 2); !s.ok()) return s;
  if (args[0].kind() != Value::Kind::kArray) return a.WrongType(0, args[0], "an ndarray");
  const NDArray& x = args[0].as_array();
  const int64_t n = x.NumElements();
  const NDArray* y = nullptr;
  std::optional<Number> scalar;
  if (args[1].kind() == Value::Kind::kArray) {
    y = &args[1].as_array();
    if (y->shape != x.shape) {
      return ValueError(absl::StrCat("array_add: shapes (", absl::StrJoin(x.shape, ", "),
                                     ") and (", absl::StrJoin(y->shape, ", "), ") differ"));
    }
  } else {
    scalar = AsNumber(args[1]);
    if (!scalar) return a.WrongType(1, args[1], "an ndarray or a number");
  }
  bool keep_dtype = y != nullptr ? y->dtype == x.dtype && x.dtype != DType::kBool
                                 : (scalar->is_int ? x.dtype != DType::kBool : IsFloat(x.dtype));
  DType out_dtype = keep_dtype ? x.dtype : DType::kFloat64;
  char* w = nullptr;
  absl::StatusOr<NDArray> out = NewArray("array_add", out_dtype, x.shape, &w);
  if (!out.ok()) return out.status();
  if (keep_dtype) {
    VisitDType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      Elements<T> px(x);
      Elements<T> py(y != nullptr ? y->data.data() : nullptr);  // read only if y
      T* po = reinterpret_cast<T*>(w);  // a new buffer: aligned
      for (int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_floating_point_v<T>) {
          po[i] = static_cast<T>(px[i] + (y != nullptr ? py[i] : scalar->as_double()));
        } else {
          // Integer arithmetic in uint64 so that wrap-around is defined.
          uint64_t rhs = y != nullptr ? static_cast<uint64_t>(py[i])
                                      : static_cast<uint64_t>(scalar->i);
          po[i] = static_cast<T>(static_cast<uint64_t>(px[i]) + rhs);
        }
      }
      return 0;
    });
  } else {
    double* po = reinterpret_cast<double*>(w);
    VisitDType(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      Elements<T> px(x);
      for (int64_t i = 0; i < n; ++i) po[i] = static_cast<double>(px[i]);
      return 0;
    });
    if (y != nullptr) {
      VisitDType(y->dtype, [&](auto tag) {
        using T = decltype(tag);
        Elements<T> py(*y);
        for (int64_t i = 0; i < n; ++i) po[i] += static_cast<double>(py[i]);
        return 0;
      });
    } else {
      for (int64_t i = 0; i < n; ++i) po[i] += scalar->as_double();
    }
  }
  return Value::Array(*std::move(out));
}

// random_bytes(n, seed=0): n pseudo-random bytes, the same for the same
// seed on every machine (SplitMix64 stream, little-endian, 8 bytes a step).
absl::StatusOr<Value> RandomBytes(const ValueList& args, const ValueMap& kwargs) {
  Args a("random_bytes", args, kwargs);
  if (absl::Status s = a.Expect(1, 2, "n,seed"); !s.ok()) return s;
  absl::StatusOr<int64_t> n = a.GetInt(0, "n");
  if (!n.ok()) return n.status();
  int64_t seed = 0;
  if (a.Find(1, "seed") != nullptr) {
    absl::StatusOr<int64_t> s = a.GetInt(1, "seed");
    if (!s.ok()) return s.status();
    seed = *s;
  }
  if (*n < 0) return ValueError(absl::StrCat("random_bytes: n must be >= 0, got ", *n));
  if (*n > kMaxArrayBytes) {
    return FunctionError("MemoryError", absl::StrCat("random_bytes: ", *n, " bytes is too large"),
                         absl::StatusCode::kResourceExhausted);
  }
  char* w = nullptr;
  Blob out = AllocateBuffer(static_cast<size_t>(*n), &w);
  uint64_t state = static_cast<uint64_t>(seed);
  auto next = [&state] {
    state += 0x9E3779B97F4A7C15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  size_t i = 0;
  const size_t size = static_cast<size_t>(*n);
  for (; i + 8 <= size; i += 8) {
    uint64_t r = next();  // x86-64 and aarch64 (as deployed) are little-endian
    std::memcpy(w + i, &r, 8);
  }
  if (i < size) {
    uint64_t r = next();
    std::memcpy(w + i, &r, size - i);
  }
  return Value::Bytes(std::move(out));
}

}  // namespace

absl::StatusOr<Value> ConcatArrays(const char* fn, const ValueList& parts) {
  const NDArray& first = parts[0].as_array();
  if (first.shape.empty()) return ValueError(absl::StrCat(fn, ": cannot concatenate 0-d arrays"));
  std::vector<int64_t> shape = first.shape;
  shape[0] = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const NDArray& p = parts[i].as_array();
    bool same_tail = p.shape.size() == first.shape.size() &&
                     std::equal(p.shape.begin() + 1, p.shape.end(), first.shape.begin() + 1);
    if (p.dtype != first.dtype || !same_tail) {
      return ValueError(absl::StrCat(fn, ": array ", i + 1, " (", DTypeName(p.dtype), ", shape (",
                                     absl::StrJoin(p.shape, ", "), ")) does not match array 1 (",
                                     DTypeName(first.dtype), ", shape (",
                                     absl::StrJoin(first.shape, ", "), "))"));
    }
    shape[0] += p.shape[0];
  }
  if (parts.size() == 1) return parts[0];
  char* w = nullptr;
  absl::StatusOr<NDArray> out = NewArray(fn, first.dtype, std::move(shape), &w);
  if (!out.ok()) return out.status();
  for (const Value& v : parts) {
    const Blob& data = v.as_array().data;
    if (!data.empty()) std::memcpy(w, data.data(), data.size());
    w += data.size();
  }
  return Value::Array(*std::move(out));
}

absl::Status RegisterArrayBuiltins(FunctionRegistry* registry) {
  const std::pair<const char*, TaskFunction> functions[] = {
      {"arange", Arange},       {"full", Full},
      {"array_sum", ArraySum},  {"array_add", ArrayAdd},
      {"random_bytes", RandomBytes},
  };
  for (const auto& [name, fn] : functions) {
    if (absl::Status s = registry->Register("builtin", name, fn); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace taskgrid::worker::builtin
