// End-to-end tests of taskgrid-gateway: a real scheduler and two workers
// (LocalCluster) plus the real gateway binary on 127.0.0.1 with ephemeral
// ports, driven over REST (cpp-httplib client) and gRPC (generated Jobs
// stubs): every route and method, auth, limits, TLS, disconnecting
// clients, the OpenAPI document, and the dashboard in headless chromium.

#include <httplib.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/grpc_util.h"
#include "common/value_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "taskgrid/v1/jobs.grpc.pb.h"
#include "tests/local_cluster.h"
#include "tests/e2e_util.h"
#include "tests/gateway_rest.h"
#include "tests/local_gateway.h"

namespace taskgrid {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using testing::LocalCluster;
using testing::Subprocess;
using testing::GetJson;
using testing::JobIn;
using testing::SubmitJob;
using testing::WaitUntil;

constexpr char kGraph[] = R"({
  "tasks": {
    "x": {"fn": "inc", "args": [1]},
    "y": {"fn": "mul", "args": [{"ref": "x"}, 10]},
    "z": {"fn": "sum", "args": [[{"ref": "x"}, {"ref": "y"}, 100]]},
    "data": {"fn": "arange", "args": [5]},
    "total": {"fn": "array_sum", "args": [{"ref": "data"}]}
  },
  "keys": ["z", "total", "data"]
})";

// A job whose single key takes `seconds` (sleep(seconds, value)).
std::string SleepJob(const std::string& key, double seconds, int value = 7) {
  return json({{"tasks", {{key, {{"fn", "sleep"}, {"args", {seconds, value}}}}}}}).dump();
}

using Gateway = testing::LocalGateway;

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status s = cluster_.Start();
    ASSERT_TRUE(s.ok()) << s << cluster_.Logs();
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << cluster_.Logs();
      for (auto& g : gateways_) std::cerr << "--- gateway\n" << g->process().Stderr();
    }
  }
  Gateway& StartGateway(std::vector<std::string> extra = {}) {
    gateways_.push_back(
        std::make_unique<Gateway>(cluster_.scheduler_address(), cluster_.dir(), extra));
    EXPECT_TRUE(gateways_.back()->ok()) << gateways_.back()->process().Stderr();
    return *gateways_.back();
  }
  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = cluster_.dir() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  LocalCluster cluster_;
  std::vector<std::unique_ptr<Gateway>> gateways_;
};

TEST_F(GatewayTest, RestSubmitGetResultsAndList) {
  Gateway& gw = StartGateway();
  auto http = gw.Http();
  httplib::Result r = http->Post("/v1/jobs", kGraph, "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  json created = json::parse(r->body);
  const std::string id = created["id"];
  EXPECT_EQ(created["keys"], json({"z", "total", "data"}));
  EXPECT_EQ(r->get_header_value("Location"), "/v1/jobs/" + id);

  ASSERT_TRUE(WaitUntil([&] { return JobIn(*http, id, "finished"); }));
  json job = GetJson(*http, "/v1/jobs/" + id);
  EXPECT_EQ(job["id"], id);
  EXPECT_EQ(job["keys"]["z"]["state"], "memory");
  EXPECT_THAT(job["keys"]["z"]["worker"].get<std::string>(), HasSubstr("127.0.0.1:"));
  EXPECT_GT(job["keys"]["z"]["nbytes"].get<int64_t>(), 0);
  EXPECT_TRUE(job["keys"]["z"]["error"].is_null());
  EXPECT_EQ(job["progress"]["done"], 3);

  int status = 0;
  EXPECT_EQ(GetJson(*http, "/v1/jobs/" + id + "/results/z", &status), json(122));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(GetJson(*http, "/v1/jobs/" + id + "/results/total"), json(10));
  // Arrays come raw, described by headers; ?format=json gives the JSON form.
  r = http->Get(("/v1/jobs/" + id + "/results/data").c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/octet-stream");
  EXPECT_EQ(r->get_header_value("X-Taskgrid-Dtype"), "int64");
  EXPECT_EQ(r->get_header_value("X-Taskgrid-Shape"), "5");
  ASSERT_EQ(r->body.size(), 5 * sizeof(int64_t));
  EXPECT_EQ(reinterpret_cast<const int64_t*>(r->body.data())[4], 4);
  json as_json = GetJson(*http, "/v1/jobs/" + id + "/results/data?format=json");
  EXPECT_EQ(as_json["dtype"], "int64");
  // Keys outside the job, and unknown jobs, are 404.
  GetJson(*http, "/v1/jobs/" + id + "/results/x", &status);
  EXPECT_EQ(status, 404);
  GetJson(*http, "/v1/jobs/nope", &status);
  EXPECT_EQ(status, 404);

  json list = GetJson(*http, "/v1/jobs");
  ASSERT_EQ(list["jobs"].size(), 1u);
  EXPECT_EQ(list["jobs"][0]["id"], id);
  EXPECT_EQ(list["jobs"][0]["state"], "finished");
}

TEST_F(GatewayTest, RestBytesResultsAndFailedTasks) {
  Gateway& gw = StartGateway();
  auto http = gw.Http();
  const std::string id = SubmitJob(*http, R"({"tasks": {
      "blob": {"fn": "random_bytes", "args": [3000, 1]},
      "bad": {"fn": "fail", "args": ["boom"]}}})");
  ASSERT_TRUE(WaitUntil([&] { return JobIn(*http, id, "failed"); }));
  httplib::Result r = http->Get(("/v1/jobs/" + id + "/results/blob").c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("X-Taskgrid-Kind"), "bytes");
  EXPECT_EQ(r->body.size(), 3000u);
  json job = GetJson(*http, "/v1/jobs/" + id);
  EXPECT_EQ(job["keys"]["bad"]["state"], "erred");
  EXPECT_THAT(job["keys"]["bad"]["error"].get<std::string>(), HasSubstr("boom"));
  int status = 0;
  json err = GetJson(*http, "/v1/jobs/" + id + "/results/bad", &status);
  EXPECT_EQ(status, 409);
  EXPECT_THAT(err["error"].get<std::string>(), HasSubstr("boom"));
}

TEST_F(GatewayTest, RestRejectsBadGraphsWithClearMessages) {
  Gateway& gw = StartGateway();
  auto http = gw.Http();
  struct Case {
    std::string body;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"{\"tasks\": {", "malformed JSON"},
      {"[1, 2]", "JSON object"},
      {R"({"tasks": {"a": {"fn": "no_such_fn", "args": []}}})", "no_such_fn"},
      {R"({"tasks": {"a": {"fn": "inc", "args": [{"ref": "b"}]},
                     "b": {"fn": "inc", "args": [{"ref": "a"}]}}, "keys": ["a"]})",
       "cycle"},
      {R"({"tasks": {"a": {"fn": "inc", "args": [{"ref": "missing"}]}}})", "missing"},
      {R"({"tasks": {"a": {"args": [1]}}})", "fn"},
  };
  for (const Case& c : cases) {
    httplib::Result r = http->Post("/v1/jobs", c.body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << c.body << " -> " << r->body;
    EXPECT_THAT(absl::AsciiStrToLower(r->body), HasSubstr(absl::AsciiStrToLower(c.expect)))
        << c.body;
  }
  // The gateway and cluster keep working.
  const std::string id = SubmitJob(*http, kGraph);
  EXPECT_TRUE(WaitUntil([&] { return JobIn(*http, id, "finished"); }));
}

TEST_F(GatewayTest, RestEventStreamEndsWhenTheJobIsDone) {
  Gateway& gw = StartGateway();
  auto http = gw.Http();
  const std::string id = SubmitJob(*http, SleepJob("nap", 0.5));
  std::string text;
  httplib::Result r =
      http->Get(("/v1/jobs/" + id + "/events").c_str(), [&](const char* data, size_t n) {
        text.append(data, n);
        return true;
      });
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->get_header_value("Content-Type"), HasSubstr("text/event-stream"));
  EXPECT_THAT(text, HasSubstr("event: key\ndata: "));
  EXPECT_THAT(text, HasSubstr("\"key\":\"nap\""));
  EXPECT_THAT(text, HasSubstr("\"state\":\"memory\""));
  EXPECT_THAT(text,
              HasSubstr("event: end\ndata: {\"job\":\"" + id + "\",\"job_state\":\"finished\"}"));
  int status = 0;
  GetJson(*http, "/v1/jobs/nope/events", &status);
  EXPECT_EQ(status, 404);
}

TEST_F(GatewayTest, RestDeleteCancelsOnlyTheJobsOwnKeys) {
  Gateway& gw = StartGateway();
  auto http = gw.Http();
  const std::string a = SubmitJob(*http, SleepJob("shared", 2, 5));
  const std::string b = SubmitJob(*http, SleepJob("shared", 2, 5));
  const std::string c = SubmitJob(*http, SleepJob("lonely", 60));
  httplib::Result r = http->Delete(("/v1/jobs/" + a).c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["state"], "cancelled");
  r = http->Delete(("/v1/jobs/" + c).c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["state"], "cancelled");
  // b still wants "shared": it completes.
  ASSERT_TRUE(WaitUntil([&] { return JobIn(*http, b, "finished"); }));
  EXPECT_EQ(GetJson(*http, "/v1/jobs/" + b + "/results/shared"), json(5));
  int status = 0;
  json err = GetJson(*http, "/v1/jobs/" + a + "/results/shared", &status);
  EXPECT_EQ(status, 409);
  EXPECT_THAT(err["error"].get<std::string>(), HasSubstr("cancelled"));
  EXPECT_TRUE(JobIn(*http, a, "cancelled"));
  r = http->Delete("/v1/jobs/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(GatewayTest, JobOutlivesItsHttpClient) {
  Gateway& gw = StartGateway({"--job-ttl", "600"});
  // Send the POST on a raw socket and hang up without reading the answer.
  {
    const std::string body = json::parse(SleepJob("orphan", 0.5, 11)).dump();
    json doc = json::parse(body);
    doc["name"] = "orphaned";
    const std::string payload = doc.dump();
    const std::string request = absl::StrCat(
        "POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
        "application/json\r\nContent-Length: ",
        payload.size(), "\r\n\r\n", payload);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(gw.http_port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
    close(fd);
  }
  auto http = gw.Http();
  std::string id;
  ASSERT_TRUE(WaitUntil([&] {
    json list = GetJson(*http, "/v1/jobs");
    for (const json& j : list["jobs"]) {
      if (j["name"] == "orphaned") id = j["id"];
    }
    return !id.empty();
  }));
  // A watcher that hangs up mid-stream does not disturb the job either.
  int chunks = 0;
  http->Get(("/v1/jobs/" + id + "/events").c_str(), [&](const char*, size_t) {
    return ++chunks < 1;  // abort after the first chunk
  });
  auto later = gw.Http();
  EXPECT_EQ(GetJson(*later, "/v1/jobs/" + id + "/results/orphan?timeout=60"), json(11));
  EXPECT_TRUE(JobIn(*later, id, "finished"));
}

TEST_F(GatewayTest, ClusterFunctionsHealthAndMetrics) {
  Gateway& gw = StartGateway();
  auto http = gw.Http();
  json cluster = GetJson(*http, "/v1/cluster");
  ASSERT_EQ(cluster["workers"].size(), 2u);
  for (const json& w : cluster["workers"]) {
    EXPECT_THAT(w["address"].get<std::string>(), HasSubstr("127.0.0.1:"));
    EXPECT_EQ(w["nthreads"], 1);
    EXPECT_TRUE(w.contains("memory") && w.contains("resources") && w.contains("tasks"));
  }
  EXPECT_TRUE(cluster["tasks"].is_object());
  json functions = GetJson(*http, "/v1/functions");
  std::vector<std::string> names = functions["functions"];
  EXPECT_THAT(names, ::testing::Contains(HasSubstr("inc")));
  httplib::Result r = http->Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = http->Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  // A request is counted just after its answer went out: poll.
  EXPECT_TRUE(WaitUntil([&] {
    r = http->Get("/metrics");
    return r && absl::StrContains(
                    r->body,
                    R"(taskgrid_gateway_http_requests_total{code="200",method="GET",route="/v1/cluster"} 1)");
  }));
  ASSERT_TRUE(r);
  EXPECT_THAT(r->body, HasSubstr("taskgrid_gateway_http_request_duration_seconds_bucket"));
  EXPECT_THAT(r->body, HasSubstr("taskgrid_gateway_jobs{state=\"running\"} 0"));
}

TEST(GatewayNoSchedulerTest, NotReadyWithoutScheduler) {
  const std::string dir = testing::MakeTempDir("taskgrid-gw");
  Gateway gw("127.0.0.1:1", dir);
  ASSERT_TRUE(gw.ok()) << gw.process().Stderr();
  auto http = gw.Http();
  httplib::Result r = http->Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  r = http->Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = http->Post("/v1/jobs", kGraph, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
}

// ------------------------------------------------------------------ gRPC

v1::TaskSpec Task(const std::string& key, const std::string& fn, std::vector<v1::Value> args) {
  v1::TaskSpec t;
  t.set_key(key);
  t.set_function(fn);
  for (v1::Value& a : args) *t.add_args() = std::move(a);
  return t;
}
v1::Value Int(int64_t i) {
  v1::Value v;
  v.set_int_value(i);
  return v;
}
v1::Value Ref(const std::string& key) {
  v1::Value v;
  v.set_ref(key);
  return v;
}

// Reads a whole GetResult stream and decodes the value.
absl::StatusOr<Value> FetchResult(v1::Jobs::Stub& stub, const std::string& job,
                                  const std::string& key, int* chunks = nullptr,
                                  const std::string& token = "") {
  grpc::ClientContext ctx;
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  v1::GetResultRequest req;
  req.set_job_id(job);
  req.set_key(key);
  auto reader = stub.GetResult(&ctx, req);
  v1::ResultChunk chunk;
  std::string data;
  bool last = false;
  int n = 0;
  while (reader->Read(&chunk)) {
    EXPECT_EQ(chunk.offset(), static_cast<int64_t>(data.size()));
    EXPECT_EQ(chunk.key(), key);
    data += chunk.data();
    last = chunk.last();
    ++n;
  }
  grpc::Status s = reader->Finish();
  if (!s.ok())
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  if (chunks != nullptr) *chunks = n;
  EXPECT_TRUE(last);
  return DecodeValue(Blob::FromString(std::move(data)));
}

TEST_F(GatewayTest, GrpcJobsRoundTrip) {
  Gateway& gw = StartGateway();
  auto stub = gw.Grpc();
  v1::SubmitJobRequest req;
  *req.add_tasks() = Task("g-x", "inc", {Int(1)});
  *req.add_tasks() = Task("g-y", "mul", {Ref("g-x"), Int(10)});
  // 1.6 MB: two chunks. (Fetching some other sizes from a worker, e.g.
  // arange(132000) or arange(300000), currently times out in the client's
  // DataFetcher / worker GetData — not a gateway matter.)
  *req.add_tasks() = Task("g-big", "arange", {Int(200000)});
  req.set_name("grpc-job");
  v1::Job job;
  {
    grpc::ClientContext ctx;
    grpc::Status s = stub->SubmitJob(&ctx, req, &job);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(job.name(), "grpc-job");
  ASSERT_EQ(job.keys_size(), 2);  // default: tasks nobody depends on
  EXPECT_EQ(job.keys(0).key(), "g-big");
  EXPECT_EQ(job.keys(1).key(), "g-y");

  // WatchJob streams key events and ends with the job.
  grpc::ClientContext watch_ctx;
  v1::GetJobRequest get;
  get.set_id(job.id());
  auto watch = stub->WatchJob(&watch_ctx, get);
  v1::JobEvent ev;
  std::vector<std::string> keys_seen;
  v1::JobState final_state = v1::JOB_STATE_UNSPECIFIED;
  while (watch->Read(&ev)) {
    EXPECT_EQ(ev.job_id(), job.id());
    if (ev.has_key()) keys_seen.push_back(ev.key().key());
    final_state = ev.job_state();
  }
  ASSERT_TRUE(watch->Finish().ok());
  EXPECT_THAT(keys_seen, ::testing::UnorderedElementsAre("g-big", "g-y"));
  EXPECT_EQ(final_state, v1::JOB_STATE_FINISHED);

  {
    grpc::ClientContext ctx;
    v1::Job got;
    ASSERT_TRUE(stub->GetJob(&ctx, get, &got).ok());
    EXPECT_EQ(got.state(), v1::JOB_STATE_FINISHED);
    EXPECT_EQ(got.tasks_done(), 2);
    EXPECT_EQ(got.keys(1).state(), v1::KEY_STATE_MEMORY);
  }
  absl::StatusOr<Value> y = FetchResult(*stub, job.id(), "g-y");
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->as_int(), 20);
  int chunks = 0;
  absl::StatusOr<Value> big = FetchResult(*stub, job.id(), "g-big", &chunks);
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->as_array().NumElements(), 200000);
  EXPECT_EQ(big->as_array().As<int64_t>()[199999], 199999);
  EXPECT_GT(chunks, 1);
  EXPECT_EQ(FetchResult(*stub, job.id(), "g-x").status().code(), absl::StatusCode::kNotFound);

  {
    grpc::ClientContext ctx;
    v1::ListWorkersResponse workers;
    ASSERT_TRUE(stub->ListWorkers(&ctx, v1::ListWorkersRequest(), &workers).ok());
    ASSERT_EQ(workers.workers_size(), 2);
    EXPECT_EQ(workers.workers(0).nthreads(), 1);
    EXPECT_THAT(workers.workers(0).address(), HasSubstr("127.0.0.1:"));
  }
  {
    grpc::ClientContext ctx;
    v1::GetJobRequest missing;
    missing.set_id("nope");
    v1::Job got;
    EXPECT_EQ(stub->GetJob(&ctx, missing, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(GatewayTest, GrpcResultWaitsCancelAndBadGraphs) {
  Gateway& gw = StartGateway();
  auto stub = gw.Grpc();
  v1::SubmitJobRequest req;
  v1::TaskSpec nap = Task("g-nap", "sleep", {Int(0), Int(9)});
  nap.mutable_args(0)->set_double_value(0.5);
  *req.add_tasks() = nap;
  v1::Job job;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->SubmitJob(&ctx, req, &job).ok());
  }
  // GetResult on a pending key waits for it.
  absl::StatusOr<Value> v = FetchResult(*stub, job.id(), "g-nap");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->as_int(), 9);

  v1::SubmitJobRequest slow;
  *slow.add_tasks() = Task("g-slow", "sleep", {Int(60)});
  v1::Job slow_job;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->SubmitJob(&ctx, slow, &slow_job).ok());
  }
  {
    grpc::ClientContext ctx;
    v1::CancelJobRequest cancel;
    cancel.set_id(slow_job.id());
    v1::Job cancelled;
    ASSERT_TRUE(stub->CancelJob(&ctx, cancel, &cancelled).ok());
    EXPECT_EQ(cancelled.state(), v1::JOB_STATE_CANCELLED);
  }
  EXPECT_EQ(FetchResult(*stub, slow_job.id(), "g-slow").status().code(),
            absl::StatusCode::kFailedPrecondition);

  v1::SubmitJobRequest bad;
  *bad.add_tasks() = Task("g-bad", "no_such_fn", {});
  grpc::ClientContext ctx;
  v1::Job rejected;
  grpc::Status s = stub->SubmitJob(&ctx, bad, &rejected);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("no_such_fn"));
}

// ------------------------------------------------------- auth and limits

TEST_F(GatewayTest, BearerTokensGuardEveryRouteButHealthAndReloadOnSighup) {
  const std::string tokens = WriteFile("tokens", "# gateway tokens\nsecret-1\n");
  Gateway& gw = StartGateway({"--token-file", tokens});
  auto anonymous = gw.Http();
  auto wrong = gw.Http("nope");
  auto right = gw.Http("secret-1");
  for (const char* path : {"/v1/jobs", "/v1/cluster", "/v1/functions", "/metrics", "/",
                           "/v1/openapi.json", "/v1/jobs/x"}) {
    httplib::Result r = anonymous->Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << path;
    r = wrong->Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << path;
  }
  httplib::Result r = anonymous->Post("/v1/jobs", kGraph, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_THAT(r->body, HasSubstr("bearer token"));
  for (const char* path : {"/healthz", "/readyz"}) {
    r = anonymous->Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << path;
  }
  const std::string id = SubmitJob(*right, kGraph);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(GetJson(*right, "/v1/jobs/" + id + "/results/z?timeout=60"), json(122));
  // The dashboard page also takes the token as ?token=.
  r = anonymous->Get("/?token=secret-1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);

  // gRPC: authorization metadata.
  auto stub = gw.Grpc();
  v1::ListWorkersResponse workers;
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(stub->ListWorkers(&ctx, v1::ListWorkersRequest(), &workers).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer nope");
    EXPECT_EQ(stub->ListWorkers(&ctx, v1::ListWorkersRequest(), &workers).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer secret-1");
    EXPECT_TRUE(stub->ListWorkers(&ctx, v1::ListWorkersRequest(), &workers).ok());
  }
  EXPECT_EQ(FetchResult(*stub, id, "z").status().code(), absl::StatusCode::kUnauthenticated);
  absl::StatusOr<Value> z = FetchResult(*stub, id, "z", nullptr, "secret-1");
  ASSERT_TRUE(z.ok()) << z.status();
  EXPECT_EQ(z->as_int(), 122);

  r = right->Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_THAT(r->body, ::testing::ContainsRegex(
                           R"(taskgrid_gateway_auth_failures_total\{protocol="http"\} 1[0-9])"));
  EXPECT_THAT(r->body, HasSubstr(R"(taskgrid_gateway_auth_failures_total{protocol="grpc"} 3)"));

  // Rotation: SIGHUP reloads the file.
  WriteFile("tokens", "secret-2\n");
  gw.process().Signal(SIGHUP);
  auto rotated = gw.Http("secret-2");
  ASSERT_TRUE(WaitUntil([&] {
    httplib::Result res = rotated->Get("/v1/jobs");
    return res && res->status == 200;
  }));
  r = right->Get("/v1/jobs");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
}

TEST_F(GatewayTest, LimitsOnBodySizeTasksDepthAndStreams) {
  Gateway& gw = StartGateway({"--max-request-bytes", "2000", "--max-tasks-per-job", "2",
                              "--max-json-depth", "8", "--max-streams-per-client", "1"});
  auto http = gw.Http();
  std::string huge =
      R"({"tasks": {"a": {"fn": "identity", "args": [")" + std::string(5000, 'x') + R"("]}}})";
  httplib::Result r = http->Post("/v1/jobs", huge, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_THAT(r->body, HasSubstr("2000 bytes"));

  r = http->Post("/v1/jobs", kGraph, "application/json");  // 5 tasks
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_THAT(r->body, HasSubstr("limit of 2 tasks per job"));

  std::string deep = R"({"tasks": {"a": {"fn": "identity", "args": [)" + std::string(10, '[') +
                     std::string(10, ']') + "]}}}";
  r = http->Post("/v1/jobs", deep, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_THAT(r->body, HasSubstr("nesting"));

  v1::SubmitJobRequest too_many;
  for (int i = 0; i < 3; ++i) *too_many.add_tasks() = Task(absl::StrCat("t", i), "inc", {Int(i)});
  {
    auto stub = gw.Grpc();
    grpc::ClientContext ctx;
    v1::Job job;
    grpc::Status s = stub->SubmitJob(&ctx, too_many, &job);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("limit of 2"));
  }

  // One open stream per client: a second one is refused with 429.
  const std::string id = SubmitJob(*http, SleepJob("long", 60));
  std::thread first([&] {
    auto own = gw.Http();
    own->Get(("/v1/jobs/" + id + "/events").c_str(), [](const char*, size_t) { return true; });
  });
  ASSERT_TRUE(WaitUntil([&] {
    httplib::Result res = http->Get("/metrics");
    return res && absl::StrContains(res->body, R"(taskgrid_gateway_open_streams{protocol="http"} 1)");
  }));
  httplib::Result refused = gw.Http()->Get(("/v1/jobs/" + id + "/events").c_str());
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_THAT(refused->body, HasSubstr("limit 1"));
  {
    auto stub = gw.Grpc();
    grpc::ClientContext ctx;
    v1::GetJobRequest get;
    get.set_id(id);
    auto watch = stub->WatchJob(&ctx, get);
    v1::JobEvent ev;
    while (watch->Read(&ev)) {
    }
    EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  r = http->Delete(("/v1/jobs/" + id).c_str());  // ends the first stream
  ASSERT_TRUE(r);
  first.join();
}

// ------------------------------------------- TLS, OpenAPI and dashboard

// Runs a shell command; its exit code.
int Shell(const std::string& command) { return std::system(command.c_str()); }

TEST_F(GatewayTest, TlsForHttpAndGrpc) {
  const std::string cert = cluster_.dir() + "/tls.crt";
  const std::string key = cluster_.dir() + "/tls.key";
  ASSERT_EQ(Shell("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                  "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
                  key + " -out " + cert + " >/dev/null 2>&1"),
            0);
  Gateway& gw = StartGateway({"--tls-cert", cert, "--tls-key", key});
  httplib::SSLClient https("127.0.0.1", gw.http_port());
  https.set_ca_cert_path(cert.c_str());
  https.enable_server_certificate_verification(true);
  httplib::Result r = https.Post("/v1/jobs", kGraph, "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  ASSERT_EQ(r->status, 201);
  const std::string id = json::parse(r->body)["id"];
  r = https.Get(("/v1/jobs/" + id + "/results/z?timeout=60").c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "122\n");
  // Plain HTTP is not served on the TLS port.
  auto plain = gw.Http();
  r = plain->Get("/healthz");
  EXPECT_TRUE(!r || r->status != 200);

  grpc::SslCredentialsOptions options;
  options.pem_root_certs = testing::ReadFile(cert);
  auto stub =
      v1::Jobs::NewStub(grpc::CreateChannel(gw.grpc_address(), grpc::SslCredentials(options)));
  grpc::ClientContext ctx;
  v1::ListWorkersResponse workers;
  grpc::Status s = stub->ListWorkers(&ctx, v1::ListWorkersRequest(), &workers);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(workers.workers_size(), 2);
}

TEST_F(GatewayTest, OpenApiDocumentMatchesTheServedRoutes) {
  Gateway& gw = StartGateway();
  auto http = gw.Http();
  json doc = GetJson(*http, "/v1/openapi.json");
  ASSERT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  const std::string id = SubmitJob(*http, kGraph);
  ASSERT_TRUE(WaitUntil([&] { return JobIn(*http, id, "finished"); }));
  int walked = 0;
  std::vector<std::pair<std::string, std::string>> deletes;
  for (const auto& [path, item] : doc["paths"].items()) {
    const std::string concrete = absl::StrReplaceAll(path, {{"{id}", id}, {"{key}", "z"}});
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      if (method == "delete") {
        deletes.emplace_back(concrete, op.dump());
        continue;
      }
      httplib::Result r = method == "post"
                              ? http->Post(concrete.c_str(), kGraph, "application/json")
                              : http->Get(concrete.c_str());
      ASSERT_TRUE(r) << method << " " << concrete;
      EXPECT_TRUE(op["responses"].contains(std::to_string(r->status)))
          << method << " " << path << " answered " << r->status << ", not documented";
      EXPECT_NE(r->status, 404) << method << " " << path;
      ++walked;
    }
  }
  for (const auto& [concrete, op] : deletes) {
    httplib::Result r = http->Delete(concrete.c_str());
    ASSERT_TRUE(r);
    EXPECT_TRUE(json::parse(op)["responses"].contains(std::to_string(r->status))) << concrete;
    ++walked;
  }
  EXPECT_GE(walked, 13);
  // And an undocumented route is indeed not served.
  int status = 0;
  GetJson(*http, "/v1/nothing", &status);
  EXPECT_EQ(status, 404);
}

TEST_F(GatewayTest, DashboardShowsWorkersTasksAndJobsInChromium) {
  if (Shell("command -v chromium >/dev/null 2>&1") != 0) {
    GTEST_FAIL() << "chromium is not installed (scripts/setup.sh installs it)";
  }
  const std::string tokens = WriteFile("dash-tokens", "dash-token\n");
  Gateway& gw = StartGateway({"--token-file", tokens});
  auto http = gw.Http("dash-token");
  const std::string done =
      SubmitJob(*http, R"({"tasks": {"d1": {"fn": "inc", "args": [1]}}, "name": "quick"})");
  ASSERT_TRUE(WaitUntil([&] { return JobIn(*http, done, "finished"); }));
  const std::string running = SubmitJob(*http, json::parse(SleepJob("d-slow", 60)).dump());
  const std::string url = absl::StrCat("http://127.0.0.1:", gw.http_port(), "/?token=dash-token");
  const std::string dir = cluster_.dir();
  const std::string flags = absl::StrCat(
      "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync "
      "--virtual-time-budget=4000 --user-data-dir=",
      dir, "/chromium-profile");
  const std::string dom_path = dir + "/dashboard.html";
  ASSERT_EQ(Shell(absl::StrCat(flags, " --dump-dom '", url, "' > ", dom_path, " 2>", dir,
                               "/chromium.err")),
            0)
      << testing::ReadFile(dir + "/chromium.err");
  const std::string dom = testing::ReadFile(dom_path);
  // The page fetched the cluster and the jobs with the token and drew them.
  EXPECT_THAT(dom, HasSubstr(cluster_.worker_address(0)));
  EXPECT_THAT(dom, HasSubstr(cluster_.worker_address(1)));
  EXPECT_THAT(dom, HasSubstr("data-id=\"" + done + "\""));
  EXPECT_THAT(dom, HasSubstr("data-id=\"" + running + "\""));
  EXPECT_THAT(dom, HasSubstr("state state-finished\">finished"));
  EXPECT_THAT(dom, ::testing::ContainsRegex("task-state\" data-state=\"(processing|memory)"));
  EXPECT_THAT(dom, HasSubstr("<div id=\"status\" class=\"\">scheduler "));  // no error shown
  const std::string png = dir + "/dashboard.png";
  ASSERT_EQ(Shell(absl::StrCat(flags, " --window-size=1280,900 --screenshot=", png, " '", url,
                               "' >/dev/null 2>&1")),
            0);
  EXPECT_GT(testing::ReadFile(png).size(), 1000u);
  std::cerr << "dashboard screenshot: " << png << "\n";
  ASSERT_TRUE(http->Delete(("/v1/jobs/" + running).c_str()));
}

// ------------------------------------------------------- example clients

// The source tree: CMake's ctest names it in TASKGRID_SOURCE_DIR. Bazel
// runs the test from its runfiles root, where the examples are symlinks
// into the source tree (which also holds their npm packages), so the root
// is found by following one of them.
std::string RepoRoot() {
  if (const char* dir = std::getenv("TASKGRID_SOURCE_DIR")) return dir;
  char resolved[PATH_MAX];
  const std::string marker = "/clients/examples/graph.json";
  if (realpath(("." + marker).c_str(), resolved) == nullptr) return ".";
  std::string real = resolved;
  return real.substr(0, real.size() - marker.size());
}

// Runs `command` with output to a file; returns {exit code, output}.
std::pair<int, std::string> Capture(const std::string& command, const std::string& out) {
  int rc = Shell(absl::StrCat(command, " > ", out, " 2>&1"));
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, testing::ReadFile(out)};
}

class ExampleClientsTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    gw_ = &StartGateway({"--token-file", WriteFile("example-tokens", "example-token\n")});
    graph_ = RepoRoot() + "/clients/examples/graph.json";
  }
  void ExpectGraphResults(const std::pair<int, std::string>& run) {
    EXPECT_EQ(run.first, 0) << run.second;
    EXPECT_THAT(run.second, HasSubstr("z 122\n"));
    EXPECT_THAT(run.second, HasSubstr("total 10\n"));
  }
  Gateway* gw_ = nullptr;
  std::string graph_;
};

TEST_F(ExampleClientsTest, PythonGrpcStubs) {
  if (Shell("/usr/bin/python3 -c 'import grpc_tools.protoc' 2>/dev/null") != 0) {
    GTEST_FAIL() << "python3-grpc-tools is not installed (scripts/setup.sh installs it)";
  }
  const std::string stubs = cluster_.dir() + "/pystubs";
  const std::string protos = RepoRoot() + "/protos";
  auto gen =
      Capture(absl::StrCat("mkdir -p ", stubs, " && /usr/bin/python3 -m grpc_tools.protoc -I",
                           protos, " --python_out=", stubs, " --grpc_python_out=", stubs, " ",
                           protos, "/taskgrid/v1/common.proto ", protos, "/taskgrid/v1/jobs.proto"),
              cluster_.dir() + "/protoc.out");
  ASSERT_EQ(gen.first, 0) << gen.second;
  ExpectGraphResults(
      Capture(absl::StrCat("PYTHONPATH=", stubs, " /usr/bin/python3 ", RepoRoot(),
                           "/clients/examples/python/jobs_client.py ", gw_->grpc_address(), " ",
                           graph_, " --token example-token"),
              cluster_.dir() + "/python.out"));
  // Without the token the gateway refuses it.
  auto refused = Capture(
      absl::StrCat("PYTHONPATH=", stubs, " /usr/bin/python3 ", RepoRoot(),
                   "/clients/examples/python/jobs_client.py ", gw_->grpc_address(), " ", graph_),
      cluster_.dir() + "/python-refused.out");
  EXPECT_NE(refused.first, 0);
  EXPECT_THAT(refused.second, HasSubstr("UNAUTHENTICATED"));
}

TEST_F(ExampleClientsTest, NodeGrpcJs) {
  const std::string dir = RepoRoot() + "/clients/examples/node";
  if (Shell("command -v node >/dev/null") != 0 ||
      Shell("test -d " + dir + "/node_modules/@grpc/grpc-js") != 0) {
    GTEST_FAIL() << "node or its modules missing (run npm install in clients/examples/node)";
  }
  ExpectGraphResults(Capture(absl::StrCat("node ", dir, "/submit.js ", gw_->grpc_address(), " ",
                                          graph_, " --token example-token"),
                             cluster_.dir() + "/node.out"));
}

TEST_F(ExampleClientsTest, CurlRest) {
  if (Shell("command -v curl >/dev/null") != 0) GTEST_FAIL() << "curl is not installed";
  ExpectGraphResults(Capture(absl::StrCat("TASKGRID_GATEWAY=http://127.0.0.1:", gw_->http_port(),
                                          " TASKGRID_TOKEN=example-token ", RepoRoot(),
                                          "/clients/examples/curl.sh ", graph_),
                             cluster_.dir() + "/curl.out"));
}

}  // namespace
}  // namespace taskgrid
