#include "services/worker/peer_fetcher.h"

#include <atomic>
#include <map>
#include <optional>

#include <grpcpp/alarm.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include "absl/strings/str_cat.h"
#include "services/worker/chunk_receiver.h"
#include "common/grpc_util.h"
#include "common/value_codec.h"
#include "services/worker/data_chunk_wire.h"
#include "taskgrid/v1/worker.pb.h"

namespace taskgrid::worker {

std::shared_ptr<grpc::Channel> ChannelCache::Get(const std::string& address) {
  absl::MutexLock lock(&mu_);
  auto& channel = channels_[address];
  if (channel == nullptr) channel = MakeChannel(address);
  return channel;
}

void ChannelCache::Forget(const std::string& address) {
  absl::MutexLock lock(&mu_);
  channels_.erase(address);
}

// One Worker.GetData call to one peer for a batch of keys. The server sends
// the keys in request order, each as chunks or as one error chunk.
class GrpcPeerFetcher::GetDataCall final
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  GetDataCall(GrpcPeerFetcher* owner, std::string peer, std::shared_ptr<grpc::Channel> channel,
              std::vector<Pending> keys)
      : owner_(owner), peer_(std::move(peer)), channel_(std::move(channel)),
        keys_(std::move(keys)) {}

  void Start(std::shared_ptr<GetDataCall> self) {
    self_ = std::move(self);
    v1::GetDataRequest request;
    for (const Pending& p : keys_) request.add_keys(p.request.key);
    request.set_requester(owner_->self_);
    bool own = false;
    (void)grpc::SerializationTraits<v1::GetDataRequest>::Serialize(request, &request_, &own);
    // A generic (raw) call: the server-streaming method is driven as a bidi
    // stream that writes its one request and half-closes.
    grpc::TemplatedGenericStub<grpc::ByteBuffer, grpc::ByteBuffer> stub(channel_);
    stub.PrepareBidiStreamingCall(&context_, "/taskgrid.v1.Worker/GetData", grpc::StubOptions(),
                                  this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
    absl::MutexLock lock(&watch_mu_);
    if (!done_) ArmWatchdog(0);
  }

  void Cancel() { context_.TryCancel(); }
  const std::string& peer() const { return peer_; }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // end of stream; OnDone follows
    reads_.fetch_add(1, std::memory_order_relaxed);
    if (absl::Status s = Consume(); !s.ok()) {
      error_ = absl::StrCat("bad data from ", peer_, ": ", s.message());
      context_.TryCancel();
      return;
    }
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    std::shared_ptr<GetDataCall> self;  // keeps *this alive until we return
    std::unique_ptr<grpc::Alarm> watchdog;
    {
      // Under the lock: Start and OnWatchdog read self_ while arming the
      // watchdog, on other threads, for as long as done_ is false.
      absl::MutexLock lock(&watch_mu_);
      self = std::move(self_);
      done_ = true;
      watchdog = std::move(watchdog_);
    }
    watchdog.reset();  // cancels it
    std::string error =
        stalled_.load()  ? absl::StrCat(peer_, " sent nothing for ",
                                        absl::FormatDuration(owner_->options_.stall_timeout))
        : !error_.empty() ? error_
        : status.ok()     ? absl::StrCat(peer_, " ended the stream early")
                          : absl::StrCat("GetData from ", peer_, " failed: ", status.error_message());
    std::vector<Pending> broken;
    for (size_t i = current_; i < keys_.size(); ++i) {
      keys_[i].last_error = error;
      broken.push_back(std::move(keys_[i]));
    }
    // A fresh connection for whatever is asked of this peer next.
    if (!broken.empty()) owner_->channels_->Forget(peer_);
    owner_->CallEnded(this, std::move(answered_), std::move(broken));
  }

 private:
  absl::Status Consume() {
    DataChunkView chunk;
    if (absl::Status s = ParseDataChunk(response_, &chunk); !s.ok()) return s;
    if (current_ >= keys_.size() || chunk.key != keys_[current_].request.key) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected chunk for key '", chunk.key, "'"));
    }
    Pending& p = keys_[current_];
    if (!chunk.error.empty() && chunk.error_permanent) {
      // No other holder or recompute can help: fail the key now.
      ++current_;
      receiver_.reset();
      p.done(FetchResult{p.request.key,
                         absl::FailedPreconditionError(absl::StrCat(peer_, ": ", chunk.error)),
                         std::move(p.tried)});
      return absl::OkStatus();
    }
    if (!chunk.error.empty()) {
      p.last_error = absl::StrCat(peer_, ": ", chunk.error);
      ++p.holder;  // this one lacks it
      p.attempts = 0;
      answered_.push_back(std::move(p));
      ++current_;
      receiver_.reset();
      return absl::OkStatus();
    }
    if (!receiver_) receiver_.emplace();
    owner_->stats_->Add(owner_->stats_->transfer_bytes_in, static_cast<int64_t>(chunk.data_size));
    if (absl::Status s = AddChunkTo(chunk, &*receiver_); !s.ok()) return s;
    if (!receiver_->complete()) return absl::OkStatus();
    absl::StatusOr<Value> value = DecodeValue(receiver_->Take());
    receiver_.reset();
    if (!value.ok()) return value.status();
    ++current_;
    owner_->stats_->Add(owner_->stats_->transfers_in, 1);
    p.done(FetchResult{p.request.key, *std::move(value), std::move(p.tried)});
    return absl::OkStatus();
  }

  // Every stall_timeout, checks that something arrived since the last
  // check; if not, cancels the call.
  void ArmWatchdog(int64_t reads_seen) ABSL_EXCLUSIVE_LOCKS_REQUIRED(watch_mu_) {
    std::weak_ptr<GetDataCall> weak = self_;
    // Replacing the alarm from inside its own callback is safe: a fired
    // alarm's state is reference-counted by gRPC until its callback returns.
    watchdog_ = std::make_unique<grpc::Alarm>();
    watchdog_->Set(absl::ToChronoTime(absl::Now() + owner_->options_.stall_timeout),
                   [weak, reads_seen](bool fired) {
                     std::shared_ptr<GetDataCall> call = weak.lock();
                     if (fired && call != nullptr) call->OnWatchdog(reads_seen);
                   });
  }

  void OnWatchdog(int64_t reads_seen) {
    {
      absl::MutexLock lock(&watch_mu_);
      if (done_) return;
      const int64_t reads = reads_.load(std::memory_order_relaxed);
      if (reads != reads_seen) {
        ArmWatchdog(reads);
        return;
      }
      stalled_.store(true);
    }
    context_.TryCancel();  // outside the lock: OnDone takes it
  }

  GrpcPeerFetcher* owner_;
  const std::string peer_;
  std::shared_ptr<grpc::Channel> channel_;
  std::vector<Pending> keys_;
  size_t current_ = 0;            // keys_[current_] is being received
  std::vector<Pending> answered_;  // keys the peer said it lacks
  std::atomic<int64_t> reads_{0};
  std::atomic<bool> stalled_{false};
  absl::Mutex watch_mu_;
  std::unique_ptr<grpc::Alarm> watchdog_ ABSL_GUARDED_BY(watch_mu_);
  bool done_ ABSL_GUARDED_BY(watch_mu_) = false;
  std::optional<ChunkReceiver> receiver_;
  std::string error_;
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  // Set by Start before the call starts, taken by OnDone under watch_mu_.
  std::shared_ptr<GetDataCall> self_;
};

GrpcPeerFetcher::GrpcPeerFetcher(std::string self, ChannelCache* channels, WorkerStats* stats,
                                 Options options)
    : self_(std::move(self)), channels_(channels), stats_(stats), options_(options) {}

GrpcPeerFetcher::~GrpcPeerFetcher() {
  std::vector<std::shared_ptr<GetDataCall>> calls;
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    for (auto& [ptr, call] : calls_) calls.push_back(call);
    // A cancelled alarm's callback runs later on a gRPC thread (never
    // inside Cancel), so cancelling under the lock cannot deadlock; the
    // callback fails its keys since we are shutting down.
    for (auto& [ptr, alarm] : retries_) alarm->Cancel();
  }
  // Outside the lock: a cancelled call may finish inline and re-enter.
  for (auto& call : calls) call->Cancel();
  calls.clear();
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return calls_.empty() && retries_.empty();
  };
  mu_.Await(absl::Condition(&idle));
}

void GrpcPeerFetcher::Fetch(std::vector<FetchRequest> requests, FetchCallback done) {
  std::vector<Pending> pending;
  pending.reserve(requests.size());
  for (FetchRequest& r : requests) {
    Pending p;
    p.request = std::move(r);
    p.done = done;
    pending.push_back(std::move(p));
  }
  Dispatch(std::move(pending), nullptr);
}

size_t GrpcPeerFetcher::SkipSelf(const Pending& p, size_t i) const {
  const std::vector<std::string>& holders = p.request.holders;
  while (i < holders.size() && holders[i] == self_) ++i;
  return i;
}

void GrpcPeerFetcher::Route(Pending p, std::vector<Pending>* failed) {
  const std::vector<std::string>& holders = p.request.holders;
  p.holder = SkipSelf(p, p.holder);
  if (shutting_down_ || p.holder >= holders.size()) {
    if (shutting_down_) p.last_error = "worker is shutting down";
    failed->push_back(std::move(p));
    return;
  }
  const std::string& peer = holders[p.holder];
  peers_[peer].queue.push_back(std::move(p));
  peers_with_work_.insert(peer);
}

void GrpcPeerFetcher::StartCalls(std::vector<std::shared_ptr<GetDataCall>>* started) {
  for (auto it = peers_with_work_.begin(); it != peers_with_work_.end();) {
    const std::string& address = *it;
    Peer& peer = peers_[address];
    while (peer.in_flight < kMaxCallsPerPeer && !peer.queue.empty()) {
      std::vector<Pending> batch;
      int64_t bytes = 0;
      while (!peer.queue.empty() &&
             (batch.empty() || bytes + peer.queue.front().request.nbytes <= kCallByteBudget)) {
        Pending p = std::move(peer.queue.front());
        peer.queue.pop_front();
        bytes += p.request.nbytes;
        if (p.attempts++ == 0) p.tried.push_back(address);
        batch.push_back(std::move(p));
      }
      auto call = std::make_shared<GetDataCall>(this, address, channels_->Get(address),
                                                std::move(batch));
      calls_.emplace(call.get(), call);
      ++peer.in_flight;
      started->push_back(std::move(call));
    }
    if (peer.queue.empty()) {
      peers_with_work_.erase(it++);
    } else {
      ++it;
    }
  }
}

void GrpcPeerFetcher::CallEnded(GetDataCall* call, std::vector<Pending> answered,
                                std::vector<Pending> broken) {
  Dispatch(std::move(answered), call, std::move(broken));
}

void GrpcPeerFetcher::RetryLater(std::vector<Pending> keys, absl::Duration delay) {
  auto alarm = std::make_unique<grpc::Alarm>();
  grpc::Alarm* raw = alarm.get();
  retries_.emplace(raw, std::move(alarm));
  auto shared_keys = std::make_shared<std::vector<Pending>>(std::move(keys));
  raw->Set(absl::ToChronoTime(absl::Now() + delay), [this, raw, shared_keys](bool) {
    // Fired or cancelled: either way the keys go back through Dispatch
    // (which fails them when shutting down) before the destructor may end.
    Dispatch(std::move(*shared_keys), nullptr);
    std::unique_ptr<grpc::Alarm> spent;
    absl::MutexLock lock(&mu_);
    auto it = retries_.find(raw);
    if (it == retries_.end()) return;
    spent = std::move(it->second);  // destroyed after unlocking, inside its own callback
    retries_.erase(it);
  });
}

void GrpcPeerFetcher::Dispatch(std::vector<Pending> to_route, GetDataCall* finished,
                               std::vector<Pending> broken) {
  std::vector<Pending> failed;
  std::vector<std::shared_ptr<GetDataCall>> started;
  {
    absl::MutexLock lock(&mu_);
    if (finished != nullptr) {
      auto it = calls_.find(finished);
      if (it != calls_.end()) {
        const std::string& peer = it->second->peer();
        --peers_[peer].in_flight;
        if (!peers_[peer].queue.empty()) peers_with_work_.insert(peer);
        calls_.erase(it);  // the call keeps itself alive until OnDone returns
      }
    }
    // Keys the peer of `finished` did not deliver: another holder if there
    // is one, else the same one again after a backoff, while attempts last.
    std::map<int, std::vector<Pending>> retry_by_attempt;
    for (Pending& p : broken) {
      const std::string& peer = p.request.holders[p.holder];
      const bool other_holder = SkipSelf(p, p.holder + 1) < p.request.holders.size();
      if (shutting_down_ || other_holder || p.attempts >= options_.attempts_per_holder) {
        p.unreachable.push_back(peer);
        ++p.holder;
        p.attempts = 0;
        to_route.push_back(std::move(p));
      } else {
        retry_by_attempt[p.attempts].push_back(std::move(p));
      }
    }
    for (auto& [attempts, keys] : retry_by_attempt) {
      stats_->Add(stats_->fetch_retries, static_cast<int64_t>(keys.size()));
      RetryLater(std::move(keys), options_.retry_backoff * (1 << std::min(attempts - 1, 10)));
    }
    for (Pending& p : to_route) Route(std::move(p), &failed);
    if (!shutting_down_) StartCalls(&started);
  }
  for (auto& call : started) call->Start(call);
  for (Pending& p : failed) {
    absl::Status error =
        p.tried.empty()
            ? absl::NotFoundError(absl::StrCat("no worker to fetch '", p.request.key, "' from",
                                               p.last_error.empty() ? "" : ": ", p.last_error))
            : absl::UnavailableError(absl::StrCat("could not fetch '", p.request.key, "' from ",
                                                  p.tried.size(), " worker(s); last error: ",
                                                  p.last_error));
    p.done(FetchResult{p.request.key, std::move(error), std::move(p.tried),
                       std::move(p.unreachable)});
  }
}

}  // namespace taskgrid::worker
