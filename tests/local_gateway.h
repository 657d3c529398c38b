#pragma once
// LocalGateway: the real taskgrid-gateway binary for end-to-end tests, on
// 127.0.0.1 with ephemeral HTTP and gRPC ports, in front of a LocalCluster's
// scheduler. ok() is false when it did not start (see process().Stderr()).
//
// Thread-safety: none; owned by one test.

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/grpc_util.h"
#include "taskgrid/v1/jobs.grpc.pb.h"
#include "tests/local_cluster.h"

namespace taskgrid::testing {

class LocalGateway {
 public:
  // Starts the gateway binary for `scheduler` with extra flags; logs go to
  // `dir`/gatewayN.{out,err}. Each gateway gets its own scheduler session
  // (--session-name gatewayN) unless `extra` names one: a test restarting
  // a gateway passes the same name to both.
  LocalGateway(const std::string& scheduler, const std::string& dir,
               std::vector<std::string> extra = {}) {
    static int n = 0;
    ++n;
    std::vector<std::string> argv = {BinaryPath("taskgrid-gateway"), scheduler, "--host",
                                     "127.0.0.1", "--http-port", "0", "--grpc-port", "0"};
    if (std::find(extra.begin(), extra.end(), "--session-name") == extra.end()) {
      argv.insert(argv.end(), {"--session-name", absl::StrCat("gateway", n)});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<Subprocess>(argv, absl::StrCat(dir, "/gateway", n));
    std::optional<std::string> line =
        process_->WaitForOutput("taskgrid-gateway listening on", std::chrono::seconds(20));
    if (!line) return;
    // "taskgrid-gateway listening on http HOST:PORT grpc HOST:PORT"
    std::vector<std::string> words = absl::StrSplit(*line, ' ', absl::SkipEmpty());
    for (size_t i = 0; i + 1 < words.size(); ++i) {
      if (words[i] == "http") http_address_ = words[i + 1];
      if (words[i] == "grpc") grpc_address_ = words[i + 1];
    }
  }
  bool ok() const { return !http_address_.empty() && !grpc_address_.empty(); }
  int http_port() const { return std::stoi(http_address_.substr(http_address_.rfind(':') + 1)); }
  const std::string& grpc_address() const { return grpc_address_; }
  Subprocess& process() { return *process_; }

  std::unique_ptr<httplib::Client> Http(const std::string& token = "") const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", http_port());
    c->set_read_timeout(std::chrono::seconds(60));
    if (!token.empty()) c->set_bearer_token_auth(token.c_str());
    return c;
  }
  std::unique_ptr<v1::Jobs::Stub> Grpc() const {
    return v1::Jobs::NewStub(MakeChannel(grpc_address_));
  }

 private:
  std::unique_ptr<Subprocess> process_;
  std::string http_address_;
  std::string grpc_address_;
};

}  // namespace taskgrid::testing
