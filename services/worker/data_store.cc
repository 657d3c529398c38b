#include "services/worker/data_store.h"

namespace taskgrid::worker {

int64_t DataStore::Put(absl::string_view key, Value value) {
  return Put(key, std::make_shared<const Value>(std::move(value)));
}

int64_t DataStore::Put(absl::string_view key, std::shared_ptr<const Value> value) {
  // ByteSize walks nested values: compute it before taking the lock.
  const int64_t nbytes = value->ByteSize();
  Put(key, std::move(value), nbytes);
  return nbytes;
}

void DataStore::Put(absl::string_view key, std::shared_ptr<const Value> value, int64_t nbytes) {
  std::shared_ptr<const Value> old;  // destroyed after unlocking
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = items_.try_emplace(key);
  if (!inserted) {
    total_bytes_ -= it->second.nbytes;
    old = std::move(it->second.value);
  }
  it->second.value = std::move(value);
  it->second.nbytes = nbytes;
  total_bytes_ += nbytes;
}

std::shared_ptr<const Value> DataStore::Get(absl::string_view key) const {
  absl::MutexLock lock(&mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second.value;
}

DataStore::Item DataStore::Lookup(absl::string_view key) const {
  absl::MutexLock lock(&mu_);
  auto it = items_.find(key);
  return it == items_.end() ? Item{} : it->second;
}

bool DataStore::Contains(absl::string_view key) const {
  absl::MutexLock lock(&mu_);
  return items_.contains(key);
}

std::shared_ptr<const Value> DataStore::Erase(absl::string_view key) {
  absl::MutexLock lock(&mu_);
  auto it = items_.find(key);
  if (it == items_.end()) return nullptr;
  total_bytes_ -= it->second.nbytes;
  std::shared_ptr<const Value> old = std::move(it->second.value);
  items_.erase(it);
  return old;
}

int64_t DataStore::total_bytes() const {
  absl::MutexLock lock(&mu_);
  return total_bytes_;
}

size_t DataStore::size() const {
  absl::MutexLock lock(&mu_);
  return items_.size();
}

std::vector<DataStore::KeyInfo> DataStore::Snapshot() const {
  absl::MutexLock lock(&mu_);
  std::vector<KeyInfo> out;
  out.reserve(items_.size());
  for (const auto& [key, item] : items_) out.push_back({key, item.nbytes});
  return out;
}

}  // namespace taskgrid::worker
