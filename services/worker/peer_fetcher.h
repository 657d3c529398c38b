#pragma once
// Fetching dependencies from the workers that hold them.
//
// PeerFetcher is the interface the worker core uses (tests fake it);
// GrpcPeerFetcher implements it with Worker.GetData calls:
//  - requested keys are grouped by holder, one GetData call carries all the
//    keys queued for that holder when the call starts (up to a byte
//    budget), and at most kMaxCallsPerPeer calls per holder run at once, so
//    many small dependencies share calls and large ones stream in parallel
//    from different peers;
//  - a key whose holder answers without it (error chunk) moves on to its
//    next holder; a holder that fails in transport (broken stream, bad
//    data, or nothing received for `stall_timeout`) is left for the next
//    holder if there is one, and otherwise asked again, up to
//    `attempts_per_holder` times with doubling backoff, on a fresh
//    connection; when every holder failed the callback gets the error, the
//    holders tried and which of them never answered (`unreachable`), so the
//    scheduler can tell a holder that lacks the value from one that may
//    still have it;
//  - calls are asynchronous (gRPC callback API): no thread waits on the
//    network, and one cached channel per peer is reused for every call.
//
// Thread-safety: Fetch may be called from any thread. Callbacks run on
// gRPC threads and must not block; a key with no usable holder fails at
// once, inside Fetch, so callers must not hold locks the callback takes.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/value.h"
#include "services/worker/worker_stats.h"

namespace grpc {
class Alarm;
class Channel;
}

namespace taskgrid::worker {

struct FetchRequest {
  std::string key;
  std::vector<std::string> holders;  // worker addresses, in preference order
  int64_t nbytes = 0;                // expected size (for batching); 0 if unknown
};

struct FetchResult {
  std::string key;
  // FailedPrecondition: the holder has the value but cannot send it (the
  // task needing it errs); other errors: not found on any holder.
  absl::StatusOr<Value> value;
  std::vector<std::string> tried;  // holders asked, in order
  // Those of `tried` that never answered (transport failures on every
  // attempt); the others answered that they lack the value.
  std::vector<std::string> unreachable;
};

using FetchCallback = std::function<void(FetchResult)>;

class PeerFetcher {
 public:
  virtual ~PeerFetcher() = default;
  // Calls `done` once per requested key.
  virtual void Fetch(std::vector<FetchRequest> requests, FetchCallback done) = 0;
};

// One channel per peer address, created on first use and kept.
class ChannelCache {
 public:
  std::shared_ptr<grpc::Channel> Get(const std::string& address);
  // Drops the channel to `address` (calls on it continue): the next Get
  // connects anew instead of waiting out a broken channel's reconnect
  // backoff.
  void Forget(const std::string& address);

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
};

class GrpcPeerFetcher final : public PeerFetcher {
 public:
  static constexpr int kMaxCallsPerPeer = 2;
  // A call takes queued keys until their expected sizes reach this.
  static constexpr int64_t kCallByteBudget = 64 << 20;

  struct Options {
    // A call that receives nothing for this long is abandoned (the peer is
    // stalled: stopped, overloaded, or cut off with the connection open).
    absl::Duration stall_timeout = absl::Seconds(30);
    // Attempts on a key's last holder before giving up on it; the wait
    // before attempt n+1 is retry_backoff * 2^(n-1).
    int attempts_per_holder = 3;
    absl::Duration retry_backoff = absl::Milliseconds(250);
  };

  // `self` is this worker's address: sent as the requester and never asked.
  GrpcPeerFetcher(std::string self, ChannelCache* channels, WorkerStats* stats)
      : GrpcPeerFetcher(std::move(self), channels, stats, Options()) {}
  GrpcPeerFetcher(std::string self, ChannelCache* channels, WorkerStats* stats, Options options);
  // Cancels calls in flight and waits for them to end (their callbacks run).
  ~GrpcPeerFetcher() override;

  void Fetch(std::vector<FetchRequest> requests, FetchCallback done) override;

 private:
  class GetDataCall;
  struct Pending {
    FetchRequest request;
    size_t holder = 0;  // index of the holder to ask next
    int attempts = 0;   // made on that holder
    std::vector<std::string> tried;
    std::vector<std::string> unreachable;
    std::string last_error;
    FetchCallback done;
  };
  struct Peer {
    std::deque<Pending> queue;
    int in_flight = 0;
  };

  // Queues `p` on its next untried holder, or fails it into `failed` when
  // none is left.
  void Route(Pending p, std::vector<Pending>* failed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Creates calls for peers with queued keys and free call slots.
  void StartCalls(std::vector<std::shared_ptr<GetDataCall>>* started)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The first holder at or after index `i` that is not this worker.
  size_t SkipSelf(const Pending& p, size_t i) const;
  // Routes keys (new, answered-without-value or `broken` by `finished`),
  // starts calls, and reports keys that have no holder left. `broken` keys
  // failed in transport on their current holder: each moves on to its next
  // holder, or is asked again after a backoff, or fails.
  void Dispatch(std::vector<Pending> to_route, GetDataCall* finished,
                std::vector<Pending> broken = {});
  void CallEnded(GetDataCall* call, std::vector<Pending> answered, std::vector<Pending> broken);
  // Routes `keys` again after `delay`.
  void RetryLater(std::vector<Pending> keys, absl::Duration delay)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string self_;
  ChannelCache* channels_;
  WorkerStats* stats_;
  const Options options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Peer> peers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> peers_with_work_ ABSL_GUARDED_BY(mu_);
  // Calls in flight; shared so that the destructor can cancel them safely.
  absl::flat_hash_map<GetDataCall*, std::shared_ptr<GetDataCall>> calls_ ABSL_GUARDED_BY(mu_);
  // Timers of keys waiting to be asked again.
  absl::flat_hash_map<grpc::Alarm*, std::unique_ptr<grpc::Alarm>> retries_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace taskgrid::worker
