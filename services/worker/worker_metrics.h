#pragma once
// WorkerMetrics: the worker's Prometheus metrics, produced at scrape time
// from WorkerStats and the data store (so the task path only bumps
// atomics). Exposed by prometheus::Exposer on --metrics-port.
//
//   taskgrid_worker_tasks_completed_total, taskgrid_worker_tasks_erred_total
//   taskgrid_worker_executing, _ready, _waiting, taskgrid_worker_threads
//   taskgrid_worker_memory_managed_bytes, _memory_limit_bytes,
//   _memory_spilled_bytes, _memory_process_bytes, _memory_buffer_pool_bytes,
//   taskgrid_worker_paused, taskgrid_worker_keys
//   taskgrid_worker_spill_bytes_total{direction="out"|"in"}, _spills_total,
//   _spill_seconds_total, _spill_failures_total (with a spill store)
//   taskgrid_worker_transfer_bytes_total{direction="incoming"|"outgoing"}
//   taskgrid_worker_transfers_total{direction}, _fetch_failures_total,
//   _fetch_retries_total
//   taskgrid_worker_task_duration_seconds{function} (histogram)
//   taskgrid_grpc_server_* (common/grpc_server_metrics.h)
//
// Thread-safety: Collect may run on the exporter's threads at any time.

#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "services/worker/data_store.h"
#include "services/worker/function_registry.h"
#include "services/worker/worker_stats.h"

namespace taskgrid::worker {

class WorkerMetrics final : public prometheus::Collectable {
 public:
  WorkerMetrics(const WorkerStats* stats, const DataStore* store,
                const FunctionRegistry* functions, int nthreads, int64_t memory_limit)
      : stats_(stats), store_(store), functions_(functions), nthreads_(nthreads),
        memory_limit_(memory_limit) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const WorkerStats* stats_;
  const DataStore* store_;
  const FunctionRegistry* functions_;
  const int nthreads_;
  const int64_t memory_limit_;
};

// Resident set size of this process in bytes (0 if unknown).
int64_t ProcessResidentBytes();

}  // namespace taskgrid::worker
