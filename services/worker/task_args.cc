#include "services/worker/task_args.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/value_codec.h"
#include "common/value_proto.h"

namespace taskgrid::worker {
namespace {

void CollectProtoRefs(const v1::Value& p, absl::flat_hash_set<std::string>* seen,
                      std::vector<std::string>* out, int depth) {
  // ValueFromProto rejects deeper values; no need to look further here.
  if (depth > kMaxValueDepth) return;
  switch (p.kind_case()) {
    case v1::Value::kRef:
      if (seen->insert(p.ref()).second) out->push_back(p.ref());
      return;
    case v1::Value::kListValue:
      for (const v1::Value& item : p.list_value().items()) {
        CollectProtoRefs(item, seen, out, depth + 1);
      }
      return;
    case v1::Value::kMapValue:
      for (const auto& [key, item] : p.map_value().entries()) {
        CollectProtoRefs(item, seen, out, depth + 1);
      }
      return;
    default:
      return;
  }
}

}  // namespace

std::vector<std::string> ReferencedKeys(const v1::TaskSpec& spec) {
  absl::flat_hash_set<std::string> seen;
  std::vector<std::string> out;
  for (const v1::Value& a : spec.args()) CollectProtoRefs(a, &seen, &out, 0);
  for (const auto& [name, a] : spec.kwargs()) CollectProtoRefs(a, &seen, &out, 0);
  return out;
}

absl::StatusOr<Value> SubstituteRefs(const Value& v, DependencyLookup lookup) {
  switch (v.kind()) {
    case Value::Kind::kRef: {
      const Value* dep = lookup(v.as_ref());
      if (dep == nullptr) {
        return absl::NotFoundError(absl::StrCat("dependency '", v.as_ref(), "' is not available"));
      }
      return *dep;
    }
    case Value::Kind::kList: {
      const ValueList& items = v.as_list();
      ValueList out;
      bool changed = false;
      for (size_t i = 0; i < items.size(); ++i) {
        // Lists without refs (the common case) are returned as they are.
        if (!changed && !items[i].HasRefs()) continue;
        if (!changed) {
          out.reserve(items.size());
          out.assign(items.begin(), items.begin() + i);
          changed = true;
        }
        absl::StatusOr<Value> item = SubstituteRefs(items[i], lookup);
        if (!item.ok()) return item.status();
        out.push_back(*std::move(item));
      }
      return changed ? Value::List(std::move(out)) : v;
    }
    case Value::Kind::kMap: {
      if (!v.HasRefs()) return v;
      ValueMap out;
      for (const auto& [key, item] : v.as_map()) {
        absl::StatusOr<Value> resolved = SubstituteRefs(item, lookup);
        if (!resolved.ok()) return resolved.status();
        out.emplace_hint(out.end(), key, *std::move(resolved));
      }
      return Value::Map(std::move(out));
    }
    default:
      return v;
  }
}

absl::StatusOr<TaskArguments> ResolveArguments(const v1::TaskSpec& spec, DependencyLookup lookup) {
  TaskArguments out;
  out.args.reserve(spec.args_size());
  for (int i = 0; i < spec.args_size(); ++i) {
    absl::StatusOr<Value> v = ValueFromProto(spec.args(i));
    if (v.ok()) v = SubstituteRefs(*v, lookup);
    if (!v.ok()) {
      return absl::Status(v.status().code(),
                          absl::StrCat("argument ", i + 1, ": ", v.status().message()));
    }
    out.args.push_back(*std::move(v));
  }
  for (const auto& [name, p] : spec.kwargs()) {
    absl::StatusOr<Value> v = ValueFromProto(p);
    if (v.ok()) v = SubstituteRefs(*v, lookup);
    if (!v.ok()) {
      return absl::Status(v.status().code(),
                          absl::StrCat("keyword argument '", name, "': ", v.status().message()));
    }
    out.kwargs.emplace(name, *std::move(v));
  }
  return out;
}

}  // namespace taskgrid::worker
