// End-to-end test of a client that stops reading its scheduler session:
// a raw gRPC client (generated stubs, no taskgrid client library) opens a
// session, submits thousands of tasks and never reads the events they
// cause. The scheduler (--client-queue-bytes 256KiB) must keep serving a
// normal client all along, disconnect the slow one with a status that says
// why, release what it held, and keep its memory bounded.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "clients/cpp/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"
#include "tests/e2e_util.h"
#include "tests/local_cluster.h"

namespace taskgrid {
namespace {

using ::testing::HasSubstr;
using testing::LocalCluster;
using testing::Spec;
using testing::WaitUntil;

constexpr int kSlowTasks = 20000;
// How much the scheduler's RSS may grow over the test. Under ASan, freed
// memory waits in its quarantine (256 MiB by default) before reuse, and
// under TSan every byte used is shadowed several times over, so the RSS
// says little below that.
#if defined(__SANITIZE_ADDRESS__) || defined(TASKGRID_SANITIZE_THREAD)
constexpr int64_t kRssSlack = int64_t{320} << 20;
#else
constexpr int64_t kRssSlack = int64_t{64} << 20;
#endif

// Resident memory of process `pid` in bytes (0 if unreadable).
int64_t RssBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

int64_t TasksHeld(LocalCluster& cluster) {
  auto info = cluster.ClusterInfo();
  if (!info.ok()) return -1;
  int64_t n = 0;
  for (const auto& [state, count] : info->tasks_by_state()) n += count;
  return n;
}

TEST(SlowClientTest, ClientThatStopsReadingIsDisconnectedWhileOthersAreServed) {
  LocalCluster::Options options;
  options.workers = 2;
  options.scheduler_args = {"--client-queue-bytes", "256KiB"};
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.Start().ok()) << cluster.Logs();
  auto good = Client::Connect(cluster.scheduler_address());
  ASSERT_TRUE(good.ok()) << good.status();
  const pid_t scheduler_pid = cluster.scheduler_process().pid();
  const int64_t rss_before = RssBytes(scheduler_pid);
  ASSERT_GT(rss_before, 0);

  // The normal client submits and waits for one task after another the
  // whole time; every result must come back right.
  std::atomic<bool> stop{false};
  std::atomic<int> good_rounds{0};
  std::atomic<bool> good_failed{false};
  std::string good_error;  // set once, before good_failed
  struct JoinOnExit {
    std::atomic<bool>& stop;
    std::thread thread;
    ~JoinOnExit() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } normal{stop, std::thread([&] {
    for (int i = 0; !stop; ++i) {
      SubmitOptions o;
      o.key = absl::StrCat("good-", i);
      auto f = (*good)->Submit("inc", {Value::Int(i)}, o);
      auto v = f.ok() ? f->Result(std::chrono::seconds(30)) : absl::StatusOr<Value>(f.status());
      if (!v.ok() || v->as_int() != i + 1) {
        good_error = v.ok() ? absl::StrCat(o.key, " = ", v->as_int()) : v.status().ToString();
        good_failed = true;
        return;
      }
      ++good_rounds;
    }
  })};

  // The slow client: no BDP probing and a 64 KiB stream window, so what
  // it does not read backs up in the scheduler rather than in its own
  // receive buffers.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 << 10);
  auto stub = v1::Scheduler::NewStub(grpc::CreateCustomChannel(
      cluster.scheduler_address(), grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext slow_ctx;
  slow_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  auto slow = stub->ClientSession(&slow_ctx);
  v1::ClientBatch hello;
  hello.add_messages()->mutable_hello()->set_name("never-reads");
  hello.mutable_messages(0)->mutable_hello()->set_api_version("v1");
  ASSERT_TRUE(slow->Write(hello));
  constexpr int kPerBatch = 2000;
  for (int first = 0; first < kSlowTasks; first += kPerBatch) {
    v1::ClientBatch batch;
    v1::UpdateGraph* ug = batch.add_messages()->mutable_update_graph();
    ug->set_request_id(first + 1);
    for (int i = first; i < first + kPerBatch; ++i) {
      const std::string key = absl::StrCat("slow-", i);
      *ug->add_tasks() = Spec(key, "inc", {Value::Int(i)});
      ug->add_wanted_keys(key);
    }
    ASSERT_TRUE(slow->Write(batch));
  }

  // Disconnected: the scheduler drops the session (its keys with it).
  ASSERT_TRUE(WaitUntil([&] {
    auto info = cluster.ClusterInfo();
    return info.ok() && info->clients() == 1;
  })) << cluster.Logs();
  // The normal client is served after that too.
  const int rounds_at_disconnect = good_rounds.load();
  EXPECT_TRUE(
      WaitUntil([&] { return good_rounds >= rounds_at_disconnect + 20 || good_failed; }));
  stop = true;
  normal.thread.join();
  EXPECT_EQ(good_error, "");
  EXPECT_GE(good_rounds.load(), rounds_at_disconnect + 20);

  // What the slow client finally reads ends with a status naming why.
  v1::ClientEventBatch events;
  while (slow->Read(&events)) {
  }
  grpc::Status status = slow->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("stopped reading"));
  EXPECT_THAT(status.error_message(), HasSubstr("--client-queue-bytes"));
  EXPECT_THAT(cluster.scheduler_process().Stderr(), HasSubstr("client session disconnected"));

  // Its tasks are released (the normal client's futures are gone too), and
  // the scheduler's memory stayed bounded.
  EXPECT_TRUE(WaitUntil([&] { return TasksHeld(cluster) == 0; })) << TasksHeld(cluster);
  EXPECT_LT(RssBytes(scheduler_pid), rss_before + kRssSlack);
  auto after = (*good)->Map("inc", {Value::Int(1), Value::Int(2), Value::Int(3)});
  ASSERT_TRUE(after.ok()) << after.status();
  auto values = (*good)->Gather(*after);
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ((*values)[2].as_int(), 4);
}

}  // namespace
}  // namespace taskgrid
