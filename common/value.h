#pragma once
// taskgrid::Value: the typed, language-neutral value model of taskgrid.v1
// (null, bool, int64, double, string, bytes, list, map, n-d array, pickle,
// and, inside task arguments only, a reference to another key).
//
// Values are immutable once built: lists and maps are shared through
// shared_ptr, bytes/arrays/pickles through Blob, so copying a Value is cheap
// and thread-safe. Build a list or map fully, then wrap it.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "common/blob.h"

namespace taskgrid {

class Value;

// A result kept in the form of the runtime that made it (a Python object in
// a worker's store): it is a pickle that is only made when the value has to
// leave the process (a transfer, a spill), never for a task on the same
// worker. See Value::LocalPickle.
//
// Thread-safety: implementations are thread-safe; Pickled() is computed at
// most once and then returns the same result.
class LocalObject {
 public:
  virtual ~LocalObject() = default;
  // Estimated memory the object holds (fixed for its life).
  virtual int64_t ByteSize() const = 0;
  // The pickle bytes, made on first call; an error naming the object's type
  // when it cannot be pickled.
  virtual const absl::StatusOr<Blob>& Pickled() const = 0;
};

using ValueList = std::vector<Value>;
using ValueMap = std::map<std::string, Value>;

// Element types use numpy names.
enum class DType { kBool, kInt8, kInt16, kInt32, kInt64, kUInt8, kUInt16,
                   kUInt32, kUInt64, kFloat32, kFloat64 };
absl::StatusOr<DType> ParseDType(std::string_view name);
const char* DTypeName(DType d);
size_t DTypeSize(DType d);

struct NDArray {
  DType dtype = DType::kFloat64;
  std::vector<int64_t> shape;
  Blob data;  // little-endian, C order; size == NumElements() * item size

  int64_t NumElements() const;
  // Checks that data size matches dtype and shape (no negative dims).
  absl::Status Validate() const;
  // The elements as T (which must match dtype). Aligned for T once the
  // array is in a Value (Value::Array copies a misaligned payload).
  template <typename T>
  const T* As() const { return reinterpret_cast<const T*>(data.data()); }
};

class Value {
 public:
  enum class Kind { kNull, kBool, kInt, kDouble, kString, kBytes, kList,
                    kMap, kArray, kPickle, kRef };

  Value() = default;  // null
  static Value Null() { return Value(); }
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Double(double d);
  static Value String(std::string s);
  static Value Bytes(Blob b);
  static Value List(ValueList items);
  static Value Map(ValueMap entries);
  static Value Array(NDArray a);
  static Value Pickle(Blob b);
  // A kPickle value whose bytes are made from `object` on first use.
  static Value LocalPickle(std::shared_ptr<const LocalObject> object);
  static Value Ref(std::string key);

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_null() const { return kind() == Kind::kNull; }
  bool is_number() const { return kind() == Kind::kInt || kind() == Kind::kDouble; }

  // REQUIRES: kind() matches (checked; a mismatch aborts — use kind() first).
  bool as_bool() const;
  int64_t as_int() const;
  double as_double() const;
  // Int or double, as double. REQUIRES: is_number().
  double as_number() const;
  const std::string& as_string() const;  // kString
  const std::string& as_ref() const;     // kRef
  const Blob& as_bytes() const;          // kBytes
  // kPickle. For a LocalPickle this pickles the object on first use; one
  // that cannot be pickled reads as empty (call PreparePickles first).
  const Blob& as_pickle() const;
  // The object behind a LocalPickle value, else nullptr.
  const LocalObject* local_object() const;
  const ValueList& as_list() const;
  const ValueMap& as_map() const;
  const NDArray& as_array() const;

  // Memory the value holds, in bytes (what "nbytes" reports and what
  // placement and memory limits count).
  int64_t ByteSize() const;
  // Python-like name of the type: NoneType, bool, int, float, str, bytes,
  // list, dict, ndarray, pickle, ref.
  const char* TypeName() const;
  // Python-like repr, truncated to about max_len characters.
  std::string DebugString(size_t max_len = 200) const;
  // Appends every key referenced anywhere inside this value.
  void CollectRefs(std::vector<std::string>* out) const;
  bool HasRefs() const;

  bool operator==(const Value& o) const;
  bool operator!=(const Value& o) const { return !(*this == o); }

 private:
  struct BytesV { Blob b; };
  struct PickleV {
    Blob b;
    std::shared_ptr<const LocalObject> local;  // set for a LocalPickle
  };
  struct RefV { std::string key; };
  // Index order must match Kind.
  std::variant<std::monostate, bool, int64_t, double, std::string, BytesV,
               std::shared_ptr<const ValueList>,
               std::shared_ptr<const ValueMap>,
               std::shared_ptr<const NDArray>, PickleV, RefV>
      v_;
};

// Pickles every LocalPickle inside `v`, so that encoding it sends real
// bytes; the first object that cannot be pickled is the error.
absl::Status PreparePickles(const Value& v);

}  // namespace taskgrid
