#pragma once
// TokenStore: bearer tokens from a token file (--token-file of the gateway,
// scheduler and worker) (one token per line; blank
// lines and lines starting with '#' ignored), reloadable at run time
// (main reloads on SIGHUP) so tokens rotate without a restart. Without a
// token file, authentication is off and every request passes.
//
// Thread-safety: all methods may be called from any thread. A failed
// reload keeps the previous tokens (a half-written file never locks
// everyone out).

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace taskgrid {

class TokenStore {
 public:
  // Empty path: authentication disabled.
  explicit TokenStore(std::string path) : path_(std::move(path)) {}

  bool enabled() const { return !path_.empty(); }
  // (Re)reads the file. An error (unreadable, or no token in it) leaves the
  // current tokens in place.
  absl::Status Reload() ABSL_LOCKS_EXCLUDED(mu_);
  // True when authentication is off or `authorization` is
  // "Bearer <known token>" (scheme case-insensitive).
  bool Check(absl::string_view authorization) const ABSL_LOCKS_EXCLUDED(mu_);
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const std::string path_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> tokens_ ABSL_GUARDED_BY(mu_);
};

// The tokens of a token file in file order; an error when it is unreadable
// or holds none.
absl::StatusOr<std::vector<std::string>> ReadTokenFile(const std::string& path);

// The token of an "Authorization: Bearer TOKEN" header value, or "" when
// the value is not a bearer credential.
absl::string_view BearerToken(absl::string_view authorization);

}  // namespace taskgrid
