#pragma once
// The "builtin" runtime: functions compiled into every worker, enough to
// build numeric pipelines and to test the cluster without plugins.
//
//   numbers : inc add sub mul div neg sum mean max min
//   general : len identity concat getitem nbytes sleep fail
//   testing : timed_sleep (returns when it ran), fail_times (raises the
//             first n calls, counted in a file shared across workers)
//   arrays  : arange full array_sum array_add random_bytes
//
// Semantics follow Python: int + int stays int (overflow is an error, not a
// wrap-around), any float makes a float, bool counts as int. Reductions take
// one list argument or varargs (sum([1, 2]) == sum(1, 2)). Errors are
// TypeError/ValueError/... (see function_errors.h) with messages naming the
// function and the argument: "add: argument 2 is str, expected a number".
//
// Every function is pure except sleep, timed_sleep and fail_times; all are
// thread-safe (fail_times also across processes).

#include "absl/status/status.h"
#include "services/worker/function_registry.h"

namespace taskgrid::worker {

// Registers every builtin under runtime "builtin".
absl::Status RegisterBuiltins(FunctionRegistry* registry);

namespace builtin {
// The groups RegisterBuiltins is made of (one source file each).
absl::Status RegisterNumericBuiltins(FunctionRegistry* registry);
absl::Status RegisterGeneralBuiltins(FunctionRegistry* registry);
absl::Status RegisterArrayBuiltins(FunctionRegistry* registry);
// concat() of n-d arrays along the first axis (same dtype and trailing
// shape); used by the general concat.
absl::StatusOr<Value> ConcatArrays(const char* fn, const ValueList& parts);
}  // namespace builtin

}  // namespace taskgrid::worker
