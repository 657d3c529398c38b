// taskgrid status: the scheduler's view of the cluster.

#include <iostream>

#include "cli/cluster_status.h"
#include "cli/commands.h"

namespace taskgrid::cli {

int RunStatus(int argc, char** argv) {
  constexpr char kUsage[] = "taskgrid status [--scheduler ADDR]";
  std::optional<Flags> flags = ParseCommandFlags("status", kUsage, argc, argv, {"scheduler"});
  if (!flags.has_value()) return 2;
  if (!flags->positional().empty()) {
    std::cerr << "usage: " << kUsage << "\n";
    return 2;
  }
  const std::string address = ResolveSchedulerAddress(flags->GetString("scheduler", ""));
  SchedulerInfoClient scheduler(address);
  absl::StatusOr<v1::ClusterInfoResponse> info = scheduler.ClusterInfo(absl::Seconds(10));
  if (!info.ok()) return Fail(info.status());
  std::cout << FormatClusterStatus(address, *info);
  return 0;
}

}  // namespace taskgrid::cli
