#pragma once
// Prometheus metrics of the scheduler, served on --metrics-port.
//
// Thread-safety: prometheus-cpp metrics are thread-safe; Update() is called
// from the event loop.

#include <map>
#include <memory>
#include <string>

#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace taskgrid::scheduler {

class SchedulerMetrics {
 public:
  // Serves /metrics on `bind_address` ("0.0.0.0:9786"); port 0 picks one.
  explicit SchedulerMetrics(const std::string& bind_address);
  // The port actually bound.
  int port() const;

  void Update(const std::map<std::string, int64_t>& tasks_by_state, size_t workers,
              size_t clients, uint64_t transitions, double loop_delay_seconds);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Gauge>* tasks_;
  std::map<std::string, prometheus::Gauge*> tasks_by_state_;
  prometheus::Gauge* workers_;
  prometheus::Gauge* clients_;
  prometheus::Counter* transitions_;
  prometheus::Gauge* loop_delay_;
  uint64_t last_transitions_ = 0;
};

}  // namespace taskgrid::scheduler
