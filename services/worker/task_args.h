#pragma once
// Task arguments: finding the keys a TaskSpec references and building the
// call's arguments, with every reference (anywhere inside lists and maps)
// replaced by the value of its key, as Dask does with keys nested in
// argument structures.
//
// Stateless functions; thread-safe.

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "common/value.h"
#include "taskgrid/v1/common.pb.h"

namespace taskgrid::worker {

// Returns the value of a dependency, or nullptr when it is not available.
using DependencyLookup = absl::FunctionRef<const Value*(const std::string& key)>;

// The distinct keys referenced by spec.args and spec.kwargs, in first-seen
// order (extra_dependencies are not included: their values are not used).
std::vector<std::string> ReferencedKeys(const v1::TaskSpec& spec);

// A copy of `v` with each ref replaced by lookup(key). Parts without refs
// are shared with `v`, not copied. NotFound names a key lookup lacks.
absl::StatusOr<Value> SubstituteRefs(const Value& v, DependencyLookup lookup);

struct TaskArguments {
  ValueList args;
  ValueMap kwargs;
};
// Converts spec.args/kwargs and substitutes refs. Errors name the argument.
absl::StatusOr<TaskArguments> ResolveArguments(const v1::TaskSpec& spec, DependencyLookup lookup);

}  // namespace taskgrid::worker
