#include "services/gateway/job_registry.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace taskgrid::gateway {

const char* JobStateName(JobState s) {
  switch (s) {
    case JobState::kPending:
      return "pending";
    case JobState::kRunning:
      return "running";
    case JobState::kFinished:
      return "finished";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

v1::JobState JobStateToProto(JobState s) {
  switch (s) {
    case JobState::kPending:
      return v1::JOB_STATE_PENDING;
    case JobState::kRunning:
      return v1::JOB_STATE_RUNNING;
    case JobState::kFinished:
      return v1::JOB_STATE_FINISHED;
    case JobState::kFailed:
      return v1::JOB_STATE_FAILED;
    case JobState::kCancelled:
      return v1::JOB_STATE_CANCELLED;
  }
  return v1::JOB_STATE_UNSPECIFIED;
}

bool IsTerminal(JobState s) {
  return s == JobState::kFinished || s == JobState::kFailed || s == JobState::kCancelled;
}

std::string KeyStateName(v1::KeyState s) {
  if (s == v1::KEY_STATE_UNSPECIFIED) return "pending";
  // KEY_STATE_NO_WORKER -> "no-worker", as the scheduler names its states.
  std::string name = absl::AsciiStrToLower(v1::KeyState_Name(s).substr(sizeof("KEY_STATE_") - 1));
  return absl::StrReplaceAll(name, {{"_", "-"}});
}

bool IsKeyDone(v1::KeyState s) {
  switch (s) {
    case v1::KEY_STATE_MEMORY:
    case v1::KEY_STATE_ERRED:
    case v1::KEY_STATE_CANCELLED:
    case v1::KEY_STATE_LOST:
    case v1::KEY_STATE_NO_WORKER:
      return true;
    default:
      return false;
  }
}

struct JobRegistry::Job {
  std::string id;
  std::string name;
  absl::Time created;
  absl::Duration ttl;
  int tasks_total = 0;
  std::vector<JobKey> keys;
  absl::flat_hash_map<std::string, size_t> index;  // key -> position in keys
  JobState state = JobState::kPending;
  bool cancelled = false;
  std::optional<absl::Time> terminal_since;
  std::shared_ptr<JobHolds> holds;
  absl::flat_hash_map<uint64_t, EventSink> sinks;
};

JobRegistry::JobRegistry(absl::Duration default_ttl, Clock clock)
    : default_ttl_(default_ttl), clock_(std::move(clock)) {}

JobRegistry::~JobRegistry() = default;

std::string JobRegistry::Add(NewJob spec) {
  auto job = std::make_unique<Job>();
  job->name = std::move(spec.name);
  job->ttl = spec.ttl > absl::ZeroDuration() ? spec.ttl : default_ttl_;
  job->tasks_total = spec.tasks_total;
  job->holds = std::move(spec.holds);
  job->keys.reserve(spec.keys.size());
  for (size_t i = 0; i < spec.keys.size(); ++i) {
    job->index.emplace(spec.keys[i], job->keys.size());
    job->keys.push_back(
        JobKey{std::move(spec.keys[i]), i < spec.initial.size() ? spec.initial[i] : KeyInfo()});
  }
  job->id = spec.id.empty() ? NewId() : std::move(spec.id);

  absl::MutexLock lock(&mu_);
  job->created = spec.created.has_value() ? *spec.created : clock_();
  for (const JobKey& k : job->keys) jobs_of_key_[k.key].push_back(job.get());
  RefreshStateLocked(*job);
  std::string id = job->id;
  jobs_.emplace(id, std::move(job));
  return id;
}

std::string JobRegistry::NewId() {
  // Random, so ids are not guessable across tenants; the counter keeps them
  // unique within this process.
  absl::BitGen bits;
  const uint64_t random = absl::Uniform<uint64_t>(bits);
  absl::MutexLock lock(&mu_);
  return absl::StrFormat("j%012x%x", random & 0xffffffffffffULL, ++next_job_);
}

bool JobRegistry::Contains(const std::string& id) {
  absl::MutexLock lock(&mu_);
  return jobs_.contains(id);
}

std::shared_ptr<JobHolds> JobRegistry::ReplaceHolds(const std::string& id,
                                                    std::shared_ptr<JobHolds> holds) {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second->cancelled) return holds;
  std::swap(it->second->holds, holds);
  return holds;
}

void JobRegistry::OnKeyUpdate(const std::string& key, const KeyInfo& info) {
  absl::MutexLock lock(&mu_);
  auto it = jobs_of_key_.find(key);
  if (it == jobs_of_key_.end()) return;
  for (Job* job : it->second) {
    JobKey& k = job->keys[job->index.at(key)];
    if (info.generation <= k.info.generation) continue;  // older news
    k.info = info;
    RefreshStateLocked(*job);
    // Ends the subscribers' streams when this news made the job terminal.
    const JobEvent ev{job->id, k, job->state, false};
    EmitLocked(*job, &ev);
  }
}

void JobRegistry::RefreshStateLocked(Job& job) {
  JobState now;
  if (job.cancelled) {
    now = JobState::kCancelled;
  } else {
    int done = 0, erred = 0;
    for (const JobKey& k : job.keys) {
      if (!IsKeyDone(k.info.state)) continue;
      ++done;
      if (k.info.state != v1::KEY_STATE_MEMORY) ++erred;
    }
    if (done == 0 && !job.keys.empty()) {
      now = JobState::kPending;
    } else if (done < static_cast<int>(job.keys.size())) {
      now = JobState::kRunning;
    } else {
      now = erred > 0 ? JobState::kFailed : JobState::kFinished;
    }
  }
  job.state = now;
  if (!IsTerminal(now)) {
    // A lost key being recomputed reopens the job.
    job.terminal_since.reset();
    return;
  }
  if (!job.terminal_since.has_value()) job.terminal_since = clock_();
}

void JobRegistry::EmitLocked(Job& job, const JobEvent* ev) {
  if (ev != nullptr) {
    for (auto& [id, sink] : job.sinks) sink(*ev);
  }
  if (!IsTerminal(job.state)) return;
  JobEvent final{job.id, JobKey{}, job.state, true};
  for (auto& [id, sink] : job.sinks) {
    sink(final);
    subscriptions_.erase(id);
  }
  job.sinks.clear();
}

JobSummary JobRegistry::SummaryLocked(const Job& job) const {
  JobSummary s;
  s.id = job.id;
  s.name = job.name;
  s.state = job.state;
  s.created = job.created;
  s.tasks_total = job.tasks_total;
  s.keys_total = static_cast<int>(job.keys.size());
  for (const JobKey& k : job.keys) {
    if (k.info.state == v1::KEY_STATE_MEMORY) {
      ++s.keys_done;
    } else if (IsKeyDone(k.info.state)) {
      ++s.keys_erred;
    }
  }
  return s;
}

std::optional<JobSnapshot> JobRegistry::Get(const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return JobSnapshot{SummaryLocked(*it->second), it->second->keys};
}

std::vector<JobSummary> JobRegistry::List() {
  absl::MutexLock lock(&mu_);
  std::vector<JobSummary> out;
  out.reserve(jobs_.size());
  for (const auto& [id, job] : jobs_) out.push_back(SummaryLocked(*job));
  std::sort(out.begin(), out.end(), [](const JobSummary& a, const JobSummary& b) {
    return a.created != b.created ? a.created < b.created : a.id < b.id;
  });
  return out;
}

absl::StatusOr<std::shared_ptr<JobHolds>> JobRegistry::HoldsFor(const std::string& id,
                                                                const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("no job ", id));
  if (!it->second->index.contains(key)) {
    return absl::NotFoundError(absl::StrCat("job ", id, " has no key ", key));
  }
  return it->second->holds;
}

void JobRegistry::DetachKeysLocked(const Job& job) {
  for (const JobKey& k : job.keys) {
    auto it = jobs_of_key_.find(k.key);
    if (it == jobs_of_key_.end()) continue;
    auto& jobs = it->second;
    jobs.erase(std::remove(jobs.begin(), jobs.end(), &job), jobs.end());
    if (jobs.empty()) jobs_of_key_.erase(it);
  }
}

absl::StatusOr<JobRegistry::Cancelled> JobRegistry::Cancel(const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("no job ", id));
  Job& job = *it->second;
  Cancelled out;
  out.holds = std::move(job.holds);
  const bool was_terminal = IsTerminal(job.state);
  DetachKeysLocked(job);
  if (!was_terminal) {
    for (const JobKey& k : job.keys) {
      if (!jobs_of_key_.contains(k.key) && !IsKeyDone(k.info.state)) {
        out.exclusive_keys.push_back(k.key);
      }
    }
    job.cancelled = true;
    RefreshStateLocked(job);
    EmitLocked(job, nullptr);  // just the final event
  }
  return out;
}

std::vector<std::shared_ptr<JobHolds>> JobRegistry::ExpireFinished() {
  std::vector<std::shared_ptr<JobHolds>> dropped;
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_();
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    Job& job = *it->second;
    if (!job.terminal_since.has_value() || now - *job.terminal_since < job.ttl) {
      ++it;
      continue;
    }
    DetachKeysLocked(job);
    for (auto& [sub, sink] : job.sinks) subscriptions_.erase(sub);
    if (job.holds != nullptr) dropped.push_back(std::move(job.holds));
    jobs_.erase(it++);
  }
  return dropped;
}

absl::StatusOr<uint64_t> JobRegistry::Subscribe(const std::string& id, EventSink sink) {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("no job ", id));
  Job& job = *it->second;
  for (const JobKey& k : job.keys) {
    if (k.info.state != v1::KEY_STATE_UNSPECIFIED) sink(JobEvent{job.id, k, job.state, false});
  }
  const uint64_t sub = ++next_subscription_;
  if (IsTerminal(job.state)) {
    sink(JobEvent{job.id, JobKey{}, job.state, true});
    return sub;  // nothing more will come: not registered
  }
  job.sinks.emplace(sub, std::move(sink));
  subscriptions_.emplace(sub, &job);
  return sub;
}

void JobRegistry::Unsubscribe(uint64_t subscription) {
  absl::MutexLock lock(&mu_);
  auto it = subscriptions_.find(subscription);
  if (it == subscriptions_.end()) return;
  it->second->sinks.erase(subscription);
  subscriptions_.erase(it);
}

std::vector<std::pair<JobState, int>> JobRegistry::CountByState() {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<JobState, int>> out;
  for (JobState s : {JobState::kPending, JobState::kRunning, JobState::kFinished, JobState::kFailed,
                     JobState::kCancelled}) {
    out.emplace_back(s, 0);
  }
  for (const auto& [id, job] : jobs_) ++out[static_cast<int>(job->state)].second;
  return out;
}

}  // namespace taskgrid::gateway
