// Builtins on numbers: inc add sub mul div neg sum mean max min.
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "services/worker/builtin_args.h"
#include "services/worker/builtins.h"
#include "services/worker/function_errors.h"

namespace taskgrid::worker::builtin {
namespace {

using NumberOp = absl::StatusOr<Number> (*)(const char*, Number, Number);

absl::StatusOr<Value> Inc(const ValueList& args, const ValueMap& kwargs) {
  Args a("inc", args, kwargs);
  if (absl::Status s = a.Expect(1, 1); !s.ok()) return s;
  absl::StatusOr<Number> x = a.GetNumber(0);
  if (!x.ok()) return x.status();
  absl::StatusOr<Number> r = AddNumbers("inc", *x, Number::Int(1));
  if (!r.ok()) return r.status();
  return r->ToValue();
}

// Folds op over two or more positional numbers (add, mul).
absl::StatusOr<Value> FoldArgs(const char* fn, NumberOp op, const ValueList& args,
                               const ValueMap& kwargs) {
  Args a(fn, args, kwargs);
  if (absl::Status s = a.Expect(2, SIZE_MAX); !s.ok()) return s;
  absl::StatusOr<Number> acc = a.GetNumber(0);
  if (!acc.ok()) return acc.status();
  for (size_t i = 1; i < args.size(); ++i) {
    absl::StatusOr<Number> x = a.GetNumber(i);
    if (!x.ok()) return x.status();
    acc = op(fn, *acc, *x);
    if (!acc.ok()) return acc.status();
  }
  return acc->ToValue();
}

absl::StatusOr<Value> Add(const ValueList& args, const ValueMap& kwargs) {
  return FoldArgs("add", AddNumbers, args, kwargs);
}

absl::StatusOr<Value> Mul(const ValueList& args, const ValueMap& kwargs) {
  return FoldArgs("mul", MulNumbers, args, kwargs);
}

absl::StatusOr<Value> Sub(const ValueList& args, const ValueMap& kwargs) {
  Args a("sub", args, kwargs);
  if (absl::Status s = a.Expect(2, 2); !s.ok()) return s;
  absl::StatusOr<Number> x = a.GetNumber(0);
  if (!x.ok()) return x.status();
  absl::StatusOr<Number> y = a.GetNumber(1);
  if (!y.ok()) return y.status();
  absl::StatusOr<Number> r = SubNumbers("sub", *x, *y);
  if (!r.ok()) return r.status();
  return r->ToValue();
}

// True division, always a float as in Python 3.
absl::StatusOr<Value> Div(const ValueList& args, const ValueMap& kwargs) {
  Args a("div", args, kwargs);
  if (absl::Status s = a.Expect(2, 2); !s.ok()) return s;
  absl::StatusOr<Number> x = a.GetNumber(0);
  if (!x.ok()) return x.status();
  absl::StatusOr<Number> y = a.GetNumber(1);
  if (!y.ok()) return y.status();
  if (y->as_double() == 0.0) return FunctionError("ZeroDivisionError", "div: division by zero");
  return Value::Double(x->as_double() / y->as_double());
}

absl::StatusOr<Value> Neg(const ValueList& args, const ValueMap& kwargs) {
  Args a("neg", args, kwargs);
  if (absl::Status s = a.Expect(1, 1); !s.ok()) return s;
  absl::StatusOr<Number> x = a.GetNumber(0);
  if (!x.ok()) return x.status();
  absl::StatusOr<Number> r = SubNumbers("neg", Number::Int(0), *x);
  if (!r.ok()) return r.status();
  if (!x->is_int) return Value::Double(-x->d);  // keeps -0.0 for 0.0
  return r->ToValue();
}

// The numbers of a reduction's sequence (one list argument or varargs).
absl::StatusOr<std::vector<Number>> SequenceNumbers(const Args& a) {
  const ValueList& seq = a.Sequence();
  std::vector<Number> out;
  out.reserve(seq.size());
  for (size_t i = 0; i < seq.size(); ++i) {
    std::optional<Number> n = AsNumber(seq[i]);
    if (!n) return a.WrongItemType(i, seq[i], "a number");
    out.push_back(*n);
  }
  return out;
}

absl::StatusOr<Value> Sum(const ValueList& args, const ValueMap& kwargs) {
  Args a("sum", args, kwargs);
  if (absl::Status s = a.Expect(0, SIZE_MAX); !s.ok()) return s;
  absl::StatusOr<std::vector<Number>> nums = SequenceNumbers(a);
  if (!nums.ok()) return nums.status();
  Number acc = Number::Int(0);
  for (const Number& n : *nums) {
    absl::StatusOr<Number> r = AddNumbers("sum", acc, n);
    if (!r.ok()) return r.status();
    acc = *r;
  }
  return acc.ToValue();
}

absl::StatusOr<Value> Mean(const ValueList& args, const ValueMap& kwargs) {
  Args a("mean", args, kwargs);
  if (absl::Status s = a.Expect(0, SIZE_MAX); !s.ok()) return s;
  absl::StatusOr<std::vector<Number>> nums = SequenceNumbers(a);
  if (!nums.ok()) return nums.status();
  if (nums->empty()) return ValueError("mean: empty sequence");
  double total = 0.0;
  for (const Number& n : *nums) total += n.as_double();
  return Value::Double(total / static_cast<double>(nums->size()));
}

// max (sign 1) or min (sign -1): returns the winning element unchanged.
absl::StatusOr<Value> Extreme(const char* fn, int sign, const ValueList& args,
                              const ValueMap& kwargs) {
  Args a(fn, args, kwargs);
  if (absl::Status s = a.Expect(0, SIZE_MAX); !s.ok()) return s;
  absl::StatusOr<std::vector<Number>> nums = SequenceNumbers(a);
  if (!nums.ok()) return nums.status();
  if (nums->empty()) return ValueError(absl::StrCat(fn, ": empty sequence"));
  Number best = (*nums)[0];
  for (const Number& n : *nums) {
    if (CompareNumbers(n, best) * sign > 0) best = n;
  }
  return best.ToValue();
}

absl::StatusOr<Value> Max(const ValueList& args, const ValueMap& kwargs) {
  return Extreme("max", 1, args, kwargs);
}

absl::StatusOr<Value> Min(const ValueList& args, const ValueMap& kwargs) {
  return Extreme("min", -1, args, kwargs);
}

}  // namespace

absl::Status RegisterNumericBuiltins(FunctionRegistry* registry) {
  const std::pair<const char*, TaskFunction> functions[] = {
      {"inc", Inc}, {"add", Add}, {"sub", Sub}, {"mul", Mul}, {"div", Div},
      {"neg", Neg}, {"sum", Sum}, {"mean", Mean}, {"max", Max}, {"min", Min},
  };
  for (const auto& [name, fn] : functions) {
    if (absl::Status s = registry->Register("builtin", name, fn); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace taskgrid::worker::builtin
