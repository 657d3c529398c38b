#pragma once
// Blob: an immutable, reference-counted byte range. Copies and slices share
// the underlying storage, so large values (arrays, bytes) move between the
// store, the codec and the transport without being copied.
//
// Thread-safety: a Blob is immutable; copies may be used from any thread.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace taskgrid {

class Blob {
 public:
  Blob() = default;
  // REQUIRES: `data` stays valid while `owner` is alive.
  Blob(std::shared_ptr<const void> owner, const char* data, size_t size)
      : owner_(std::move(owner)), data_(data), size_(size) {}

  static Blob Copy(std::string_view bytes);
  static Blob FromString(std::string&& s);
  // A new uninitialised buffer of `size` bytes; `*writable`
  // points at it until the Blob is shared.
  static Blob Allocate(size_t size, char** writable);

  const char* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {data_, size_}; }
  std::string ToString() const { return std::string(data_, size_); }
  // REQUIRES: offset + n <= size().
  Blob Slice(size_t offset, size_t n) const {
    return Blob(owner_, data_ + offset, n);
  }
  bool operator==(const Blob& o) const { return view() == o.view(); }

 private:
  std::shared_ptr<const void> owner_;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace taskgrid
