#pragma once
// Conversions between taskgrid::Value and the generated taskgrid.v1.Value
// message (used for task arguments, which travel inside TaskSpec).

#include "absl/status/statusor.h"
#include "common/value.h"
#include "taskgrid/v1/common.pb.h"

namespace taskgrid {

void ValueToProto(const Value& v, v1::Value* out);
// Errors name what is wrong (unset kind, bad dtype, size mismatch, depth).
absl::StatusOr<Value> ValueFromProto(const v1::Value& p);

}  // namespace taskgrid
