#include "services/worker/buffer_pool.h"

#include <sys/mman.h>

#include <algorithm>
#include <iterator>
#include <memory>
#include <new>

namespace taskgrid::worker {
namespace {

// Fresh buffers from this size up are mapped directly and prefaulted: the
// kernel fills in the pages of the `size` bytes about to be written in
// one call, instead of one trap per 4 KiB page while the bytes are copied
// in (about a quarter less worker CPU for a fresh 256 MiB transfer on
// this kind of VM). The tail of the size class stays unbacked until written.
// Transparent huge pages (MADV_HUGEPAGE) were measured too and are much
// slower here: the kernel compacts memory on the fault path.
constexpr size_t kMappedBytes = size_t{2} << 20;

char* NewBuffer(size_t size, size_t capacity) {
  if (capacity < kMappedBytes) return new char[capacity];
  void* buffer = mmap(nullptr, capacity, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buffer == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_POPULATE_WRITE
  // A hint: on kernels without it (before 5.14) pages fault in as written.
  madvise(buffer, size, MADV_POPULATE_WRITE);
#endif
  return static_cast<char*>(buffer);
}

void DeleteBuffer(char* buffer, size_t capacity) {
  if (capacity < kMappedBytes) {
    delete[] buffer;
  } else {
    munmap(buffer, capacity);
  }
}

}  // namespace

// The shared_ptr deleter of a pooled buffer.
struct BufferPool::Release {
  BufferPool* pool;
  size_t capacity;
  void operator()(char* buffer) const { pool->Recycle(buffer, capacity); }
};

BufferPool::~BufferPool() {
  absl::MutexLock lock(&mu_);
  for (auto& [capacity, buffer] : idle_) DeleteBuffer(buffer, capacity);
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
  if (buffer == nullptr) buffer = NewBuffer(size, capacity);
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
  DeleteBuffer(buffer, capacity);
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
  for (auto& [capacity, buffer] : dropped) DeleteBuffer(buffer, capacity);
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
