#pragma once
// LocalCluster: a real taskgrid cluster for end-to-end tests — the
// taskgrid-scheduler binary and N taskgrid-worker processes on 127.0.0.1
// with ephemeral ports. Binaries are found in TASKGRID_BIN_DIR when set,
// else at the paths the build compiled in.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"
#include "taskgrid/v1/worker.grpc.pb.h"
#include "tests/subprocess.h"

namespace taskgrid::testing {

// Path of a taskgrid binary ("taskgrid-scheduler", "taskgrid-worker",
// "taskgrid", "taskgrid-gateway").
std::string BinaryPath(const std::string& name);

class LocalCluster {
 public:
  struct Options {
    int workers = 2;
    int nthreads = 1;
    std::vector<std::string> scheduler_args;
    std::vector<std::string> worker_args;
    // A command each worker runs under: the worker's argv is appended to
    // it (e.g. {"/usr/bin/unshare", "-m", ...} to give the worker a
    // private mount namespace). The wrapper must exec the worker, so the
    // process LocalCluster holds is the worker itself.
    std::vector<std::string> worker_wrapper;
  };
  explicit LocalCluster(Options options);
  LocalCluster() : LocalCluster(Options()) {}
  ~LocalCluster();

  // Starts the scheduler and the workers; waits until all registered.
  absl::Status Start();
  // SIGKILLs the scheduler and starts a new one on the same port (its
  // Options args plus `extra_args`); workers and clients reconnect.
  absl::Status RestartScheduler(const std::vector<std::string>& extra_args = {});
  const std::string& scheduler_address() const { return scheduler_address_; }
  int scheduler_metrics_port() const { return scheduler_metrics_port_; }
  // Starts one more worker and returns its index.
  absl::StatusOr<size_t> AddWorker(const std::vector<std::string>& extra_args = {});
  size_t num_workers() const { return workers_.size(); }
  const std::string& worker_address(size_t i) const { return workers_[i].address; }
  Subprocess& worker_process(size_t i) { return *workers_[i].process; }
  Subprocess& scheduler_process() { return *scheduler_; }
  // Waits until the scheduler reports exactly `n` workers.
  absl::Status WaitForWorkers(size_t n, std::chrono::milliseconds timeout);

  absl::StatusOr<v1::ClusterInfoResponse> ClusterInfo();
  absl::StatusOr<v1::WorkerStatus> WorkerStatus(size_t i);
  // Every process's stderr, for failure messages.
  std::string Logs();
  const std::string& dir() const { return dir_; }

 private:
  struct WorkerProc {
    std::unique_ptr<Subprocess> process;
    std::string address;
  };
  Options options_;
  std::string dir_;
  std::unique_ptr<Subprocess> scheduler_;
  std::string scheduler_address_;
  int scheduler_metrics_port_ = 0;
  int scheduler_restarts_ = 0;
  std::vector<WorkerProc> workers_;
  std::unique_ptr<v1::Scheduler::Stub> stub_;
};

}  // namespace taskgrid::testing
