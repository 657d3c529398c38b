// Adversarial graphs end to end (issue 9, bad input): a real scheduler, two
// workers and a gateway on 127.0.0.1. Bad graphs go in through the real C++
// client and the gateway's REST API; each must come back as an error that
// names the problem, while a graph submitted before them still completes
// with the right value and every service keeps running. Legitimate extreme
// graphs (a chain of 10^4 tasks, a fan-in of 2000) must complete.

#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cpp/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e_util.h"
#include "tests/gateway_rest.h"
#include "tests/local_cluster.h"
#include "tests/local_gateway.h"

namespace taskgrid {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using testing::GetJson;
using testing::JobIn;
using testing::LocalCluster;
using testing::LocalGateway;
using testing::Spec;
using testing::SubmitJob;
using testing::WaitUntil;

constexpr auto kConnect = std::chrono::seconds(20);
constexpr auto kWait = std::chrono::seconds(60);

// One cluster and gateway for the whole suite: starting them is the
// slowest part, and every test must leave them healthy anyway.
class AdversarialGraphsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    LocalCluster::Options options;
    options.workers = 2;
    cluster_ = new LocalCluster(options);
    absl::Status s = cluster_->Start();
    ASSERT_TRUE(s.ok()) << s << cluster_->Logs();
    // A small request limit, so the oversize body is cheap to send.
    gateway_ = new LocalGateway(cluster_->scheduler_address(), cluster_->dir(),
                                {"--max-request-bytes", "4MiB"});
    ASSERT_TRUE(gateway_->ok()) << gateway_->process().Stderr();
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete cluster_;
    gateway_ = nullptr;
    cluster_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    ASSERT_NE(gateway_, nullptr);
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << cluster_->Logs() << "--- gateway\n" << gateway_->process().Stderr();
    }
  }

  static std::unique_ptr<Client> Connect() {
    absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(cluster_->scheduler_address(),
                                                                kConnect);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }

  // The services are alive and answer.
  static void ExpectServicesUp() {
    EXPECT_TRUE(cluster_->scheduler_process().running()) << cluster_->Logs();
    for (size_t i = 0; i < cluster_->num_workers(); ++i) {
      EXPECT_TRUE(cluster_->worker_process(i).running()) << cluster_->Logs();
    }
    EXPECT_TRUE(gateway_->process().running()) << gateway_->process().Stderr();
    absl::StatusOr<v1::ClusterInfoResponse> info = cluster_->ClusterInfo();
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->workers_size(), 2);
    int status = 0;
    GetJson(*gateway_->Http(), "/healthz", &status);
    EXPECT_EQ(status, 200);
  }

  static LocalCluster* cluster_;
  static LocalGateway* gateway_;
};

LocalCluster* AdversarialGraphsTest::cluster_ = nullptr;
LocalGateway* AdversarialGraphsTest::gateway_ = nullptr;

v1::TaskSpec Ref(const std::string& key, const std::string& fn,
                 const std::vector<std::string>& refs) {
  std::vector<Value> args;
  for (const std::string& r : refs) args.push_back(Value::Ref(r));
  return Spec(key, fn, args);
}

// Expects SubmitGraph to fail with InvalidArgument containing `msg`.
void ExpectRejected(Client& client, std::vector<v1::TaskSpec> graph,
                    const std::vector<std::string>& keys, const std::string& msg) {
  absl::StatusOr<std::vector<Future>> r = client.SubmitGraph(std::move(graph), keys);
  ASSERT_FALSE(r.ok()) << "accepted; expected: " << msg;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(msg));
}

TEST_F(AdversarialGraphsTest, CppClientGetsClearErrorsAndEarlierWorkCompletes) {
  std::unique_ptr<Client> client = Connect();
  std::unique_ptr<Client> other = Connect();
  ASSERT_TRUE(client && other);
  // Submitted first and still running while the bad graphs arrive.
  absl::StatusOr<std::vector<Future>> good = client->SubmitGraph(
      {Spec("cpp-good-0", "sleep", {Value::Double(1.5), Value::Int(40)}),
       Ref("cpp-good-1", "inc", {"cpp-good-0"}), Ref("cpp-good", "inc", {"cpp-good-1"})},
      {"cpp-good"});
  ASSERT_TRUE(good.ok()) << good.status();

  ExpectRejected(*client, {Ref("cyc-a", "inc", {"cyc-b"}), Ref("cyc-b", "inc", {"cyc-a"})},
                 {"cyc-a"}, "the graph has a cycle: cyc-");
  std::vector<v1::TaskSpec> ring;
  for (int i = 0; i < 2000; ++i) {
    ring.push_back(Ref(absl::StrCat("ring-", i), "inc", {absl::StrCat("ring-", (i + 1) % 2000)}));
  }
  ExpectRejected(*client, std::move(ring), {"ring-0"}, "(2000 tasks)");
  ExpectRejected(*client, {Ref("self", "inc", {"self"})}, {"self"}, "\"self\" depends on itself");
  ExpectRejected(*client, {Spec("twice", "inc", {Value::Int(1)}), Spec("twice", "inc", {Value::Int(2)})},
                 {"twice"}, "task \"twice\" appears twice in the graph");
  // Another client's key with another definition.
  absl::StatusOr<std::vector<Future>> shared =
      other->SubmitGraph({Spec("shared", "inc", {Value::Int(1)})}, {"shared"});
  ASSERT_TRUE(shared.ok()) << shared.status();
  ExpectRejected(*client, {Spec("shared", "inc", {Value::Int(2)})}, {"shared"},
                 "task \"shared\" already exists with a different definition");
  // A cycle closed by a second submission: the known key cannot change.
  // (Futures are kept: dropping them would release the keys.)
  absl::StatusOr<std::vector<Future>> p =
      client->SubmitGraph({Spec("p", "sleep", {Value::Double(30), Value::Int(0)})}, {"p"});
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<std::vector<Future>> q = client->SubmitGraph({Ref("q", "inc", {"p"})}, {"q"});
  ASSERT_TRUE(q.ok()) << q.status();
  ExpectRejected(*client, {Ref("p", "inc", {"q"})}, {"p"},
                 "task \"p\" already exists with a different definition");
  v1::TaskSpec runtime = Spec("rt", "inc", {Value::Int(1)});
  runtime.set_runtime("fortran");
  ExpectRejected(*client, {runtime}, {"rt"}, "task \"rt\": unknown runtime \"fortran\"");
  ExpectRejected(*client, {Spec("fn", "no_such_fn", {})}, {"fn"},
                 "unknown function \"no_such_fn\" in runtime builtin");
  // Invalid UTF-8 would make the scheduler drop the whole session stream:
  // the client refuses the call instead, and the session lives on.
  ExpectRejected(*client, {Spec("bad\xFFkey", "inc", {Value::Int(1)})}, {"bad\xFFkey"},
                 "\"bad\\xffkey\" is not valid UTF-8");
  ExpectRejected(*client, {Spec("k", "inc", {Value::Ref("dep\xC0")})}, {"k"},
                 "a reference in args[0] \"dep\\xc0\" is not valid UTF-8");
  for (double bad : {-1.0, std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity()}) {
    v1::TaskSpec gpu = Spec("gpu", "inc", {Value::Int(1)});
    (*gpu.mutable_resources())["GPU"] = bad;
    ExpectRejected(*client, {gpu}, {"gpu"}, "resource GPU must be a finite number >= 0");
  }
  // A task too large for any message: refused before it is sent.
  ExpectRejected(*client, {Spec("huge", "len", {Value::Bytes(Blob::FromString(std::string(65 << 20, 'x')))})},
                 {"huge"}, "more than fits in one message");
  // An empty graph is a no-op.
  absl::StatusOr<std::vector<Future>> empty = client->SubmitGraph({}, {});
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());

  absl::StatusOr<Value> v = (*good)[0].Result(kWait);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, Value::Int(42));
  absl::StatusOr<Value> s = (*shared)[0].Result(kWait);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, Value::Int(2));
  // The session that saw every error still works.
  absl::StatusOr<Future> after = client->Submit("inc", {Value::Int(9)});
  ASSERT_TRUE(after.ok()) << after.status();
  absl::StatusOr<Value> a = after->Result(kWait);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, Value::Int(10));
  ExpectServicesUp();
}

TEST_F(AdversarialGraphsTest, RestGetsClearErrorsAndEarlierJobCompletes) {
  auto http = gateway_->Http();
  const std::string good = SubmitJob(*http, R"({"tasks": {
      "rest-good-0": {"fn": "sleep", "args": [1.5, 20]},
      "rest-good": {"fn": "mul", "args": [{"ref": "rest-good-0"}, 2]}}})");
  ASSERT_FALSE(good.empty());
  // Held by a C++ client, so the gateway's clash is across clients.
  std::unique_ptr<Client> holder = Connect();
  ASSERT_TRUE(holder);
  absl::StatusOr<std::vector<Future>> held =
      holder->SubmitGraph({Spec("rest-shared", "inc", {Value::Int(1)})}, {"rest-shared"});
  ASSERT_TRUE(held.ok()) << held.status();

  struct Case {
    std::string body;
    int status;
    std::string expect;
  };
  std::string ring = R"({"tasks": {)";
  for (int i = 0; i < 1000; ++i) {
    ring += absl::StrCat(i ? ", " : "", "\"r", i, "\": {\"fn\": \"inc\", \"args\": [{\"ref\": \"r",
                         (i + 1) % 1000, "\"}]}");
  }
  ring += R"(}, "keys": ["r0"]})";
  const std::vector<Case> cases = {
      {R"({"tasks": {"a": {"fn": "inc", "args": [{"ref": "b"}]},
                     "b": {"fn": "inc", "args": [{"ref": "a"}]}}, "keys": ["a"]})",
       400, "the graph has a cycle"},
      {ring, 400, "(1000 tasks)"},
      {R"({"tasks": {"s": {"fn": "inc", "args": [{"ref": "s"}]}}, "keys": ["s"]})", 400,
       "\"s\" depends on itself"},
      {R"({"tasks": {"d": {"fn": "inc", "args": [1]}, "d": {"fn": "inc", "args": [2]}}})", 400,
       "the key \"d\" appears twice in one JSON object"},
      {R"({"tasks": {"rest-shared": {"fn": "inc", "args": [5]}}})", 400,
       "task \"rest-shared\" already exists with a different definition"},
      {R"({"tasks": {"rt": {"fn": "inc", "runtime": "fortran", "args": [1]}}})", 400,
       "unknown runtime \"fortran\""},
      {R"({"tasks": {"fn": {"fn": "no_such_fn"}}})", 400, "unknown function \"no_such_fn\""},
      {"{\"tasks\": {\"bad\xFF\": {\"fn\": \"inc\", \"args\": [1]}}}", 400, "UTF-8"},
      {R"({"tasks": {"lone": {"fn": "inc", "args": ["\udc00"]}}})", 400, "surrogate"},
      {R"({"tasks": {"g": {"fn": "inc", "args": [1], "resources": {"GPU": -1}}}})", 400,
       "resource \"GPU\" must be a non-negative number"},
      {R"({"tasks": {"g": {"fn": "inc", "args": [1], "resources": {"GPU": 1e999}}}})", 400,
       "malformed JSON"},
      {R"({"tasks": {}})", 400, "the job wants no keys"},
      {absl::StrCat(R"({"tasks": {"big": {"fn": "len", "args": [")", std::string(5 << 20, 'x'),
                    R"("]}}})"),
       413, "request body larger than the limit of 4194304 bytes"},
  };
  for (const Case& c : cases) {
    httplib::Result r = http->Post("/v1/jobs", c.body, "application/json");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, c.status) << c.body.substr(0, 200) << " -> " << r->body;
    EXPECT_THAT(r->body, HasSubstr(json(c.expect).dump().substr(1, json(c.expect).dump().size() - 2)))
        << c.body.substr(0, 200);
  }
  EXPECT_TRUE(WaitUntil([&] { return JobIn(*http, good, "finished"); }, kWait));
  json result = GetJson(*http, "/v1/jobs/" + good + "/results/rest-good");
  EXPECT_EQ(result, json(40));
  ExpectServicesUp();
}

TEST_F(AdversarialGraphsTest, LongChainAndWideFanInComplete) {
  std::unique_ptr<Client> client = Connect();
  ASSERT_TRUE(client);
  // A long chain: nothing on the way (client, scheduler ordering and
  // release cascades, workers) may recurse per link. 10^5 links take about
  // a minute on a loaded 2-core machine, so the unit tests take that size
  // (scheduler_adversarial_test, graph_json_test) and this one 10^4.
  const int chain = 10000;
  std::vector<v1::TaskSpec> g;
  g.reserve(chain);
  g.push_back(Spec("chain-0", "inc", {Value::Int(0)}));
  for (int i = 1; i < chain; ++i) {
    g.push_back(Ref(absl::StrCat("chain-", i), "inc", {absl::StrCat("chain-", i - 1)}));
  }
  absl::StatusOr<std::vector<Value>> end =
      client->Get(std::move(g), {absl::StrCat("chain-", chain - 1)});
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ((*end)[0], Value::Int(chain));

  // A fan-in: one task with 2000 dependencies, through the gateway.
  const int width = 2000;
  json tasks = json::object();
  json refs = json::array();
  for (int i = 0; i < width; ++i) {
    const std::string key = absl::StrCat("leaf-", i);
    tasks[key] = {{"fn", "inc"}, {"args", {i}}};
    refs.push_back({{"ref", key}});
  }
  tasks["fan-in"] = {{"fn", "sum"}, {"args", {refs}}};
  auto http = gateway_->Http();
  const std::string id = SubmitJob(*http, json({{"tasks", tasks}, {"keys", {"fan-in"}}}).dump());
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(WaitUntil([&] { return JobIn(*http, id, "finished"); }, kWait));
  // sum(i + 1 for i < width)
  EXPECT_EQ(GetJson(*http, "/v1/jobs/" + id + "/results/fan-in"),
            json(int64_t{width} * (width + 1) / 2));
  ExpectServicesUp();
}

}  // namespace
}  // namespace taskgrid
