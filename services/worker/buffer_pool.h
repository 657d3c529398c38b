#pragma once
// BufferPool: recycles large buffers (received values, big task results).
//
// On this kind of VM, writing freshly mapped memory runs at 0.3-0.9 GB/s
// (page faults and zeroing) against ~4 GB/s into memory touched before, so
// a 256 MiB transfer into a new buffer is bound by the page faults, not by
// the network. Buffers from 1 MiB up are therefore handed out as Blobs
// whose release returns the memory here, and a later allocation of the
// same size class reuses it. At most max_idle_bytes are kept idle; beyond
// that, released buffers are freed.
//
// Size classes round up by at most 1/8 (and to whole MiB); the unused tail
// of a class is never written, so it costs address space, not memory.
//
// Thread-safety: all methods are thread-safe. Global() is never destroyed,
// so Blobs from it may be released at any time, even during exit.

#include <cstddef>
#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/blob.h"

namespace taskgrid::worker {

class BufferPool {
 public:
  static constexpr size_t kMinPooledBytes = size_t{1} << 20;

  explicit BufferPool(size_t max_idle_bytes) : max_idle_bytes_(max_idle_bytes) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // The process-wide pool (1 GiB idle at most until set otherwise).
  static BufferPool& Global();

  // An uninitialised buffer of `size` bytes; `*writable` points at it.
  Blob Allocate(size_t size, char** writable);

  void set_max_idle_bytes(size_t n);
  size_t idle_bytes() const;
  // Allocations served from recycled buffers / newly allocated (pooled sizes only).
  size_t reused() const;
  size_t allocated() const;

  // The capacity of the buffer serving `size` bytes.
  static size_t SizeClass(size_t size);

 private:
  struct Release;
  void Recycle(char* buffer, size_t capacity);

  mutable absl::Mutex mu_;
  std::multimap<size_t, char*> idle_ ABSL_GUARDED_BY(mu_);  // capacity -> buffer
  size_t idle_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t max_idle_bytes_ ABSL_GUARDED_BY(mu_);
  size_t reused_ ABSL_GUARDED_BY(mu_) = 0;
  size_t allocated_ ABSL_GUARDED_BY(mu_) = 0;
};

// Shorthand for BufferPool::Global().Allocate.
inline Blob AllocateBuffer(size_t size, char** writable) {
  return BufferPool::Global().Allocate(size, writable);
}

}  // namespace taskgrid::worker
