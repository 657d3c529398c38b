// The streaming calls of JobsService: WatchJob and GetResult. One reactor
// class per stream, at most one write in flight, OnDone deletes.

#include <algorithm>
#include <atomic>
#include <deque>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/chunking.h"
#include "common/value_codec.h"
#include "services/gateway/jobs_service.h"

namespace taskgrid::gateway {
namespace {

// A stream refused before it started (auth, limits).
template <typename T>
class RefusedStream : public grpc::ServerWriteReactor<T> {
 public:
  explicit RefusedStream(const grpc::Status& s) { this->Finish(s); }
  void OnDone() override { delete this; }
};

// Streams a job's events: the registry pushes them (under its lock, so
// OnEvent only queues and starts a write), one write at a time.
class WatchReactor : public grpc::ServerWriteReactor<v1::JobEvent> {
 public:
  WatchReactor(JobRegistry* registry, GatewayMetrics* metrics, StreamLimiter* streams,
               std::string client, const std::string& job_id)
      : registry_(registry), metrics_(metrics), streams_(streams), client_(std::move(client)) {
    metrics_->StreamOpened("grpc");
    // The replay arrives during Subscribe: it is only queued, and writing
    // starts once the subscription is recorded (a Finish before that could
    // let OnDone run while this constructor still does).
    absl::StatusOr<uint64_t> sub =
        registry_->Subscribe(job_id, [this](const JobEvent& ev) { OnEvent(ev); });
    if (sub.ok()) subscription_ = *sub;
    absl::MutexLock lock(&mu_);
    started_ = true;
    if (sub.ok()) {
      WriteNextLocked();
    } else {
      FinishLocked(ToGrpcStatus(sub.status()));
    }
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream broken"));
      return;
    }
    WriteNextLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (!writing_) FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    // After Unsubscribe returns no registry callback runs or will run.
    if (subscription_ != 0) registry_->Unsubscribe(subscription_);
    streams_->Release(client_);
    metrics_->StreamClosed("grpc");
    delete this;
  }

 private:
  void OnEvent(const JobEvent& ev) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    v1::JobEvent& out = queue_.emplace_back();
    out.set_job_id(ev.job_id);
    out.set_job_state(JobStateToProto(ev.job_state));
    if (!ev.final) KeyToProto(ev.key, out.mutable_key());
    ended_ |= ev.final;
    if (started_ && !writing_) WriteNextLocked();
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    if (cancelled_) {
      FinishLocked(grpc::Status::CANCELLED);
      return;
    }
    if (queue_.empty()) {
      if (ended_) FinishLocked(grpc::Status::OK);
      return;
    }
    current_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    StartWrite(&current_);
  }

  void FinishLocked(const grpc::Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    metrics_->ObserveGrpc("WatchJob", GrpcCodeName(s.error_code()));
    Finish(s);
  }

  JobRegistry* const registry_;
  GatewayMetrics* const metrics_;
  StreamLimiter* const streams_;
  const std::string client_;
  uint64_t subscription_ = 0;  // written in the constructor only

  absl::Mutex mu_;
  std::deque<v1::JobEvent> queue_ ABSL_GUARDED_BY(mu_);
  v1::JobEvent current_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

// Streams one result as chunks of its serialized taskgrid.v1.Value. The
// value is fetched on the work pool; chunks are cut lazily, one per write,
// so a large value is never copied whole.
class ResultReactor : public grpc::ServerWriteReactor<v1::ResultChunk> {
 public:
  ResultReactor(GatewayMetrics* metrics, std::string key)
      : metrics_(metrics), key_(std::move(key)) {}

  // Called once from the work pool.
  void Start(absl::StatusOr<Value> value) {
    if (!value.ok()) {
      Done(ToGrpcStatus(value.status()));
      return;
    }
    encoded_ = EncodeValue(*value);
    WriteNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream broken"));
    } else if (sent_ == encoded_.total_bytes) {
      Done(grpc::Status::OK);
    } else {
      WriteNext();
    }
  }

  void OnDone() override { delete this; }

 private:
  void WriteNext() {
    const size_t n = std::min(kDefaultChunkBytes, encoded_.total_bytes - sent_);
    chunk_.Clear();
    chunk_.set_key(key_);
    chunk_.set_total_bytes(static_cast<int64_t>(encoded_.total_bytes));
    chunk_.set_offset(static_cast<int64_t>(sent_));
    std::string* data = chunk_.mutable_data();
    data->reserve(n);
    // Copy [sent_, sent_ + n) out of the encoded segments.
    size_t seg_start = 0;
    for (const Blob& seg : encoded_.segments) {
      const size_t seg_end = seg_start + seg.size();
      const size_t from = std::max(seg_start, sent_);
      const size_t to = std::min(seg_end, sent_ + n);
      if (from < to) data->append(seg.data() + (from - seg_start), to - from);
      seg_start = seg_end;
      if (seg_start >= sent_ + n) break;
    }
    sent_ += n;
    chunk_.set_last(sent_ == encoded_.total_bytes);
    StartWrite(&chunk_);
  }

  void Done(const grpc::Status& s) {
    metrics_->ObserveGrpc("GetResult", GrpcCodeName(s.error_code()));
    Finish(s);
  }

  GatewayMetrics* const metrics_;
  const std::string key_;
  EncodedValue encoded_;
  size_t sent_ = 0;
  v1::ResultChunk chunk_;
};

}  // namespace

grpc::ServerWriteReactor<v1::JobEvent>* JobsService::WatchJob(grpc::CallbackServerContext* ctx,
                                                              const v1::GetJobRequest* request) {
  if (grpc::Status auth = Authenticate(ctx); !auth.ok()) {
    deps_.metrics->ObserveGrpc("WatchJob", GrpcCodeName(auth.error_code()));
    return new RefusedStream<v1::JobEvent>(auth);
  }
  std::string client = ClientIdentity(AuthorizationOf(*ctx), GrpcPeerHost(ctx->peer()));
  if (!deps_.streams->TryAcquire(client)) {
    grpc::Status s(grpc::StatusCode::RESOURCE_EXHAUSTED,
                   absl::StrCat("too many open event streams for this client (limit ",
                                deps_.streams->max_per_client(), ")"));
    deps_.metrics->ObserveGrpc("WatchJob", GrpcCodeName(s.error_code()));
    return new RefusedStream<v1::JobEvent>(s);
  }
  return new WatchReactor(&deps_.jobs->registry(), deps_.metrics, deps_.streams, std::move(client),
                          request->id());
}

grpc::ServerWriteReactor<v1::ResultChunk>* JobsService::GetResult(
    grpc::CallbackServerContext* ctx, const v1::GetResultRequest* request) {
  if (grpc::Status auth = Authenticate(ctx); !auth.ok()) {
    deps_.metrics->ObserveGrpc("GetResult", GrpcCodeName(auth.error_code()));
    return new RefusedStream<v1::ResultChunk>(auth);
  }
  auto* reactor = new ResultReactor(deps_.metrics, request->key());
  JobRegistry& registry = deps_.jobs->registry();
  const std::string id = request->job_id();
  const std::string key = request->key();
  if (absl::Status owned = registry.HoldsFor(id, key).status(); !owned.ok()) {
    reactor->Start(owned);
    return reactor;
  }
  // Waits, without holding a thread, for the key to be done (or the job to
  // end), then fetches the value from a worker on the pool.
  struct Waiter {
    std::atomic<bool> fired{false};
    std::atomic<uint64_t> subscription{0};
  };
  auto waiter = std::make_shared<Waiter>();
  absl::StatusOr<uint64_t> sub =
      registry.Subscribe(id, [this, waiter, reactor, id, key, &registry](const JobEvent& ev) {
        if (!ev.final && (ev.key.key != key || !IsKeyDone(ev.key.info.state))) return;
        if (waiter->fired.exchange(true)) return;
        pool_.Post([this, waiter, reactor, id, key, &registry] {
          registry.Unsubscribe(waiter->subscription.load());
          reactor->Start(deps_.jobs->Result(id, key, absl::ZeroDuration()));
        });
      });
  if (!sub.ok()) {
    reactor->Start(sub.status());
  } else {
    waiter->subscription.store(*sub);
  }
  return reactor;
}

}  // namespace taskgrid::gateway
