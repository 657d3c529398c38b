#pragma once
// DataStore: the results a worker holds in memory, by key.
//
// Values are kept as shared_ptr<const Value>, so a reader (a task using a
// dependency, a GetData stream sending it) keeps its copy alive even if the
// key is freed meanwhile, and nothing is copied on the way out.
//
// Thread-safety: all methods are thread-safe; each takes one short lock.
// Invariant: total_bytes() == sum of nbytes over the held keys.

#include <cstdint>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/value.h"

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
  };

  // Stores (or replaces) key's value; returns its nbytes (Value::ByteSize).
  int64_t Put(absl::string_view key, Value value);
  int64_t Put(absl::string_view key, std::shared_ptr<const Value> value);
  // REQUIRES: nbytes == value->ByteSize() (for callers that already know it).
  void Put(absl::string_view key, std::shared_ptr<const Value> value, int64_t nbytes);
  // nullptr when the key is not held.
  std::shared_ptr<const Value> Get(absl::string_view key) const;
  // The item, or an Item with a null value.
  Item Lookup(absl::string_view key) const;
  bool Contains(absl::string_view key) const;
  // Removes the key and returns its value (nullptr if it was not held), so
  // that the caller can release a large value outside its own locks.
  std::shared_ptr<const Value> Erase(absl::string_view key);

  int64_t total_bytes() const;
  size_t size() const;
  std::vector<KeyInfo> Snapshot() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Item> items_ ABSL_GUARDED_BY(mu_);
  int64_t total_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace taskgrid::worker
