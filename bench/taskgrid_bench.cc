// taskgrid-bench: runs one benchmark workload against a running taskgrid
// cluster and prints one JSON line of results (bench/run_bench.py drives it;
// bench/README.md explains the workloads).
//
//   taskgrid-bench --scheduler 127.0.0.1:8786 --workload map --n 20000
//   taskgrid-bench --workload transfer --n 268435456 --reps 3
//   taskgrid-bench --workload memory --n 200000 --scheduler-pid PID
//   taskgrid-bench --workload wait-workers --n 2     # until 2 workers registered
//   taskgrid-bench --workload gateway-rest --n 1000 --gateway-http 127.0.0.1:8787
//   taskgrid-bench --workload gateway-grpc --n 1000 --gateway-grpc 127.0.0.1:8788
//
// Exit code 0 with the JSON line on success; 1 with the error on stderr.

#include <unistd.h>

#include <chrono>
#include <iostream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bench/bench_workloads.h"
#include "bench/cluster_probe.h"
#include "bench/gateway_workloads.h"
#include "clients/cpp/client.h"
#include "common/flags.h"

namespace taskgrid::bench {
namespace {

constexpr int kWarmUpTasks = 20;
constexpr auto kDrainTimeout = std::chrono::seconds(30);

int Fail(const absl::Status& status) {
  std::cerr << "taskgrid-bench: " << status << "\n";
  return 1;
}

// The first round trips open the connections to the workers; keep them out
// of every measurement, as the Dask driver does.
absl::Status WarmUp(Client& client) {
  for (int i = 0; i < kWarmUpTasks; ++i) {
    SubmitOptions opts;
    opts.pure = false;
    absl::StatusOr<Future> f = client.Submit("inc", {Value::Int(i)}, opts);
    if (!f.ok()) return f.status();
    if (absl::StatusOr<Value> v = f->Result(); !v.ok()) return v.status();
  }
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  absl::StatusOr<Flags> flags = Flags::Parse(
      argc, argv, {"scheduler", "workload", "n", "reps", "scheduler-pid", "consumer",
                   "gateway-http", "gateway-grpc"});
  if (!flags.ok()) return Fail(flags.status());
  const std::string address =
      ResolveSchedulerAddress(flags->GetString("scheduler", ""));
  const std::string workload = flags->GetString("workload", "");
  absl::StatusOr<int64_t> n = flags->GetInt("n", 0);
  absl::StatusOr<int64_t> reps = flags->GetInt("reps", 3);
  absl::StatusOr<int64_t> pid = flags->GetInt("scheduler-pid", 0);
  for (const absl::Status& s : {n.status(), reps.status(), pid.status()}) {
    if (!s.ok()) return Fail(s);
  }
  ClusterProbe probe(address);

  if (workload == "wait-workers") {
    absl::StatusOr<std::vector<std::string>> workers =
        probe.WaitForWorkers(static_cast<int>(*n), std::chrono::seconds(30));
    if (!workers.ok()) return Fail(workers.status());
    std::cout << nlohmann::json{{"workload", workload}, {"workers", *workers}}.dump()
              << std::endl;
    return 0;
  }
  if (workload.empty()) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--workload is one of wait-workers, gateway-rest, gateway-grpc, ",
                     absl::StrJoin(WorkloadNames(), ", "))));
  }
  WorkloadOptions options;
  options.n = *n;
  options.reps = static_cast<int>(*reps);
  options.scheduler_pid = static_cast<int>(*pid);
  options.consumer = flags->GetString("consumer", options.consumer);
  options.key_prefix = absl::StrCat(
      "bench-", getpid(), "-",
      std::chrono::system_clock::now().time_since_epoch().count());

  if (workload == "gateway-rest" || workload == "gateway-grpc") {
    const bool rest = workload == "gateway-rest";
    const std::string gateway = flags->GetString(rest ? "gateway-http" : "gateway-grpc", "");
    if (gateway.empty()) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          workload, " needs --", rest ? "gateway-http" : "gateway-grpc", " HOST:PORT")));
    }
    absl::StatusOr<int64_t> leftover = probe.WaitUntilNoTasks(kDrainTimeout);
    if (!leftover.ok()) return Fail(leftover.status());
    absl::StatusOr<nlohmann::json> result =
        rest ? RunGatewayRest(gateway, options) : RunGatewayGrpc(gateway, options);
    if (!result.ok()) return Fail(result.status());
    (*result)["workload"] = workload;
    (*result)["leftover_tasks"] = *leftover;
    std::cout << result->dump() << std::endl;
    return 0;
  }

  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(address);
  if (!client.ok()) return Fail(client.status());
  absl::StatusOr<int64_t> leftover = probe.WaitUntilNoTasks(kDrainTimeout);
  if (!leftover.ok()) return Fail(leftover.status());
  if (absl::Status s = WarmUp(**client); !s.ok()) return Fail(s);
  leftover = probe.WaitUntilNoTasks(kDrainTimeout);
  if (!leftover.ok()) return Fail(leftover.status());

  absl::StatusOr<nlohmann::json> result =
      RunWorkload(workload, **client, probe, options);
  if (!result.ok()) return Fail(result.status());
  (*result)["workload"] = workload;
  (*result)["leftover_tasks"] = *leftover;
  std::cout << result->dump() << std::endl;
  return 0;
}

}  // namespace
}  // namespace taskgrid::bench

int main(int argc, char** argv) { return taskgrid::bench::Main(argc, argv); }
