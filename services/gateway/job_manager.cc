#include "services/gateway/job_manager.h"

#include <glog/logging.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_util.h"

namespace taskgrid::gateway {
namespace {

// The job's Futures: while they live, the gateway's client wants the keys.
struct FutureHolds : JobHolds {
  absl::flat_hash_map<std::string, Future> futures;
};

bool SessionLost(const absl::Status& s) { return absl::IsUnavailable(s) || absl::IsCancelled(s); }

}  // namespace

JobManager::JobManager(std::string scheduler_address, Options options)
    : address_(std::move(scheduler_address)),
      options_(options),
      registry_(options.default_ttl),
      stub_(v1::Scheduler::NewStub(MakeChannel(address_))) {
  expirer_ = std::thread([this] { ExpireLoop(); });
}

JobManager::~JobManager() {
  stop_.Notify();
  expirer_.join();
  std::shared_ptr<Client> client;
  {
    absl::MutexLock lock(&mu_);
    client = std::move(client_);
  }
  if (client != nullptr) client->SetKeyListener(nullptr);
}

void JobManager::ExpireLoop() {
  while (!stop_.WaitForNotificationWithTimeout(absl::Seconds(1))) {
    // Dropped here, outside the registry's lock: releasing takes the
    // client's lock.
    std::vector<std::shared_ptr<JobHolds>> expired = registry_.ExpireFinished();
    if (!expired.empty()) LOG(INFO) << "expired " << expired.size() << " finished job(s)";
  }
}

absl::StatusOr<std::shared_ptr<Client>> JobManager::ClientOrConnect() {
  absl::MutexLock lock(&mu_);
  if (client_ != nullptr) return client_;
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Connect(address_, absl::ToChronoMilliseconds(options_.scheduler_timeout));
  if (!client.ok()) return client.status();
  client_ = std::move(*client);
  client_->SetKeyListener(
      [this](const std::string& key, const KeyInfo& info) { registry_.OnKeyUpdate(key, info); });
  LOG(INFO) << "gateway connected to scheduler " << address_ << " as client "
            << client_->client_id();
  return client_;
}

absl::StatusOr<JobSnapshot> JobManager::Submit(SubmitRequest request) {
  GraphRequest& graph = request.graph;
  if (static_cast<int64_t>(graph.tasks.size()) > options_.max_tasks_per_job) {
    return absl::InvalidArgumentError(
        absl::StrCat("the job has ", graph.tasks.size(), " tasks, more than the limit of ",
                     options_.max_tasks_per_job, " tasks per job (--max-tasks-per-job)"));
  }
  std::vector<std::string> keys;
  absl::flat_hash_set<std::string> seen;
  for (std::string& k : graph.keys) {
    if (k.empty()) return absl::InvalidArgumentError("a wanted key is empty");
    if (seen.insert(k).second) keys.push_back(std::move(k));
  }
  if (keys.empty()) {
    return absl::InvalidArgumentError("the job wants no keys (no tasks and no \"keys\")");
  }
  const int tasks_total = static_cast<int>(graph.tasks.size());

  absl::StatusOr<std::vector<Future>> futures;
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<std::shared_ptr<Client>> client = ClientOrConnect();
    if (!client.ok()) return client.status();
    // SubmitGraph consumes its tasks; keep a copy for the one retry after
    // a lost session.
    futures = (*client)->SubmitGraph(attempt == 0 ? graph.tasks : std::move(graph.tasks), keys,
                                     graph.priority);
    if (futures.ok() || !SessionLost(futures.status())) break;
    LOG(WARNING) << "scheduler session lost (" << futures.status() << "); reconnecting";
    absl::MutexLock lock(&mu_);
    if (client_ == *client) client_.reset();
  }
  if (!futures.ok()) return futures.status();

  auto holds = std::make_shared<FutureHolds>();
  for (size_t i = 0; i < keys.size(); ++i) holds->futures.emplace(keys[i], (*futures)[i]);
  JobRegistry::NewJob job;
  job.name = std::move(request.name);
  job.keys = keys;
  job.tasks_total = tasks_total;
  job.ttl = request.ttl;
  job.holds = holds;
  const std::string id = registry_.Add(std::move(job));
  // Events that arrived before the job was registered were not routed to
  // it: catch up from the futures (older news is ignored by generation).
  for (const Future& f : *futures) registry_.OnKeyUpdate(f.key(), f.Info());
  std::optional<JobSnapshot> snap = registry_.Get(id);
  if (!snap.has_value()) return absl::InternalError("job vanished right after submission");
  return *std::move(snap);
}

absl::StatusOr<Value> JobManager::Result(const std::string& id, const std::string& key,
                                         absl::Duration wait) {
  absl::StatusOr<std::shared_ptr<JobHolds>> holds = registry_.HoldsFor(id, key);
  if (!holds.ok()) return holds.status();
  if (*holds == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("job ", id, " was cancelled"));
  }
  const Future& f = static_cast<FutureHolds&>(**holds).futures.at(key);
  if (!f.Wait(absl::ToChronoMilliseconds(wait))) {
    return absl::FailedPreconditionError(absl::StrCat("key ", key, " is still pending"));
  }
  if (f.Info().state != v1::KEY_STATE_MEMORY) {
    // The task's own failure (erred, cancelled, lost...), not a gateway one.
    return absl::FailedPreconditionError(f.Exception().message());
  }
  return f.Result(std::chrono::seconds(60));
}

absl::StatusOr<JobSnapshot> JobManager::Cancel(const std::string& id) {
  absl::StatusOr<JobRegistry::Cancelled> cancelled = registry_.Cancel(id);
  if (!cancelled.ok()) return cancelled.status();
  if (!cancelled->exclusive_keys.empty()) {
    std::shared_ptr<Client> client;
    {
      absl::MutexLock lock(&mu_);
      client = client_;
    }
    if (client != nullptr) {
      absl::Status s = client->CancelKeys(cancelled->exclusive_keys, /*force=*/false);
      if (!s.ok()) LOG(WARNING) << "cancelling job " << id << ": " << s;
    }
  }
  cancelled->holds.reset();  // releases every key of the job
  std::optional<JobSnapshot> snap = registry_.Get(id);
  if (!snap.has_value()) return absl::NotFoundError(absl::StrCat("no job ", id));
  return *std::move(snap);
}

absl::StatusOr<v1::ClusterInfoResponse> JobManager::ClusterInfo(absl::Duration timeout) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::ClusterInfoResponse info;
  grpc::Status s = stub_->ClusterInfo(&ctx, v1::ClusterInfoRequest(), &info);
  if (!s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("scheduler ", address_, " unreachable: ", s.error_message()));
  }
  return info;
}

}  // namespace taskgrid::gateway
