#pragma once
// Request limits of the gateway: the settings (flags), a JSON nesting-depth
// check that runs before parsing (so a hostile document cannot exhaust the
// stack or memory of the parser), and a per-client counter of open event
// streams (SSE and WatchJob).
//
// Thread-safety: StreamLimiter may be used from any thread; the rest is
// immutable or pure.

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace taskgrid::gateway {

struct Limits {
  int64_t max_request_bytes = int64_t{64} << 20;
  int64_t max_tasks_per_job = 1000000;
  int max_json_depth = 64;
  int max_streams_per_client = 8;
};

// InvalidArgument naming the limit when `json` nests arrays/objects deeper
// than `max_depth` (brackets inside strings do not count).
absl::Status CheckJsonDepth(absl::string_view json, int max_depth);

// Counts open streams per client identity (token, else peer address).
class StreamLimiter {
 public:
  explicit StreamLimiter(int max_per_client) : max_(max_per_client) {}
  // False when the client already has the maximum open.
  bool TryAcquire(const std::string& client) ABSL_LOCKS_EXCLUDED(mu_);
  void Release(const std::string& client) ABSL_LOCKS_EXCLUDED(mu_);
  int open(const std::string& client) ABSL_LOCKS_EXCLUDED(mu_);
  int max_per_client() const { return max_; }

 private:
  const int max_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> open_ ABSL_GUARDED_BY(mu_);
};

// The identity streams are counted under: the bearer token when there is
// one (many users may share a NAT address), else the peer's IP address.
std::string ClientIdentity(absl::string_view authorization, absl::string_view peer_address);
// The host part of a gRPC peer string ("ipv4:127.0.0.1:5000" -> "127.0.0.1",
// "ipv6:[::1]:5000" -> "::1"), the form httplib reports as remote_addr.
std::string GrpcPeerHost(absl::string_view peer);

}  // namespace taskgrid::gateway
