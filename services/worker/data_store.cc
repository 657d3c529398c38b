#include "services/worker/data_store.h"

#include <glog/logging.h>

#include "absl/strings/str_cat.h"

namespace taskgrid::worker {
namespace {
// A failed spill write is retried no sooner than this (the disk may be
// full; hammering it helps nobody, and the worker is paused meanwhile).
constexpr absl::Duration kSpillRetryDelay = absl::Seconds(1);
}  // namespace

DataStore::~DataStore() = default;

void DataStore::SetLossHandler(LossHandler handler) {
  absl::MutexLock lock(&mu_);
  on_loss_ = std::move(handler);
}

void DataStore::SetSpillFailureHandler(std::function<void()> handler) {
  absl::MutexLock lock(&mu_);
  on_spill_failure_ = std::move(handler);
}

int64_t DataStore::Put(absl::string_view key, Value value) {
  return Put(key, std::make_shared<const Value>(std::move(value)));
}

int64_t DataStore::Put(absl::string_view key, std::shared_ptr<const Value> value) {
  // ByteSize walks nested values: compute it before taking the lock.
  const int64_t nbytes = value->ByteSize();
  Put(key, std::move(value), nbytes);
  return nbytes;
}

void DataStore::Put(absl::string_view key, std::shared_ptr<const Value> value, int64_t nbytes,
                    bool spill) {
  std::shared_ptr<const Value> old;  // destroyed after unlocking
  std::optional<SpillStore::Record> old_file;
  {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = items_.try_emplace(key);
    Entry& e = it->second;
    if (!inserted) {
      if (e.value != nullptr) {
        memory_bytes_ -= e.nbytes;
        old = std::move(e.value);
        lru_.erase(e.lru);
      } else {
        spilled_bytes_ -= e.nbytes;
        old_file = std::move(e.spilled);
        e.spilled.reset();
      }
    }
    e.type_name = value->TypeName();
    e.value = std::move(value);
    e.nbytes = nbytes;
    e.generation = ++next_generation_;
    lru_.push_front(it->first);
    e.lru = lru_.begin();
    memory_bytes_ += nbytes;
  }
  if (old_file) spill_->Remove(*old_file);
  if (spill) SpillIfAboveTarget();
}

void DataStore::Touch(Entry& e) { lru_.splice(lru_.begin(), lru_, e.lru); }

absl::StatusOr<std::shared_ptr<const Value>> DataStore::Load(absl::string_view key) {
  // A concurrent unspill/re-spill can remove the file this attempt reads;
  // the entry then has a newer state, so look again (bounded).
  for (int attempt = 0;; ++attempt) {
    SpillStore::Record record;
    uint64_t generation;
    {
      absl::MutexLock lock(&mu_);
      auto it = items_.find(key);
      if (it == items_.end()) {
        return absl::NotFoundError(absl::StrCat("key '", key, "' is not held by this worker"));
      }
      Entry& e = it->second;
      if (e.value != nullptr) {
        Touch(e);
        return e.value;
      }
      record = *e.spilled;
      generation = e.generation;
    }
    absl::StatusOr<Value> read = spill_->Read(record);
    std::shared_ptr<const Value> result;
    bool same_file = false;
    {
      absl::MutexLock lock(&mu_);
      auto it = items_.find(key);
      if (it != items_.end() && it->second.generation == generation) {
        Entry& e = it->second;
        same_file = e.spilled && e.spilled->id == record.id;
        if (same_file && read.ok()) {
          e.value = std::make_shared<const Value>(*std::move(read));
          e.spilled.reset();
          lru_.push_front(it->first);
          e.lru = lru_.begin();
          spilled_bytes_ -= e.nbytes;
          memory_bytes_ += e.nbytes;
        }
        result = e.value;
      } else if (read.ok()) {
        // Freed or replaced meanwhile: what was read is still that value.
        result = std::make_shared<const Value>(*std::move(read));
      }
    }
    if (same_file && !read.ok()) {
      MarkLost(std::string(key), generation, read.status());
      return absl::DataLossError(
          absl::StrCat("key '", key, "' was lost: ", read.status().message()));
    }
    if (same_file) spill_->Remove(record);
    if (result != nullptr) {
      SpillIfAboveTarget();
      return result;
    }
    if (attempt == 3) {
      return absl::UnavailableError(absl::StrCat("key '", key, "' keeps moving; try again"));
    }
  }
}

void DataStore::MarkLost(const std::string& key, uint64_t generation, const absl::Status& why) {
  std::optional<SpillStore::Record> file;
  LossHandler handler;
  {
    absl::MutexLock lock(&mu_);
    auto it = items_.find(key);
    if (it == items_.end() || it->second.generation != generation || !it->second.spilled) return;
    spilled_bytes_ -= it->second.nbytes;
    file = it->second.spilled;
    items_.erase(it);
    handler = on_loss_;
  }
  LOG(ERROR) << "result '" << key << "' is lost: " << why.message();
  spill_->Remove(*file);
  if (handler) handler(key, why);
}

std::shared_ptr<const Value> DataStore::Get(absl::string_view key) {
  absl::StatusOr<std::shared_ptr<const Value>> v = Load(key);
  return v.ok() ? *std::move(v) : nullptr;
}

DataStore::Item DataStore::Lookup(absl::string_view key) {
  Item item;
  item.value = Get(key);
  if (item.value != nullptr) {
    absl::MutexLock lock(&mu_);
    auto it = items_.find(key);
    item.nbytes = it != items_.end() ? it->second.nbytes : item.value->ByteSize();
  }
  return item;
}

std::optional<DataStore::KeyInfo> DataStore::Describe(absl::string_view key) const {
  absl::MutexLock lock(&mu_);
  auto it = items_.find(key);
  if (it == items_.end()) return std::nullopt;
  return KeyInfo{it->first, it->second.nbytes, it->second.type_name,
                 it->second.value == nullptr};
}

bool DataStore::Contains(absl::string_view key) const {
  absl::MutexLock lock(&mu_);
  return items_.contains(key);
}

std::shared_ptr<const Value> DataStore::Erase(absl::string_view key) {
  std::shared_ptr<const Value> old;
  std::optional<SpillStore::Record> file;
  {
    absl::MutexLock lock(&mu_);
    auto it = items_.find(key);
    if (it == items_.end()) return nullptr;
    Entry& e = it->second;
    if (e.value != nullptr) {
      memory_bytes_ -= e.nbytes;
      lru_.erase(e.lru);
      old = std::move(e.value);
    } else {
      spilled_bytes_ -= e.nbytes;
      file = std::move(e.spilled);
    }
    items_.erase(it);
  }
  if (file) spill_->Remove(*file);
  return old;
}

void DataStore::SetMemoryTarget(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  memory_target_ = bytes;
}

int64_t DataStore::memory_target() const {
  absl::MutexLock lock(&mu_);
  return memory_target_;
}

void DataStore::SpillIfAboveTarget() {
  if (spill_ == nullptr) return;
  auto target = [this] {
    absl::MutexLock lock(&mu_);
    return memory_bytes_ > memory_target_ && memory_target_ > 0 ? memory_target_ : 0;
  };
  if (target() == 0) return;
  bool write_failed = false;
  {
    absl::MutexLock pass(&spill_pass_mu_);
    if (int64_t t = target(); t > 0) SpillPass(t, &write_failed);
  }
  if (!write_failed) return;
  std::function<void()> handler;
  {
    absl::MutexLock lock(&mu_);
    handler = on_spill_failure_;
  }
  if (handler) handler();
}

int64_t DataStore::SpillLeastRecentlyUsed(int64_t limit) {
  if (spill_ == nullptr) return 0;
  absl::MutexLock pass(&spill_pass_mu_);
  return SpillPass(limit);
}

int64_t DataStore::SpillPass(int64_t limit, bool* write_failed) {
  int64_t spilled = 0;
  size_t unpicklable = 0;  // skipped this pass (moved to the LRU's front)
  for (;;) {
    std::string key;
    std::shared_ptr<const Value> value;
    uint64_t generation;
    {
      absl::MutexLock lock(&mu_);
      if (memory_bytes_ <= limit) {
        if (memory_target_ <= 0 || memory_bytes_ <= memory_target_) spill_failing_ = false;
        break;
      }
      if (lru_.size() <= unpicklable || absl::Now() < retry_spill_after_) break;
      key = lru_.back();
      const Entry& e = items_.find(key)->second;
      value = e.value;
      generation = e.generation;
    }
    // A runtime object (a Python result) is pickled here; one that cannot
    // be pickled stays in memory and the pass goes on with the others.
    if (absl::Status pickled = PreparePickles(*value); !pickled.ok()) {
      LOG(WARNING) << "cannot spill result '" << key << "' (kept in memory): "
                   << pickled.message();
      absl::MutexLock lock(&mu_);
      auto it = items_.find(key);
      if (it != items_.end() && it->second.generation == generation && it->second.value) {
        Touch(it->second);
      }
      ++unpicklable;
      continue;
    }
    absl::StatusOr<SpillStore::Record> record = spill_->Write(*value);
    std::shared_ptr<const Value> released;  // freed after unlocking
    bool stale = false;
    {
      absl::MutexLock lock(&mu_);
      if (!record.ok()) {
        spill_failing_ = true;
        retry_spill_after_ = absl::Now() + kSpillRetryDelay;
      } else {
        auto it = items_.find(key);
        stale = it == items_.end() || it->second.generation != generation ||
                it->second.value == nullptr;
        if (!stale) {
          Entry& e = it->second;
          released = std::move(e.value);
          e.spilled = *record;
          lru_.erase(e.lru);
          memory_bytes_ -= e.nbytes;
          spilled_bytes_ += e.nbytes;
          spilled += e.nbytes;
          spill_failing_ = false;
        }
      }
    }
    if (!record.ok()) {
      LOG(WARNING) << "cannot spill result '" << key << "' (kept in memory): "
                   << record.status().message();
      if (write_failed != nullptr) *write_failed = true;
      break;
    }
    if (stale) spill_->Remove(*record);  // freed or replaced while writing
  }
  return spilled;
}

bool DataStore::spill_failing() const {
  absl::MutexLock lock(&mu_);
  return spill_failing_ && (memory_target_ <= 0 || memory_bytes_ > memory_target_);
}

int64_t DataStore::memory_bytes() const {
  absl::MutexLock lock(&mu_);
  return memory_bytes_;
}

int64_t DataStore::spilled_bytes() const {
  absl::MutexLock lock(&mu_);
  return spilled_bytes_;
}

size_t DataStore::size() const {
  absl::MutexLock lock(&mu_);
  return items_.size();
}

std::vector<DataStore::KeyInfo> DataStore::Snapshot() const {
  absl::MutexLock lock(&mu_);
  std::vector<KeyInfo> out;
  out.reserve(items_.size());
  for (const auto& [key, e] : items_) {
    out.push_back({key, e.nbytes, e.type_name, e.value == nullptr});
  }
  return out;
}

}  // namespace taskgrid::worker
