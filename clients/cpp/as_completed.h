#pragma once
// CompletionQueue: the state behind Client::AsCompleted. It registers itself
// as a listener on each of its futures' states; ClientImpl pushes a state
// into `ready` when it becomes done (once per registration), so handing out
// futures in completion order costs O(1) each, not a scan.
//
// Thread-safety: `ready`, `remaining` and the listener registrations are
// guarded by client->mu_; `futures` and `foreign` are immutable.

#include <deque>
#include <memory>
#include <vector>

#include "clients/cpp/client.h"
#include "clients/cpp/future_state.h"

namespace taskgrid::client {

class CompletionQueue {
 public:
  CompletionQueue(std::shared_ptr<ClientImpl> c, std::vector<Future> fs);
  ~CompletionQueue();  // unregisters from the states still pending
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;

  const std::shared_ptr<ClientImpl> client;
  // Keeps every state alive while it may be pushed into `ready`.
  const std::vector<Future> futures;
  // Futures of another client (can't be watched under this client's lock):
  // waited for one by one once the rest are handed out.
  std::vector<Future> foreign;
  size_t next_foreign = 0;

  // ---- guarded by client->mu_
  std::deque<FutureState*> ready;
  size_t remaining = 0;  // watched futures not yet handed out
};

}  // namespace taskgrid::client
