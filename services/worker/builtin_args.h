#pragma once
// Argument handling shared by the builtin functions: positional-or-keyword
// lookup, numeric coercion following Python (bool is an int, int + float is
// float) and error messages that name the function and the argument, e.g.
// "add: argument 2 is str, expected a number".
//
// Internal to the worker's builtins; stateless and thread-compatible.

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "common/value.h"

namespace taskgrid::worker::builtin {

// A Python number: int (exact) or float.
struct Number {
  bool is_int = true;
  int64_t i = 0;
  double d = 0.0;

  static Number Int(int64_t v) { return {true, v, 0.0}; }
  static Number Float(double v) { return {false, 0, v}; }
  double as_double() const { return is_int ? static_cast<double>(i) : d; }
  Value ToValue() const { return is_int ? Value::Int(i) : Value::Double(d); }
};

// int, float or bool; nullopt for anything else.
std::optional<Number> AsNumber(const Value& v);

// a + b, a - b, a * b with Python semantics (int overflow is an
// OverflowError rather than silent wrap-around).
absl::StatusOr<Number> AddNumbers(const char* fn, Number a, Number b);
absl::StatusOr<Number> SubNumbers(const char* fn, Number a, Number b);
absl::StatusOr<Number> MulNumbers(const char* fn, Number a, Number b);
// -1 if a < b, 0 if equal, 1 if greater (ints compared exactly).
int CompareNumbers(Number a, Number b);

// Arguments of one call of builtin `fn`. `index` below is 0-based; messages
// print it 1-based as Python users count.
class Args {
 public:
  Args(const char* fn, const ValueList& args, const ValueMap& kwargs)
      : fn_(fn), args_(args), kwargs_(kwargs) {}

  const char* fn() const { return fn_; }
  size_t size() const { return args_.size(); }
  const ValueList& positional() const { return args_; }

  // TypeError unless min <= positional count <= max and every keyword is in
  // `allowed_kwargs` (comma-separated, may be empty).
  absl::Status Expect(size_t min, size_t max, absl::string_view allowed_kwargs = "") const;

  // Positional `index`, else keyword `name` (if non-null), else nullptr.
  const Value* Find(size_t index, const char* name = nullptr) const;
  // Like Find, but a missing argument is a TypeError.
  absl::StatusOr<const Value*> Get(size_t index, const char* name = nullptr) const;
  absl::StatusOr<Number> GetNumber(size_t index, const char* name = nullptr) const;
  absl::StatusOr<int64_t> GetInt(size_t index, const char* name = nullptr) const;

  // The values a variadic reduction works on: the items of a single list
  // argument (sum([1, 2])), else all positional arguments (sum(1, 2)).
  const ValueList& Sequence() const;

  // "fn: argument N is TYPE, expected WHAT".
  absl::Status WrongType(size_t index, const Value& v, absl::string_view expected) const;
  // The same for the i-th item of Sequence().
  absl::Status WrongItemType(size_t index, const Value& v, absl::string_view expected) const;

 private:
  const char* fn_;
  const ValueList& args_;
  const ValueMap& kwargs_;
};

}  // namespace taskgrid::worker::builtin
