#include "cli/cluster_status.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid::cli {
namespace {

using ::testing::HasSubstr;

TEST(FormatBytesTest, UsesBinaryUnits) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(int64_t{4} << 30), "4.0 GiB");
}

TEST(FormatClusterStatusTest, ShowsWorkersTableAndTaskCounts) {
  v1::ClusterInfoResponse info;
  info.set_scheduler_id("s-1");
  info.set_uptime_seconds(65);
  info.set_clients(1);
  v1::WorkerInfo* b = info.add_workers();
  b->set_address("127.0.0.1:5002");
  b->set_name("worker-1");
  b->set_nthreads(2);
  b->set_memory_bytes(3 << 20);
  b->set_memory_limit(int64_t{4} << 30);
  b->set_processing(1);
  b->set_keys_held(12);
  v1::WorkerInfo* a = info.add_workers();
  a->set_address("127.0.0.1:5001");
  a->set_name("worker-0");
  a->set_nthreads(1);
  (*info.mutable_tasks_by_state())["memory"] = 12;
  (*info.mutable_tasks_by_state())["processing"] = 1;
  (*info.mutable_tasks_by_state())["erred"] = 0;

  EXPECT_EQ(FormatClusterStatus("127.0.0.1:8786", info),
            "scheduler 127.0.0.1:8786  (id s-1, up 1m05s, 1 client)\n"
            "WORKER          NAME      THREADS  MEMORY             PROCESSING  KEYS\n"
            "127.0.0.1:5001  worker-0  1        0 B                0           0\n"
            "127.0.0.1:5002  worker-1  2        3.0 MiB / 4.0 GiB  1           12\n"
            "2 workers, 3 threads\n"
            "tasks: 13 (memory 12, processing 1)\n");
}

TEST(FormatClusterStatusTest, SaysWhenNoWorkersAreConnected) {
  v1::ClusterInfoResponse info;
  info.set_clients(2);
  std::string out = FormatClusterStatus("h:1", info);
  EXPECT_THAT(out, HasSubstr("2 clients"));
  EXPECT_THAT(out, HasSubstr("no workers connected\n"));
  EXPECT_THAT(out, HasSubstr("tasks: 0\n"));
}

}  // namespace
}  // namespace taskgrid::cli
