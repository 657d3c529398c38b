#pragma once
// FutureState: what the client knows about one key it wants. Every Future
// for the key shares one FutureState (ClientImpl keeps key -> state), so the
// shared_ptr count is the client's reference count for the key: when the
// last Future goes, ~FutureState tells the scheduler the key is released.
//
// Thread-safety: `client` and `key` are immutable; every other member is
// guarded by client->mu_ (members of another object cannot carry
// ABSL_GUARDED_BY, hence the comment).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "clients/cpp/client.h"
#include "taskgrid/v1/common.pb.h"

namespace taskgrid {

class ClientImpl;

namespace client {
class CompletionQueue;
}  // namespace client

struct FutureState : std::enable_shared_from_this<FutureState> {
  FutureState(std::shared_ptr<ClientImpl> client, std::string key);
  ~FutureState();
  FutureState(const FutureState&) = delete;
  FutureState& operator=(const FutureState&) = delete;

  const std::shared_ptr<ClientImpl> client;
  const std::string key;

  // ---- guarded by client->mu_
  // UNSPECIFIED until the first event: pending.
  v1::KeyState state = v1::KEY_STATE_UNSPECIFIED;
  // Set when the update that declared the key was rejected.
  absl::Status rejected;
  // MEMORY: holder addresses.
  std::vector<std::string> workers;
  int64_t nbytes = 0;
  std::string type_name;
  // ERRED / CANCELLED / NO_WORKER / LOST.
  std::shared_ptr<const v1::TaskError> error;
  // Bumped on every event, so a waiter can tell "something changed".
  uint64_t generation = 0;
  // The UpdateGraph that declared this key.
  uint64_t request_id = 0;
  // The pending graph (ClientImpl::pending_graphs_) holding its definition,
  // kept to send again after a scheduler restart; 0 once resolved.
  uint64_t graph = 0;
  // AsCompleted iterators waiting for this key.
  std::vector<client::CompletionQueue*> listeners;
};

}  // namespace taskgrid
