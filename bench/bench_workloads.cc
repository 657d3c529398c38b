#include "bench/bench_workloads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_graphs.h"
#include "bench/bench_stats.h"

namespace taskgrid::bench {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

nlohmann::json Throughput(int64_t tasks, double seconds) {
  return {{"tasks", tasks}, {"seconds", seconds}, {"tasks_per_s", tasks / seconds}};
}

absl::Status ExpectInt(const absl::StatusOr<Value>& value, int64_t want,
                       const std::string& what) {
  if (!value.ok()) return value.status();
  if (!value->is_number() || value->as_number() != static_cast<double>(want)) {
    return absl::InternalError(absl::StrCat(what, " returned ", value->DebugString(),
                                            ", want ", want));
  }
  return absl::OkStatus();
}

SubmitOptions Impure() {
  SubmitOptions opts;
  opts.pure = false;
  return opts;
}

absl::StatusOr<nlohmann::json> RunLatency(Client& client, const ClusterProbe&,
                                          const WorkloadOptions& o) {
  std::vector<double> samples;
  samples.reserve(o.n);
  for (int64_t i = 0; i < o.n; ++i) {
    auto start = Clock::now();
    absl::StatusOr<Future> f = client.Submit("inc", {Value::Int(i)}, Impure());
    if (!f.ok()) return f.status();
    absl::StatusOr<Value> v = f->Result();
    samples.push_back(SecondsSince(start));
    if (absl::Status s = ExpectInt(v, i + 1, "inc"); !s.ok()) return s;
  }
  double mean = std::accumulate(samples.begin(), samples.end(), 0.0) / samples.size();
  std::sort(samples.begin(), samples.end());
  return nlohmann::json{{"n", o.n},
                        {"p50_us", Percentile(samples, 50) * 1e6},
                        {"p99_us", Percentile(samples, 99) * 1e6},
                        {"mean_us", mean * 1e6}};
}

absl::StatusOr<nlohmann::json> RunMap(Client& client, const ClusterProbe&,
                                      const WorkloadOptions& o) {
  std::vector<Value> items;
  items.reserve(o.n);
  for (int64_t i = 0; i < o.n; ++i) items.push_back(Value::Int(i));
  auto start = Clock::now();
  absl::StatusOr<std::vector<Future>> futures = client.Map("inc", items);
  if (!futures.ok()) return futures.status();
  absl::StatusOr<std::vector<Value>> values = client.Gather(*futures);
  double seconds = SecondsSince(start);
  if (!values.ok()) return values.status();
  int64_t sum = 0;
  for (const Value& v : *values) sum += v.as_int();
  if (sum != o.n * (o.n + 1) / 2) {
    return absl::InternalError(absl::StrCat("map results sum to ", sum));
  }
  return Throughput(o.n, seconds);
}

// Submits a whole graph, waits for its root and checks the root's value.
absl::StatusOr<nlohmann::json> RunGraph(Client& client, BenchGraph graph) {
  const int64_t tasks = graph.tasks.size();
  auto start = Clock::now();
  absl::StatusOr<std::vector<Future>> futures =
      client.SubmitGraph(std::move(graph.tasks), {graph.root});
  if (!futures.ok()) return futures.status();
  absl::StatusOr<Value> root = futures->front().Result();
  double seconds = SecondsSince(start);
  if (absl::Status s = ExpectInt(root, graph.expected_result, graph.root); !s.ok()) {
    return s;
  }
  return Throughput(tasks, seconds);
}

absl::StatusOr<nlohmann::json> RunChain(Client& client, const ClusterProbe&,
                                        const WorkloadOptions& o) {
  return RunGraph(client, ChainGraph(o.key_prefix + "-chain", o.n));
}

// Samples a process's resident memory every 20 ms on its own thread until
// destroyed; peak() is the largest value seen (0 when pid <= 0 or unreadable).
class PeakRssSampler {
 public:
  explicit PeakRssSampler(int pid) : pid_(pid) {
    if (pid_ <= 0) return;
    baseline_ = ReadResidentBytes(pid_).value_or(0);
    peak_ = baseline_;
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        peak_ = std::max(peak_.load(), ReadResidentBytes(pid_).value_or(0));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }
  ~PeakRssSampler() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t baseline() const { return baseline_; }
  int64_t peak() const { return peak_.load(); }

 private:
  const int pid_;
  int64_t baseline_ = 0;
  std::atomic<int64_t> peak_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

absl::StatusOr<nlohmann::json> RunTree(Client& client, const ClusterProbe&,
                                       const WorkloadOptions& o) {
  absl::StatusOr<BenchGraph> graph = TreeGraph(o.key_prefix + "-tree", o.n);
  if (!graph.ok()) return graph.status();
  const int64_t tasks = static_cast<int64_t>(graph->tasks.size());
  PeakRssSampler rss(o.scheduler_pid);
  absl::StatusOr<nlohmann::json> out = RunGraph(client, *std::move(graph));
  if (!out.ok()) return out;
  (*out)["leaves"] = o.n;
  if (o.scheduler_pid > 0) {
    // Growth of the scheduler's resident memory over the graph's life,
    // per task of the graph (the whole graph is held at its peak).
    (*out)["sched_peak_rss_bytes"] = rss.peak();
    (*out)["sched_peak_bytes_per_task"] = double(rss.peak() - rss.baseline()) / tasks;
  }
  return out;
}

// What the transfer consumer must return for an arange(n / 8) array.
std::optional<int64_t> ExpectedConsumerResult(const std::string& consumer,
                                              int64_t bytes) {
  const int64_t m = bytes / 8;
  if (consumer == "array_sum") return m * (m - 1) / 2;
  if (consumer == "nbytes") return bytes;
  return std::nullopt;
}

// Seconds from submitting `consumer(data)` restricted to `worker` until its
// (small) result is back.
absl::StatusOr<double> TimeConsumer(Client& client, const Future& data,
                                    const std::string& worker,
                                    const WorkloadOptions& o) {
  SubmitOptions opts = Impure();
  opts.workers = {worker};
  auto start = Clock::now();
  absl::StatusOr<Future> f = client.Submit(o.consumer, {data.AsArg()}, opts);
  if (!f.ok()) return f.status();
  absl::StatusOr<Value> v = f->Result();
  double seconds = SecondsSince(start);
  if (!v.ok()) return v.status();
  if (auto want = ExpectedConsumerResult(o.consumer, o.n)) {
    if (absl::Status s = ExpectInt(v, *want, o.consumer); !s.ok()) return s;
  }
  return seconds;
}

// Transfer time = consumer on B (must fetch the array from A) minus the same
// consumer on A (data local), so scheduling and compute cancel out.
absl::StatusOr<nlohmann::json> RunTransfer(Client& client, const ClusterProbe& probe,
                                           const WorkloadOptions& o) {
  absl::StatusOr<std::vector<std::string>> workers =
      probe.WaitForWorkers(2, std::chrono::seconds(10));
  if (!workers.ok()) return workers.status();
  const std::string& a = (*workers)[0];
  const std::string& b = (*workers)[1];
  std::vector<double> local, remote, transfer;
  for (int rep = 0; rep < o.reps; ++rep) {
    SubmitOptions on_a = Impure();
    on_a.workers = {a};
    absl::StatusOr<Future> data = client.Submit("arange", {Value::Int(o.n / 8)}, on_a);
    if (!data.ok()) return data.status();
    if (!data->Wait(std::chrono::minutes(2)) || !data->Exception().ok()) {
      return absl::InternalError(absl::StrCat("arange on ", a, ": ",
                                              data->Exception().ToString()));
    }
    absl::StatusOr<double> t_local = TimeConsumer(client, *data, a, o);
    if (!t_local.ok()) return t_local.status();
    absl::StatusOr<double> t_remote = TimeConsumer(client, *data, b, o);
    if (!t_remote.ok()) return t_remote.status();
    local.push_back(*t_local);
    remote.push_back(*t_remote);
    transfer.push_back(std::max(*t_remote - *t_local, 1e-9));
  }
  double t = Median(transfer);
  return nlohmann::json{{"bytes", o.n},           {"reps", o.reps},
                        {"local_s", Median(local)}, {"remote_s", Median(remote)},
                        {"transfer_s", t},        {"gb_per_s", o.n / t / 1e9},
                        {"transfer_s_each", transfer},
                        {"consumer", o.consumer}};
}

absl::StatusOr<nlohmann::json> RunMemory(Client& client, const ClusterProbe&,
                                         const WorkloadOptions& o) {
  if (o.scheduler_pid <= 0) {
    return absl::InvalidArgumentError("memory needs --scheduler-pid");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  absl::StatusOr<int64_t> before = ReadResidentBytes(o.scheduler_pid);
  if (!before.ok()) return before.status();
  std::vector<Value> items;
  items.reserve(o.n);
  for (int64_t i = 0; i < o.n; ++i) items.push_back(Value::Int(i));
  auto start = Clock::now();
  absl::StatusOr<std::vector<Future>> futures = client.Map("inc", items, Impure());
  if (!futures.ok()) return futures.status();
  for (const Future& f : *futures) {
    if (!f.Wait(std::chrono::minutes(5)) || f.status() != "finished") {
      return absl::InternalError(absl::StrCat(f.key(), " ended ", f.status()));
    }
  }
  double seconds = SecondsSince(start);
  // Let the scheduler finish its bookkeeping and return freed transient
  // buffers (jemalloc purges after ~1 s), as the Dask side waits too.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  absl::StatusOr<int64_t> after = ReadResidentBytes(o.scheduler_pid);
  if (!after.ok()) return after.status();
  return nlohmann::json{{"n", o.n},
                        {"rss_before", *before},
                        {"rss_after", *after},
                        {"bytes_per_task", double(*after - *before) / o.n},
                        {"tasks_per_s", o.n / seconds}};
}

using WorkloadFn = std::function<absl::StatusOr<nlohmann::json>(
    Client&, const ClusterProbe&, const WorkloadOptions&)>;

const std::map<std::string, WorkloadFn>& Workloads() {
  static const auto* workloads = new std::map<std::string, WorkloadFn>{
      {"latency", RunLatency}, {"map", RunMap},           {"chain", RunChain},
      {"tree", RunTree},       {"transfer", RunTransfer}, {"memory", RunMemory},
  };
  return *workloads;
}

}  // namespace

const std::vector<std::string>& WorkloadNames() {
  static const auto* names = [] {
    auto* v = new std::vector<std::string>;
    for (const auto& [name, fn] : Workloads()) v->push_back(name);
    return v;
  }();
  return *names;
}

absl::StatusOr<nlohmann::json> RunWorkload(const std::string& name, Client& client,
                                           const ClusterProbe& probe,
                                           const WorkloadOptions& options) {
  auto it = Workloads().find(name);
  if (it == Workloads().end()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown workload '", name, "'"));
  }
  if (options.n < 1) {
    return absl::InvalidArgumentError(absl::StrCat(name, " needs --n >= 1"));
  }
  return it->second(client, probe, options);
}

}  // namespace taskgrid::bench
