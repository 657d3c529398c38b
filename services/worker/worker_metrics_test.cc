#include "services/worker/worker_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "services/worker/builtins.h"

namespace taskgrid::worker {
namespace {

using ::testing::HasSubstr;

TEST(WorkerMetricsTest, ExposesCountersFromStatsAndStore) {
  FunctionRegistry functions;
  ASSERT_TRUE(RegisterBuiltins(&functions).ok());
  WorkerStats stats(functions.size());
  DataStore store;
  store.Put("k", Value::Bytes(Blob::Copy(std::string(1000, 'x'))));
  stats.Add(stats.tasks_completed, 5);
  stats.Add(stats.tasks_erred, 2);
  stats.Add(stats.executing, 1);
  stats.Add(stats.transfer_bytes_in, 300);
  stats.Add(stats.transfer_bytes_out, 400);
  stats.task_durations[functions.Find("builtin", "inc")->index].Observe(0.002);
  stats.task_durations[functions.Find("builtin", "inc")->index].Observe(20.0);

  WorkerMetrics metrics(&stats, &store, &functions, 3, 1 << 20);
  std::string text = prometheus::TextSerializer().Serialize(metrics.Collect());
  EXPECT_THAT(text, HasSubstr("taskgrid_worker_tasks_completed_total 5"));
  EXPECT_THAT(text, HasSubstr("taskgrid_worker_tasks_erred_total 2"));
  EXPECT_THAT(text, HasSubstr("taskgrid_worker_executing 1"));
  EXPECT_THAT(text, HasSubstr("taskgrid_worker_threads 3"));
  EXPECT_THAT(text, HasSubstr("taskgrid_worker_memory_managed_bytes " +
                              std::to_string(store.total_bytes())));
  EXPECT_THAT(text, HasSubstr("taskgrid_worker_transfer_bytes_total{direction=\"incoming\"} 300"));
  EXPECT_THAT(text, HasSubstr("taskgrid_worker_transfer_bytes_total{direction=\"outgoing\"} 400"));
  EXPECT_THAT(text, HasSubstr("# TYPE taskgrid_worker_task_duration_seconds histogram"));
  EXPECT_THAT(text, HasSubstr(
                        "taskgrid_worker_task_duration_seconds_count{function=\"builtin/inc\"} 2"));
  EXPECT_THAT(text, HasSubstr("taskgrid_worker_task_duration_seconds_bucket{function=\"builtin/"
                              "inc\",le=\"0.005\"} 1"));
  EXPECT_THAT(text, HasSubstr("taskgrid_worker_task_duration_seconds_bucket{function=\"builtin/"
                              "inc\",le=\"+Inf\"} 2"));
  // Functions that never ran are left out.
  EXPECT_THAT(text, ::testing::Not(HasSubstr("function=\"builtin/add\"")));
  EXPECT_GT(ProcessResidentBytes(), 0);
}

}  // namespace
}  // namespace taskgrid::worker
