#include "clients/cpp/graph_split.h"

#include <deque>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_util.h"
#include "common/string_view_hash.h"

namespace taskgrid::client {
namespace {

void CollectRefs(const v1::Value& v, std::vector<std::string>* out) {
  switch (v.kind_case()) {
    case v1::Value::kRef:
      out->push_back(v.ref());
      break;
    case v1::Value::kListValue:
      for (const v1::Value& item : v.list_value().items()) CollectRefs(item, out);
      break;
    case v1::Value::kMapValue:
      for (const auto& [name, item] : v.map_value().entries()) CollectRefs(item, out);
      break;
    default:
      break;
  }
}

// Kahn's algorithm, taking ready tasks in list order so that a list already
// in dependency order keeps its order.
absl::StatusOr<std::vector<size_t>> DependencyOrder(
    const std::vector<v1::TaskSpec*>& tasks,
    std::vector<std::vector<size_t>>* deps_out) {
  const size_t n = tasks.size();
  StringViewMap<size_t> index;
  index.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (!index.emplace(tasks[i]->key(), i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("task \"", tasks[i]->key(), "\" appears twice in the graph"));
    }
  }
  std::vector<std::vector<size_t>>& deps = *deps_out;
  deps.assign(n, {});
  std::vector<std::vector<size_t>> dependents(n);
  std::vector<size_t> missing(n, 0);
  for (size_t i = 0; i < n; ++i) {
    for (const std::string& key : TaskDependencies(*tasks[i])) {
      auto it = index.find(key);
      if (it == index.end()) continue;  // a key the scheduler already has
      deps[i].push_back(it->second);
      dependents[it->second].push_back(i);
      ++missing[i];
    }
  }
  std::vector<size_t> order;
  order.reserve(n);
  std::deque<size_t> ready;
  for (size_t i = 0; i < n; ++i) {
    if (missing[i] == 0) ready.push_back(i);
  }
  while (!ready.empty()) {
    size_t t = ready.front();
    ready.pop_front();
    order.push_back(t);
    for (size_t d : dependents[t]) {
      if (--missing[d] == 0) ready.push_back(d);
    }
  }
  if (order.size() != n) {
    for (size_t i = 0; i < n; ++i) {
      if (missing[i] > 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("the graph has a cycle through task \"", tasks[i]->key(), "\""));
      }
    }
  }
  return order;
}

}  // namespace

std::vector<std::string> TaskDependencies(const v1::TaskSpec& spec) {
  std::vector<std::string> out;
  for (const v1::Value& a : spec.args()) CollectRefs(a, &out);
  for (const auto& [name, v] : spec.kwargs()) CollectRefs(v, &out);
  for (const std::string& k : spec.extra_dependencies()) out.push_back(k);
  return out;
}

absl::StatusOr<std::vector<UpdatePart>> SplitUpdate(const std::vector<v1::TaskSpec*>& tasks,
                                                   bool independent, size_t max_bytes) {
  // Leave room for the UpdateGraph and batch framing around a task.
  constexpr size_t kFramingBytes = 64 << 10;
  std::vector<size_t> sizes(tasks.size());
  size_t total = 0;
  for (size_t i = 0; i < tasks.size(); ++i) {
    sizes[i] = tasks[i]->ByteSizeLong() + 8;
    if (sizes[i] + kFramingBytes > static_cast<size_t>(kMaxGrpcMessageBytes)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "task \"", tasks[i]->key(), "\" is ", sizes[i],
          " bytes, more than fits in one message (", kMaxGrpcMessageBytes,
          "); scatter large arguments to the workers instead"));
    }
    total += sizes[i];
  }
  std::vector<UpdatePart> parts(1);
  if (total <= max_bytes) {
    parts[0].tasks.resize(tasks.size());
    for (size_t i = 0; i < tasks.size(); ++i) parts[0].tasks[i] = i;
    return parts;
  }

  std::vector<std::vector<size_t>> deps;
  std::vector<size_t> order;
  if (independent) {
    order.resize(tasks.size());
    for (size_t i = 0; i < tasks.size(); ++i) order[i] = i;
  } else {
    absl::StatusOr<std::vector<size_t>> sorted = DependencyOrder(tasks, &deps);
    if (!sorted.ok()) return sorted.status();
    order = *std::move(sorted);
  }
  std::vector<size_t> part_of(tasks.size());
  size_t part_bytes = 0;
  for (size_t t : order) {
    if (part_bytes > 0 && part_bytes + sizes[t] > max_bytes) {
      parts.emplace_back();
      part_bytes = 0;
    }
    parts.back().tasks.push_back(t);
    part_of[t] = parts.size() - 1;
    part_bytes += sizes[t];
  }
  if (!independent) {
    std::vector<bool> carried(tasks.size(), false);
    for (size_t t = 0; t < tasks.size(); ++t) {
      for (size_t d : deps[t]) {
        if (part_of[d] < part_of[t] && !carried[d]) {
          carried[d] = true;
          parts[part_of[d]].carried.push_back(tasks[d]->key());
        }
      }
    }
  }
  return parts;
}

}  // namespace taskgrid::client
