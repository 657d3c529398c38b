// taskgrid up: a local cluster in one command. Starts taskgrid-scheduler,
// N taskgrid-worker processes (and optionally taskgrid-gateway) as child
// processes with their logs in a directory, waits until every worker has
// registered, prints the addresses, and on SIGINT/SIGTERM stops them all.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli/child_process.h"
#include "cli/cluster_status.h"
#include "cli/commands.h"

namespace taskgrid::cli {
namespace {

constexpr char kUsage[] =
    "taskgrid up [--workers 2] [--nthreads 1] [--port 8786] [--metrics-port 9786] [--gateway]";
constexpr int kDefaultMetricsPort = 9786;
constexpr int kGatewayHttpPort = 8787;
constexpr int kGatewayGrpcPort = 8788;
constexpr absl::Duration kStartupTimeout = absl::Seconds(30);

struct UpOptions {
  int workers = 2;
  int nthreads = 1;
  int port = 8786;
  int metrics_port = kDefaultMetricsPort;
  bool gateway = false;
};

absl::StatusOr<UpOptions> ParseUpOptions(const Flags& flags) {
  UpOptions o;
  absl::StatusOr<int64_t> workers = flags.GetInt("workers", o.workers);
  absl::StatusOr<int64_t> nthreads = flags.GetInt("nthreads", o.nthreads);
  absl::StatusOr<int64_t> port = flags.GetInt("port", o.port);
  // Unset: the default when it is free, else any free port, so a second
  // local cluster doesn't fail on its metrics port.
  absl::StatusOr<int64_t> metrics = flags.GetInt("metrics-port", -1);
  for (const auto* v : {&workers, &nthreads, &port, &metrics}) {
    if (!v->ok()) return v->status();
  }
  if (*workers < 0 || *workers > 512) return absl::InvalidArgumentError("--workers must be 0..512");
  if (*nthreads < 1 || *nthreads > 1024) return absl::InvalidArgumentError("--nthreads must be 1..1024");
  if (*port < 0 || *port > 65535) return absl::InvalidArgumentError("--port must be 0..65535");
  if (*metrics < -1 || *metrics > 65535) {
    return absl::InvalidArgumentError("--metrics-port must be 0..65535");
  }
  o.workers = static_cast<int>(*workers);
  o.nthreads = static_cast<int>(*nthreads);
  o.port = static_cast<int>(*port);
  o.metrics_port = static_cast<int>(*metrics);
  o.gateway = flags.GetBool("gateway");
  if (o.port == 0) {
    absl::StatusOr<int> p = PickFreePort();
    if (!p.ok()) return p.status();
    o.port = *p;
  }
  if (o.metrics_port == 0 || (o.metrics_port == -1 && !PortIsFree(kDefaultMetricsPort))) {
    absl::StatusOr<int> p = PickFreePort();
    if (!p.ok()) return p.status();
    o.metrics_port = *p;
  } else if (o.metrics_port == -1) {
    o.metrics_port = kDefaultMetricsPort;
  }
  return o;
}

// The cluster's child processes, stopped in reverse start order.
class LocalCluster {
 public:
  explicit LocalCluster(std::string log_dir) : log_dir_(std::move(log_dir)) {}
  ~LocalCluster() { Stop(); }

  absl::Status Start(const std::string& name, std::vector<std::string> argv) {
    absl::StatusOr<ChildProcess> child =
        ChildProcess::Start(name, std::move(argv), absl::StrCat(log_dir_, "/", name, ".log"));
    if (!child.ok()) return child.status();
    children_.push_back(*std::move(child));
    return absl::OkStatus();
  }

  // The first child that exited, described with the end of its log.
  std::optional<std::string> FirstExited(bool only_new) {
    for (ChildProcess& c : children_) {
      const bool was_running = c.running();
      if (!c.Poll() || (only_new && !was_running)) continue;
      return absl::StrCat(c.name(), " ", c.ExitDescription(), "; its log (", c.log_path(),
                          ") ends with:\n", TailOfFile(c.log_path()));
    }
    return std::nullopt;
  }

  bool SchedulerRunning() { return !children_.empty() && !children_[0].Poll(); }

  // Workers and gateway first (they may hand data over while the scheduler
  // still runs), then the scheduler; SIGKILL for whatever outstays.
  void Stop() {
    for (size_t i = children_.size(); i-- > 1;) children_[i].Signal(SIGTERM);
    for (size_t i = children_.size(); i-- > 1;) {
      if (!children_[i].WaitFor(10)) children_[i].Signal(SIGKILL);
    }
    if (!children_.empty()) {
      children_[0].Signal(SIGTERM);
      if (!children_[0].WaitFor(10)) children_[0].Signal(SIGKILL);
    }
    for (ChildProcess& c : children_) c.WaitFor(5);
    children_.clear();
  }

 private:
  std::string log_dir_;
  std::vector<ChildProcess> children_;
};

// Signals that end `up`, blocked in every thread (gRPC's too, which inherit
// the mask) and taken synchronously with sigtimedwait.
sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

// True when a stop signal arrived within `timeout`.
bool StopRequested(const sigset_t& signals, absl::Duration timeout) {
  timespec ts = absl::ToTimespec(timeout);
  return sigtimedwait(&signals, nullptr, &ts) > 0;
}

absl::StatusOr<std::string> MakeLogDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                 "/taskgrid-up-", getpid());
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", std::strerror(errno)));
  }
  return dir;
}

// Waits until the scheduler answers with at least `workers` workers;
// fails early when a child exits or a stop signal arrives.
absl::StatusOr<v1::ClusterInfoResponse> AwaitWorkers(SchedulerInfoClient& scheduler,
                                                      LocalCluster& cluster, int workers,
                                                      const sigset_t& signals) {
  const absl::Time deadline = absl::Now() + kStartupTimeout;
  absl::Status last = absl::UnavailableError("no answer yet");
  while (absl::Now() < deadline) {
    if (std::optional<std::string> exited = cluster.FirstExited(false)) {
      return absl::UnavailableError(*exited);
    }
    absl::StatusOr<v1::ClusterInfoResponse> info = scheduler.ClusterInfo(absl::Seconds(1));
    if (info.ok() && info->workers_size() >= workers) return info;
    last = info.ok() ? absl::UnavailableError(absl::StrCat(info->workers_size(), " of ", workers,
                                                           " workers registered"))
                     : info.status();
    if (StopRequested(signals, absl::Milliseconds(50))) return absl::CancelledError("interrupted");
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "the cluster did not come up within ", absl::FormatDuration(kStartupTimeout), ": ",
      last.message()));
}

absl::Status AwaitGateway(LocalCluster& cluster, const sigset_t& signals) {
  const absl::Time deadline = absl::Now() + kStartupTimeout;
  while (!PortAcceptsConnections(kGatewayHttpPort)) {
    if (std::optional<std::string> exited = cluster.FirstExited(false)) {
      return absl::UnavailableError(*exited);
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("the gateway did not listen on port ", kGatewayHttpPort));
    }
    if (StopRequested(signals, absl::Milliseconds(50))) return absl::CancelledError("interrupted");
  }
  return absl::OkStatus();
}

std::string MetricsUrl(const std::string& host_port) {
  return host_port.empty() ? "-" : absl::StrCat("http://", host_port, "/metrics");
}

void PrintCluster(const UpOptions& o, const std::string& address,
                  const v1::ClusterInfoResponse& info, const std::string& log_dir) {
  std::vector<const v1::WorkerInfo*> workers;
  for (const v1::WorkerInfo& w : info.workers()) workers.push_back(&w);
  std::sort(workers.begin(), workers.end(), [](const auto* a, const auto* b) {
    return a->name() != b->name() ? a->name() < b->name() : a->address() < b->address();
  });
  std::string out = "taskgrid local cluster is up\n";
  absl::StrAppendFormat(&out, "  %-10s %-22s metrics %s\n", "scheduler", address,
                        MetricsUrl(absl::StrCat("127.0.0.1:", o.metrics_port)));
  for (const v1::WorkerInfo* w : workers) {
    absl::StrAppendFormat(&out, "  %-10s %-22s metrics %s  nthreads %d\n",
                          w->name().empty() ? "worker" : w->name(), w->address(),
                          MetricsUrl(w->metrics_address()), w->nthreads());
  }
  if (o.gateway) {
    absl::StrAppendFormat(&out, "  %-10s http://127.0.0.1:%d  grpc 127.0.0.1:%d\n", "gateway",
                          kGatewayHttpPort, kGatewayGrpcPort);
  }
  absl::StrAppendFormat(&out, "  %-10s %s\n", "logs", log_dir);
  absl::StrAppend(&out, "export TASKGRID_SCHEDULER_ADDRESS=", address, "\n",
                  "Press Ctrl-C to stop.\n");
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace

int RunUp(int argc, char** argv) {
  // Blocked before any thread exists, so no thread takes these signals
  // asynchronously; children unblock them before exec.
  const sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::optional<Flags> flags = ParseCommandFlags(
      "up", kUsage, argc, argv, {"workers", "nthreads", "port", "metrics-port"}, {"gateway"});
  if (!flags.has_value()) return 2;
  if (!flags->positional().empty()) {
    std::cerr << "usage: " << kUsage << "\n";
    return 2;
  }
  absl::StatusOr<UpOptions> o = ParseUpOptions(*flags);
  if (!o.ok()) {
    std::cerr << "taskgrid up: " << o.status().message() << "\nusage: " << kUsage << "\n";
    return 2;
  }
  absl::StatusOr<std::string> scheduler_bin = FindServiceBinary("taskgrid-scheduler", "scheduler");
  absl::StatusOr<std::string> worker_bin = FindServiceBinary("taskgrid-worker", "worker");
  if (!scheduler_bin.ok()) return Fail(scheduler_bin.status());
  if (!worker_bin.ok()) return Fail(worker_bin.status());
  absl::StatusOr<std::string> gateway_bin = std::string();
  if (o->gateway) {
    gateway_bin = FindServiceBinary("taskgrid-gateway", "gateway");
    if (!gateway_bin.ok()) return Fail(gateway_bin.status());
  }
  absl::StatusOr<std::string> log_dir = MakeLogDir();
  if (!log_dir.ok()) return Fail(log_dir.status());

  const std::string address = absl::StrCat("127.0.0.1:", o->port);
  LocalCluster cluster(*log_dir);
  absl::Status started = cluster.Start(
      "scheduler", {*scheduler_bin, "--host", "127.0.0.1", "--port", absl::StrCat(o->port),
                    "--metrics-port", absl::StrCat(o->metrics_port)});
  if (!started.ok()) return Fail(started);
  SchedulerInfoClient scheduler(address);
  absl::StatusOr<v1::ClusterInfoResponse> info = AwaitWorkers(scheduler, cluster, 0, signals);
  for (int i = 0; info.ok() && i < o->workers; ++i) {
    started = cluster.Start(
        absl::StrCat("worker-", i),
        {*worker_bin, address, "--nthreads", absl::StrCat(o->nthreads), "--name",
         absl::StrCat("worker-", i), "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0"});
    if (!started.ok()) return Fail(started);
  }
  if (info.ok() && o->gateway) {
    started = cluster.Start("gateway", {*gateway_bin, address, "--host", "127.0.0.1",
                                        "--http-port", absl::StrCat(kGatewayHttpPort),
                                        "--grpc-port", absl::StrCat(kGatewayGrpcPort)});
    if (!started.ok()) return Fail(started);
  }
  if (info.ok()) info = AwaitWorkers(scheduler, cluster, o->workers, signals);
  if (info.ok() && o->gateway) {
    if (absl::Status s = AwaitGateway(cluster, signals); !s.ok()) info = s;
  }
  if (!info.ok()) {
    cluster.Stop();
    if (absl::IsCancelled(info.status())) return 0;
    return Fail(info.status());
  }
  PrintCluster(*o, address, *info, *log_dir);

  int exit_code = 0;
  while (!StopRequested(signals, absl::Milliseconds(500))) {
    if (std::optional<std::string> exited = cluster.FirstExited(true)) {
      std::cerr << "taskgrid up: " << *exited << "\n";
    }
    if (!cluster.SchedulerRunning()) {
      std::cerr << "taskgrid up: the scheduler is gone; stopping\n";
      exit_code = 1;
      break;
    }
  }
  std::cout << "stopping the local cluster..." << std::endl;
  cluster.Stop();
  std::cout << "stopped" << std::endl;
  return exit_code;
}

}  // namespace taskgrid::cli
