#include "bench/gateway_workloads.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_stats.h"
#include "common/blob.h"
#include "common/grpc_util.h"
#include "common/value_codec.h"
#include "taskgrid/v1/jobs.grpc.pb.h"

namespace taskgrid::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kWarmUp = 20;

// Runs `round_trip(i)` kWarmUp + n times; returns p50/p99/mean of the
// timed ones. `round_trip` times itself (cleanup after it is untimed) and
// returns the seconds or an error.
absl::StatusOr<nlohmann::json> Sample(
    int64_t n, const std::function<absl::StatusOr<double>(int64_t)>& round_trip) {
  std::vector<double> samples;
  samples.reserve(n);
  for (int64_t i = 0; i < kWarmUp + n; ++i) {
    absl::StatusOr<double> seconds = round_trip(i);
    if (!seconds.ok()) return seconds.status();
    if (i >= kWarmUp) samples.push_back(*seconds);
  }
  double sum = 0;
  for (double s : samples) sum += s;
  std::sort(samples.begin(), samples.end());
  return nlohmann::json{{"n", n},
                        {"p50_us", Percentile(samples, 50) * 1e6},
                        {"p99_us", Percentile(samples, 99) * 1e6},
                        {"mean_us", sum / samples.size() * 1e6}};
}

absl::Status WrongValue(const std::string& got, int64_t want) {
  return absl::InternalError(absl::StrCat("inc through the gateway returned ", got, ", want ",
                                          want));
}

}  // namespace

absl::StatusOr<nlohmann::json> RunGatewayRest(const std::string& http_address,
                                              const WorkloadOptions& o) {
  const size_t colon = http_address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(http_address.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError("--gateway-http wants HOST:PORT, got " + http_address);
  }
  httplib::Client http(http_address.substr(0, colon), port);
  http.set_keep_alive(true);
  http.set_tcp_nodelay(true);
  http.set_read_timeout(std::chrono::seconds(60));
  return Sample(o.n, [&](int64_t i) -> absl::StatusOr<double> {
    const std::string key = absl::StrCat(o.key_prefix, "-rest-", i);
    const std::string body =
        nlohmann::json{{"tasks", {{key, {{"fn", "inc"}, {"args", {i}}}}}}}.dump();
    const auto start = Clock::now();
    httplib::Result created = http.Post("/v1/jobs", body, "application/json");
    if (!created || created->status != 201) {
      return absl::UnavailableError(absl::StrCat(
          "POST /v1/jobs: ", created ? created->body : httplib::to_string(created.error())));
    }
    const std::string id = nlohmann::json::parse(created->body)["id"];
    httplib::Result value =
        http.Get(absl::StrCat("/v1/jobs/", id, "/results/", key, "?timeout=60").c_str());
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (!value || value->status != 200) {
      return absl::UnavailableError(absl::StrCat(
          "GET result: ", value ? value->body : httplib::to_string(value.error())));
    }
    if (nlohmann::json::parse(value->body, nullptr, false) != nlohmann::json(i + 1)) {
      return WrongValue(value->body, i + 1);
    }
    http.Delete(("/v1/jobs/" + id).c_str());
    return seconds;
  });
}

absl::StatusOr<nlohmann::json> RunGatewayGrpc(const std::string& grpc_address,
                                              const WorkloadOptions& o) {
  std::unique_ptr<v1::Jobs::Stub> jobs = v1::Jobs::NewStub(MakeChannel(grpc_address));
  return Sample(o.n, [&](int64_t i) -> absl::StatusOr<double> {
    v1::SubmitJobRequest submit;
    v1::TaskSpec* task = submit.add_tasks();
    task->set_key(absl::StrCat(o.key_prefix, "-grpc-", i));
    task->set_function("inc");
    task->add_args()->set_int_value(i);
    submit.add_keys(task->key());
    const auto start = Clock::now();
    v1::Job job;
    grpc::ClientContext submit_ctx;
    grpc::Status s = jobs->SubmitJob(&submit_ctx, submit, &job);
    if (!s.ok()) return absl::UnavailableError("SubmitJob: " + s.error_message());
    v1::GetResultRequest get;
    get.set_job_id(job.id());
    get.set_key(task->key());
    grpc::ClientContext get_ctx;
    std::unique_ptr<grpc::ClientReader<v1::ResultChunk>> reader = jobs->GetResult(&get_ctx, get);
    std::string data;
    v1::ResultChunk chunk;
    while (reader->Read(&chunk)) data += chunk.data();
    s = reader->Finish();
    if (!s.ok()) return absl::UnavailableError("GetResult: " + s.error_message());
    absl::StatusOr<Value> value = DecodeValue(Blob::FromString(std::move(data)));
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (!value.ok()) return value.status();
    if (!value->is_number() || value->as_number() != static_cast<double>(i + 1)) {
      return WrongValue(value->DebugString(), i + 1);
    }
    grpc::ClientContext cancel_ctx;
    v1::CancelJobRequest cancel;
    cancel.set_id(job.id());
    jobs->CancelJob(&cancel_ctx, cancel, &job).IgnoreError();
    return seconds;
  });
}

}  // namespace taskgrid::bench
