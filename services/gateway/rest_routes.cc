// The /v1/jobs routes of the REST API: submit, list, get, results, event
// stream (SSE) and cancel.

#include <condition_variable>
#include <deque>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/graph_json.h"
#include "common/value_json.h"
#include "services/gateway/job_request.h"
#include "services/gateway/json_views.h"
#include "services/gateway/rest_server.h"

namespace taskgrid::gateway {
namespace {

using nlohmann::json;

constexpr char kJobPath[] = R"(/v1/jobs/([^/]+))";
constexpr char kResultPath[] = R"(/v1/jobs/([^/]+)/results/(.+))";
constexpr char kEventsPath[] = R"(/v1/jobs/([^/]+)/events)";
// How often an idle event stream sends a comment, which is also how soon a
// vanished client is noticed.
constexpr auto kKeepAlive = std::chrono::seconds(10);

// Events of one SSE stream, pushed by the registry (under its lock: Push
// never blocks) and drained by the httplib thread serving the stream.
class EventQueue {
 public:
  void Push(const JobEvent& ev) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(ev);
    }
    cv_.notify_one();
  }
  // Waits up to `timeout` for events; moves them out.
  std::deque<JobEvent> Take(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return !events_.empty(); });
    return std::exchange(events_, {});
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<JobEvent> events_;
};

void PostJob(const RestContext& ctx, const httplib::Request& req, httplib::Response& res) {
  absl::StatusOr<JobSubmission> parsed = ParseJobSubmission(req.body, ctx.limits);
  if (!parsed.ok()) return SendStatus(res, parsed.status());
  JobManager::SubmitRequest request;
  request.graph = std::move(parsed->graph);
  request.name = std::move(parsed->name);
  request.ttl = parsed->ttl;
  absl::StatusOr<JobSnapshot> job = ctx.jobs->Submit(std::move(request));
  if (!job.ok()) return SendStatus(res, job.status());
  json keys = json::array();
  for (const JobKey& k : job->keys) keys.push_back(k.key);
  res.set_header("Location", absl::StrCat("/v1/jobs/", job->summary.id));
  SendJson(res, 201,
           {{"id", job->summary.id},
            {"keys", std::move(keys)},
            {"state", JobStateName(job->summary.state)}});
}

// Raw payloads go out without a copy into the response body.
void SendBlob(httplib::Response& res, const Blob& blob) {
  res.set_content_provider(blob.size(), "application/octet-stream",
                           [blob](size_t offset, size_t length, httplib::DataSink& sink) {
                             return sink.write(blob.data() + offset, length);
                           });
}

void GetResult(const RestContext& ctx, const httplib::Request& req, httplib::Response& res) {
  absl::Duration wait = absl::ZeroDuration();
  if (req.has_param("timeout")) {
    double seconds = 0;
    if (!absl::SimpleAtod(req.get_param_value("timeout"), &seconds) || seconds < 0) {
      return SendError(res, 400, "timeout must be a non-negative number of seconds");
    }
    wait = absl::Seconds(std::min(seconds, 300.0));
  }
  absl::StatusOr<Value> v = ctx.jobs->Result(req.matches[1], req.matches[2], wait);
  if (!v.ok()) return SendStatus(res, v.status());
  const bool as_json = req.get_param_value("format") == "json";
  switch (v->kind()) {
    case Value::Kind::kBytes:
      if (as_json) break;
      res.set_header("X-Taskgrid-Kind", "bytes");
      return SendBlob(res, v->as_bytes());
    case Value::Kind::kPickle:
      if (as_json) break;
      res.set_header("X-Taskgrid-Kind", "pickle");
      return SendBlob(res, v->as_pickle());
    case Value::Kind::kArray: {
      if (as_json) break;
      const NDArray& a = v->as_array();
      res.set_header("X-Taskgrid-Kind", "array");
      res.set_header("X-Taskgrid-Dtype", DTypeName(a.dtype));
      res.set_header("X-Taskgrid-Shape", absl::StrJoin(a.shape, ","));
      return SendBlob(res, a.data);
    }
    default:
      break;
  }
  SendJson(res, 200, ValueToJson(*v));
}

void StreamEvents(const RestContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  const std::string client = ClientIdentity(req.get_header_value("Authorization"), req.remote_addr);
  if (!ctx.streams->TryAcquire(client)) {
    return SendError(res, 429,
                     absl::StrCat("too many open event streams for this client (limit ",
                                  ctx.streams->max_per_client(), ")"));
  }
  auto queue = std::make_shared<EventQueue>();
  absl::StatusOr<uint64_t> sub =
      ctx.jobs->registry().Subscribe(id, [queue](const JobEvent& ev) { queue->Push(ev); });
  if (!sub.ok()) {
    ctx.streams->Release(client);
    return SendStatus(res, sub.status());
  }
  ctx.metrics->StreamOpened("http");
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [queue](size_t, httplib::DataSink& sink) {
        std::deque<JobEvent> events = queue->Take(kKeepAlive);
        if (events.empty()) return sink.write(": keep-alive\n\n", 15);
        std::string text;
        bool ended = false;
        for (const JobEvent& ev : events) {
          absl::StrAppend(&text, "event: ", ev.final ? "end" : "key", "\ndata: ",
                          EventToJson(ev).dump(-1, ' ', false, json::error_handler_t::replace),
                          "\n\n");
          ended |= ev.final;
        }
        if (!sink.write(text.data(), text.size())) return false;
        if (ended) sink.done();
        return true;
      },
      [ctx, client, sub = *sub](bool) {
        ctx.jobs->registry().Unsubscribe(sub);
        ctx.streams->Release(client);
        ctx.metrics->StreamClosed("http");
      });
}

}  // namespace

void InstallJobRoutes(httplib::Server& http, const RestContext& ctx) {
  http.Post("/v1/jobs",
            [ctx](const httplib::Request& req, httplib::Response& res) { PostJob(ctx, req, res); });
  http.Get("/v1/jobs", [ctx](const httplib::Request&, httplib::Response& res) {
    json jobs = json::array();
    for (const JobSummary& s : ctx.jobs->registry().List()) jobs.push_back(JobSummaryToJson(s));
    SendJson(res, 200, {{"jobs", std::move(jobs)}});
  });
  http.Get(kJobPath, [ctx](const httplib::Request& req, httplib::Response& res) {
    std::optional<JobSnapshot> job = ctx.jobs->registry().Get(req.matches[1]);
    if (!job.has_value()) return SendError(res, 404, absl::StrCat("no job ", req.matches[1].str()));
    SendJson(res, 200, JobToJson(*job));
  });
  http.Delete(kJobPath, [ctx](const httplib::Request& req, httplib::Response& res) {
    absl::StatusOr<JobSnapshot> job = ctx.jobs->Cancel(req.matches[1]);
    if (!job.ok()) return SendStatus(res, job.status());
    SendJson(res, 200, JobToJson(*job));
  });
  http.Get(kResultPath, [ctx](const httplib::Request& req, httplib::Response& res) {
    GetResult(ctx, req, res);
  });
  http.Get(kEventsPath, [ctx](const httplib::Request& req, httplib::Response& res) {
    StreamEvents(ctx, req, res);
  });
}

}  // namespace taskgrid::gateway
