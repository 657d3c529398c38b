#include "services/worker/builtins.h"

namespace taskgrid::worker {

absl::Status RegisterBuiltins(FunctionRegistry* registry) {
  if (absl::Status s = builtin::RegisterNumericBuiltins(registry); !s.ok()) return s;
  if (absl::Status s = builtin::RegisterGeneralBuiltins(registry); !s.ok()) return s;
  return builtin::RegisterArrayBuiltins(registry);
}

}  // namespace taskgrid::worker
