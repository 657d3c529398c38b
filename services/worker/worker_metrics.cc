#include "services/worker/worker_metrics.h"

#include <unistd.h>

#include <cstdio>
#include <limits>

#include "common/grpc_server_metrics.h"
#include "services/worker/buffer_pool.h"

namespace taskgrid::worker {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Single(const char* name, const char* help, MetricType type, double value) {
  MetricFamily f{name, help, type, {}};
  ClientMetric m;
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

MetricFamily ByDirection(const char* name, const char* help, double incoming, double outgoing,
                         const char* in_label = "incoming", const char* out_label = "outgoing") {
  MetricFamily f{name, help, MetricType::Counter, {}};
  for (auto [direction, value] : {std::pair{in_label, incoming}, std::pair{out_label, outgoing}}) {
    ClientMetric m;
    m.label.push_back({"direction", direction});
    m.counter.value = value;
    f.metric.push_back(std::move(m));
  }
  return f;
}

}  // namespace

int64_t ProcessResidentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long pages_total = 0, pages_resident = 0;
  int n = std::fscanf(f, "%ld %ld", &pages_total, &pages_resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<int64_t>(pages_resident) * sysconf(_SC_PAGESIZE);
}

std::vector<MetricFamily> WorkerMetrics::Collect() const {
  auto read = [](const std::atomic<int64_t>& c) {
    return static_cast<double>(WorkerStats::Read(c));
  };
  std::vector<MetricFamily> out;
  out.push_back(Single("taskgrid_worker_tasks_completed_total",
                       "Tasks this worker finished successfully.", MetricType::Counter,
                       read(stats_->tasks_completed)));
  out.push_back(Single("taskgrid_worker_tasks_erred_total", "Tasks whose function raised.",
                       MetricType::Counter, read(stats_->tasks_erred)));
  out.push_back(Single("taskgrid_worker_executing", "Tasks running now.", MetricType::Gauge,
                       read(stats_->executing)));
  out.push_back(Single("taskgrid_worker_ready", "Tasks queued for a thread.", MetricType::Gauge,
                       read(stats_->ready)));
  out.push_back(Single("taskgrid_worker_waiting", "Tasks waiting for dependencies from peers.",
                       MetricType::Gauge, read(stats_->waiting)));
  out.push_back(Single("taskgrid_worker_threads", "Task threads (--nthreads).", MetricType::Gauge,
                       nthreads_));
  out.push_back(Single("taskgrid_worker_memory_managed_bytes",
                       "Bytes of results held in memory.", MetricType::Gauge,
                       static_cast<double>(store_->total_bytes())));
  out.push_back(Single("taskgrid_worker_memory_limit_bytes", "The --memory-limit (0: none).",
                       MetricType::Gauge, static_cast<double>(memory_limit_)));
  out.push_back(Single("taskgrid_worker_memory_spilled_bytes", "Bytes of results spilled to disk.",
                       MetricType::Gauge, static_cast<double>(store_->spilled_bytes())));
  out.push_back(Single("taskgrid_worker_paused",
                       "1 while memory is short and no new task starts, else 0.",
                       MetricType::Gauge, read(stats_->paused)));
  if (const SpillStore* spill = store_->spill_store()) {
    const SpillStore::Counters& c = spill->counters();
    // "out" = written to disk (spill), "in" = read back (unspill).
    out.push_back(ByDirection("taskgrid_worker_spill_bytes_total",
                              "Encoded result bytes written to / read back from disk.",
                              read(c.bytes_in), read(c.bytes_out), "in", "out"));
    out.push_back(ByDirection("taskgrid_worker_spills_total",
                              "Results written to / read back from disk.", read(c.count_in),
                              read(c.count_out), "in", "out"));
    out.push_back(ByDirection("taskgrid_worker_spill_seconds_total",
                              "Time spent writing / reading spilled results.",
                              read(c.nanos_in) * 1e-9, read(c.nanos_out) * 1e-9, "in", "out"));
    out.push_back(ByDirection("taskgrid_worker_spill_failures_total",
                              "Spill files that could not be written / read back intact.",
                              read(c.read_failures), read(c.write_failures), "in", "out"));
  }
  out.push_back(Single("taskgrid_worker_memory_process_bytes", "Resident memory of the process.",
                       MetricType::Gauge, static_cast<double>(ProcessResidentBytes())));
  out.push_back(Single("taskgrid_worker_memory_buffer_pool_bytes",
                       "Idle large buffers kept for reuse by transfers and tasks.",
                       MetricType::Gauge, static_cast<double>(BufferPool::Global().idle_bytes())));
  out.push_back(Single("taskgrid_worker_keys", "Keys held, in memory or spilled.", MetricType::Gauge,
                       static_cast<double>(store_->size())));
  out.push_back(ByDirection("taskgrid_worker_transfer_bytes_total",
                            "Result bytes received from / sent to peers and clients.",
                            read(stats_->transfer_bytes_in), read(stats_->transfer_bytes_out)));
  out.push_back(ByDirection("taskgrid_worker_transfers_total",
                            "Results received from / sent to peers and clients.",
                            read(stats_->transfers_in), read(stats_->transfers_out)));
  out.push_back(Single("taskgrid_worker_fetch_failures_total",
                       "Dependencies that no listed holder could provide.", MetricType::Counter,
                       read(stats_->fetch_failures)));
  out.push_back(Single("taskgrid_worker_fetch_retries_total",
                       "Dependencies asked again of a holder after a broken or stalled transfer.",
                       MetricType::Counter, read(stats_->fetch_retries)));

  MetricFamily durations{"taskgrid_worker_task_duration_seconds",
                         "Time spent running task functions, by function.",
                         MetricType::Histogram,
                         {}};
  const std::vector<double>& bounds = DurationHistogram::Bounds();
  for (size_t i = 0; i < functions_->size() && i < stats_->num_functions; ++i) {
    const DurationHistogram& h = stats_->task_durations[i];
    if (h.count() == 0) continue;  // keep the page short: only functions that ran
    ClientMetric m;
    m.label.push_back({"function", functions_->at(static_cast<int>(i)).qualified_name});
    std::vector<uint64_t> counts = h.BucketCounts();
    uint64_t cumulative = 0;
    for (size_t b = 0; b < counts.size(); ++b) {
      cumulative += counts[b];
      m.histogram.bucket.push_back(
          {cumulative, b < bounds.size() ? bounds[b] : std::numeric_limits<double>::infinity()});
    }
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = h.sum_seconds();
    durations.metric.push_back(std::move(m));
  }
  out.push_back(std::move(durations));
  // gRPC server calls by method and code (ConfigureServerBuilder counts them).
  for (MetricFamily& f : GrpcServerMetricsRegistry()->Collect()) out.push_back(std::move(f));
  return out;
}

}  // namespace taskgrid::worker
