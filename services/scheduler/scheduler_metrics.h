#pragma once
// Prometheus metrics of the scheduler, served on --metrics-port:
//   taskgrid_scheduler_tasks{state}                  tasks known, by state
//   taskgrid_scheduler_graph_tasks                   tasks in the graph (all states)
//   taskgrid_scheduler_graph_update_tasks            histogram: tasks per accepted update
//   taskgrid_scheduler_tasks_submitted_total{function}
//   taskgrid_scheduler_task_duration_seconds{function}  histogram of finished tasks
//   taskgrid_scheduler_task_errors_total{function}
//   taskgrid_scheduler_workers, taskgrid_scheduler_clients
//   taskgrid_scheduler_transitions_total
//   taskgrid_scheduler_steal_requests_total, taskgrid_scheduler_steals_total
//   taskgrid_scheduler_event_loop_delay_seconds      histogram: wait of each batch
// plus the gRPC server metrics (services/observability).
// `function` is "<runtime>/<function>" as workers offer it, so its
// cardinality is bounded by the functions used, never by task keys, and at
// most 1,000 series: later new names count under function="(other)".
//
// Thread-safety: prometheus-cpp metrics are thread-safe; every method here
// is called from the scheduler's event loop only.

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/scheduler/scheduler_types.h"

namespace taskgrid::scheduler {
struct FunctionStats;
}  // namespace taskgrid::scheduler

namespace taskgrid::scheduler {

class SchedulerMetrics {
 public:
  // Serves /metrics on `bind_address` ("0.0.0.0:9786"); port 0 picks one.
  explicit SchedulerMetrics(const std::string& bind_address);
  // The port actually bound.
  int port() const;

  struct Counts {
    std::map<std::string, int64_t> tasks_by_state;
    size_t graph_tasks = 0;
    size_t workers = 0;
    size_t clients = 0;
    uint64_t transitions = 0;
    uint64_t steal_requests = 0;
    uint64_t steals = 0;
  };
  // Periodic snapshot of the state machine's counters.
  void Update(const Counts& counts);
  void ObserveLoopDelay(double seconds);

  // Per-function accounting of a graph update: Prepare before the state
  // machine takes the tasks, then Accept only if it accepted them. Only
  // per-function counts are kept, never anything per task key.
  struct FunctionSeries {
    prometheus::Counter* submitted;
    prometheus::Histogram* duration;
    prometheus::Counter* errors;
  };
  using PreparedGraph = std::vector<std::pair<FunctionSeries*, double>>;
  PreparedGraph Prepare(const std::vector<TaskDef>& tasks);
  void Accept(const PreparedGraph& graph);
  // A finished or erred task of function `fn` (the state's record; null is
  // ignored): call only for reports the state machine accepts, i.e. for a
  // task it had processing (SchedulerState::RunningFunction).
  void TaskFinished(const FunctionStats* fn, double duration_seconds);
  void TaskErred(const FunctionStats* fn);

 private:
  static constexpr char kOtherFunctions[] = "(other)";
  FunctionSeries* SeriesFor(const std::string& function);
  FunctionSeries* SeriesFor(const FunctionStats* fn);

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Gauge>* tasks_;
  std::map<std::string, prometheus::Gauge*> tasks_by_state_;
  prometheus::Gauge* graph_tasks_;
  prometheus::Histogram* graph_update_tasks_;
  prometheus::Family<prometheus::Counter>* submitted_;
  prometheus::Family<prometheus::Histogram>* durations_;
  prometheus::Family<prometheus::Counter>* errors_;
  prometheus::Gauge* workers_;
  prometheus::Gauge* clients_;
  prometheus::Counter* transitions_;
  prometheus::Counter* steal_requests_;
  prometheus::Counter* steals_;
  prometheus::Histogram* loop_delay_;
  Counts last_;
  absl::flat_hash_map<std::string, std::unique_ptr<FunctionSeries>> functions_;
  absl::flat_hash_map<const FunctionStats*, FunctionSeries*> by_stats_;
};

}  // namespace taskgrid::scheduler
