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
//  - a key whose holder fails (error chunk, broken stream, bad data) is
//    retried on its next holder; when every holder failed the callback gets
//    the error and the list of holders tried;
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
#include "common/value.h"
#include "services/worker/worker_stats.h"

namespace grpc {
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

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
};

class GrpcPeerFetcher final : public PeerFetcher {
 public:
  static constexpr int kMaxCallsPerPeer = 2;
  // A call takes queued keys until their expected sizes reach this.
  static constexpr int64_t kCallByteBudget = 64 << 20;

  // `self` is this worker's address: sent as the requester and never asked.
  GrpcPeerFetcher(std::string self, ChannelCache* channels, WorkerStats* stats);
  // Cancels calls in flight and waits for them to end (their callbacks run).
  ~GrpcPeerFetcher() override;

  void Fetch(std::vector<FetchRequest> requests, FetchCallback done) override;

 private:
  class GetDataCall;
  struct Pending {
    FetchRequest request;
    size_t next_holder = 0;
    std::vector<std::string> tried;
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
  // Routes keys (new, or undelivered by `finished`), starts calls, and
  // reports keys that have no holder left.
  void Dispatch(std::vector<Pending> to_route, GetDataCall* finished);

  const std::string self_;
  ChannelCache* channels_;
  WorkerStats* stats_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Peer> peers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> peers_with_work_ ABSL_GUARDED_BY(mu_);
  // Calls in flight; shared so that the destructor can cancel them safely.
  absl::flat_hash_map<GetDataCall*, std::shared_ptr<GetDataCall>> calls_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace taskgrid::worker
