#include "services/worker/worker_options.h"

#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace taskgrid::worker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<WorkerOptions> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "taskgrid-worker");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return ParseWorkerOptions(static_cast<int>(argv.size()), argv.data());
}

class WorkerOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"TASKGRID_SCHEDULER_ADDRESS", "TASKGRID_NTHREADS", "TASKGRID_PLUGIN",
                          "TASKGRID_MEMORY_LIMIT", "TASKGRID_PORT", "TASKGRID_ALLOW_EXEC",
                          "TASKGRID_PYTHON", "TASKGRID_NO_PYTHON"}) {
      unsetenv(v);
    }
  }
};

TEST_F(WorkerOptionsTest, Defaults) {
  absl::StatusOr<WorkerOptions> o = Parse({});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->scheduler_address, "127.0.0.1:8786");
  EXPECT_GE(o->nthreads, 1);
  // A share of the machine: this worker's threads' share of the cores.
  EXPECT_GT(o->memory_limit, 0);
  EXPECT_LE(o->memory_limit, PhysicalMemoryBytes());
  EXPECT_DOUBLE_EQ(o->memory_target_fraction, 0.6);
  EXPECT_DOUBLE_EQ(o->memory_spill_fraction, 0.7);
  EXPECT_DOUBLE_EQ(o->memory_pause_fraction, 0.8);
  EXPECT_DOUBLE_EQ(o->memory_terminate_fraction, 0.95);
  EXPECT_DOUBLE_EQ(o->close_timeout_seconds, 10);
  EXPECT_EQ(o->host, "127.0.0.1");
  EXPECT_EQ(o->port, 0);
  EXPECT_EQ(o->metrics_port, 0);
  EXPECT_TRUE(o->plugins.empty());
  EXPECT_FALSE(o->allow_exec);
  EXPECT_FALSE(o->require_python);
  EXPECT_FALSE(o->no_python);
}

TEST_F(WorkerOptionsTest, PythonRuntimeFlags) {
  EXPECT_TRUE(Parse({"--python"})->require_python);
  EXPECT_TRUE(Parse({"--no-python"})->no_python);
  absl::StatusOr<WorkerOptions> both = Parse({"--python", "--no-python"});
  ASSERT_FALSE(both.ok());
  EXPECT_THAT(both.status().message(), HasSubstr("--no-python"));
}

TEST_F(WorkerOptionsTest, FlagsAndPositional) {
  absl::StatusOr<WorkerOptions> o =
      Parse({"10.0.0.5:9000", "--nthreads", "3", "--memory-limit=2GiB", "--resources",
             "GPU=1,MEMORY=2e9", "--name", "w1", "--host", "0.0.0.0", "--port", "7000",
             "--metrics-port", "7001", "--local-directory", "/tmp/x", "--plugin", "a.so",
             "--plugin", "b.so", "--allow-exec"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->scheduler_address, "10.0.0.5:9000");
  EXPECT_EQ(o->nthreads, 3);
  EXPECT_EQ(o->memory_limit, int64_t{2} << 30);
  EXPECT_EQ(o->resources.at("GPU"), 1.0);
  EXPECT_EQ(o->resources.at("MEMORY"), 2e9);
  EXPECT_EQ(o->name, "w1");
  EXPECT_EQ(o->host, "0.0.0.0");
  EXPECT_EQ(o->port, 7000);
  EXPECT_EQ(o->metrics_port, 7001);
  EXPECT_EQ(o->local_directory, "/tmp/x");
  EXPECT_THAT(o->plugins, ElementsAre("a.so", "b.so"));
  EXPECT_TRUE(o->allow_exec);
}

TEST_F(WorkerOptionsTest, Environment) {
  setenv("TASKGRID_SCHEDULER_ADDRESS", "sched:1234", 1);
  setenv("TASKGRID_NTHREADS", "5", 1);
  setenv("TASKGRID_PLUGIN", "x.so,y.so", 1);
  absl::StatusOr<WorkerOptions> o = Parse({});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->scheduler_address, "sched:1234");
  EXPECT_EQ(o->nthreads, 5);
  EXPECT_THAT(o->plugins, ElementsAre("x.so", "y.so"));
  // The command line wins over the environment.
  o = Parse({"--nthreads", "2"});
  EXPECT_EQ(o->nthreads, 2);
  SetUp();
}

TEST_F(WorkerOptionsTest, MemoryFractionsAndCloseTimeout) {
  absl::StatusOr<WorkerOptions> o =
      Parse({"--memory-target-fraction", "0.5", "--memory-spill-fraction", "false",
             "--memory-pause-fraction", "0", "--memory-terminate-fraction=1",
             "--close-timeout", "2500ms"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_DOUBLE_EQ(o->memory_target_fraction, 0.5);
  EXPECT_DOUBLE_EQ(o->memory_spill_fraction, 0);
  EXPECT_DOUBLE_EQ(o->memory_pause_fraction, 0);
  EXPECT_DOUBLE_EQ(o->memory_terminate_fraction, 1);
  EXPECT_DOUBLE_EQ(o->close_timeout_seconds, 2.5);
  o = Parse({"--close-timeout", "3"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_DOUBLE_EQ(o->close_timeout_seconds, 3);

  EXPECT_THAT(Parse({"--memory-spill-fraction", "1.5"}).status().message(),
              HasSubstr("--memory-spill-fraction"));
  EXPECT_THAT(Parse({"--memory-target-fraction", "lots"}).status().message(),
              HasSubstr("'lots' is not a fraction"));
  EXPECT_THAT(Parse({"--close-timeout", "soon"}).status().message(),
              HasSubstr("--close-timeout"));
}

TEST_F(WorkerOptionsTest, FetchStallTimeout) {
  EXPECT_DOUBLE_EQ(Parse({})->fetch_stall_timeout_seconds, 30);
  absl::StatusOr<WorkerOptions> o = Parse({"--fetch-stall-timeout", "500ms"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_DOUBLE_EQ(o->fetch_stall_timeout_seconds, 0.5);
  EXPECT_THAT(Parse({"--fetch-stall-timeout", "0"}).status().message(),
              HasSubstr("--fetch-stall-timeout: '0' is not between 1ms and 1h"));
  EXPECT_THAT(Parse({"--fetch-stall-timeout", "later"}).status().message(),
              HasSubstr("--fetch-stall-timeout: 'later' is not a duration"));
}

TEST_F(WorkerOptionsTest, ErrorsNameTheFlag) {
  EXPECT_THAT(Parse({"--nthreads", "0"}).status().message(), HasSubstr("--nthreads"));
  EXPECT_THAT(Parse({"--nthreads", "x"}).status().message(), HasSubstr("--nthreads"));
  EXPECT_THAT(Parse({"--memory-limit", "lots"}).status().message(), HasSubstr("--memory-limit"));
  EXPECT_THAT(Parse({"--port", "70000"}).status().message(), HasSubstr("--port"));
  EXPECT_THAT(Parse({"--contact-address", "nohost"}).status().message(),
              HasSubstr("--contact-address"));
  EXPECT_THAT(Parse({"--contact-address", "h:0"}).status().message(),
              HasSubstr("--contact-address"));
  EXPECT_THAT(Parse({"--resources", "GPU=-1"}).status().message(), HasSubstr("--resources"));
  EXPECT_THAT(Parse({"--bogus"}).status().message(), HasSubstr("--bogus"));
  EXPECT_THAT(Parse({"a:1", "b:2"}).status().message(), HasSubstr("SCHEDULER_ADDRESS"));
}

TEST_F(WorkerOptionsTest, ContactAddressIsAdvertisedAsGiven) {
  auto o = Parse({"--contact-address", "proxy.example:9000"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->contact_address, "proxy.example:9000");
  EXPECT_EQ(Parse({})->contact_address, "");
}

TEST_F(WorkerOptionsTest, AdvertisedHost) {
  EXPECT_EQ(AdvertisedHost("10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(AdvertisedHost("worker-0.svc"), "worker-0.svc");
  std::string wildcard = AdvertisedHost("0.0.0.0");
  EXPECT_FALSE(wildcard.empty());
  EXPECT_NE(wildcard, "0.0.0.0");
}

TEST_F(WorkerOptionsTest, IsIpLiteral) {
  EXPECT_TRUE(IsIpLiteral("127.0.0.1"));
  EXPECT_TRUE(IsIpLiteral("0.0.0.0"));
  EXPECT_TRUE(IsIpLiteral("::1"));
  EXPECT_FALSE(IsIpLiteral("localhost"));
  EXPECT_FALSE(IsIpLiteral("worker-0.svc"));
  EXPECT_FALSE(IsIpLiteral(""));
}

TEST_F(WorkerOptionsTest, JoinHostPort) {
  EXPECT_EQ(JoinHostPort("10.0.0.1", 80), "10.0.0.1:80");
  EXPECT_EQ(JoinHostPort("::1", 80), "[::1]:80");
  EXPECT_EQ(JoinHostPort("[::1]", 80), "[::1]:80");
  EXPECT_EQ(JoinHostPort("worker-0", 0), "worker-0:0");
}

}  // namespace
}  // namespace taskgrid::worker
