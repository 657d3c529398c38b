// End-to-end tests of the cluster data operations on real binaries:
//  - scatter puts values on workers straight from the client, a task uses
//    them as inputs, replicate copies them to every worker, and after the
//    worker the client scattered to is SIGKILLed every value still comes
//    back right (the client asks the scheduler who else holds it);
//    scattered data whose only holder dies errs as "scattered data lost";
//  - rebalance spreads data piled on one worker evenly over three;
//  - the only holder of scattered data stalls (SIGSTOP, shorter than the
//    scheduler's worker timeout) while another worker fetches from it:
//    the fetch is retried, then reported, yet the data is not declared
//    lost; once the holder resumes the consumer gets the right value.

#include <signal.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cpp/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e_util.h"
#include "tests/local_cluster.h"

namespace taskgrid {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using testing::LocalCluster;

LocalCluster::Options ThreeWorkers() {
  LocalCluster::Options options;
  options.workers = 3;
  options.worker_args = {"--no-python"};
  return options;
}

// Distinct, recognisable values of a few hundred KB (several chunks for
// the larger ones).
std::vector<Value> Values(int n, const std::string& tag) {
  std::vector<Value> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(Value::String(absl::StrCat(tag, "-", i, "-", std::string(100000 * (i % 3 + 1), 'a' + i % 26))));
  }
  return out;
}

std::map<std::string, int> KeysHeldByAddress(LocalCluster& cluster) {
  std::map<std::string, int> out;
  auto info = cluster.ClusterInfo();
  EXPECT_TRUE(info.ok()) << info.status();
  if (!info.ok()) return out;
  for (const v1::WorkerInfo& w : info->workers()) out[w.address()] = w.keys_held();
  return out;
}

TEST(DataOpsTest, ScatteredValuesSurviveAKilledHolderOnceReplicated) {
  LocalCluster cluster(ThreeWorkers());
  absl::Status started = cluster.Start();
  ASSERT_TRUE(started.ok()) << started << cluster.Logs();
  auto client = Client::Connect(cluster.scheduler_address());
  ASSERT_TRUE(client.ok()) << client.status();
  const std::string first = cluster.worker_address(0);

  // Everything on the first worker, straight from the client.
  const std::vector<Value> values = Values(8, "v");
  ScatterOptions on_first;
  on_first.workers = {first};
  auto futures = (*client)->Scatter(values, on_first);
  ASSERT_TRUE(futures.ok()) << futures.status() << cluster.Logs();
  ASSERT_EQ(futures->size(), values.size());
  for (const Future& f : *futures) {
    EXPECT_EQ(f.status(), "finished") << f.key();
    EXPECT_EQ(f.Info().workers, std::vector<std::string>{first}) << f.key();
  }
  // The same data scattered again names the same keys (content hashes).
  auto again = (*client)->Scatter({values[0]});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)[0].key(), (*futures)[0].key());

  // A task takes scattered values as inputs.
  auto joined = (*client)->Submit("concat", {(*futures)[0].AsArg(), (*futures)[1].AsArg()});
  ASSERT_TRUE(joined.ok()) << joined.status();
  auto joined_value = joined->Result(std::chrono::seconds(30));
  ASSERT_TRUE(joined_value.ok()) << joined_value.status() << cluster.Logs();
  EXPECT_EQ(joined_value->as_string(), values[0].as_string() + values[1].as_string());

  // Three replicas of each, on three different workers.
  absl::Status replicated = (*client)->Replicate(*futures, 3);
  ASSERT_TRUE(replicated.ok()) << replicated << cluster.Logs();
  auto who = (*client)->WhoHas(*futures);
  ASSERT_TRUE(who.ok()) << who.status();
  for (const Future& f : *futures) {
    EXPECT_THAT((*who)[f.key()], UnorderedElementsAre(cluster.worker_address(0),
                                                      cluster.worker_address(1),
                                                      cluster.worker_address(2)))
        << f.key();
  }

  // The holder the client knows dies: every value still comes back right.
  cluster.worker_process(0).Signal(SIGKILL);
  ASSERT_TRUE(cluster.worker_process(0).Wait(std::chrono::seconds(10)).has_value());
  ASSERT_TRUE(cluster.WaitForWorkers(2, std::chrono::seconds(20)).ok()) << cluster.Logs();
  auto gathered = (*client)->Gather(*futures);
  ASSERT_TRUE(gathered.ok()) << gathered.status() << cluster.Logs();
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ((*gathered)[i].as_string(), values[i].as_string()) << i;
  }

  // Data scattered to one worker only is gone with it, and says so.
  ScatterOptions on_second;
  on_second.workers = {cluster.worker_address(1)};
  auto lonely = (*client)->Scatter({Value::String("only here")}, on_second);
  ASSERT_TRUE(lonely.ok()) << lonely.status();
  cluster.worker_process(1).Signal(SIGKILL);
  ASSERT_TRUE(cluster.WaitForWorkers(1, std::chrono::seconds(20)).ok()) << cluster.Logs();
  // The future was done (in memory) already; its error event follows.
  for (int attempt = 0; attempt < 200 && (*lonely)[0].status() != "error"; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ((*lonely)[0].status(), "error");
  EXPECT_THAT((*lonely)[0].Exception().message(), HasSubstr("scattered data lost"));
  // The replicated values still have their last copy.
  auto last = (*client)->Gather(*futures);
  ASSERT_TRUE(last.ok()) << last.status() << cluster.Logs();
  EXPECT_EQ((*last)[7].as_string(), values[7].as_string());
}

TEST(DataOpsTest, RebalanceSpreadsDataPiledOnOneWorker) {
  LocalCluster cluster(ThreeWorkers());
  absl::Status started = cluster.Start();
  ASSERT_TRUE(started.ok()) << started << cluster.Logs();
  auto client = Client::Connect(cluster.scheduler_address());
  ASSERT_TRUE(client.ok()) << client.status();

  // Twelve values of one size, all on the first worker.
  std::vector<Value> values;
  for (int i = 0; i < 12; ++i) {
    values.push_back(Value::String(absl::StrCat(i < 10 ? "0" : "", i, std::string(200000, 'x'))));
  }
  ScatterOptions on_first;
  on_first.workers = {cluster.worker_address(0)};
  auto futures = (*client)->Scatter(values, on_first);
  ASSERT_TRUE(futures.ok()) << futures.status() << cluster.Logs();
  EXPECT_EQ(KeysHeldByAddress(cluster)[cluster.worker_address(0)], 12);

  auto moved = (*client)->Rebalance();
  ASSERT_TRUE(moved.ok()) << moved.status() << cluster.Logs();
  EXPECT_EQ(*moved, 8);
  std::map<std::string, int> held = KeysHeldByAddress(cluster);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(held[cluster.worker_address(i)], 4) << i;
  // Moved, not copied: one holder each, and the first worker let go of its
  // copies (its own count of keys agrees with the scheduler's).
  auto who = (*client)->WhoHas(*futures);
  ASSERT_TRUE(who.ok()) << who.status();
  for (const Future& f : *futures) EXPECT_EQ((*who)[f.key()].size(), 1u) << f.key();
  // (The free commands travel after the scheduler's answer: wait for them.)
  int64_t first_holds = -1;
  for (int attempt = 0; attempt < 200 && first_holds != 4; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto status = cluster.WorkerStatus(0);
    ASSERT_TRUE(status.ok()) << status.status();
    first_holds = status->keys_held();
  }
  EXPECT_EQ(first_holds, 4) << cluster.Logs();
  // Every value comes back right from wherever it went.
  auto gathered = (*client)->Gather(*futures);
  ASSERT_TRUE(gathered.ok()) << gathered.status() << cluster.Logs();
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ((*gathered)[i].as_string(), values[i].as_string()) << i;
  }
}

TEST(DataOpsTest, StalledOnlyHolderOfScatteredDataIsWaitedForNotDeclaredLost) {
  LocalCluster::Options options;
  options.workers = 2;
  options.worker_args = {"--no-python", "--fetch-stall-timeout", "500ms"};
  LocalCluster cluster(options);
  absl::Status started = cluster.Start();
  ASSERT_TRUE(started.ok()) << started << cluster.Logs();
  auto client = Client::Connect(cluster.scheduler_address());
  ASSERT_TRUE(client.ok()) << client.status();
  const std::string holder = cluster.worker_address(0);

  const Value value = Value::String(std::string(3 << 20, 'q') + "end");
  ScatterOptions on_holder;
  on_holder.workers = {holder};
  auto scattered = (*client)->Scatter({value}, on_holder);
  ASSERT_TRUE(scattered.ok()) << scattered.status() << cluster.Logs();

  // The holder stops; a task on the other worker needs its value.
  cluster.worker_process(0).Signal(SIGSTOP);
  SubmitOptions elsewhere;
  elsewhere.workers = {cluster.worker_address(1)};
  auto consumer = (*client)->Submit("len", {(*scattered)[0].AsArg()}, elsewhere);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  // The consumer's worker gives up on the stalled holder (every attempt
  // timed out) and tells the scheduler, which keeps the holder's copy.
  ASSERT_TRUE(testing::WaitUntil([&] {
    return cluster.Logs().find("could not fetch dependency") != std::string::npos;
  })) << cluster.Logs();
  EXPECT_THAT(cluster.Logs(), HasSubstr("sent nothing for 500ms"));
  EXPECT_EQ((*scattered)[0].status(), "finished");
  cluster.worker_process(0).Signal(SIGCONT);

  auto length = consumer->Result(std::chrono::seconds(60));
  ASSERT_TRUE(length.ok()) << length.status() << cluster.Logs();
  EXPECT_EQ(length->as_int(), static_cast<int64_t>((3 << 20) + 3));
  auto back = (*client)->Gather(*scattered);
  ASSERT_TRUE(back.ok()) << back.status() << cluster.Logs();
  EXPECT_EQ((*back)[0].as_string(), value.as_string());
}

}  // namespace
}  // namespace taskgrid
