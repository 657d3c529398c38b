#pragma once
// HandOffUniqueData: before a worker leaves (the scheduler's close command
// from RetireWorkers, or SIGTERM), moves the results that no other worker
// holds to peers, so that no result a client holds is lost.
//
// Built on the existing RPCs only: Scheduler.ClusterInfo lists the peers,
// Scheduler.WhoHas tells which held keys have no other holder, Worker.PutData
// pushes each such value (read back from disk if spilled) to a peer, which
// stores it and announces it to the scheduler (KeysAdded), and a final
// WhoHas confirms the scheduler knows the new holders before the worker
// says it is closing. Peers are chosen round robin, least loaded first.
// Everything is bounded by one deadline; what cannot be moved in time is
// left to the scheduler, which recomputes it.
//
// Thread-safety: a plain function; call it from one thread while the
// worker's services are still running.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/worker/data_store.h"
#include "services/worker/peer_fetcher.h"

namespace taskgrid::worker {

struct HandoffReport {
  int unique_keys = 0;   // held here only
  int handed_off = 0;    // stored by a peer and confirmed by the scheduler
  int64_t bytes = 0;     // of the handed-off values
  int peers = 0;
};

// Errors: the scheduler cannot be asked (nothing was moved). A key a peer
// refused is not an error; it is missing from handed_off.
absl::StatusOr<HandoffReport> HandOffUniqueData(const std::string& self_address,
                                                const std::string& scheduler_address,
                                                DataStore* store, ChannelCache* channels,
                                                absl::Duration timeout);

}  // namespace taskgrid::worker
