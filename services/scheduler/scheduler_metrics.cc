#include "services/scheduler/scheduler_metrics.h"

namespace taskgrid::scheduler {

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
  loop_delay_ = &prometheus::BuildGauge()
                     .Name("taskgrid_scheduler_event_loop_delay_seconds")
                     .Help("How long the last batch of events waited for the event loop")
                     .Register(*registry_)
                     .Add({});
  exposer_->RegisterCollectable(registry_);
}

int SchedulerMetrics::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void SchedulerMetrics::Update(const std::map<std::string, int64_t>& tasks_by_state,
                              size_t workers, size_t clients, uint64_t transitions,
                              double loop_delay_seconds) {
  for (auto& [state, gauge] : tasks_by_state_) {
    auto it = tasks_by_state.find(state);
    gauge->Set(it == tasks_by_state.end() ? 0 : static_cast<double>(it->second));
  }
  workers_->Set(static_cast<double>(workers));
  clients_->Set(static_cast<double>(clients));
  if (transitions > last_transitions_) {
    transitions_->Increment(static_cast<double>(transitions - last_transitions_));
    last_transitions_ = transitions;
  }
  loop_delay_->Set(loop_delay_seconds);
}

}  // namespace taskgrid::scheduler
