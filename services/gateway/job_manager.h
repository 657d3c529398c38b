#pragma once
// JobManager: what both front ends (REST and gRPC Jobs) call. It owns the
// gateway's single taskgrid::Client session to the scheduler, submits each
// job's graph through it, keeps the job's Futures (so the job, not the HTTP
// or gRPC caller, holds the keys: a job survives its caller going away),
// feeds the client's key events into the JobRegistry, fetches results from
// the workers, cancels jobs and expires finished ones after their TTL.
//
// Restarts: the session is a durable, named one (--session-name). Each
// job's record (JobRecord) is stored in the session on the scheduler
// before its graph is sent and erased when the job is deleted or expires.
// When the gateway dies, the scheduler keeps the session's keys for its
// linger time; a gateway connecting with the same name resumes the
// session, reloads every job from its record and adopts the keys (their
// current state is replayed by the scheduler), so jobs, their status and
// their results survive the gateway process.
//
// Thread-safety: every method may be called from any thread.

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "clients/cpp/client.h"
#include "common/graph_json.h"
#include "services/gateway/job_registry.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"

namespace taskgrid::gateway {

class JobManager {
 public:
  struct Options {
    absl::Duration default_ttl = absl::Hours(1);
    int64_t max_tasks_per_job = 1000000;
    absl::Duration scheduler_timeout = absl::Seconds(10);
    // The durable scheduler session (empty: an ordinary session, whose
    // jobs die with the gateway process) and how long the scheduler keeps
    // it after the connection drops (zero: the scheduler's default).
    std::string session_name;
    absl::Duration session_linger = absl::ZeroDuration();
  };

  JobManager(std::string scheduler_address, Options options);
  ~JobManager();

  // Connects lazily on the first call that needs the scheduler, so the
  // gateway can start (and report not-ready) before the scheduler is up.
  // InvalidArgument names the problem: limit, cycle, missing dependency,
  // unknown function (the scheduler's own words).
  struct SubmitRequest {
    GraphRequest graph;
    std::string name;
    absl::Duration ttl = absl::ZeroDuration();
  };
  absl::StatusOr<JobSnapshot> Submit(SubmitRequest request) ABSL_LOCKS_EXCLUDED(mu_);

  // The value of `key` of job `id`, waiting up to `wait` for it to be done.
  // NotFound: no such job or key. FailedPrecondition: still pending after
  // `wait`, erred (the task's error text), or the job was cancelled.
  absl::StatusOr<Value> Result(const std::string& id, const std::string& key, absl::Duration wait);
  // Cancels the job's keys no other job wants and releases all of its keys.
  absl::StatusOr<JobSnapshot> Cancel(const std::string& id);

  absl::StatusOr<v1::ClusterInfoResponse> ClusterInfo(absl::Duration timeout);
  // Opens the scheduler session now if it is not open (restoring the jobs
  // of a resumed session); OK when open.
  absl::Status EnsureSession() ABSL_LOCKS_EXCLUDED(mu_);

  JobRegistry& registry() { return registry_; }
  const std::string& scheduler_address() const { return address_; }

 private:
  absl::StatusOr<std::shared_ptr<Client>> ClientOrConnect() ABSL_LOCKS_EXCLUDED(mu_);
  // Reloads the jobs recorded in a resumed session and adopts their keys;
  // keys the session holds that no record claims are released.
  void RestoreJobs(Client& client);
  // Keeps the session open (so a restarted gateway restores its jobs
  // without waiting for a request) and expires finished jobs.
  void MaintenanceLoop();

  const std::string address_;
  const Options options_;
  JobRegistry registry_;
  std::unique_ptr<v1::Scheduler::Stub> stub_;

  absl::Mutex mu_;
  std::shared_ptr<Client> client_ ABSL_GUARDED_BY(mu_);
  // Another gateway resumed our session: never reconnect.
  bool taken_over_ ABSL_GUARDED_BY(mu_) = false;

  absl::Notification stop_;
  std::thread expirer_;
};

}  // namespace taskgrid::gateway
