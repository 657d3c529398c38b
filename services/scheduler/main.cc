// taskgrid-scheduler: parses flags and wires the service; nothing else.

#include <glog/logging.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cmath>
#include <iostream>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/flags.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/token_store.h"
#include "services/scheduler/scheduler_metrics.h"
#include "services/scheduler/scheduler_service.h"

namespace {

constexpr char kUsage[] =
    "usage: taskgrid-scheduler [--host 0.0.0.0] [--port 8786] [--metrics-port 9786]\n"
    "                          [--worker-timeout SECONDS] [--worker-saturation 1.1|inf]\n"
    "                          [--work-stealing | --no-work-stealing]\n"
    "--worker-saturation: root tasks sent per worker thread before the rest wait in the\n"
    "  scheduler's queue (as Dask's worker-saturation); inf sends every ready task at once.\n"
    "--no-work-stealing turns off moving queued tasks from busy workers to idle ones.\n"
    "Every flag may also be set as TASKGRID_<FLAG> (e.g. TASKGRID_PORT).\n"
    "--port 0 / --metrics-port 0 pick free ports; --metrics-port -1 disables metrics.\n"
    "--client-linger SECONDS (600): a named client session (a gateway's) whose connection\n"
    "  drops keeps its keys this long for a new connection to resume it.\n"
    "--client-queue-bytes BYTES (512MiB): a client that stops reading its session stream is\n"
    "  disconnected (RESOURCE_EXHAUSTED, naming this flag) once this many bytes of events wait\n"
    "  for it, so it can neither stall the scheduler nor grow its memory without bound.\n"
    "--token-file FILE: every call needs 'authorization: Bearer TOKEN' with a token of FILE\n"
    "  (one per line, '#' comments; reread on SIGHUP).\n"
    "Restart recovery: --orphan-grace SECONDS (30): results reconnecting workers hold that no\n"
    "  client claims within it are freed; --recovery-hold SECONDS (2): after workers or clients\n"
    "  report keys this scheduler does not know, ready tasks wait this long before placement.\n";

// "1.1", "inf" -> a saturation factor; anything else (<= 0, NaN, text) is
// an error naming the flag.
absl::StatusOr<double> ParseWorkerSaturation(const std::string& text) {
  const std::string t = absl::AsciiStrToLower(text);
  if (t == "inf" || t == "infinity") return std::numeric_limits<double>::infinity();
  double v = 0;
  if (!absl::SimpleAtod(t, &v) || !std::isfinite(v) || v <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "flag --worker-saturation: \"", text, "\" is not a number > 0 or \"inf\""));
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace taskgrid;
  InitLogging(argv[0]);
  auto flags = Flags::Parse(argc, argv,
                            {"host", "port", "metrics-port", "worker-timeout", "worker-saturation",
                             "token-file", "orphan-grace", "recovery-hold",
                             "client-linger", "client-queue-bytes"},
                            {"help", "work-stealing"});
  if (!flags.ok()) {
    std::cerr << "taskgrid-scheduler: " << flags.status().message() << "\n" << kUsage;
    return 2;
  }
  if (flags->GetBool("help")) {
    std::cout << kUsage;
    return 0;
  }
  const std::string host = flags->GetString("host", "0.0.0.0");
  auto port = flags->GetInt("port", 8786);
  auto metrics_port = flags->GetInt("metrics-port", 9786);
  auto worker_timeout = flags->GetInt("worker-timeout", 30);
  auto client_linger = flags->GetInt("client-linger", 600);
  if (!client_linger.ok() || *client_linger < 0) {
    std::cerr << "taskgrid-scheduler: flag --client-linger needs a number of seconds >= 0\n";
    return 2;
  }
  auto orphan_grace = flags->GetInt("orphan-grace", 30);
  auto recovery_hold = flags->GetInt("recovery-hold", 2);
  for (const auto* v : {&port, &metrics_port, &worker_timeout, &orphan_grace, &recovery_hold}) {
    if (!v->ok()) {
      std::cerr << "taskgrid-scheduler: " << v->status().message() << "\n";
      return 2;
    }
  }
  scheduler::SchedulerService::Options options;
  if (flags->Has("worker-saturation")) {
    auto saturation = ParseWorkerSaturation(flags->GetString("worker-saturation", ""));
    if (!saturation.ok()) {
      std::cerr << "taskgrid-scheduler: " << saturation.status().message() << "\n";
      return 2;
    }
    options.state.worker_saturation = *saturation;
  }
  if (flags->Has("work-stealing")) options.state.work_stealing = flags->GetBool("work-stealing");
  if (flags->Has("client-queue-bytes")) {
    auto bytes = ParseByteSize(flags->GetString("client-queue-bytes", ""));
    if (!bytes.ok() || *bytes <= 0) {
      std::cerr << "taskgrid-scheduler: flag --client-queue-bytes: "
                << (bytes.ok() ? std::string("must be > 0")
                               : std::string(bytes.status().message()))
                << "\n";
      return 2;
    }
    options.client_queue_bytes = static_cast<size_t>(*bytes);
  }
  TokenStore tokens(flags->GetString("token-file", ""));
  if (absl::Status loaded = tokens.Reload(); !loaded.ok()) {
    std::cerr << "taskgrid-scheduler: flag --token-file: " << loaded.message() << "\n";
    return 2;
  }
  options.tokens = &tokens;

  // Block termination signals in every thread; main waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<scheduler::SchedulerMetrics> metrics;
  if (*metrics_port >= 0) {
    try {
      metrics = std::make_unique<scheduler::SchedulerMetrics>(
          absl::StrCat(host, ":", *metrics_port));
    } catch (const std::exception& e) {
      std::cerr << "taskgrid-scheduler: cannot serve metrics on port " << *metrics_port
                << ": " << e.what() << "\n";
      return 1;
    }
  }
  options.state.worker_timeout_seconds = static_cast<double>(*worker_timeout);
  options.state.default_linger = static_cast<double>(*client_linger);
  if (*orphan_grace < 0 || *recovery_hold < 0) {
    std::cerr << "taskgrid-scheduler: --orphan-grace and --recovery-hold must be >= 0\n";
    return 2;
  }
  options.state.orphan_grace_seconds = static_cast<double>(*orphan_grace);
  options.state.recovery_hold_seconds = static_cast<double>(*recovery_hold);
  scheduler::SchedulerService service(options, metrics.get());

  grpc::ServerBuilder builder;
  ConfigureServerBuilder(&builder);
  int selected_port = 0;
  builder.AddListeningPort(absl::StrCat(host, ":", *port), grpc::InsecureServerCredentials(),
                           &selected_port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || selected_port == 0) {
    std::cerr << "taskgrid-scheduler: cannot listen on " << host << ":" << *port << "\n";
    return 1;
  }
  service.Start();
  LOG(INFO) << "scheduler " << service.scheduler_id() << " listening on " << host << ":"
            << selected_port << ", metrics on port " << (metrics ? metrics->port() : -1)
            << ", worker-saturation " << options.state.worker_saturation << ", work stealing "
            << (options.state.work_stealing ? "on" : "off")
            << (tokens.enabled() ? ", bearer tokens required" : ", no authentication");
  std::cout << "taskgrid-scheduler listening on " << host << ":" << selected_port
            << " metrics " << (metrics ? metrics->port() : -1) << std::endl;

  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    absl::Status reloaded = tokens.Reload();
    LOG(INFO) << "SIGHUP: token file " << (reloaded.ok() ? "reloaded" : reloaded.ToString());
  }
  LOG(INFO) << "scheduler stopping (signal " << sig << ")";
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  service.Stop();
  LOG(INFO) << "scheduler stopped";
  ExitStoppedService(0);
}
