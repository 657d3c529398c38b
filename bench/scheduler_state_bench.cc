// The scheduler's state machine alone: its work per task, without gRPC,
// threads, serialization or real workers. Two fake workers finish every
// task as soon as it is sent; the outbox only remembers what to finish.
// This bounds what make bench can reach end to end, and is the number to
// profile when the scheduler is the bottleneck:
//
//   build/bench/scheduler-state-bench
//   valgrind --tool=callgrind build/bench/scheduler-state-bench \
//     --benchmark_filter=Tree   # instruction counts, repeatable under load
//
// Each iteration submits a graph (in batches, as the clients do), runs it
// to completion, releases it and checks that the state is empty again.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_graphs.h"
#include "benchmark/benchmark.h"
#include "services/scheduler/proto_convert.h"
#include "services/scheduler/scheduler_state.h"

namespace taskgrid::scheduler {
namespace {

class FinishingOutbox : public SchedulerOutbox {
 public:
  void ComputeTask(WorkerId w, const ComputeTaskCommand& cmd) override {
    sent.emplace_back(w, cmd.key);
  }
  void FreeKeys(WorkerId, const std::vector<std::string>&) override {}
  void CloseWorker(WorkerId, const std::string&) override {}
  void StealRequest(WorkerId, const std::string&) override {}
  void KeyEvent(ClientId, const KeyEventOut&) override {}
  void AcquireReplicas(WorkerId, const std::vector<DepLocation>&) override {}

  std::vector<std::pair<WorkerId, std::string>> sent;
};

TaskDef Def(std::string key, const char* function, std::vector<std::string> deps) {
  TaskDef d;
  d.run_spec = absl::StrCat(function, "(", key, ")");
  d.key = std::move(key);
  d.runtime = "builtin";
  d.function = function;
  d.dependencies = std::move(deps);
  return d;
}

struct Graph {
  std::vector<std::vector<TaskDef>> batches;
  std::vector<std::string> wanted;
  // Per batch, what it declares wanted: the wanted keys it defines and,
  // as the client does (client_submit.cc), the keys a later batch depends
  // on ("carried"), which would be forgotten before that batch otherwise.
  std::vector<std::vector<std::string>> declared;
  std::vector<std::string> carried;  // released once every batch is in
  int64_t tasks = 0;
};

// About as many tiny tasks as fit one of the C++ client's updates
// (kMaxUpdateBytes, clients/cpp/graph_split.h).
constexpr size_t kBatch = 4096;

void AddTask(Graph& g, TaskDef d) {
  if (g.batches.empty() || g.batches.back().size() == kBatch) g.batches.emplace_back();
  g.batches.back().push_back(std::move(d));
  ++g.tasks;
}

// Fills Graph::declared and Graph::carried.
void Declare(Graph& g) {
  absl::flat_hash_map<std::string, size_t> batch_of;
  for (size_t b = 0; b < g.batches.size(); ++b) {
    for (const TaskDef& d : g.batches[b]) batch_of.emplace(d.key, b);
  }
  g.declared.assign(g.batches.size(), {});
  absl::flat_hash_set<std::string> carried;
  for (size_t b = 0; b < g.batches.size(); ++b) {
    for (const TaskDef& d : g.batches[b]) {
      for (const std::string& dep : d.dependencies) {
        const size_t from = batch_of.at(dep);
        if (from != b && carried.insert(dep).second) g.declared[from].push_back(dep);
      }
    }
  }
  for (const std::string& key : g.wanted) g.declared[batch_of.at(key)].push_back(key);
  g.carried.assign(carried.begin(), carried.end());
}

void Fail(const std::string& what) {
  std::fprintf(stderr, "scheduler-state-bench: %s\n", what.c_str());
  std::abort();
}

// The graphs make bench runs (bench/bench_graphs.h), as the scheduler
// receives them.
Graph FromBench(const bench::BenchGraph& bench_graph) {
  Graph g;
  for (const v1::TaskSpec& spec : bench_graph.tasks) AddTask(g, TaskDefFromSpec(spec));
  g.wanted.push_back(bench_graph.root);
  Declare(g);
  return g;
}

Graph TreeGraph(int64_t leaves) {
  absl::StatusOr<bench::BenchGraph> tree = bench::TreeGraph("tree", leaves);
  if (!tree.ok()) Fail(tree.status().ToString());
  return FromBench(*tree);
}

// `n` independent tasks, every one wanted (client.map).
Graph MapGraph(int64_t n) {
  Graph g;
  for (int64_t i = 0; i < n; ++i) {
    AddTask(g, Def(absl::StrCat("inc-", i), "inc", {}));
    g.wanted.push_back(g.batches.back().back().key);
  }
  Declare(g);
  return g;
}

void RunGraph(benchmark::State& state, const Graph& graph) {
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::vector<TaskDef>> batches = graph.batches;
    state.ResumeTiming();

    FinishingOutbox outbox;
    double now = 1000.0;
    SchedulerState s(&outbox, [&now] { return now; });
    for (int i = 0; i < 2; ++i) {
      WorkerDef w;
      w.address = absl::StrCat("127.0.0.1:", 9000 + i);
      w.name = w.address;
      w.nthreads = 1;
      w.functions = {"builtin/inc", "builtin/add"};
      if (!s.AddWorker(std::move(w)).ok()) Fail("AddWorker failed");
    }
    const ClientId client = s.AddClient("bench");
    for (size_t b = 0; b < batches.size(); ++b) {
      auto added = s.UpdateGraph(client, std::move(batches[b]), graph.declared[b], 0);
      if (!added.ok()) Fail(added.status().ToString());
    }
    s.ReleaseKeys(client, graph.carried);
    for (size_t i = 0; i < outbox.sent.size(); ++i) {
      const auto& [worker, key] = outbox.sent[i];
      s.TaskFinished(worker, key, 8, "int", 0.0001);
    }
    if (static_cast<int64_t>(outbox.sent.size()) != graph.tasks) {
      Fail(absl::StrCat("ran ", outbox.sent.size(), " of ", graph.tasks, " tasks"));
    }
    s.ReleaseKeys(client, graph.wanted);
    if (s.num_tasks() != 0) Fail(absl::StrCat(s.num_tasks(), " tasks left after release"));
  }
  state.SetItemsProcessed(state.iterations() * graph.tasks);
}

void BM_TreeReduction(benchmark::State& state) {
  static const Graph graph = TreeGraph(state.range(0));
  RunGraph(state, graph);
}
BENCHMARK(BM_TreeReduction)->Arg(1 << 17)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_Map(benchmark::State& state) {
  static const Graph graph = MapGraph(state.range(0));
  RunGraph(state, graph);
}
BENCHMARK(BM_Map)->Arg(100000)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_Chain(benchmark::State& state) {
  static const Graph graph = FromBench(bench::ChainGraph("chain", state.range(0)));
  RunGraph(state, graph);
}
BENCHMARK(BM_Chain)->Arg(20000)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace taskgrid::scheduler

BENCHMARK_MAIN();
