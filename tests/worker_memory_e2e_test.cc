// End-to-end tests of where a worker keeps its results, on a real cluster:
//  - memory management: one taskgrid-worker with a 64 MiB --memory-limit
//    computes results adding up to 3x that, reduces over all of them, and
//    serves every one back to the client; the results must be exact and
//    the worker must have spilled (its Prometheus metrics say how much)
//    and read spilled results back;
//  - disk full while spilling: the worker pauses, reports it, keeps every
//    value intact, and resumes once its results are released;
//  - graceful retire: a worker retired through the scheduler hands the
//    results only it holds to a peer before it exits, and the client still
//    gets every one of them.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "clients/cpp/client.h"
#include "common/value_proto.h"
#include "gtest/gtest.h"
#include "tests/local_cluster.h"

namespace taskgrid {
namespace {

using testing::LocalCluster;

constexpr int64_t kMemoryLimit = 64 << 20;
constexpr int kArrays = 48;
constexpr int64_t kElements = 512 * 1024;  // int64: 4 MiB per array, 192 MiB in all

v1::TaskSpec Spec(const std::string& key, const std::string& fn, const std::vector<Value>& args,
                  const std::string& worker = "") {
  v1::TaskSpec s;
  s.set_key(key);
  s.set_function(fn);
  for (const Value& a : args) ValueToProto(a, s.add_args());
  if (!worker.empty()) s.add_workers(worker);
  return s;
}

// GET http://host_port/path over a plain socket; the body, or "" on error.
std::string HttpGet(const std::string& host_port, const std::string& path) {
  const size_t colon = host_port.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1))));
  if (inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &addr.sin_addr) != 1) return "";
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request =
        absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", host_port, "\r\n\r\n");
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[8192];
      for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) response.append(buf, n);
    }
  }
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// The value of the sample `name{labels}` in a Prometheus text page.
std::optional<double> Sample(const std::string& page, const std::string& series) {
  const size_t at = page.find("\n" + series + " ");
  if (at == std::string::npos) return std::nullopt;
  return std::stod(page.substr(at + series.size() + 2));
}

TEST(WorkerMemoryTest, ResultsThreeTimesTheMemoryLimitAreSpilledAndAllCorrect) {
  LocalCluster::Options options;
  options.workers = 1;
  options.nthreads = 2;
  // No embedded Python: the interpreter alone would take most of 64 MiB.
  // No pause or terminate threshold: they act on the process's resident
  // memory, which on a loaded machine can stay above 0.8 of 64 MiB after
  // every result is spilled (allocator and gRPC buffers), pausing the
  // worker for good or ending it (memory_monitor_test and task_executor_test
  // cover both), rather than testing spilling.
  options.worker_args = {"--memory-limit", absl::StrCat(kMemoryLimit), "--no-python",
                         "--local-directory", ::testing::TempDir() + "/worker_memory_e2e",
                         "--memory-pause-fraction", "0", "--memory-terminate-fraction", "0"};
  LocalCluster cluster(options);
  absl::Status started = cluster.Start();
  ASSERT_TRUE(started.ok()) << started << cluster.Logs();
  auto client = Client::Connect(cluster.scheduler_address());
  ASSERT_TRUE(client.ok()) << client.status();

  // array-i = arange(i*n, (i+1)*n); sum-i = array_sum(array-i);
  // total = sum(sum-0, ..., sum-47). The client wants every array and the
  // total, so no array may be freed: they must be spilled.
  std::vector<v1::TaskSpec> graph;
  std::vector<std::string> wanted;
  std::vector<Value> sums;
  for (int i = 0; i < kArrays; ++i) {
    const std::string array = absl::StrCat("array-", i), sum = absl::StrCat("sum-", i);
    graph.push_back(Spec(array, "arange", {Value::Int(i * kElements), Value::Int((i + 1) * kElements)}));
    graph.push_back(Spec(sum, "array_sum", {Value::Ref(array)}));
    wanted.push_back(array);
    sums.push_back(Value::Ref(sum));
  }
  graph.push_back(Spec("total", "sum", sums));
  wanted.push_back("total");
  auto futures = (*client)->SubmitGraph(std::move(graph), wanted);
  ASSERT_TRUE(futures.ok()) << futures.status();

  const int64_t n = kArrays * kElements;  // sum of 0..n-1
  auto total = futures->back().Result(std::chrono::seconds(60));
  ASSERT_TRUE(total.ok()) << total.status() << cluster.Logs();
  EXPECT_EQ(total->as_number(), static_cast<double>(n) * static_cast<double>(n - 1) / 2);

  // Every array, fetched one at a time through the client, is exact.
  for (int i = 0; i < kArrays; ++i) {
    auto v = (*futures)[i].Result(std::chrono::seconds(30));
    ASSERT_TRUE(v.ok()) << "array-" << i << ": " << v.status() << cluster.Logs();
    const NDArray& a = v->as_array();
    ASSERT_EQ(a.NumElements(), kElements) << i;
    const int64_t* data = a.As<int64_t>();
    for (int64_t k = 0; k < kElements; ++k) {
      ASSERT_EQ(data[k], i * kElements + k) << "array-" << i << " element " << k;
    }
  }

  // The worker spilled and read back, and kept within its limit.
  auto info = cluster.ClusterInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_EQ(info->workers_size(), 1);
  const std::string page = HttpGet(info->workers(0).metrics_address(), "/metrics");
  ASSERT_FALSE(page.empty()) << "no metrics at " << info->workers(0).metrics_address();
  auto spilled_out = Sample(page, "taskgrid_worker_spill_bytes_total{direction=\"out\"}");
  auto spilled_in = Sample(page, "taskgrid_worker_spill_bytes_total{direction=\"in\"}");
  ASSERT_TRUE(spilled_out && spilled_in) << page;
  // At least everything beyond the limit went to disk, and came back.
  EXPECT_GE(*spilled_out, static_cast<double>(kArrays * kElements * 8 - kMemoryLimit)) << page;
  EXPECT_GT(*spilled_in, 0) << page;
  EXPECT_EQ(Sample(page, "taskgrid_worker_spill_failures_total{direction=\"out\"}"), 0.0);
  EXPECT_EQ(Sample(page, "taskgrid_worker_spill_failures_total{direction=\"in\"}"), 0.0);
  auto status = cluster.WorkerStatus(0);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_LE(status->memory_bytes(), kMemoryLimit);
  EXPECT_GE(status->keys_held(), kArrays + 1);  // the sums may be freed by now
}

// Disk full while spilling: the worker's --local-directory is a 6 MiB
// tmpfs (room for one result) mounted in a private mount namespace of the
// worker alone (nothing stays mounted whatever happens to the test). 12
// results of 4 MiB (48 MiB) against a 32 MiB limit: the disk fills, a failed write keeps the value in
// memory and pauses the worker (no process-memory pause here: only the
// failing spill may pause it). Every result that completed is intact, and
// once they are released the worker resumes and runs tasks again.
TEST(WorkerMemoryTest, DiskFullWhileSpillingPausesTheWorkerAndCorruptsNothing) {
  constexpr int64_t kLimit = 32 << 20;
  constexpr int kResults = 12;
  const std::string spill_dir = ::testing::TempDir() + "/worker_disk_full";
  std::filesystem::create_directories(spill_dir);
  LocalCluster::Options options;
  options.workers = 1;
  options.nthreads = 1;
  // sh's $0 is the mount point, "$@" the worker's argv.
  options.worker_wrapper = {"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                            "mount -t tmpfs -o size=6m tmpfs \"$0\" && exec \"$@\"", spill_dir};
  options.worker_args = {"--memory-limit", absl::StrCat(kLimit), "--no-python",
                         "--local-directory", spill_dir, "--memory-pause-fraction", "0",
                         "--memory-terminate-fraction", "0"};
  LocalCluster cluster(options);
  absl::Status started = cluster.Start();
  ASSERT_TRUE(started.ok()) << started << cluster.Logs();
  auto client = Client::Connect(cluster.scheduler_address());
  ASSERT_TRUE(client.ok()) << client.status();

  std::vector<v1::TaskSpec> graph;
  std::vector<std::string> keys;
  for (int i = 0; i < kResults; ++i) {
    keys.push_back(absl::StrCat("full-", i));
    graph.push_back(Spec(keys.back(), "arange", {Value::Int(i * kElements), Value::Int((i + 1) * kElements)}));
  }
  auto futures = (*client)->SubmitGraph(std::move(graph), keys);
  ASSERT_TRUE(futures.ok()) << futures.status();

  // The scheduler reports the worker paused.
  auto worker_status = [&]() -> std::string {
    auto info = cluster.ClusterInfo();
    return info.ok() && info->workers_size() == 1 ? info->workers(0).status() : "";
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (worker_status() != "paused" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(worker_status(), "paused") << cluster.Logs();

  // Its metrics and log say why.
  auto info = cluster.ClusterInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  const std::string page = HttpGet(info->workers(0).metrics_address(), "/metrics");
  auto failures = Sample(page, "taskgrid_worker_spill_failures_total{direction=\"out\"}");
  ASSERT_TRUE(failures.has_value()) << page;
  EXPECT_GT(*failures, 0) << page;
  const std::string log = cluster.worker_process(0).Stderr();
  EXPECT_NE(log.find("cannot spill result"), std::string::npos) << log;
  EXPECT_NE(log.find("results cannot be spilled to disk"), std::string::npos) << log;

  // Paused, not every result can complete; those that did are exact (one
  // at least was written to the tmpfs before it filled and is read back).
  int completed = 0;
  for (int i = 0; i < kResults; ++i) {
    if (!(*futures)[i].done()) continue;
    auto v = (*futures)[i].Result(std::chrono::seconds(20));
    ASSERT_TRUE(v.ok()) << keys[i] << ": " << v.status() << cluster.Logs();
    const NDArray& a = v->as_array();
    ASSERT_EQ(a.NumElements(), kElements) << keys[i];
    const int64_t* data = a.As<int64_t>();
    for (int64_t k = 0; k < kElements; ++k) {
      ASSERT_EQ(data[k], i * kElements + k) << keys[i] << " element " << k;
    }
    ++completed;
  }
  EXPECT_GT(completed, 0);
  EXPECT_LT(completed, kResults);
  ASSERT_GT(Sample(HttpGet(info->workers(0).metrics_address(), "/metrics"),
                   "taskgrid_worker_spill_bytes_total{direction=\"out\"}").value_or(0), 0);

  // Release everything: memory falls, the worker resumes and runs a task.
  ASSERT_TRUE((*client)->Cancel(*futures).ok());
  futures->clear();
  const auto resume_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (worker_status() != "running" && std::chrono::steady_clock::now() < resume_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(worker_status(), "running") << cluster.Logs();
  auto after = (*client)->SubmitGraph({Spec("after", "arange", {Value::Int(0), Value::Int(1000)})},
                                      {"after"});
  ASSERT_TRUE(after.ok()) << after.status();
  auto v = after->front().Result(std::chrono::seconds(15));
  ASSERT_TRUE(v.ok()) << v.status() << cluster.Logs();
  ASSERT_EQ(v->as_array().NumElements(), 1000);
  EXPECT_EQ(v->as_array().As<int64_t>()[999], 999);
}

TEST(WorkerRetireTest, RetiredWorkerHandsItsResultsToAPeerFirst) {
  LocalCluster::Options options;
  options.workers = 2;
  options.worker_args = {"--no-python", "--close-timeout", "10s"};
  LocalCluster cluster(options);
  absl::Status started = cluster.Start();
  ASSERT_TRUE(started.ok()) << started << cluster.Logs();
  auto client = Client::Connect(cluster.scheduler_address());
  ASSERT_TRUE(client.ok()) << client.status();
  const std::string leaving = cluster.worker_address(0);
  const std::string staying = cluster.worker_address(1);

  // Results computed on the worker that will leave (and only there: the
  // tasks are restricted to it, so they could not be recomputed elsewhere).
  constexpr int kResults = 12;
  constexpr int64_t kLength = 300000;  // 2.4 MB each: several chunks
  std::vector<v1::TaskSpec> graph;
  std::vector<std::string> keys;
  for (int i = 0; i < kResults; ++i) {
    keys.push_back(absl::StrCat("r-", i));
    graph.push_back(Spec(keys.back(), "arange", {Value::Int(i), Value::Int(i + kLength)}, leaving));
  }
  auto futures = (*client)->SubmitGraph(std::move(graph), keys);
  ASSERT_TRUE(futures.ok()) << futures.status();
  for (const Future& f : *futures) ASSERT_TRUE(f.Wait(std::chrono::seconds(30))) << f.key();

  auto scheduler = v1::Scheduler::NewStub(
      grpc::CreateChannel(cluster.scheduler_address(), grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext context;
    v1::RetireWorkersRequest request;
    request.add_workers(leaving);
    request.set_close_workers(true);
    v1::RetireWorkersResponse response;
    grpc::Status s = scheduler->RetireWorkers(&context, request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  std::optional<int> exit_code = cluster.worker_process(0).Wait(std::chrono::seconds(20));
  ASSERT_TRUE(exit_code.has_value()) << cluster.Logs();
  EXPECT_EQ(*exit_code, 0) << cluster.Logs();
  EXPECT_NE(cluster.worker_process(0).Stderr().find(absl::StrCat("handed ", kResults, " results")),
            std::string::npos)
      << cluster.Logs();

  // The scheduler knows the new holder, and every result is intact.
  {
    grpc::ClientContext context;
    v1::WhoHasRequest request;
    for (const std::string& k : keys) request.add_keys(k);
    v1::WhoHasResponse response;
    grpc::Status s = scheduler->WhoHas(&context, request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(response.locations_size(), kResults);
    for (const v1::KeyLocation& loc : response.locations()) {
      ASSERT_EQ(loc.workers_size(), 1) << loc.key();
      EXPECT_EQ(loc.workers(0), staying) << loc.key();
    }
  }
  // A second client re-attaches to the keys and reads them from their new
  // holder (data_ops_e2e_test covers a client whose futures still name the
  // holder that left: it asks the scheduler who has the key now).
  auto reader = Client::Connect(cluster.scheduler_address());
  ASSERT_TRUE(reader.ok()) << reader.status();
  for (int i = 0; i < kResults; ++i) {
    auto v = (*reader)->FutureOf(keys[i]).Result(std::chrono::seconds(20));
    ASSERT_TRUE(v.ok()) << keys[i] << ": " << v.status() << cluster.Logs();
    const NDArray& a = v->as_array();
    ASSERT_EQ(a.NumElements(), kLength);
    const int64_t* data = a.As<int64_t>();
    for (int64_t k = 0; k < kLength; ++k) ASSERT_EQ(data[k], i + k) << keys[i];
  }
}

}  // namespace
}  // namespace taskgrid
