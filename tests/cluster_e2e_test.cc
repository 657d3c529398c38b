// End-to-end tests on a real cluster: the taskgrid-scheduler binary and two
// taskgrid-worker processes on 127.0.0.1 (ephemeral ports), driven through
// the C++ client. Faults are real: workers are killed with SIGKILL.

#include <signal.h>

#include <numeric>
#include <thread>

#include "clients/cpp/client.h"
#include "common/value_proto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/local_cluster.h"

namespace taskgrid {
namespace {

using ::testing::HasSubstr;
using testing::LocalCluster;

v1::TaskSpec Spec(const std::string& key, const std::string& fn, std::vector<Value> args,
                  std::vector<std::string> workers = {});

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status s = cluster_.Start();
    ASSERT_TRUE(s.ok()) << s << cluster_.Logs();
    auto c = Client::Connect(cluster_.scheduler_address());
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::move(*c);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << cluster_.Logs();
  }

  LocalCluster cluster_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClusterTest, SubmitMapAndGather) {
  auto f = client_->Submit("inc", {Value::Int(41)});
  ASSERT_TRUE(f.ok()) << f.status();
  auto v = f->Result(std::chrono::seconds(30));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->as_int(), 42);

  std::vector<Value> items;
  for (int i = 0; i < 200; ++i) items.push_back(Value::Int(i));
  auto futures = client_->Map("inc", items);
  ASSERT_TRUE(futures.ok()) << futures.status();
  auto values = client_->Gather(*futures);
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_EQ(values->size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ((*values)[i].as_int(), i + 1);
  // Both workers took part.
  auto s0 = cluster_.WorkerStatus(0);
  auto s1 = cluster_.WorkerStatus(1);
  ASSERT_TRUE(s0.ok() && s1.ok());
  EXPECT_GT(s0->tasks_completed(), 0);
  EXPECT_GT(s1->tasks_completed(), 0);
}

TEST_F(ClusterTest, FanInAcrossWorkersMovesDataWorkerToWorker) {
  const int64_t n = 200000;  // 1.6 MB per array: more than one 1 MiB chunk
  std::vector<v1::TaskSpec> graph = {
      Spec("a", "arange", {Value::Int(n)}, {cluster_.worker_address(0)}),
      Spec("b", "arange", {Value::Int(n)}, {cluster_.worker_address(1)}),
      Spec("c", "array_add", {Value::Ref("a"), Value::Ref("b")}),
      Spec("total", "array_sum", {Value::Ref("c")}),
  };
  auto values = client_->Get(graph, {"c", "total"});
  ASSERT_TRUE(values.ok()) << values.status();
  const NDArray& c = (*values)[0].as_array();
  ASSERT_EQ(c.NumElements(), n);
  const int64_t* data = c.As<int64_t>();
  for (int64_t i = 0; i < n; i += 997) ASSERT_EQ(data[i], 2 * i);
  EXPECT_EQ((*values)[1].as_number(), static_cast<double>(n * (n - 1)));
  // One of the inputs crossed from one worker to the other, directly.
  auto s0 = cluster_.WorkerStatus(0);
  auto s1 = cluster_.WorkerStatus(1);
  ASSERT_TRUE(s0.ok() && s1.ok());
  EXPECT_GE(s0->transfers_in() + s1->transfers_in(), 1);
  EXPECT_GE(s0->transfer_bytes_in() + s1->transfer_bytes_in(), n * 8);
}

TEST_F(ClusterTest, TreeReductionGivesTheRightAnswer) {
  std::vector<v1::TaskSpec> graph;
  std::vector<std::string> level;
  const int leaves = 1024;
  for (int i = 0; i < leaves; ++i) {
    graph.push_back(Spec("leaf-" + std::to_string(i), "inc", {Value::Int(i)}));
    level.push_back("leaf-" + std::to_string(i));
  }
  int depth = 0;
  while (level.size() > 1) {
    std::vector<std::string> next;
    for (size_t i = 0; i < level.size(); i += 2) {
      std::string key = "add-" + std::to_string(depth) + "-" + std::to_string(i / 2);
      graph.push_back(Spec(key, "add", {Value::Ref(level[i]), Value::Ref(level[i + 1])}));
      next.push_back(key);
    }
    level = std::move(next);
    ++depth;
  }
  auto values = client_->Get(graph, {level[0]});
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ((*values)[0].as_int(), static_cast<int64_t>(leaves) * (leaves + 1) / 2);
}

TEST_F(ClusterTest, ErredTaskReturnsItsMessageAndTheClusterKeepsWorking) {
  auto bad = client_->Submit("fail", {Value::String("disk on fire")});
  ASSERT_TRUE(bad.ok());
  auto r = bad->Result(std::chrono::seconds(30));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("disk on fire"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(bad->key()));
  // A dependent inherits the error.
  auto after = client_->Submit("inc", {bad->AsArg()});
  ASSERT_TRUE(after.ok());
  auto r2 = after->Result(std::chrono::seconds(30));
  ASSERT_FALSE(r2.ok());
  EXPECT_THAT(std::string(r2.status().message()), HasSubstr("disk on fire"));
  // And the cluster still computes.
  auto good = client_->Submit("add", {Value::Int(2), Value::Int(3)});
  ASSERT_TRUE(good.ok());
  auto v = good->Result(std::chrono::seconds(30));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->as_int(), 5);
}

TEST_F(ClusterTest, WorkerKilledMidGraphDoesNotStopTheGraph) {
  std::vector<v1::TaskSpec> graph;
  std::vector<Value> refs;
  const int n = 40;
  for (int i = 0; i < n; ++i) {
    std::string key = "slow-" + std::to_string(i);
    graph.push_back(Spec(key, "sleep", {Value::Double(0.05), Value::Int(i)}));
    refs.push_back(Value::Ref(key));
  }
  graph.push_back(Spec("total", "sum", {Value::List(refs)}));
  auto futures = client_->SubmitGraph(graph, {"total"});
  ASSERT_TRUE(futures.ok()) << futures.status();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  cluster_.worker_process(0).Signal(SIGKILL);
  auto v = (*futures)[0].Result(std::chrono::seconds(60));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->as_int(), n * (n - 1) / 2);
  ASSERT_TRUE(cluster_.WaitForWorkers(1, std::chrono::seconds(10)).ok());
}

TEST_F(ClusterTest, BadInputGetsAClearErrorAndTheSchedulerKeepsServing) {
  auto expect_rejected = [&](std::vector<v1::TaskSpec> graph, std::vector<std::string> keys,
                             const std::string& needle) {
    auto r = client_->SubmitGraph(std::move(graph), keys);
    ASSERT_FALSE(r.ok()) << "accepted a graph that should fail with " << needle;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(needle));
  };
  expect_rejected({Spec("x", "no_such_function", {})}, {"x"}, "unknown function");
  expect_rejected({Spec("x", "inc", {Value::Ref("y")}), Spec("y", "inc", {Value::Ref("x")})},
                  {"x"}, "cycle");
  expect_rejected({Spec("x", "inc", {Value::Ref("nowhere")})}, {"x"}, "missing key");

  // An oversize message: the session that sent it gets a clear error...
  auto big = client_->Submit("len", {Value::Bytes(Blob::FromString(std::string(80 << 20, 'x')))});
  absl::Status big_status = big.ok() ? big->Result(std::chrono::seconds(30)).status() : big.status();
  ASSERT_FALSE(big_status.ok());
  // ...and the scheduler still serves everyone.
  auto other = Client::Connect(cluster_.scheduler_address());
  ASSERT_TRUE(other.ok()) << other.status();
  auto f = (*other)->Submit("inc", {Value::Int(1)});
  ASSERT_TRUE(f.ok()) << f.status();
  auto v = f->Result(std::chrono::seconds(30));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->as_int(), 2);
  EXPECT_TRUE(cluster_.scheduler_process().running());
}

TEST_F(ClusterTest, WorkerExitsCleanlyOnSigterm) {
  cluster_.worker_process(1).Signal(SIGTERM);
  auto code = cluster_.worker_process(1).Wait(std::chrono::seconds(10));
  ASSERT_TRUE(code.has_value()) << "worker did not exit after SIGTERM";
  EXPECT_EQ(*code, 0);
  ASSERT_TRUE(cluster_.WaitForWorkers(1, std::chrono::seconds(10)).ok());
  auto f = client_->Submit("inc", {Value::Int(9)});
  ASSERT_TRUE(f.ok());
  auto v = f->Result(std::chrono::seconds(30));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->as_int(), 10);
}

TEST_F(ClusterTest, ReleasedResultsAreFreedOnWorkers) {
  {
    auto f = client_->Submit("arange", {Value::Int(1000)});
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->Result(std::chrono::seconds(30)).ok());
    auto info = cluster_.ClusterInfo();
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->tasks_by_state().at("memory"), 1);
  }  // the last future goes away: the client releases the key
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int64_t held = -1;
  while (std::chrono::steady_clock::now() < deadline) {
    auto s0 = cluster_.WorkerStatus(0);
    auto s1 = cluster_.WorkerStatus(1);
    ASSERT_TRUE(s0.ok() && s1.ok());
    held = s0->keys_held() + s1->keys_held();
    if (held == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(held, 0);
  auto info = cluster_.ClusterInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->tasks_by_state().count("memory"), 0u);
}

v1::TaskSpec Spec(const std::string& key, const std::string& fn, std::vector<Value> args,
                  std::vector<std::string> workers) {
  v1::TaskSpec s;
  s.set_key(key);
  s.set_function(fn);
  for (const auto& a : args) ValueToProto(a, s.add_args());
  for (auto& w : workers) s.add_workers(w);
  return s;
}

}  // namespace
}  // namespace taskgrid
