#include "services/scheduler/scheduler_metrics.h"

#include "common/grpc_server_metrics.h"
#include "services/scheduler/scheduler_model.h"

namespace taskgrid::scheduler {

namespace {

// Task durations span sub-millisecond builtins to hour-long jobs.
const prometheus::Histogram::BucketBoundaries& DurationBuckets() {
  static const auto* b = new prometheus::Histogram::BucketBoundaries{
      0.0001, 0.001, 0.01, 0.1, 0.5, 1, 5, 30, 120, 600, 3600};
  return *b;
}

void AddDelta(prometheus::Counter* counter, uint64_t now, uint64_t before) {
  if (now > before) counter->Increment(static_cast<double>(now - before));
}

}  // namespace

SchedulerMetrics::SchedulerMetrics(const std::string& bind_address)
    : registry_(std::make_shared<prometheus::Registry>()),
      exposer_(std::make_unique<prometheus::Exposer>(bind_address)) {
  tasks_ = &prometheus::BuildGauge()
                .Name("taskgrid_scheduler_tasks")
                .Help("Tasks known to the scheduler, by state")
                .Register(*registry_);
  for (const char* s : {"released", "waiting", "queued", "processing", "memory", "erred",
                        "no-worker"}) {
    tasks_by_state_[s] = &tasks_->Add({{"state", s}});
  }
  graph_tasks_ = &prometheus::BuildGauge()
                      .Name("taskgrid_scheduler_graph_tasks")
                      .Help("Tasks in the scheduler's graph, in every state")
                      .Register(*registry_)
                      .Add({});
  graph_update_tasks_ = &prometheus::BuildHistogram()
                             .Name("taskgrid_scheduler_graph_update_tasks")
                             .Help("Tasks per accepted graph update")
                             .Register(*registry_)
                             .Add({}, prometheus::Histogram::BucketBoundaries{
                                          1, 10, 100, 1000, 10000, 100000, 1000000});
  submitted_ = &prometheus::BuildCounter()
                    .Name("taskgrid_scheduler_tasks_submitted_total")
                    .Help("Tasks in accepted graph updates, by function")
                    .Register(*registry_);
  durations_ = &prometheus::BuildHistogram()
                    .Name("taskgrid_scheduler_task_duration_seconds")
                    .Help("Run time of finished tasks as workers report it, by function")
                    .Register(*registry_);
  errors_ = &prometheus::BuildCounter()
                 .Name("taskgrid_scheduler_task_errors_total")
                 .Help("Tasks whose function raised, by function")
                 .Register(*registry_);
  workers_ = &prometheus::BuildGauge()
                  .Name("taskgrid_scheduler_workers")
                  .Help("Connected workers")
                  .Register(*registry_)
                  .Add({});
  clients_ = &prometheus::BuildGauge()
                  .Name("taskgrid_scheduler_clients")
                  .Help("Connected client sessions")
                  .Register(*registry_)
                  .Add({});
  transitions_ = &prometheus::BuildCounter()
                      .Name("taskgrid_scheduler_transitions_total")
                      .Help("Task state transitions")
                      .Register(*registry_)
                      .Add({});
  steal_requests_ = &prometheus::BuildCounter()
                         .Name("taskgrid_scheduler_steal_requests_total")
                         .Help("Work-stealing requests sent to busy workers")
                         .Register(*registry_)
                         .Add({});
  steals_ = &prometheus::BuildCounter()
                 .Name("taskgrid_scheduler_steals_total")
                 .Help("Tasks moved to another worker by work stealing")
                 .Register(*registry_)
                 .Add({});
  loop_delay_ = &prometheus::BuildHistogram()
                     .Name("taskgrid_scheduler_event_loop_delay_seconds")
                     .Help("How long each batch of events waited for the event loop")
                     .Register(*registry_)
                     // 1-2.5-5 steps where the target (milliseconds) is
                     // decided, decades elsewhere.
                     .Add({}, prometheus::Histogram::BucketBoundaries{
                                  0.00001, 0.0001, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                  0.05, 0.1, 0.25, 0.5, 1, 10});
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(GrpcServerMetricsRegistry());
}

int SchedulerMetrics::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void SchedulerMetrics::Update(const Counts& counts) {
  for (auto& [state, gauge] : tasks_by_state_) {
    auto it = counts.tasks_by_state.find(state);
    gauge->Set(it == counts.tasks_by_state.end() ? 0 : static_cast<double>(it->second));
  }
  graph_tasks_->Set(static_cast<double>(counts.graph_tasks));
  workers_->Set(static_cast<double>(counts.workers));
  clients_->Set(static_cast<double>(counts.clients));
  AddDelta(transitions_, counts.transitions, last_.transitions);
  AddDelta(steal_requests_, counts.steal_requests, last_.steal_requests);
  AddDelta(steals_, counts.steals, last_.steals);
  last_ = counts;
}

void SchedulerMetrics::ObserveLoopDelay(double seconds) { loop_delay_->Observe(seconds); }

SchedulerMetrics::FunctionSeries* SchedulerMetrics::SeriesFor(const std::string& function) {
  auto it = functions_.find(function);
  if (it != functions_.end()) return it->second.get();
  // Function names come from clients (any Python callable's name): past a
  // bound, new ones share one "other" series so a flood of made-up names
  // cannot grow the metrics without limit.
  constexpr size_t kMaxFunctionSeries = 1000;
  if (functions_.size() >= kMaxFunctionSeries && function != kOtherFunctions) {
    return SeriesFor(kOtherFunctions);
  }
  auto& slot = functions_[function];
  if (slot == nullptr) {
    const prometheus::Labels labels{{"function", function}};
    slot = std::make_unique<FunctionSeries>(FunctionSeries{
        &submitted_->Add(labels), &durations_->Add(labels, DurationBuckets()),
        &errors_->Add(labels)});
  }
  return slot.get();
}

SchedulerMetrics::FunctionSeries* SchedulerMetrics::SeriesFor(const FunctionStats* fn) {
  auto& slot = by_stats_[fn];
  if (slot == nullptr) slot = SeriesFor(fn->id);
  return slot;
}

SchedulerMetrics::PreparedGraph SchedulerMetrics::Prepare(const std::vector<TaskDef>& tasks) {
  // Graphs name few functions, mostly in runs: count per run of the same
  // function rather than building its name for every task.
  PreparedGraph graph;
  const TaskDef* run = nullptr;
  for (const TaskDef& t : tasks) {
    if (run != nullptr && t.function == run->function && t.runtime == run->runtime) {
      graph.back().second += 1;
      continue;
    }
    run = &t;
    // An empty runtime is the default one, as workers name it.
    graph.emplace_back(
        SeriesFor((t.runtime.empty() ? std::string("builtin") : t.runtime) + "/" + t.function),
        1);
  }
  return graph;
}

void SchedulerMetrics::Accept(const PreparedGraph& graph) {
  double tasks = 0;
  for (const auto& [series, count] : graph) {
    series->submitted->Increment(count);
    tasks += count;
  }
  graph_update_tasks_->Observe(tasks);
}

void SchedulerMetrics::TaskFinished(const FunctionStats* fn, double duration_seconds) {
  if (fn != nullptr) SeriesFor(fn)->duration->Observe(duration_seconds);
}

void SchedulerMetrics::TaskErred(const FunctionStats* fn) {
  if (fn != nullptr) SeriesFor(fn)->errors->Increment();
}

}  // namespace taskgrid::scheduler
