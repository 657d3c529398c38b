#include "common/graph_json.h"
#include "fuzz/fuzz_targets.h"

namespace taskgrid::fuzz::graph_json {

int FuzzOne(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<GraphRequest> graph = GraphFromJsonText(text);
  if (!graph.ok()) {
    FuzzCheck(!graph.status().message().empty(), "a rejected graph has no error message");
    return 0;
  }
  for (const v1::TaskSpec& task : graph->tasks) {
    FuzzCheck(!task.key().empty(), "an accepted task has an empty key");
  }
  return 0;
}

}  // namespace taskgrid::fuzz::graph_json
