#include "tests/local_cluster.h"

#include <signal.h>

#include <cstdlib>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/grpc_util.h"

#ifndef TASKGRID_SCHEDULER_BIN
#define TASKGRID_SCHEDULER_BIN "taskgrid-scheduler"
#endif
#ifndef TASKGRID_WORKER_BIN
#define TASKGRID_WORKER_BIN "taskgrid-worker"
#endif
#ifndef TASKGRID_CLI_BIN
#define TASKGRID_CLI_BIN "taskgrid"
#endif
#ifndef TASKGRID_GATEWAY_BIN
#define TASKGRID_GATEWAY_BIN "taskgrid-gateway"
#endif

namespace taskgrid::testing {

std::string BinaryPath(const std::string& name) {
  if (const char* dir = std::getenv("TASKGRID_BIN_DIR")) return absl::StrCat(dir, "/", name);
  if (name == "taskgrid-scheduler") return TASKGRID_SCHEDULER_BIN;
  if (name == "taskgrid-worker") return TASKGRID_WORKER_BIN;
  if (name == "taskgrid") return TASKGRID_CLI_BIN;
  if (name == "taskgrid-gateway") return TASKGRID_GATEWAY_BIN;
  return name;
}

LocalCluster::LocalCluster(Options options)
    : options_(std::move(options)), dir_(MakeTempDir("taskgrid-e2e")) {}

LocalCluster::~LocalCluster() {
  for (auto& w : workers_) w.process->Signal(SIGTERM);
  for (auto& w : workers_) w.process->Wait(std::chrono::seconds(5));
  if (scheduler_) {
    scheduler_->Signal(SIGTERM);
    scheduler_->Wait(std::chrono::seconds(5));
  }
}

absl::Status LocalCluster::RestartScheduler(const std::vector<std::string>& extra_args) {
  scheduler_->Signal(SIGKILL);
  scheduler_->Wait(std::chrono::seconds(5));
  const std::string port = scheduler_address_.substr(scheduler_address_.rfind(':') + 1);
  std::vector<std::string> args = {BinaryPath("taskgrid-scheduler"), "--host", "127.0.0.1",
                                   "--port", port, "--metrics-port", "0"};
  args.insert(args.end(), options_.scheduler_args.begin(), options_.scheduler_args.end());
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  // The old one's log stays for failure messages.
  scheduler_ = std::make_unique<Subprocess>(
      args, absl::StrCat(dir_, "/scheduler-", ++scheduler_restarts_));
  if (!scheduler_->WaitForOutput("listening on", std::chrono::seconds(20))) {
    return absl::UnavailableError("scheduler did not restart: " + scheduler_->Stderr());
  }
  stub_ = v1::Scheduler::NewStub(MakeChannel(scheduler_address_));
  return absl::OkStatus();
}

absl::Status LocalCluster::Start() {
  std::vector<std::string> args = {BinaryPath("taskgrid-scheduler"), "--host", "127.0.0.1",
                                   "--port", "0", "--metrics-port", "0"};
  args.insert(args.end(), options_.scheduler_args.begin(), options_.scheduler_args.end());
  scheduler_ = std::make_unique<Subprocess>(args, dir_ + "/scheduler");
  auto line = scheduler_->WaitForOutput("listening on", std::chrono::seconds(20));
  if (!line) {
    return absl::UnavailableError("scheduler did not start: " + scheduler_->Stderr());
  }
  // "taskgrid-scheduler listening on 127.0.0.1:PORT metrics MPORT"
  std::istringstream words(*line);
  std::string w, address;
  while (words >> w) {
    if (w == "on") words >> scheduler_address_;
    if (w == "metrics") words >> scheduler_metrics_port_;
  }
  stub_ = v1::Scheduler::NewStub(MakeChannel(scheduler_address_));
  for (int i = 0; i < options_.workers; ++i) {
    auto added = AddWorker();
    if (!added.ok()) return added.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> LocalCluster::AddWorker(const std::vector<std::string>& extra_args) {
  std::set<std::string> known;
  auto before = ClusterInfo();
  if (!before.ok()) return before.status();
  for (const auto& w : before->workers()) known.insert(w.address());
  const size_t index = workers_.size();
  std::vector<std::string> args = {BinaryPath("taskgrid-worker"), scheduler_address_,
                                   "--nthreads", std::to_string(options_.nthreads),
                                   "--host", "127.0.0.1", "--port", "0",
                                   "--metrics-port", "0", "--name",
                                   absl::StrCat("worker-", index)};
  args.insert(args.end(), options_.worker_args.begin(), options_.worker_args.end());
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  args.insert(args.begin(), options_.worker_wrapper.begin(), options_.worker_wrapper.end());
  WorkerProc proc;
  proc.process = std::make_unique<Subprocess>(args, absl::StrCat(dir_, "/worker-", index));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto info = ClusterInfo();
    if (info.ok()) {
      for (const auto& w : info->workers()) {
        if (!known.count(w.address()) && w.name() == absl::StrCat("worker-", index)) {
          proc.address = w.address();
        }
      }
    }
    if (!proc.address.empty()) break;
    if (!proc.process->running()) {
      return absl::UnavailableError("worker exited at start: " + proc.process->Stderr());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (proc.address.empty()) {
    return absl::DeadlineExceededError("worker did not register: " + proc.process->Stderr());
  }
  workers_.push_back(std::move(proc));
  return index;
}

absl::Status LocalCluster::WaitForWorkers(size_t n, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int last = -1;
  while (std::chrono::steady_clock::now() < deadline) {
    auto info = ClusterInfo();
    if (info.ok()) {
      last = info->workers_size();
      if (static_cast<size_t>(last) == n) return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat("expected ", n, " workers, have ", last));
}

absl::StatusOr<v1::ClusterInfoResponse> LocalCluster::ClusterInfo() {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::ClusterInfoResponse resp;
  grpc::Status s = stub_->ClusterInfo(&ctx, v1::ClusterInfoRequest(), &resp);
  if (!s.ok()) return absl::UnavailableError(s.error_message());
  return resp;
}

absl::StatusOr<v1::WorkerStatus> LocalCluster::WorkerStatus(size_t i) {
  auto stub = v1::Worker::NewStub(MakeChannel(workers_[i].address));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::WorkerStatus resp;
  grpc::Status s = stub->Status(&ctx, v1::WorkerStatusRequest(), &resp);
  if (!s.ok()) return absl::UnavailableError(s.error_message());
  return resp;
}

std::string LocalCluster::Logs() {
  std::string out = "--- scheduler\n" + (scheduler_ ? scheduler_->Stderr() : "");
  for (size_t i = 0; i < workers_.size(); ++i) {
    out += absl::StrCat("--- worker ", i, " (", workers_[i].address, ")\n",
                        workers_[i].process->Stderr());
  }
  return out;
}

}  // namespace taskgrid::testing
