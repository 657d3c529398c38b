#pragma once
// DataStore: the results a worker holds, by key, in memory or spilled to
// disk (SpillStore) when memory is short.
//
// Values in memory are kept as shared_ptr<const Value>, so a reader (a
// task using a dependency, a GetData stream sending it) keeps its copy
// alive even if the key is freed or spilled meanwhile, and nothing is
// copied on the way out.
//
// Spilling: with a SpillStore and a memory target, a Put that takes the
// bytes in memory above the target spills least-recently-used values
// (Get/Load count as a use) until memory is at most the target; the
// memory monitor asks for more with SpillLeastRecentlyUsed when the
// process as a whole is too big. Files are written outside the lock. A
// failed write keeps the value in memory, sets spill_failing() (the worker
// pauses) and is retried no sooner than a second later. A spilled value is
// read back transparently by Get/Load (and becomes the most recently
// used); a spill file that is missing or fails its checksum makes the key
// lost: it is removed, the loss handler is told, and Load returns
// DataLoss -- a wrong value is never returned.
//
// Thread-safety: all methods are thread-safe; each takes one short lock,
// never held during disk I/O or while calling the loss handler. One spill
// pass runs at a time; a Put above the target waits for it (backpressure).
// Invariants: memory_bytes() == sum of nbytes over values in memory;
// spilled_bytes() == sum of nbytes over spilled values.

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/value.h"
#include "services/worker/spill_store.h"

namespace taskgrid::worker {

class DataStore {
 public:
  struct Item {
    std::shared_ptr<const Value> value;
    int64_t nbytes = 0;
  };
  struct KeyInfo {
    std::string key;
    int64_t nbytes = 0;
    const char* type_name = "";
    bool spilled = false;
  };
  using LossHandler = std::function<void(const std::string& key, const absl::Status& why)>;

  // Without a SpillStore nothing is ever spilled.
  DataStore() = default;
  // REQUIRES: `spill` outlives the store. memory_target_bytes <= 0: no
  // spilling on Put (SpillLeastRecentlyUsed still works).
  DataStore(SpillStore* spill, int64_t memory_target_bytes)
      : spill_(spill), memory_target_(memory_target_bytes) {}
  ~DataStore();

  // Changes the target a Put spills down to (the memory monitor lowers it
  // by the process's unmanaged memory).
  void SetMemoryTarget(int64_t bytes);
  int64_t memory_target() const;

  // Called (outside the lock) for each key lost to a bad spill file.
  void SetLossHandler(LossHandler handler);
  // Called after a spill write failed in a pass started by
  // SpillIfAboveTarget (a Put's), on that thread, with no lock held: the
  // worker re-evaluates its memory policy at once (MemoryMonitor::Check
  // pauses it), rather than at the monitor's next tick, by which time fast
  // tasks could have put far more than the limit in memory. Not called for
  // SpillLeastRecentlyUsed (the monitor's own Check calls that).
  void SetSpillFailureHandler(std::function<void()> handler);

  // Stores (or replaces) key's value; returns its nbytes (Value::ByteSize).
  int64_t Put(absl::string_view key, Value value);
  int64_t Put(absl::string_view key, std::shared_ptr<const Value> value);
  // REQUIRES: nbytes == value->ByteSize() (for callers that already know it).
  // With spill = false the caller calls SpillIfAboveTarget itself (after
  // releasing its own locks: a spill writes to disk).
  void Put(absl::string_view key, std::shared_ptr<const Value> value, int64_t nbytes,
           bool spill = true);
  // Spills least-recently-used values while memory is above the target.
  // If another thread is spilling, waits for it and then checks again:
  // producers of results are slowed down to the speed of the disk rather
  // than outrunning it.
  void SpillIfAboveTarget();
  // The value (read back from disk if spilled). NotFound when the key is
  // not held; DataLoss when its spill file is gone or corrupt (the key is
  // then dropped).
  absl::StatusOr<std::shared_ptr<const Value>> Load(absl::string_view key);
  // Load, with nullptr for any error.
  std::shared_ptr<const Value> Get(absl::string_view key);
  // Get plus nbytes, or an Item with a null value.
  Item Lookup(absl::string_view key);
  // Size and type of a held key without reading it back from disk.
  std::optional<KeyInfo> Describe(absl::string_view key) const;
  bool Contains(absl::string_view key) const;
  // Removes the key (deleting its spill file) and returns its value if it
  // was in memory, so that the caller can release a large value outside
  // its own locks; nullptr if it was not held or was spilled.
  std::shared_ptr<const Value> Erase(absl::string_view key);

  // Spills least-recently-used values until memory_bytes() <= `limit` or
  // nothing is left to spill or a write fails; returns the bytes spilled.
  int64_t SpillLeastRecentlyUsed(int64_t limit);
  // The last spill attempt failed (and memory is still above the target).
  bool spill_failing() const;

  // Bytes of values held in memory (the "managed" memory).
  int64_t memory_bytes() const;
  int64_t total_bytes() const { return memory_bytes(); }
  int64_t spilled_bytes() const;
  // Keys held, in memory or spilled.
  size_t size() const;
  std::vector<KeyInfo> Snapshot() const;
  const SpillStore* spill_store() const { return spill_; }

 private:
  struct Entry {
    std::shared_ptr<const Value> value;  // null while spilled
    int64_t nbytes = 0;
    const char* type_name = "";
    uint64_t generation = 0;  // changes on every Put of the key
    std::optional<SpillStore::Record> spilled;
    bool spilling = false;  // a spill pass is writing it
    std::list<std::string>::iterator lru;  // valid while in memory
  };
  using Map = absl::flat_hash_map<std::string, Entry>;

  void Touch(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // *write_failed (when given) is set if a spill write failed.
  int64_t SpillPass(int64_t limit, bool* write_failed = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(spill_pass_mu_);
  // Drops a lost key if it is still the same spilled entry, and reports it.
  void MarkLost(const std::string& key, uint64_t generation, const absl::Status& why);

  SpillStore* const spill_ = nullptr;
  absl::Mutex spill_pass_mu_;  // one spill pass at a time

  mutable absl::Mutex mu_;
  int64_t memory_target_ ABSL_GUARDED_BY(mu_) = 0;
  Map items_ ABSL_GUARDED_BY(mu_);
  // Keys in memory, most recently used first.
  std::list<std::string> lru_ ABSL_GUARDED_BY(mu_);
  int64_t memory_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t spilled_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool spill_failing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time retry_spill_after_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  LossHandler on_loss_ ABSL_GUARDED_BY(mu_);
  std::function<void()> on_spill_failure_ ABSL_GUARDED_BY(mu_);
};

}  // namespace taskgrid::worker
