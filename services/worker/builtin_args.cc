#include "services/worker/builtin_args.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/worker/function_errors.h"

namespace taskgrid::worker::builtin {

std::optional<Number> AsNumber(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kInt: return Number::Int(v.as_int());
    case Value::Kind::kDouble: return Number::Float(v.as_double());
    case Value::Kind::kBool: return Number::Int(v.as_bool() ? 1 : 0);
    default: return std::nullopt;
  }
}

namespace {
absl::Status Overflow(const char* fn) {
  return FunctionError("OverflowError", absl::StrCat(fn, ": integer overflow"));
}
}  // namespace

absl::StatusOr<Number> AddNumbers(const char* fn, Number a, Number b) {
  if (a.is_int && b.is_int) {
    int64_t r;
    if (__builtin_add_overflow(a.i, b.i, &r)) return Overflow(fn);
    return Number::Int(r);
  }
  return Number::Float(a.as_double() + b.as_double());
}

absl::StatusOr<Number> SubNumbers(const char* fn, Number a, Number b) {
  if (a.is_int && b.is_int) {
    int64_t r;
    if (__builtin_sub_overflow(a.i, b.i, &r)) return Overflow(fn);
    return Number::Int(r);
  }
  return Number::Float(a.as_double() - b.as_double());
}

absl::StatusOr<Number> MulNumbers(const char* fn, Number a, Number b) {
  if (a.is_int && b.is_int) {
    int64_t r;
    if (__builtin_mul_overflow(a.i, b.i, &r)) return Overflow(fn);
    return Number::Int(r);
  }
  return Number::Float(a.as_double() * b.as_double());
}

int CompareNumbers(Number a, Number b) {
  if (a.is_int && b.is_int) return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
  double x = a.as_double(), y = b.as_double();
  return x < y ? -1 : (x > y ? 1 : 0);
}

absl::Status Args::Expect(size_t min, size_t max, absl::string_view allowed_kwargs) const {
  if (args_.size() < min || args_.size() > max) {
    std::string want;
    if (min == max) {
      want = absl::StrCat(min);
    } else if (max == SIZE_MAX) {
      want = absl::StrCat("at least ", min);
    } else {
      want = absl::StrCat(min, " to ", max);
    }
    return TypeError(absl::StrCat(fn_, ": takes ", want, " positional argument",
                                  (min == 1 && max == 1) ? "" : "s", ", got ", args_.size()));
  }
  if (kwargs_.empty()) return absl::OkStatus();
  std::vector<absl::string_view> allowed = absl::StrSplit(allowed_kwargs, ',', absl::SkipEmpty());
  for (const auto& [name, value] : kwargs_) {
    bool ok = false;
    for (absl::string_view a : allowed) ok = ok || a == name;
    if (!ok) {
      return TypeError(absl::StrCat(fn_, ": unexpected keyword argument '", name, "'"));
    }
  }
  return absl::OkStatus();
}

const Value* Args::Find(size_t index, const char* name) const {
  if (index < args_.size()) return &args_[index];
  if (name != nullptr) {
    auto it = kwargs_.find(name);
    if (it != kwargs_.end()) return &it->second;
  }
  return nullptr;
}

absl::StatusOr<const Value*> Args::Get(size_t index, const char* name) const {
  const Value* v = Find(index, name);
  if (v == nullptr) {
    return TypeError(absl::StrCat(fn_, ": missing argument ", index + 1,
                                  name != nullptr ? absl::StrCat(" (", name, ")") : ""));
  }
  return v;
}

absl::StatusOr<Number> Args::GetNumber(size_t index, const char* name) const {
  absl::StatusOr<const Value*> v = Get(index, name);
  if (!v.ok()) return v.status();
  std::optional<Number> n = AsNumber(**v);
  if (!n) return WrongType(index, **v, "a number");
  return *n;
}

absl::StatusOr<int64_t> Args::GetInt(size_t index, const char* name) const {
  absl::StatusOr<const Value*> v = Get(index, name);
  if (!v.ok()) return v.status();
  std::optional<Number> n = AsNumber(**v);
  if (!n || !n->is_int) return WrongType(index, **v, "an int");
  return n->i;
}

const ValueList& Args::Sequence() const {
  if (args_.size() == 1 && args_[0].kind() == Value::Kind::kList) return args_[0].as_list();
  return args_;
}

absl::Status Args::WrongType(size_t index, const Value& v, absl::string_view expected) const {
  return TypeError(
      absl::StrCat(fn_, ": argument ", index + 1, " is ", v.TypeName(), ", expected ", expected));
}

absl::Status Args::WrongItemType(size_t index, const Value& v, absl::string_view expected) const {
  if (&Sequence() == &args_) return WrongType(index, v, expected);
  return TypeError(
      absl::StrCat(fn_, ": item ", index + 1, " is ", v.TypeName(), ", expected ", expected));
}

}  // namespace taskgrid::worker::builtin
