// taskgrid-worker: parses flags and wires the worker's parts together.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include <glog/logging.h>
#include <grpcpp/grpcpp.h>
#include <prometheus/exposer.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_auth.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "services/worker/buffer_pool.h"
#include "services/worker/builtins.h"
#include "services/worker/data_handoff.h"
#include "services/worker/data_store.h"
#include "services/worker/function_registry.h"
#include "services/worker/memory_monitor.h"
#include "services/worker/peer_fetcher.h"
#include "services/worker/plugin_loader.h"
#include "services/worker/scheduler_connection.h"
#include "services/worker/spill_store.h"
#include "services/worker/task_executor.h"
#include "services/worker/worker.h"
#include "services/worker/worker_metrics.h"
#include "services/worker/worker_options.h"
#include "services/worker/worker_service.h"
#include "services/worker/worker_stats.h"
#ifdef TASKGRID_WITH_PYTHON
#include "services/worker/python_runtime.h"
#endif

namespace taskgrid::worker {
namespace {

// The exit status after the memory monitor's terminate threshold: nonzero
// so that a supervisor (systemd Restart=on-failure, a Kubernetes pod's
// restartPolicy, a nanny) starts a fresh worker.
constexpr int kExitMemoryTerminate = 3;

// Set by the scheduler's close command or the memory monitor; polled by
// the main thread.
class CloseRequest {
 public:
  void Request(const std::string& reason, int exit_code = 0) {
    absl::MutexLock lock(&mu_);
    if (!reason_.empty()) return;
    reason_ = reason.empty() ? "asked by the scheduler" : reason;
    exit_code_ = exit_code;
  }
  std::string reason() const {
    absl::MutexLock lock(&mu_);
    return reason_;
  }
  int exit_code() const {
    absl::MutexLock lock(&mu_);
    return exit_code_;
  }

 private:
  mutable absl::Mutex mu_;
  std::string reason_ ABSL_GUARDED_BY(mu_);
  int exit_code_ ABSL_GUARDED_BY(mu_) = 0;
};

// Waits for SIGINT/SIGTERM (blocked in every thread, taken here) or a
// close request; returns why.
std::string WaitForShutdown(const sigset_t& signals, const CloseRequest& close) {
  for (;;) {
    timespec tick{0, 100 * 1000 * 1000};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGTERM) return "received SIGTERM";
    if (sig == SIGINT) return "received SIGINT";
    std::string reason = close.reason();
    if (!reason.empty()) return reason;
  }
}

// Offers "python/*" unless --no-python; without --python, a build or a
// machine without Python (or numpy/cloudpickle) only logs a warning.
absl::Status StartPythonRuntime(const WorkerOptions& options, FunctionRegistry* functions) {
  if (options.no_python) return absl::OkStatus();
#ifdef TASKGRID_WITH_PYTHON
  absl::Status started = RegisterPythonRuntime(functions);
  if (started.ok()) {
    LOG(INFO) << "python runtime ready: offering python/*";
    return started;
  }
#else
  absl::Status started = absl::UnimplementedError("this worker was built without Python");
#endif
  if (options.require_python) return started;
  LOG(WARNING) << "no python runtime: " << started.message();
  return absl::OkStatus();
}

int Run(int argc, char** argv) {
  absl::StatusOr<WorkerOptions> options = ParseWorkerOptions(argc, argv);
  if (!options.ok()) {
    std::cerr << "taskgrid-worker: " << options.status().message() << "\n" << WorkerUsage();
    return 2;
  }
  if (options->help) {
    std::cout << WorkerUsage();
    return 0;
  }
  TokenStore tokens(options->token_file);
  if (absl::Status loaded = tokens.Reload(); !loaded.ok()) {
    std::cerr << "taskgrid-worker: flag --token-file: " << loaded.message() << "\n";
    return 2;
  }
  // The worker's calls (scheduler session, peer fetches) carry its first token.
  if (tokens.enabled()) SetOutgoingToken(ReadTokenFile(options->token_file)->front());
  // Block the shutdown signals before any thread starts, so that all
  // threads inherit the mask and only WaitForShutdown receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Keep freed memory for reuse instead of handing it back to the kernel
  // and faulting it in again (see buffer_pool.h): gRPC's receive buffers
  // (up to a few MiB each) come from the heap rather than fresh mmaps, and
  // the heap is not trimmed after every large transfer.
  // With a small --memory-limit, heap caching that large would itself
  // exceed the limit: scale it down so that freed (e.g. spilled) results
  // really leave the process.
  const int64_t limit = options->memory_limit > 0 ? options->memory_limit : int64_t{1} << 40;
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(std::min<int64_t>(32 << 20, limit / 16)));
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(std::min<int64_t>(256 << 20, limit / 8)));
  if (options->memory_limit > 0) {
    BufferPool::Global().set_max_idle_bytes(
        std::min<int64_t>(int64_t{1} << 30, options->memory_limit / 4));
  }

  FunctionRegistry functions;
  if (absl::Status s = RegisterBuiltins(&functions); !s.ok()) {
    LOG(ERROR) << s.message();
    return 1;
  }
  for (const std::string& path : options->plugins) {
    absl::StatusOr<std::vector<std::string>> names = LoadPlugin(path, &functions);
    if (!names.ok()) {
      LOG(ERROR) << names.status().message();
      return 2;
    }
    LOG(INFO) << "loaded plugin " << path << ": " << absl::StrJoin(*names, ", ");
  }
  if (absl::Status s = StartPythonRuntime(*options, &functions); !s.ok()) {
    LOG(ERROR) << s.message();
    return 2;
  }
  if (options->allow_exec) {
    LOG(WARNING) << "--allow-exec: the exec runtime is not part of this build; "
                    "no exec functions are offered";
  }

  WorkerStats stats(functions.size());
  SpillStore spill(options->local_directory);
  if (absl::Status s = spill.Prepare(); !s.ok()) {
    // Not fatal: results then stay in memory and the worker pauses when
    // it is full (see memory_monitor.h).
    LOG(WARNING) << "results cannot be spilled to disk: " << s.message();
  }
  const bool manage_memory = options->memory_limit > 0;
  const int64_t memory_target =
      manage_memory ? static_cast<int64_t>(static_cast<double>(options->memory_limit) *
                                           options->memory_target_fraction)
                    : 0;
  DataStore store(&spill, memory_target);
  auto executor = std::make_unique<TaskExecutor>(options->nthreads);
  CloseRequest close;
  MemoryMonitor::Options memory_options;
  memory_options.limit = options->memory_limit;
  memory_options.fractions = {options->memory_target_fraction, options->memory_spill_fraction,
                              options->memory_pause_fraction,
                              options->memory_terminate_fraction};
  MemoryMonitor::Callbacks memory_callbacks;
  memory_callbacks.on_pause = [&executor, &stats](bool paused, const std::string&) {
    executor->SetPaused(paused);
    stats.paused.store(paused ? 1 : 0, std::memory_order_relaxed);
  };
  memory_callbacks.on_terminate = [&close](const std::string& reason) {
    close.Request(reason, kExitMemoryTerminate);
  };
  auto memory = std::make_unique<MemoryMonitor>(memory_options, &store, memory_callbacks);
  // A failed spill pauses the worker now, not at the monitor's next tick.
  store.SetSpillFailureHandler([monitor = memory.get()] { monitor->Check(); });
  ChannelCache channels;

  // The server starts first: the advertised address needs the bound port.
  WorkerService service(&store, &stats, nullptr);
  service.set_tokens(&tokens);
  grpc::ServerBuilder builder;
  ConfigureServerBuilder(&builder);
  int port = 0;
  builder.AddListeningPort(JoinHostPort(options->host, options->port),
                           grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    LOG(ERROR) << "cannot listen on " << JoinHostPort(options->host, options->port);
    return 1;
  }
  const std::string advertised_host = AdvertisedHost(options->host);
  const std::string listen_address = JoinHostPort(advertised_host, port);
  // Peers and clients reach the worker at its contact address, which is
  // also how it recognizes itself among a key's holders.
  const std::string address =
      options->contact_address.empty() ? listen_address : options->contact_address;

  auto metrics = std::make_shared<WorkerMetrics>(&stats, &store, &functions, options->nthreads,
                                                 options->memory_limit);
  std::unique_ptr<prometheus::Exposer> exposer;
  std::string metrics_address;
  // The HTTP server binds numeric addresses only; for a host name, listen
  // everywhere (the advertised address still names the host).
  const std::string metrics_bind = JoinHostPort(
      IsIpLiteral(options->host) ? options->host : "0.0.0.0", options->metrics_port);
  try {
    exposer = std::make_unique<prometheus::Exposer>(metrics_bind, 1);
    exposer->RegisterCollectable(metrics);
    std::vector<int> ports = exposer->GetListeningPorts();
    metrics_address = JoinHostPort(advertised_host, ports.empty() ? options->metrics_port : ports[0]);
  } catch (const std::exception& e) {
    LOG(ERROR) << "cannot serve metrics on " << metrics_bind << ": " << e.what();
    return 1;
  }

  GrpcPeerFetcher::Options fetch_options;
  fetch_options.stall_timeout = absl::Seconds(options->fetch_stall_timeout_seconds);
  auto fetcher = std::make_unique<GrpcPeerFetcher>(address, &channels, &stats, fetch_options);
  auto connection =
      std::make_unique<SchedulerConnection>(SchedulerConnection::Options{options->scheduler_address});
  WorkerIdentity identity;
  identity.address = address;
  identity.name = options->name.empty() ? address : options->name;
  identity.nthreads = options->nthreads;
  identity.memory_limit = options->memory_limit;
  identity.resources = options->resources;
  identity.metrics_address = metrics_address;
  auto worker = std::make_unique<Worker>(identity, &functions, &store, executor.get(),
                                         fetcher.get(), &stats, connection.get());
  worker->SetCloseRequestHandler([&close](const std::string& reason) { close.Request(reason); });
  service.set_handler(worker.get());
  connection->Start(worker.get());
  memory->Start();
  LOG(INFO) << "worker " << identity.name << " started at " << address
            << (address == listen_address ? "" : " listening on " + listen_address) << " (nthreads "
            << options->nthreads << ", memory limit " << options->memory_limit << " bytes"
            << ", spill directory " << spill.directory()
            << ", memory fractions target/spill/pause/terminate "
            << options->memory_target_fraction << "/" << options->memory_spill_fraction << "/"
            << options->memory_pause_fraction << "/" << options->memory_terminate_fraction
            << ", metrics http://" << metrics_address << "/metrics, scheduler "
            << options->scheduler_address << ")";

  const std::string reason = WaitForShutdown(signals, close);
  const int exit_code = close.exit_code();
  LOG(INFO) << "closing: " << reason;
  store.SetSpillFailureHandler(nullptr);  // the policy no longer runs
  memory->Stop();
  // Leaving: start no new task (running ones finish), and unless memory
  // forced the exit, hand the results only this worker holds to peers
  // while its services still run (peers fetching from it are served).
  executor->SetPaused(true);
  if (exit_code == 0 && options->close_timeout_seconds > 0) {
    absl::StatusOr<HandoffReport> handoff =
        HandOffUniqueData(address, options->scheduler_address, &store, &channels,
                          absl::Seconds(options->close_timeout_seconds));
    if (!handoff.ok()) {
      LOG(WARNING) << "could not hand off results: " << handoff.status().message();
    } else if (handoff->unique_keys > 0) {
      LOG(INFO) << "handed " << handoff->handed_off << " results (" << handoff->bytes
                << " bytes) of " << handoff->unique_keys << " held only here to "
                << handoff->peers << " peers";
    }
  }
  connection->Close(reason, absl::Seconds(1));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  if (!executor->Stop(absl::Seconds(1))) {
    // A task is still running and cannot be interrupted: its thread uses
    // the worker's objects, so leave without destroying them.
    LOG(WARNING) << "tasks still running; exiting without waiting for them";
    spill.RemoveAll();
    ExitStoppedService(exit_code);
  }
  fetcher.reset();  // cancels transfers; their callbacks need the worker
  worker.reset();
  connection.reset();
  memory.reset();
  spill.RemoveAll();  // ExitStoppedService runs no destructors
  LOG(INFO) << "worker stopped" << (exit_code != 0 ? absl::StrCat(" (exit status ", exit_code, ")")
                                                    : std::string());
  ExitStoppedService(exit_code);
}

}  // namespace
}  // namespace taskgrid::worker

int main(int argc, char** argv) {
  taskgrid::InitLogging(argv[0]);
  return taskgrid::worker::Run(argc, argv);
}
