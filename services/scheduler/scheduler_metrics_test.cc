// SchedulerMetrics' per-function series, read back from its real /metrics
// endpoint: counted per function, and bounded in number.

#include "services/scheduler/scheduler_metrics.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>

namespace taskgrid::scheduler {
namespace {

TaskDef Task(const std::string& key, const std::string& function) {
  TaskDef d;
  d.key = key;
  d.runtime = "python";
  d.function = function;
  return d;
}

std::string Scrape(const SchedulerMetrics& metrics) {
  httplib::Client http("127.0.0.1", metrics.port());
  auto res = http.Get("/metrics");
  EXPECT_TRUE(res) << "no answer from /metrics";
  return res ? res->body : "";
}

int CountLines(const std::string& text, const std::string& prefix) {
  int n = 0;
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
    if (at == 0 || text[at - 1] == '\n') ++n;
  }
  return n;
}

TEST(SchedulerMetricsTest, SubmittedTasksAreCountedPerFunction) {
  SchedulerMetrics metrics("127.0.0.1:0");
  metrics.Accept(metrics.Prepare(
      {Task("a1", "inc"), Task("a2", "inc"), Task("b1", "add"), Task("a3", "inc")}));
  const std::string text = Scrape(metrics);
  EXPECT_NE(text.find("taskgrid_scheduler_tasks_submitted_total{function=\"python/inc\"} 3"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("taskgrid_scheduler_tasks_submitted_total{function=\"python/add\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("taskgrid_scheduler_graph_update_tasks_sum 4"), std::string::npos);
}

TEST(SchedulerMetricsTest, FunctionSeriesAreBoundedWithTheRestUnderOther) {
  SchedulerMetrics metrics("127.0.0.1:0");
  std::vector<TaskDef> tasks;
  for (int i = 0; i < 1005; ++i) {
    tasks.push_back(Task("k" + std::to_string(i), "made_up_" + std::to_string(i)));
  }
  tasks.push_back(Task("again", "made_up_0"));  // a name seen before keeps its series
  metrics.Accept(metrics.Prepare(tasks));
  const std::string text = Scrape(metrics);
  EXPECT_EQ(CountLines(text, "taskgrid_scheduler_tasks_submitted_total{"), 1001);
  EXPECT_NE(text.find("taskgrid_scheduler_tasks_submitted_total{function=\"(other)\"} 5"),
            std::string::npos)
      << "the 5 names past the bound share one series";
  EXPECT_NE(text.find("taskgrid_scheduler_tasks_submitted_total{function=\"python/made_up_0\"} 2"),
            std::string::npos);
}

}  // namespace
}  // namespace taskgrid::scheduler
