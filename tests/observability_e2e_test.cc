// Observability end to end: a real cluster (scheduler, two workers, gateway,
// all with --log-format json) runs a known workload, then
//  - `promtool check metrics` accepts every service's /metrics,
//  - a real Prometheus (Debian's) scrapes them every second and its HTTP API
//    returns the numbers the workload produced,
//  - the Grafana dashboard queries only metric names the services export,
//  - every log line is a JSON object with time, level and message.
// The cluster and the workload are set up once for the suite.

#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "clients/cpp/client.h"
#include "common/value_proto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/local_cluster.h"
#include "tests/local_gateway.h"

namespace taskgrid {
namespace {

using json = nlohmann::json;
using testing::LocalCluster;
using testing::LocalGateway;
using testing::Subprocess;

constexpr int kMapTasks = 50;
constexpr int64_t kArrayLength = 200000;  // 1.6 MB per array
// The map, plus the fan-in graph: two aranges, their sum, its total.
constexpr int kTasks = kMapTasks + 4;

struct Target {
  std::string service;  // "scheduler", "worker", "gateway"
  std::string host_port;
};

std::string HttpGet(const std::string& host_port, const std::string& path) {
  const size_t colon = host_port.rfind(':');
  httplib::Client c(host_port.substr(0, colon), std::stoi(host_port.substr(colon + 1)));
  c.set_read_timeout(std::chrono::seconds(10));
  auto r = c.Get(path.c_str());
  return r && r->status == 200 ? r->body : "";
}

v1::TaskSpec Spec(const std::string& key, const std::string& fn, std::vector<Value> args,
                  const std::string& worker = "") {
  v1::TaskSpec s;
  s.set_key(key);
  s.set_function(fn);
  for (const auto& a : args) ValueToProto(a, s.add_args());
  if (!worker.empty()) s.add_workers(worker);
  return s;
}

class ObservabilityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    LocalCluster::Options options;
    options.scheduler_args = {"--log-format", "json"};
    options.worker_args = {"--log-format", "json"};
    cluster_ = new LocalCluster(options);
    absl::Status s = cluster_->Start();
    ASSERT_TRUE(s.ok()) << s << cluster_->Logs();
    gateway_ = new LocalGateway(cluster_->scheduler_address(), cluster_->dir(),
                                {"--log-format", "json"});
    ASSERT_TRUE(gateway_->ok()) << gateway_->process().Stderr();

    auto client = Client::Connect(cluster_->scheduler_address());
    ASSERT_TRUE(client.ok()) << client.status();
    std::vector<Value> items;
    for (int i = 0; i < kMapTasks; ++i) items.push_back(Value::Int(i));
    auto futures = (*client)->Map("inc", items);
    ASSERT_TRUE(futures.ok()) << futures.status();
    auto values = (*client)->Gather(*futures);
    ASSERT_TRUE(values.ok()) << values.status();
    // Pinned to different workers so one array crosses between them.
    auto fan_in = (*client)->Get(
        {Spec("a", "arange", {Value::Int(kArrayLength)}, cluster_->worker_address(0)),
         Spec("b", "arange", {Value::Int(kArrayLength)}, cluster_->worker_address(1)),
         Spec("c", "array_add", {Value::Ref("a"), Value::Ref("b")}),
         Spec("total", "array_sum", {Value::Ref("c")})},
        {"total"});
    ASSERT_TRUE(fan_in.ok()) << fan_in.status();
    auto r = gateway_->Http()->Get("/v1/cluster");
    ASSERT_TRUE(r && r->status == 200);
    grpc::ClientContext ctx;
    v1::ListWorkersResponse listed;
    grpc::Status listed_status = gateway_->Grpc()->ListWorkers(&ctx, {}, &listed);
    ASSERT_TRUE(listed_status.ok()) << listed_status.error_message();
    ASSERT_EQ(listed.workers_size(), 2);

    auto info = cluster_->ClusterInfo();
    ASSERT_TRUE(info.ok()) << info.status();
    targets_ = new std::vector<Target>{
        {"scheduler", absl::StrCat("127.0.0.1:", cluster_->scheduler_metrics_port())},
        {"gateway", absl::StrCat("127.0.0.1:", gateway_->http_port())}};
    for (const auto& w : info->workers()) targets_->push_back({"worker", w.metrics_address()});
  }

  static void TearDownTestSuite() {
    delete gateway_;
    delete cluster_;
    delete targets_;
  }

  void TearDown() override {
    if (HasFailure()) std::cerr << cluster_->Logs() << gateway_->process().Stderr();
  }

  static LocalCluster* cluster_;
  static LocalGateway* gateway_;
  static std::vector<Target>* targets_;
};

LocalCluster* ObservabilityTest::cluster_ = nullptr;
LocalGateway* ObservabilityTest::gateway_ = nullptr;
std::vector<Target>* ObservabilityTest::targets_ = nullptr;

TEST_F(ObservabilityTest, PromtoolAcceptsEveryServicesMetrics) {
  ASSERT_EQ(access("/usr/bin/promtool", X_OK), 0)
      << "promtool missing: install Debian's prometheus package (scripts/setup.sh)";
  ASSERT_EQ(targets_->size(), 4u);
  for (const Target& t : *targets_) {
    const std::string text = HttpGet(t.host_port, "/metrics");
    ASSERT_FALSE(text.empty()) << t.service << " " << t.host_port;
    EXPECT_THAT(text, ::testing::HasSubstr("taskgrid_grpc_server_handled_total")) << t.service;
    const std::string file = absl::StrCat(cluster_->dir(), "/metrics-", t.service, ".txt");
    std::ofstream(file) << text;
    Subprocess promtool({"/bin/sh", "-c", "exec /usr/bin/promtool check metrics < " + file},
                        absl::StrCat(cluster_->dir(), "/promtool-", t.service));
    EXPECT_EQ(promtool.Wait(std::chrono::seconds(20)), 0)
        << t.service << ":\n" << promtool.Stdout() << promtool.Stderr();
  }
}

// The value of a PromQL expression with one result, or NaN (no result yet).
double Query(int port, const std::string& expr) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(std::chrono::seconds(5));
  auto r = c.Get("/api/v1/query", httplib::Params{{"query", expr}}, httplib::Headers{});
  if (!r || r->status != 200) return std::nan("");
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded() || j["status"] != "success" || j["data"]["result"].size() != 1) {
    return std::nan("");
  }
  return std::stod(j["data"]["result"][0]["value"][1].get<std::string>());
}

TEST_F(ObservabilityTest, PrometheusScrapesWhatTheWorkloadDid) {
  ASSERT_EQ(access("/usr/bin/prometheus", X_OK), 0)
      << "prometheus missing: install Debian's prometheus package (scripts/setup.sh)";
  const std::string dir = cluster_->dir();
  std::ofstream config(dir + "/prometheus.yml");
  config << "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n";
  for (const char* service : {"scheduler", "worker", "gateway"}) {
    config << "  - job_name: " << service << "\n    static_configs:\n      - targets: [";
    const char* sep = "";
    for (const Target& t : *targets_) {
      if (t.service == service) config << sep << "'" << t.host_port << "'", sep = ", ";
    }
    config << "]\n";
  }
  config.close();
  const int port = testing::PickFreePort();
  ASSERT_GT(port, 0);
  Subprocess prometheus({"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
                         absl::StrCat("--web.listen-address=127.0.0.1:", port),
                         "--storage.tsdb.path=" + dir + "/tsdb"},
                        dir + "/prometheus");

  // Wait (at most 20 s) until a scrape of every target has landed.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  double completed = std::nan("");
  while (std::chrono::steady_clock::now() < deadline && prometheus.running()) {
    if (Query(port, "count(up == 1)") == 4 &&
        Query(port, "count(taskgrid_worker_tasks_completed_total)") == 2) {
      completed = Query(port, "sum(taskgrid_worker_tasks_completed_total)");
      if (completed == kTasks) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(prometheus.running()) << prometheus.Stderr();
  EXPECT_EQ(completed, kTasks) << prometheus.Stderr();
  EXPECT_EQ(Query(port, "taskgrid_scheduler_workers"), 2);
  EXPECT_EQ(Query(port, "sum(taskgrid_scheduler_task_duration_seconds_count)"), kTasks);
  EXPECT_EQ(Query(port, "taskgrid_scheduler_task_duration_seconds_count{function=\"builtin/inc\"}"),
            kMapTasks);
  EXPECT_EQ(Query(port, "sum(taskgrid_scheduler_tasks_submitted_total)"), kTasks);
  // One array crossed from one worker to the other.
  EXPECT_GE(Query(port, "sum(taskgrid_worker_transfer_bytes_total{direction=\"incoming\"})"),
            kArrayLength * 8);
  EXPECT_GE(Query(port, "sum(taskgrid_worker_transfers_total{direction=\"incoming\"})"), 1);
  // The client's ClusterInfo call, the gateway's REST request and its gRPC
  // ListWorkers call were counted with their codes.
  EXPECT_GE(Query(port,
                  "sum(taskgrid_grpc_server_handled_total{job=\"scheduler\","
                  "grpc_method=\"ClusterInfo\",grpc_code=\"OK\"})"),
            1);
  EXPECT_EQ(Query(port,
                  "taskgrid_gateway_http_requests_total{route=\"/v1/cluster\",code=\"200\"}"),
            1);
  EXPECT_EQ(Query(port,
                  "taskgrid_grpc_server_handled_total{job=\"gateway\",grpc_service=\"taskgrid.v1.Jobs\","
                  "grpc_method=\"ListWorkers\",grpc_code=\"OK\"}"),
            1);
  prometheus.Signal(SIGTERM);
  prometheus.Wait(std::chrono::seconds(10));
}

// Names a scrape defines: series names and, from "# TYPE" lines, each
// family's (a histogram's _bucket/_sum/_count), so a family with no series
// yet (an error counter) still counts as exported.
void CollectNames(const std::string& text, std::set<std::string>* names) {
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "# TYPE ")) {
      std::vector<std::string> words = absl::StrSplit(line, ' ');
      if (words.size() < 4) continue;
      // A histogram's own name has no samples: queries must use its
      // _bucket/_sum/_count series.
      if (words[3] != "histogram") names->insert(words[2]);
      if (words[3] == "histogram" || words[3] == "summary") {
        for (const char* suffix : {"_bucket", "_sum", "_count"}) names->insert(words[2] + suffix);
      }
    } else if (line[0] != '#') {
      names->insert(std::string(line.substr(0, line.find_first_of("{ "))));
    }
  }
}

TEST_F(ObservabilityTest, GrafanaDashboardQueriesOnlyExportedMetrics) {
  std::set<std::string> exported;
  for (const Target& t : *targets_) CollectNames(HttpGet(t.host_port, "/metrics"), &exported);
  ASSERT_GT(exported.size(), 20u);

  const char* src = std::getenv("TASKGRID_SOURCE_DIR");
  const std::string path = absl::StrCat(src != nullptr ? src : ".", "/deploy/grafana/taskgrid.json");
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  json dashboard = json::parse(in);
  std::vector<std::string> exprs;
  std::function<void(const json&)> walk = [&](const json& j) {
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() == "expr" && it->is_string()) exprs.push_back(*it);
        walk(*it);
      }
    } else if (j.is_array()) {
      for (const json& e : j) walk(e);
    }
  };
  walk(dashboard);
  ASSERT_GT(exprs.size(), 10u);
  const std::regex metric("taskgrid_[a-z0-9_]+");
  int checked = 0;
  for (const std::string& expr : exprs) {
    for (std::sregex_iterator m(expr.begin(), expr.end(), metric), end; m != end; ++m) {
      ++checked;
      EXPECT_TRUE(exported.count(m->str())) << m->str() << " (in " << expr
                                            << ") is exported by no service";
    }
  }
  EXPECT_GE(checked, static_cast<int>(exprs.size()));
}

// Every line of `log` is a JSON object with time, level and message.
std::vector<json> JsonLines(const std::string& log, const std::string& who) {
  std::vector<json> out;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    json j = json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object()) << who << ": not a JSON line: " << line;
    if (!j.is_object()) continue;
    EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("message")) << line;
    out.push_back(std::move(j));
  }
  return out;
}

TEST_F(ObservabilityTest, LogFormatJsonWritesOneObjectPerLine) {
  std::vector<json> scheduler = JsonLines(cluster_->scheduler_process().Stderr(), "scheduler");
  int registered = 0;
  for (const json& j : scheduler) {
    const std::string message = j["message"];
    if (message.find("registered") == std::string::npos) continue;
    ++registered;
    EXPECT_EQ(j["level"], "INFO");
    EXPECT_EQ(j["service"], "taskgrid-scheduler");
    ASSERT_TRUE(j.contains("worker")) << j.dump();
    const std::string worker = j["worker"];
    EXPECT_TRUE(worker == cluster_->worker_address(0) || worker == cluster_->worker_address(1))
        << worker;
  }
  EXPECT_EQ(registered, 2);
  EXPECT_FALSE(JsonLines(cluster_->worker_process(0).Stderr(), "worker").empty());
  EXPECT_FALSE(JsonLines(gateway_->process().Stderr(), "gateway").empty());
}

}  // namespace
}  // namespace taskgrid
