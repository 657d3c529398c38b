#include "cli/cluster_status.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/progress.h"
#include "common/grpc_util.h"

namespace taskgrid::cli {

SchedulerInfoClient::SchedulerInfoClient(const std::string& address)
    : address_(address), stub_(v1::Scheduler::NewStub(MakeChannel(address))) {}

absl::StatusOr<v1::ClusterInfoResponse> SchedulerInfoClient::ClusterInfo(
    absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::ClusterInfoResponse info;
  grpc::Status s = stub_->ClusterInfo(&context, v1::ClusterInfoRequest(), &info);
  if (!s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach scheduler at ", address_, ": ", s.error_message()));
  }
  return info;
}

std::string FormatBytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  double v = static_cast<double>(bytes);
  int unit = -1;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", v, kUnits[unit]);
}

namespace {

// Columns padded to their widest cell, two spaces apart.
std::string RenderTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      absl::StrAppend(&line, row[c]);
      if (c + 1 < row.size()) line.append(width[c] - row[c].size() + 2, ' ');
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

}  // namespace

std::string FormatClusterStatus(const std::string& scheduler_address,
                                const v1::ClusterInfoResponse& info) {
  std::string out = absl::StrCat(
      "scheduler ", scheduler_address, "  (id ", info.scheduler_id(), ", up ",
      FormatElapsed(info.uptime_seconds()), ", ", info.clients(),
      info.clients() == 1 ? " client" : " clients", ")\n");
  if (info.workers_size() == 0) {
    absl::StrAppend(&out, "no workers connected\n");
  } else {
    std::vector<const v1::WorkerInfo*> workers;
    for (const v1::WorkerInfo& w : info.workers()) workers.push_back(&w);
    std::sort(workers.begin(), workers.end(),
              [](const v1::WorkerInfo* a, const v1::WorkerInfo* b) {
                return a->address() < b->address();
              });
    std::vector<std::vector<std::string>> rows = {
        {"WORKER", "NAME", "THREADS", "MEMORY", "PROCESSING", "KEYS"}};
    int64_t threads = 0;
    for (const v1::WorkerInfo* w : workers) {
      std::string memory = FormatBytes(w->memory_bytes());
      if (w->memory_limit() > 0) absl::StrAppend(&memory, " / ", FormatBytes(w->memory_limit()));
      rows.push_back({w->address(), w->name().empty() ? "-" : w->name(),
                      absl::StrCat(w->nthreads()), memory, absl::StrCat(w->processing()),
                      absl::StrCat(w->keys_held())});
      threads += w->nthreads();
    }
    absl::StrAppend(&out, RenderTable(rows), info.workers_size(),
                    info.workers_size() == 1 ? " worker, " : " workers, ", threads,
                    threads == 1 ? " thread\n" : " threads\n");
  }
  std::vector<std::string> counts;
  int64_t total = 0;
  for (const auto& [state, n] : std::map<std::string, int64_t>(
           info.tasks_by_state().begin(), info.tasks_by_state().end())) {
    if (n == 0) continue;
    counts.push_back(absl::StrCat(state, " ", n));
    total += n;
  }
  absl::StrAppend(&out, "tasks: ", total,
                  counts.empty() ? "" : absl::StrCat(" (", absl::StrJoin(counts, ", "), ")"),
                  "\n");
  return out;
}

}  // namespace taskgrid::cli
