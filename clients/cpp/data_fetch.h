#pragma once
// DataFetcher: reads results straight from the workers holding them with
// Worker.GetData (never through the scheduler), one server stream per worker
// per request, reassembling each key's chunks (ChunkAssembler checks
// offsets, size and CRC-32C) and decoding the Value.
//
// One channel per worker address is created on first use and kept: gRPC
// multiplexes concurrent streams over it.
//
// Thread-safety: all methods may be called from any thread.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/value.h"
#include "taskgrid/v1/worker.grpc.pb.h"

namespace taskgrid::client {

class DataFetcher {
 public:
  using Deadline = std::chrono::system_clock::time_point;

  void set_requester(std::string requester) ABSL_LOCKS_EXCLUDED(mu_);

  // The values of `keys` (no duplicates) held by the worker at `address`, in
  // the order of `keys`. A key the worker doesn't hold, or that a broken
  // stream cut off, gets an error naming the key and the worker.
  std::vector<absl::StatusOr<Value>> Fetch(const std::string& address,
                                           const std::vector<std::string>& keys,
                                           Deadline deadline);

  struct Group {
    std::string address;
    std::vector<std::string> keys;
  };
  // Fetch() for every group, the groups in parallel (the first on the
  // calling thread). Result i belongs to groups[i].
  std::vector<std::vector<absl::StatusOr<Value>>> FetchGroups(
      const std::vector<Group>& groups, Deadline deadline);

  // The kept stub of the worker at `address` (also used to push data);
  // valid as long as this object.
  v1::Worker::Stub* StubFor(const std::string& address) ABSL_LOCKS_EXCLUDED(mu_);

 private:

  absl::Mutex mu_;
  std::string requester_ ABSL_GUARDED_BY(mu_);
  // Stubs are never removed, so the pointers handed out stay valid.
  absl::flat_hash_map<std::string, std::unique_ptr<v1::Worker::Stub>> stubs_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace taskgrid::client
