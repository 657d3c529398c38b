// The `make demo` walkthrough: on a running cluster, a 10,000-leaf tree
// reduction (about 20,000 tasks) and a 64 MiB array made on one worker and
// consumed on the other, with timings and where the data moved.
//
//   taskgrid-demo SCHEDULER_ADDRESS

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "clients/cpp/client.h"
#include "common/grpc_util.h"
#include "common/value_proto.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"
#include "taskgrid/v1/worker.grpc.pb.h"

namespace {

using taskgrid::Value;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

taskgrid::v1::TaskSpec Spec(const std::string& key, const std::string& fn,
                            const std::vector<Value>& args, const std::string& worker = "") {
  taskgrid::v1::TaskSpec s;
  s.set_key(key);
  s.set_function(fn);
  for (const auto& a : args) taskgrid::ValueToProto(a, s.add_args());
  if (!worker.empty()) s.add_workers(worker);
  return s;
}

bool WorkerStatus(const std::string& address, taskgrid::v1::WorkerStatus* out) {
  auto stub = taskgrid::v1::Worker::NewStub(taskgrid::MakeChannel(address));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return stub->Status(&ctx, taskgrid::v1::WorkerStatusRequest(), out).ok();
}

int Fail(const std::string& what, const absl::Status& s) {
  std::fprintf(stderr, "demo: %s: %s\n", what.c_str(), std::string(s.message()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string address = argc > 1 ? argv[1] : "127.0.0.1:8786";
  auto client = taskgrid::Client::Connect(address);
  if (!client.ok()) return Fail("connect to " + address, client.status());

  auto sched = taskgrid::v1::Scheduler::NewStub(taskgrid::MakeChannel(address));
  taskgrid::v1::ClusterInfoResponse info;
  {
    grpc::ClientContext ctx;
    if (!sched->ClusterInfo(&ctx, {}, &info).ok() || info.workers_size() < 2) {
      std::fprintf(stderr, "demo: needs a scheduler with at least 2 workers at %s\n",
                   address.c_str());
      return 1;
    }
  }
  const std::string a = info.workers(0).address();
  const std::string b = info.workers(1).address();
  std::printf("cluster: scheduler %s, workers %s and %s\n\n", address.c_str(), a.c_str(),
              b.c_str());

  // 1. Tree reduction: sum of inc(i) for i < 10,000, as one graph.
  const int leaves = 10000;
  std::vector<taskgrid::v1::TaskSpec> graph;
  std::vector<std::string> level;
  for (int i = 0; i < leaves; ++i) {
    level.push_back("leaf-" + std::to_string(i));
    graph.push_back(Spec(level.back(), "inc", {Value::Int(i)}));
  }
  for (int depth = 0; level.size() > 1; ++depth) {
    std::vector<std::string> next;
    for (size_t i = 0; i + 1 < level.size(); i += 2) {
      next.push_back("add-" + std::to_string(depth) + "-" + std::to_string(i / 2));
      graph.push_back(Spec(next.back(), "add", {Value::Ref(level[i]), Value::Ref(level[i + 1])}));
    }
    if (level.size() % 2 == 1) next.push_back(level.back());
    level = std::move(next);
  }
  const size_t ntasks = graph.size();
  auto t0 = Clock::now();
  auto tree = (*client)->Get(std::move(graph), {level[0]});
  const double tree_s = Seconds(t0);
  if (!tree.ok()) return Fail("tree reduction", tree.status());
  const int64_t expected = static_cast<int64_t>(leaves) * (leaves + 1) / 2;
  std::printf("tree reduction: %zu tasks, sum of inc(i) for i < %d = %lld (expected %lld: %s)\n",
              ntasks, leaves, static_cast<long long>((*tree)[0].as_int()),
              static_cast<long long>(expected), (*tree)[0].as_int() == expected ? "ok" : "WRONG");
  std::printf("                %.3f s submit to result, %.0f tasks/s\n\n", tree_s,
              ntasks / tree_s);

  // 2. A 64 MiB array made on one worker and consumed on the other.
  taskgrid::v1::WorkerStatus a0, b0, a1, b1;
  WorkerStatus(a, &a0);
  WorkerStatus(b, &b0);
  const int64_t n = 8 << 20;  // int64 elements: 64 MiB
  t0 = Clock::now();
  auto moved = (*client)->Get({Spec("big-array", "arange", {Value::Int(n)}, a),
                               Spec("big-sum", "array_sum", {Value::Ref("big-array")}, b)},
                              {"big-sum"});
  const double move_s = Seconds(t0);
  if (!moved.ok()) return Fail("64 MiB transfer", moved.status());
  WorkerStatus(a, &a1);
  WorkerStatus(b, &b1);
  const double sum = (*moved)[0].as_number();
  const double want = static_cast<double>(n) * (n - 1) / 2;
  const int64_t sent = a1.transfer_bytes_out() - a0.transfer_bytes_out();
  const int64_t received = b1.transfer_bytes_in() - b0.transfer_bytes_in();
  std::printf("64 MiB array: arange(%lld) made on %s, summed on %s = %.0f (%s)\n",
              static_cast<long long>(n), a.c_str(), b.c_str(), sum,
              sum == want ? "ok" : "WRONG");
  std::printf("              data moved worker->worker: %s sent %.1f MiB, %s received %.1f MiB "
              "(never through the scheduler); %.3f s end to end\n",
              a.c_str(), sent / 1048576.0, b.c_str(), received / 1048576.0, move_s);
  return (*tree)[0].as_int() == expected && sum == want ? 0 : 1;
}
