#include "common/blob.h"

#include <cstring>

namespace taskgrid {

Blob Blob::Copy(std::string_view bytes) {
  char* writable = nullptr;
  Blob b = Allocate(bytes.size(), &writable);
  if (!bytes.empty()) std::memcpy(writable, bytes.data(), bytes.size());
  return b;
}

Blob Blob::FromString(std::string&& s) {
  auto owner = std::make_shared<const std::string>(std::move(s));
  const char* data = owner->data();
  size_t size = owner->size();
  return Blob(std::move(owner), data, size);
}

Blob Blob::Allocate(size_t size, char** writable) {
  // new char[] without value-initialisation: large receive buffers are
  // overwritten completely, so zeroing them first would only cost time.
  std::shared_ptr<char> owner(new char[size == 0 ? 1 : size],
                              std::default_delete<char[]>());
  *writable = owner.get();
  const char* data = owner.get();
  return Blob(std::shared_ptr<const void>(std::move(owner)), data, size);
}

}  // namespace taskgrid
