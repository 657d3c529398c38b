#include "bench/bench_graphs.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace taskgrid::bench {
namespace {

v1::TaskSpec MakeTask(std::string key, const char* function) {
  v1::TaskSpec spec;
  spec.set_key(std::move(key));
  spec.set_function(function);
  spec.set_runtime("builtin");
  return spec;
}

std::string TreeKey(const std::string& prefix, int level, int64_t index) {
  return absl::StrCat(prefix, "-", level, "-", index);
}

}  // namespace

BenchGraph ChainGraph(const std::string& prefix, int64_t n) {
  BenchGraph graph;
  graph.tasks.reserve(n);
  std::string previous;
  for (int64_t i = 0; i < n; ++i) {
    v1::TaskSpec spec = MakeTask(absl::StrCat(prefix, "-", i), "inc");
    if (i == 0) {
      spec.add_args()->set_int_value(0);
    } else {
      spec.add_args()->set_ref(previous);
    }
    previous = spec.key();
    graph.tasks.push_back(std::move(spec));
  }
  graph.root = previous;
  graph.expected_result = n;
  return graph;
}

absl::StatusOr<BenchGraph> TreeGraph(const std::string& prefix, int64_t leaves) {
  if (leaves < 1 || (leaves & (leaves - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tree leaves must be a positive power of two, got ", leaves));
  }
  BenchGraph graph;
  graph.tasks.reserve(2 * leaves - 1);
  for (int64_t j = 0; j < leaves; ++j) {
    v1::TaskSpec spec = MakeTask(TreeKey(prefix, 0, j), "inc");
    spec.add_args()->set_int_value(j);
    graph.tasks.push_back(std::move(spec));
  }
  int level = 0;
  for (int64_t width = leaves; width > 1; width /= 2, ++level) {
    for (int64_t j = 0; j < width / 2; ++j) {
      v1::TaskSpec spec = MakeTask(TreeKey(prefix, level + 1, j), "add");
      spec.add_args()->set_ref(TreeKey(prefix, level, 2 * j));
      spec.add_args()->set_ref(TreeKey(prefix, level, 2 * j + 1));
      graph.tasks.push_back(std::move(spec));
    }
  }
  graph.root = TreeKey(prefix, level, 0);
  graph.expected_result = leaves * (leaves + 1) / 2;
  return graph;
}

}  // namespace taskgrid::bench
