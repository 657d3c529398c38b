#include "services/gateway/job_manager.h"

#include <glog/logging.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_util.h"
#include "services/gateway/job_record.h"

namespace taskgrid::gateway {
namespace {

// The job's Futures: while they live, the gateway's client wants the keys.
// A key missing from `futures` (restored job whose key the scheduler no
// longer held) has no value.
struct FutureHolds : JobHolds {
  std::string job_id;
  absl::flat_hash_map<std::string, Future> futures;
};

bool SessionLost(const absl::Status& s) { return absl::IsUnavailable(s) || absl::IsCancelled(s); }

std::string RecordName(const std::string& job_id) {
  return absl::StrCat(kJobRecordPrefix, job_id);
}

}  // namespace

JobManager::JobManager(std::string scheduler_address, Options options)
    : address_(std::move(scheduler_address)),
      options_(options),
      registry_(options.default_ttl),
      stub_(v1::Scheduler::NewStub(MakeChannel(address_))) {
  expirer_ = std::thread([this] { MaintenanceLoop(); });
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

void JobManager::MaintenanceLoop() {
  absl::Duration wait = absl::ZeroDuration();  // connect at once
  while (!stop_.WaitForNotificationWithTimeout(wait)) {
    wait = absl::Seconds(1);
    if (absl::Status s = EnsureSession(); !s.ok()) {
      LOG_EVERY_N(WARNING, 30) << "no scheduler session yet: " << s;
    }
    // Dropped here, outside the registry's lock: releasing takes the
    // client's lock.
    std::vector<std::shared_ptr<JobHolds>> expired = registry_.ExpireFinished();
    if (expired.empty()) continue;
    std::shared_ptr<Client> client;
    {
      absl::MutexLock lock(&mu_);
      client = client_;
    }
    for (const auto& holds : expired) {
      const std::string& id = static_cast<FutureHolds&>(*holds).job_id;
      if (client != nullptr) client->SetSessionData(RecordName(id), "").IgnoreError();
    }
    LOG(INFO) << "expired " << expired.size() << " finished job(s)";
  }
}

absl::Status JobManager::EnsureSession() { return ClientOrConnect().status(); }

absl::StatusOr<std::shared_ptr<Client>> JobManager::ClientOrConnect() {
  absl::MutexLock lock(&mu_);
  if (client_ != nullptr) return client_;
  if (taken_over_) {
    return absl::UnavailableError(absl::StrCat("this gateway's scheduler session \"",
                                               options_.session_name,
                                               "\" was taken over by another gateway"));
  }
  SessionOptions session;
  session.name = options_.session_name;
  session.linger_seconds = absl::ToDoubleSeconds(options_.session_linger);
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(
      address_, absl::ToChronoMilliseconds(options_.scheduler_timeout), session);
  if (!client.ok()) return client.status();
  client_ = std::move(*client);
  client_->SetKeyListener(
      [this](const std::string& key, const KeyInfo& info) { registry_.OnKeyUpdate(key, info); });
  LOG(INFO) << "gateway connected to scheduler " << address_ << " as client "
            << client_->client_id()
            << (client_->resumed() ? " (resumed session \"" + options_.session_name + "\")" : "");
  if (client_->resumed()) RestoreJobs(*client_);
  return client_;
}

void JobManager::RestoreJobs(Client& client) {
  std::vector<std::string> resumed = client.ResumedKeys();
  absl::flat_hash_set<std::string> held(resumed.begin(), resumed.end());
  int restored = 0;
  for (const auto& [name, text] : client.SessionData()) {
    if (name.rfind(kJobRecordPrefix, 0) != 0) continue;
    const std::string id = name.substr(sizeof(kJobRecordPrefix) - 1);
    absl::StatusOr<JobRecord> record = DecodeJobRecord(id, text);
    if (!record.ok()) {
      LOG(WARNING) << "dropping unreadable " << record.status();
      client.SetSessionData(name, "").IgnoreError();
      continue;
    }
    auto holds = std::make_shared<FutureHolds>();
    holds->job_id = id;
    JobRegistry::NewJob job;
    for (const std::string& key : record->keys) {
      KeyInfo info;
      if (held.contains(key)) {
        Future f = client.FutureOf(key);
        info = f.Info();
        holds->futures.emplace(key, std::move(f));
      } else {
        // Released while no gateway held the session (e.g. cancelled by
        // another client): the job reports it lost rather than pending.
        info.state = v1::KEY_STATE_LOST;
        info.has_error = true;
        info.error.set_key(key);
        info.error.set_message(absl::StrCat(
            "key ", key, " was released on the scheduler while the gateway was away"));
        info.generation = 1;
      }
      job.initial.push_back(std::move(info));
    }
    if (registry_.Contains(id)) {
      // Same process, new session: the old futures belong to the dead one.
      registry_.ReplaceHolds(id, holds).reset();
      for (size_t i = 0; i < record->keys.size(); ++i) {
        registry_.OnKeyUpdate(record->keys[i], job.initial[i]);
      }
    } else {
      job.id = id;
      job.name = record->name;
      job.keys = record->keys;
      job.tasks_total = record->tasks_total;
      job.ttl = record->ttl;
      job.created = record->created;
      job.holds = holds;
      registry_.Add(std::move(job));
      // News that arrived between the snapshot and Add (older news is
      // ignored by generation).
      for (const auto& [key, f] : holds->futures) registry_.OnKeyUpdate(key, f.Info());
    }
    ++restored;
  }
  // Keys no record claims (none unless a record was unreadable): release.
  int released = 0;
  for (const std::string& key : client.ResumedKeys()) {
    client.FutureOf(key);  // adopted and dropped at once: released
    ++released;
  }
  LOG(INFO) << "restored " << restored << " job(s) from the scheduler session"
            << (released > 0 ? absl::StrCat("; released ", released, " unclaimed key(s)") : "");
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

  // The record goes first, on the same stream as the graph: a gateway
  // dying in between leaves a record whose keys were never wanted (its
  // job reports them lost), never wanted keys without a record.
  JobRecord record;
  record.id = registry_.NewId();
  record.name = request.name;
  record.keys = keys;
  record.tasks_total = tasks_total;
  record.created = absl::Now();
  record.ttl = request.ttl > absl::ZeroDuration() ? request.ttl : options_.default_ttl;
  const std::string record_text = EncodeJobRecord(record);

  absl::StatusOr<std::vector<Future>> futures;
  std::shared_ptr<Client> used;
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<std::shared_ptr<Client>> client = ClientOrConnect();
    if (!client.ok()) return client.status();
    used = *client;
    absl::Status recorded = used->SetSessionData(RecordName(record.id), record_text);
    // SubmitGraph consumes its tasks; keep a copy for the one retry after
    // a lost session.
    futures = recorded.ok() ? used->SubmitGraph(attempt == 0 ? graph.tasks : std::move(graph.tasks),
                                                keys, graph.priority)
                            : absl::StatusOr<std::vector<Future>>(recorded);
    if (futures.ok() || !SessionLost(futures.status())) break;
    absl::MutexLock lock(&mu_);
    if (absl::StrContains(futures.status().message(), "taken over")) {
      // Another gateway resumed this session: taking it back would only
      // make the two fight over it.
      LOG(ERROR) << "another gateway took over session \"" << options_.session_name
                 << "\"; this gateway stops submitting (give each replica its own "
                    "--session-name)";
      taken_over_ = true;
      return absl::UnavailableError(absl::StrCat(
          "this gateway's scheduler session \"", options_.session_name,
          "\" was taken over by another gateway"));
    }
    LOG(WARNING) << "scheduler session lost (" << futures.status() << "); reconnecting";
    if (client_ == *client) client_.reset();
  }
  if (!futures.ok()) {
    used->SetSessionData(RecordName(record.id), "").IgnoreError();
    return futures.status();
  }

  auto holds = std::make_shared<FutureHolds>();
  holds->job_id = record.id;
  for (size_t i = 0; i < keys.size(); ++i) holds->futures.emplace(keys[i], (*futures)[i]);
  JobRegistry::NewJob job;
  job.id = record.id;
  job.created = record.created;
  job.name = std::move(request.name);
  job.keys = keys;
  job.tasks_total = tasks_total;
  job.ttl = record.ttl;
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
  const auto& futures = static_cast<FutureHolds&>(**holds).futures;
  auto held = futures.find(key);
  if (held == futures.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "key ", key, " was released on the scheduler while the gateway was away"));
  }
  const Future& f = held->second;
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
  std::shared_ptr<Client> client;
  {
    absl::MutexLock lock(&mu_);
    client = client_;
  }
  if (client != nullptr) {
    // The job's keys go with its record: a restarted gateway forgets it.
    client->SetSessionData(RecordName(id), "").IgnoreError();
    if (!cancelled->exclusive_keys.empty()) {
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
