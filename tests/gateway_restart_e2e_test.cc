// End-to-end tests of the gateway's restart guarantee: jobs live in a
// durable scheduler session (--session-name), so a SIGKILLed gateway
// process loses nothing the scheduler holds. A new gateway with the same
// session name lists the jobs, reports their status, serves their
// results (also of a job that finished while no gateway ran), and its
// deletes and TTL expiry release exactly the jobs' keys on the scheduler.
// Real scheduler, workers and gateway binaries on 127.0.0.1.

#include <httplib.h>
#include <signal.h>

#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/grpc_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "taskgrid/v1/scheduler.grpc.pb.h"
#include "tests/local_cluster.h"
#include "tests/e2e_util.h"
#include "tests/gateway_rest.h"
#include "tests/local_gateway.h"

namespace taskgrid {
namespace {

using json = nlohmann::json;
using testing::LocalCluster;
using testing::LocalGateway;
using testing::GetJson;
using testing::JobIn;
using testing::SubmitJob;
using testing::WaitUntil;

class GatewayRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status s = cluster_.Start();
    ASSERT_TRUE(s.ok()) << s << cluster_.Logs();
    scheduler_ = v1::Scheduler::NewStub(MakeChannel(cluster_.scheduler_address()));
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << cluster_.Logs();
      for (auto& g : gateways_) std::cerr << "--- gateway\n" << g->process().Stderr();
    }
  }
  // A gateway on the tests' shared durable session, ready (session open,
  // jobs restored).
  LocalGateway& StartGateway(std::vector<std::string> extra = {}) {
    extra.insert(extra.end(), {"--session-name", "restart-test"});
    gateways_.push_back(
        std::make_unique<LocalGateway>(cluster_.scheduler_address(), cluster_.dir(), extra));
    LocalGateway& gw = *gateways_.back();
    EXPECT_TRUE(gw.ok()) << gw.process().Stderr();
    EXPECT_TRUE(WaitUntil([&] {
      httplib::Result r = gw.Http()->Get("/readyz");
      return r && r->status == 200;
    })) << gw.process().Stderr();
    return gw;
  }
  static void Kill(LocalGateway& gw) {
    gw.process().Signal(SIGKILL);
    ASSERT_TRUE(gw.process().Wait(std::chrono::seconds(10)).has_value());
  }
  static std::string Submit(httplib::Client& http, const json& body) {
    return SubmitJob(http, body.dump());
  }
  // Keys in memory on the cluster, by the scheduler's own account.
  std::set<std::string> KeysInMemory() {
    grpc::ClientContext ctx;
    v1::WhoHasResponse resp;
    grpc::Status s = scheduler_->WhoHas(&ctx, v1::WhoHasRequest(), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::set<std::string> keys;
    for (const auto& loc : resp.locations()) keys.insert(loc.key());
    return keys;
  }

  LocalCluster cluster_;
  std::unique_ptr<v1::Scheduler::Stub> scheduler_;
  std::vector<std::unique_ptr<LocalGateway>> gateways_;
};

TEST_F(GatewayRestartTest, FinishedJobsSurviveASigkilledGateway) {
  LocalGateway& first = StartGateway();
  auto http = first.Http();
  const std::string kept = Submit(*http, {{"name", "kept"},
                                          {"tasks",
                                           {{"a", {{"fn", "inc"}, {"args", {1}}}},
                                            {"b", {{"fn", "mul"}, {"args", {{{"ref", "a"}}, 10}}}},
                                            {"arr", {{"fn", "arange"}, {"args", {4}}}}}},
                                          {"keys", {"b", "arr"}}});
  const std::string dropped =
      Submit(*http, {{"name", "dropped"}, {"tasks", {{"c", {{"fn", "inc"}, {"args", {41}}}}}}});
  ASSERT_TRUE(WaitUntil([&] { return JobIn(*http, kept, "finished"); }));
  ASSERT_TRUE(WaitUntil([&] { return JobIn(*http, dropped, "finished"); }));
  EXPECT_EQ(KeysInMemory(), (std::set<std::string>{"b", "arr", "c"}));

  Kill(first);
  // The scheduler keeps the session's keys while no gateway holds it.
  EXPECT_EQ(KeysInMemory(), (std::set<std::string>{"b", "arr", "c"}));

  LocalGateway& second = StartGateway();
  http = second.Http();
  json list = GetJson(*http, "/v1/jobs");
  std::set<std::string> names;
  for (const json& j : list["jobs"]) names.insert(j["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"kept", "dropped"}));
  json job = GetJson(*http, "/v1/jobs/" + kept);
  EXPECT_EQ(job["state"], "finished") << job.dump();
  EXPECT_EQ(job["keys"]["b"]["state"], "memory");
  EXPECT_EQ(GetJson(*http, "/v1/jobs/" + kept + "/results/b"), json(20));
  httplib::Result r = http->Get(("/v1/jobs/" + kept + "/results/arr").c_str());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  ASSERT_EQ(r->body.size(), 4 * sizeof(int64_t));
  EXPECT_EQ(reinterpret_cast<const int64_t*>(r->body.data())[3], 3);
  EXPECT_EQ(GetJson(*http, "/v1/jobs/" + dropped + "/results/c"), json(42));

  // Deleting a restored job releases exactly its keys.
  r = http->Delete(("/v1/jobs/" + dropped).c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(WaitUntil([&] { return KeysInMemory() == std::set<std::string>{"b", "arr"}; }));

  // A third gateway no longer sees the deleted job, still the kept one.
  Kill(second);
  LocalGateway& third = StartGateway();
  http = third.Http();
  int status = 0;
  GetJson(*http, "/v1/jobs/" + dropped, &status);
  EXPECT_EQ(status, 404);
  EXPECT_EQ(GetJson(*http, "/v1/jobs/" + kept + "/results/b"), json(20));
}

TEST_F(GatewayRestartTest, JobFinishingWhileNoGatewayRunsIsServedByTheNextAndExpires) {
  // A short TTL so the expiry is seen; it counts from when the job is
  // seen finished.
  LocalGateway& first = StartGateway({"--job-ttl", "4"});
  auto http = first.Http();
  const std::string id = Submit(
      *http, {{"name", "slow"}, {"tasks", {{"nap", {{"fn", "sleep"}, {"args", {1.5, 99}}}}}}});
  ASSERT_FALSE(id.empty());
  EXPECT_FALSE(JobIn(*http, id, "finished"));
  Kill(first);
  // The job finishes with no gateway around.
  ASSERT_TRUE(WaitUntil([&] { return KeysInMemory().count("nap") == 1; }));

  LocalGateway& second = StartGateway();
  http = second.Http();
  ASSERT_TRUE(WaitUntil([&] { return JobIn(*http, id, "finished"); }))
      << GetJson(*http, "/v1/jobs/" + id).dump();
  EXPECT_EQ(GetJson(*http, "/v1/jobs/" + id + "/results/nap"), json(99));
  // The TTL the job was submitted with still applies: it expires and its
  // key is released on the scheduler.
  int status = 0;
  EXPECT_TRUE(WaitUntil([&] {
    GetJson(*http, "/v1/jobs/" + id, &status);
    return status == 404;
  }));
  EXPECT_TRUE(WaitUntil([&] { return KeysInMemory().empty(); }));
}

}  // namespace
}  // namespace taskgrid
