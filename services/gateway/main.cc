// taskgrid-gateway (foundation stage): serves grpc.health.v1 on --grpc-port
// and /healthz, /readyz on --http-port, readiness meaning "the scheduler
// answers". The Jobs API, REST and dashboard build on this process.

#include <glog/logging.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/flags.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"

namespace {

constexpr char kUsage[] =
    "usage: taskgrid-gateway [SCHEDULER_ADDRESS] [--host 0.0.0.0] [--http-port 8787]\n"
    "                        [--grpc-port 8788]\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace taskgrid;
  InitLogging(argv[0]);
  auto flags = Flags::Parse(argc, argv, {"host", "http-port", "grpc-port", "help"}, {"help"});
  if (!flags.ok()) {
    std::cerr << "taskgrid-gateway: " << flags.status().message() << "\n" << kUsage;
    return 2;
  }
  if (flags->GetBool("help")) {
    std::cout << kUsage;
    return 0;
  }
  const std::string scheduler = ResolveSchedulerAddress(
      flags->positional().empty() ? "" : flags->positional()[0]);
  const std::string host = flags->GetString("host", "0.0.0.0");
  auto http_port = flags->GetInt("http-port", 8787);
  auto grpc_port = flags->GetInt("grpc-port", 8788);
  if (!http_port.ok() || !grpc_port.ok()) {
    std::cerr << "taskgrid-gateway: " << (http_port.ok() ? grpc_port : http_port).status().message()
              << "\n";
    return 2;
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  grpc::ServerBuilder builder;
  ConfigureServerBuilder(&builder);
  int selected_grpc = 0;
  builder.AddListeningPort(absl::StrCat(host, ":", *grpc_port), grpc::InsecureServerCredentials(),
                           &selected_grpc);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || selected_grpc == 0) {
    std::cerr << "taskgrid-gateway: cannot listen on gRPC port " << *grpc_port << "\n";
    return 1;
  }

  auto stub = v1::Scheduler::NewStub(MakeChannel(scheduler));
  httplib::Server http;
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  http.Get("/readyz", [&](const httplib::Request&, httplib::Response& res) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    v1::ClusterInfoResponse info;
    grpc::Status s = stub->ClusterInfo(&ctx, v1::ClusterInfoRequest(), &info);
    if (s.ok()) {
      res.set_content(absl::StrCat("ready: scheduler ", scheduler, " has ", info.workers_size(),
                                   " workers\n"),
                      "text/plain");
    } else {
      res.status = 503;
      res.set_content(absl::StrCat("not ready: scheduler ", scheduler, " unreachable: ",
                                   s.error_message(), "\n"),
                      "text/plain");
    }
  });
  int selected_http = *http_port == 0 ? http.bind_to_any_port(host)
                                      : (http.bind_to_port(host, *http_port) ? *http_port : -1);
  if (selected_http <= 0) {
    std::cerr << "taskgrid-gateway: cannot listen on HTTP port " << *http_port << "\n";
    return 1;
  }
  std::thread http_thread([&http] { http.listen_after_bind(); });
  LOG(INFO) << "gateway for scheduler " << scheduler << ": HTTP on " << host << ":"
            << selected_http << ", gRPC on " << host << ":" << selected_grpc;
  std::cout << "taskgrid-gateway listening on http " << host << ":" << selected_http << " grpc "
            << host << ":" << selected_grpc << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  LOG(INFO) << "gateway stopping (signal " << sig << ")";
  http.stop();
  http_thread.join();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}
