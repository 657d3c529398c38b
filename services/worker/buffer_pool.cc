#include "services/worker/buffer_pool.h"

#include <algorithm>
#include <iterator>
#include <memory>

namespace taskgrid::worker {

// The shared_ptr deleter of a pooled buffer.
struct BufferPool::Release {
  BufferPool* pool;
  size_t capacity;
  void operator()(char* buffer) const { pool->Recycle(buffer, capacity); }
};

BufferPool::~BufferPool() {
  absl::MutexLock lock(&mu_);
  for (auto& [capacity, buffer] : idle_) delete[] buffer;
}

BufferPool& BufferPool::Global() {
  static BufferPool* pool = new BufferPool(size_t{1} << 30);
  return *pool;
}

size_t BufferPool::SizeClass(size_t size) {
  if (size < kMinPooledBytes) return size;
  size_t top = size_t{1} << (63 - __builtin_clzll(size));  // largest power of 2 <= size
  size_t step = std::max(kMinPooledBytes, top / 8);
  return (size + step - 1) / step * step;
}

Blob BufferPool::Allocate(size_t size, char** writable) {
  if (size < kMinPooledBytes) return Blob::Allocate(size, writable);
  const size_t capacity = SizeClass(size);
  char* buffer = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto it = idle_.find(capacity);
    if (it != idle_.end()) {
      buffer = it->second;
      idle_.erase(it);
      idle_bytes_ -= capacity;
      ++reused_;
    } else {
      ++allocated_;
    }
  }
  // Not value-initialised: the caller overwrites what it uses.
  if (buffer == nullptr) buffer = new char[capacity];
  *writable = buffer;
  std::shared_ptr<char> owner(buffer, Release{this, capacity});
  return Blob(std::shared_ptr<const void>(std::move(owner)), buffer, size);
}

void BufferPool::Recycle(char* buffer, size_t capacity) {
  {
    absl::MutexLock lock(&mu_);
    if (idle_bytes_ + capacity <= max_idle_bytes_) {
      idle_.emplace(capacity, buffer);
      idle_bytes_ += capacity;
      return;
    }
  }
  delete[] buffer;
}

void BufferPool::set_max_idle_bytes(size_t n) {
  std::multimap<size_t, char*> dropped;
  {
    absl::MutexLock lock(&mu_);
    max_idle_bytes_ = n;
    // Free the largest buffers first until under the new limit.
    while (idle_bytes_ > max_idle_bytes_ && !idle_.empty()) {
      auto last = std::prev(idle_.end());
      idle_bytes_ -= last->first;
      dropped.insert(*last);
      idle_.erase(last);
    }
  }
  for (auto& [capacity, buffer] : dropped) delete[] buffer;
}

size_t BufferPool::idle_bytes() const {
  absl::MutexLock lock(&mu_);
  return idle_bytes_;
}

size_t BufferPool::reused() const {
  absl::MutexLock lock(&mu_);
  return reused_;
}

size_t BufferPool::allocated() const {
  absl::MutexLock lock(&mu_);
  return allocated_;
}

}  // namespace taskgrid::worker
