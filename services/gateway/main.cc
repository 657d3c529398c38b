// taskgrid-gateway: the cluster's front door for any language — REST/JSON
// and the gRPC taskgrid.v1.Jobs API on top of one taskgrid::Client session
// to the scheduler, with bearer-token auth, request limits, TLS, a live
// dashboard and Prometheus metrics. This file only parses flags and wires
// the pieces together.

#include <glog/logging.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/flags.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/token_store.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/job_manager.h"
#include "services/gateway/jobs_service.h"
#include "services/gateway/limits.h"
#include "services/gateway/rest_server.h"

namespace taskgrid::gateway {
namespace {

constexpr char kUsage[] =
    "usage: taskgrid-gateway [SCHEDULER_ADDRESS] [--host 0.0.0.0] [--http-port 8787]\n"
    "         [--grpc-port 8788] [--token-file F] [--tls-cert F --tls-key F]\n"
    "         [--job-ttl 3600] [--max-request-bytes 64MiB] [--max-tasks-per-job 1000000]\n"
    "         [--max-json-depth 64] [--max-streams-per-client 8] [--http-threads 64]\n"
    "         [--session-name taskgrid-gateway] [--session-linger SECONDS]\n"
    "--session-name: the durable scheduler session holding this gateway's jobs; a gateway\n"
    "  restarted with the same name (and token) gets its jobs back. Give each replica its\n"
    "  own name; \"\" makes jobs die with the process. --session-linger: how long the\n"
    "  scheduler keeps the jobs of a gateway that went away (0: its --client-linger).\n"
    "Every flag also reads TASKGRID_<FLAG> (e.g. TASKGRID_TOKEN_FILE).\n";

struct Settings {
  std::string scheduler;
  std::string host;
  int64_t http_port = 8787;
  int64_t grpc_port = 8788;
  std::string token_file;
  std::string tls_cert;
  std::string tls_key;
  int64_t job_ttl_seconds = 3600;
  int64_t http_threads = 64;
  std::string session_name;
  int64_t session_linger_seconds = 0;
  Limits limits;
};

absl::StatusOr<Settings> ParseSettings(const Flags& flags) {
  Settings s;
  s.scheduler = ResolveSchedulerAddress(flags.positional().empty() ? "" : flags.positional()[0]);
  s.host = flags.GetString("host", "0.0.0.0");
  s.token_file = flags.GetString("token-file", "");
  s.tls_cert = flags.GetString("tls-cert", "");
  s.tls_key = flags.GetString("tls-key", "");
  s.session_name = flags.GetString("session-name", "taskgrid-gateway");
  if (s.tls_cert.empty() != s.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  auto get_int = [&flags](const char* name, int64_t def, int64_t min,
                          int64_t* out) -> absl::Status {
    absl::StatusOr<int64_t> v = flags.GetInt(name, def);
    if (!v.ok()) return v.status();
    if (*v < min) return absl::InvalidArgumentError(absl::StrCat("--", name, " must be >= ", min));
    *out = *v;
    return absl::OkStatus();
  };
  int64_t depth = 0, streams = 0;
  for (absl::Status st :
       {get_int("http-port", 8787, 0, &s.http_port), get_int("grpc-port", 8788, 0, &s.grpc_port),
        get_int("job-ttl", 3600, 0, &s.job_ttl_seconds),
        get_int("http-threads", 64, 2, &s.http_threads),
        get_int("session-linger", 0, 0, &s.session_linger_seconds),
        get_int("max-tasks-per-job", 1000000, 1, &s.limits.max_tasks_per_job),
        get_int("max-json-depth", 64, 2, &depth),
        get_int("max-streams-per-client", 8, 1, &streams)}) {
    if (!st.ok()) return st;
  }
  s.limits.max_json_depth = static_cast<int>(depth);
  s.limits.max_streams_per_client = static_cast<int>(streams);
  absl::StatusOr<int64_t> bytes = ParseByteSize(flags.GetString("max-request-bytes", "64MiB"));
  if (!bytes.ok()) return bytes.status();
  s.limits.max_request_bytes = *bytes;
  return s;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcCredentials(const Settings& s) {
  if (s.tls_cert.empty()) return grpc::InsecureServerCredentials();
  absl::StatusOr<std::string> cert = ReadWholeFile(s.tls_cert);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadWholeFile(s.tls_key);
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(options);
}

int Run(int argc, char** argv) {
  absl::StatusOr<Flags> flags =
      Flags::Parse(argc, argv,
                   {"host", "http-port", "grpc-port", "token-file", "tls-cert", "tls-key",
                    "job-ttl", "max-request-bytes", "max-tasks-per-job", "max-json-depth",
                    "max-streams-per-client", "http-threads", "session-name", "session-linger",
                    "help"},
                   {"help"});
  if (!flags.ok()) {
    std::cerr << "taskgrid-gateway: " << flags.status().message() << "\n" << kUsage;
    return 2;
  }
  if (flags->GetBool("help")) {
    std::cout << kUsage;
    return 0;
  }
  absl::StatusOr<Settings> settings = ParseSettings(*flags);
  if (!settings.ok()) {
    std::cerr << "taskgrid-gateway: " << settings.status().message() << "\n" << kUsage;
    return 2;
  }

  TokenStore tokens(settings->token_file);
  if (absl::Status s = tokens.Reload(); !s.ok()) {
    std::cerr << "taskgrid-gateway: " << s.message() << "\n";
    return 2;
  }
  // Signals are taken synchronously by sigwait below: SIGHUP reloads the
  // tokens, SIGTERM/SIGINT stop. Blocked before any thread starts so every
  // thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  GatewayMetrics metrics;
  StreamLimiter streams(settings->limits.max_streams_per_client);
  JobManager::Options job_options;
  job_options.default_ttl = absl::Seconds(settings->job_ttl_seconds);
  job_options.max_tasks_per_job = settings->limits.max_tasks_per_job;
  job_options.session_name = settings->session_name;
  job_options.session_linger = absl::Seconds(settings->session_linger_seconds);
  JobManager jobs(settings->scheduler, job_options);

  JobsService service(JobsService::Deps{&jobs, &tokens, &metrics, &streams, settings->limits});
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds = GrpcCredentials(*settings);
  if (!creds.ok()) {
    std::cerr << "taskgrid-gateway: " << creds.status().message() << "\n";
    return 2;
  }
  grpc::ServerBuilder builder;
  ConfigureServerBuilder(&builder);
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<int64_t>(settings->limits.max_request_bytes, std::numeric_limits<int>::max())));
  int grpc_port = 0;
  builder.AddListeningPort(absl::StrCat(settings->host, ":", settings->grpc_port), *creds,
                           &grpc_port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  if (grpc_server == nullptr || grpc_port == 0) {
    std::cerr << "taskgrid-gateway: cannot listen on gRPC port " << settings->grpc_port << "\n";
    return 1;
  }

  std::unique_ptr<httplib::Server> http;
  if (settings->tls_cert.empty()) {
    http = std::make_unique<httplib::Server>();
  } else {
    http =
        std::make_unique<httplib::SSLServer>(settings->tls_cert.c_str(), settings->tls_key.c_str());
  }
  if (!http->is_valid()) {
    std::cerr << "taskgrid-gateway: cannot set up HTTPS with " << settings->tls_cert << " / "
              << settings->tls_key << "\n";
    return 2;
  }
  const size_t http_threads = static_cast<size_t>(settings->http_threads);
  // Event streams hold a thread each for their whole life.
  http->new_task_queue = [http_threads] { return new httplib::ThreadPool(http_threads); };
  // Without it a keep-alive client's small requests and answers wait out
  // Nagle + delayed ACK (~40 ms each).
  http->set_tcp_nodelay(true);
  InstallRestServer(*http, RestContext{&jobs, &tokens, &metrics, &streams, settings->limits});
  const int http_port =
      settings->http_port == 0
          ? http->bind_to_any_port(settings->host)
          : (http->bind_to_port(settings->host, static_cast<int>(settings->http_port))
                 ? static_cast<int>(settings->http_port)
                 : -1);
  if (http_port <= 0) {
    std::cerr << "taskgrid-gateway: cannot listen on HTTP port " << settings->http_port << "\n";
    return 1;
  }
  std::thread http_thread([&http] { http->listen_after_bind(); });

  LOG(INFO) << "gateway for scheduler " << settings->scheduler << ": HTTP"
            << (settings->tls_cert.empty() ? "" : "S") << " on " << settings->host << ":"
            << http_port << ", gRPC" << (settings->tls_cert.empty() ? "" : " (TLS)") << " on "
            << settings->host << ":" << grpc_port
            << (tokens.enabled() ? ", bearer tokens required" : ", no authentication");
  std::cout << "taskgrid-gateway listening on http " << settings->host << ":" << http_port
            << " grpc " << settings->host << ":" << grpc_port << std::endl;

  while (true) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig != SIGHUP) {
      LOG(INFO) << "gateway stopping (signal " << sig << ")";
      break;
    }
    absl::Status s = tokens.Reload();
    if (s.ok()) {
      LOG(INFO) << "reloaded " << tokens.size() << " token(s) from " << settings->token_file;
    } else {
      LOG(WARNING) << "token reload failed, keeping the previous tokens: " << s;
    }
  }
  http->stop();
  http_thread.join();
  grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}

}  // namespace
}  // namespace taskgrid::gateway

int main(int argc, char** argv) {
  taskgrid::InitLogging(argv[0]);
  return taskgrid::gateway::Run(argc, argv);
}
