#include "bench/cluster_probe.h"

#include <algorithm>
#include <fstream>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/grpc_util.h"

namespace taskgrid::bench {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(50);
// Every task the scheduler still tracks, whatever its state, counts: a
// forgotten task is not listed at all.
int64_t TrackedTasks(const v1::ClusterInfoResponse& info) {
  int64_t total = 0;
  for (const auto& [state, count] : info.tasks_by_state()) {
    if (state != "forgotten") total += count;
  }
  return total;
}

}  // namespace

ClusterProbe::ClusterProbe(const std::string& scheduler_address)
    : stub_(v1::Scheduler::NewStub(MakeChannel(scheduler_address))) {}

absl::StatusOr<v1::ClusterInfoResponse> ClusterProbe::Info() const {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::ClusterInfoResponse response;
  grpc::Status status = stub_->ClusterInfo(&ctx, v1::ClusterInfoRequest(), &response);
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("ClusterInfo: ", status.error_message()));
  }
  return response;
}

absl::StatusOr<std::vector<std::string>> ClusterProbe::WaitForWorkers(
    int n, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  absl::Status last = absl::DeadlineExceededError("no answer yet");
  while (std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<v1::ClusterInfoResponse> info = Info();
    if (info.ok() && info->workers_size() >= n) {
      std::vector<std::string> addresses;
      for (const v1::WorkerInfo& w : info->workers()) addresses.push_back(w.address());
      std::sort(addresses.begin(), addresses.end());
      return addresses;
    }
    last = info.ok() ? absl::DeadlineExceededError(absl::StrCat(
                           info->workers_size(), " of ", n, " workers registered"))
                     : info.status();
    std::this_thread::sleep_for(kPollInterval);
  }
  return last;
}

absl::StatusOr<int64_t> ClusterProbe::WaitUntilNoTasks(
    std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    absl::StatusOr<v1::ClusterInfoResponse> info = Info();
    if (!info.ok()) return info.status();
    int64_t tracked = TrackedTasks(*info);
    if (tracked == 0 || std::chrono::steady_clock::now() >= deadline) return tracked;
    std::this_thread::sleep_for(kPollInterval);
  }
}

absl::StatusOr<int64_t> ReadResidentBytes(int pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  if (!status) return absl::NotFoundError(absl::StrCat("no process ", pid));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "VmRSS:")) continue;
    // "VmRSS:     123456 kB"
    std::vector<absl::string_view> parts =
        absl::StrSplit(rest, ' ', absl::SkipWhitespace());
    int64_t kib = 0;
    if (parts.empty() || !absl::SimpleAtoi(parts[0], &kib)) break;
    return kib * 1024;
  }
  return absl::InternalError(absl::StrCat("no VmRSS in /proc/", pid, "/status"));
}

}  // namespace taskgrid::bench
