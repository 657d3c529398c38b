// taskgrid submit GRAPH.json: run a JSON task graph, showing progress, and
// print the wanted keys' values.

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/cluster_status.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "clients/cpp/client.h"
#include "common/graph_json.h"
#include "common/value_json.h"

namespace taskgrid::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
constexpr double kClusterPollSeconds = 0.2;
constexpr int kMaxErrorsShown = 10;

absl::StatusOr<std::string> ReadGraphFile(const std::string& path) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  text << in.rdbuf();
  return text.str();
}

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// Waits for every future while drawing progress; returns how many erred.
int64_t FollowProgress(Client& client, const std::vector<Future>& futures, int64_t total_tasks,
                       SteadyClock::time_point start) {
  const bool terminal = isatty(STDOUT_FILENO) == 1;
  ProgressPrinter printer(terminal ? stdout : stderr, terminal);
  SchedulerInfoClient scheduler(client.scheduler_address());
  std::map<std::string, int64_t> counts;
  double last_poll = -kClusterPollSeconds;
  int64_t wanted_done = 0;
  int64_t erred = 0;
  auto snapshot = [&] {
    ProgressSnapshot p;
    p.total = total_tasks;
    p.done = EstimateDone(total_tasks, wanted_done, static_cast<int64_t>(futures.size()), counts);
    p.erred = erred;
    p.elapsed_seconds = SecondsSince(start);
    return p;
  };
  Client::AsCompleted pending = client.AsCompletedIter(futures);
  auto next_draw = SteadyClock::now();
  while (pending.remaining() > 0) {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_draw - SteadyClock::now());
    Future f = pending.Next(std::max(wait, std::chrono::milliseconds(0)));
    if (f.valid()) {
      ++wanted_done;
      if (!f.Exception().ok()) ++erred;
    }
    if (SteadyClock::now() < next_draw) continue;
    if (pending.remaining() > 0 && SecondsSince(start) - last_poll >= kClusterPollSeconds) {
      last_poll = SecondsSince(start);
      absl::StatusOr<v1::ClusterInfoResponse> info = scheduler.ClusterInfo(absl::Seconds(1));
      if (info.ok()) counts = {info->tasks_by_state().begin(), info->tasks_by_state().end()};
    }
    printer.Update(snapshot());
    next_draw = SteadyClock::now() + kRedrawInterval;
  }
  printer.Finish(snapshot());
  return erred;
}

}  // namespace

int RunSubmit(int argc, char** argv) {
  constexpr char kUsage[] = "taskgrid submit GRAPH.json [--scheduler ADDR] [--json]";
  std::optional<Flags> flags =
      ParseCommandFlags("submit", kUsage, argc, argv, {"scheduler"}, {"json"});
  if (!flags.has_value()) return 2;
  if (flags->positional().size() != 1) {
    std::cerr << "usage: " << kUsage << "\n";
    return 2;
  }
  const std::string& path = flags->positional()[0];
  absl::StatusOr<std::string> text = ReadGraphFile(path);
  if (!text.ok()) return Fail(text.status());
  absl::StatusOr<GraphRequest> graph = GraphFromJsonText(*text);
  if (!graph.ok()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(path, ": ", graph.status().message())));
  }
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Connect(ResolveSchedulerAddress(flags->GetString("scheduler", "")));
  if (!client.ok()) return Fail(client.status());

  const auto start = SteadyClock::now();
  const int64_t total_tasks = static_cast<int64_t>(graph->tasks.size());
  absl::StatusOr<std::vector<Future>> futures =
      (*client)->SubmitGraph(std::move(graph->tasks), graph->keys, graph->priority);
  if (!futures.ok()) {
    return Fail(absl::Status(futures.status().code(),
                             absl::StrCat("graph rejected: ", futures.status().message())));
  }
  const int64_t erred = FollowProgress(**client, *futures, total_tasks, start);

  // Values: in bulk when nothing failed, else key by key to report each.
  std::vector<absl::StatusOr<Value>> results;
  if (erred == 0) {
    absl::StatusOr<std::vector<Value>> all = (*client)->Gather(*futures);
    if (all.ok()) results.assign(all->begin(), all->end());
  }
  if (results.empty()) {
    for (const Future& f : *futures) results.push_back(f.Result());
  }
  std::string json = "{";
  int failures = 0;
  for (size_t i = 0; i < futures->size(); ++i) {
    const std::string& key = graph->keys[i];
    if (!results[i].ok()) {
      if (++failures <= kMaxErrorsShown) {
        const absl::string_view message = results[i].status().message();
        std::cerr << "error: " << (absl::StrContains(message, key) ? "" : key + ": ") << message
                  << "\n";
      }
      continue;
    }
    if (flags->GetBool("json")) {
      absl::StrAppend(&json, json.size() > 1 ? "," : "", nlohmann::json(key).dump(), ":",
                      ValueToJson(*results[i]).dump());
    } else {
      std::cout << key << " " << results[i]->DebugString() << "\n";
    }
  }
  if (flags->GetBool("json")) std::cout << json << "}\n";
  if (failures > kMaxErrorsShown) {
    std::cerr << "... and " << failures - kMaxErrorsShown << " more errors\n";
  }
  std::cout.flush();
  return failures > 0 ? 1 : 0;
}

}  // namespace taskgrid::cli
