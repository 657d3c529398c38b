#include "services/worker/spill_store.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crc32c.h"
#include "common/value_codec.h"

namespace taskgrid::worker {
namespace {

int64_t NanosSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                              start)
      .count();
}

std::string Errno(const std::string& what) {
  return absl::StrCat(what, ": ", std::strerror(errno));
}

// Writes all of `iov` (advancing it over partial writes).
absl::Status WriteAll(int fd, std::vector<iovec> iov, const std::string& path) {
  size_t first = 0;
  while (first < iov.size()) {
    const int n = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    ssize_t written = ::writev(fd, &iov[first], n);
    if (written < 0) {
      if (errno == EINTR) continue;
      return absl::ResourceExhaustedError(Errno(absl::StrCat("cannot write spill file ", path)));
    }
    size_t left = static_cast<size_t>(written);
    while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (left > 0) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return absl::OkStatus();
}

}  // namespace

SpillStore::SpillStore(std::string base_directory) : base_(std::move(base_directory)) {}

SpillStore::~SpillStore() { RemoveAll(); }

void SpillStore::RemoveAll() {
  std::string dir;
  {
    absl::MutexLock lock(&mu_);
    dir.swap(dir_);
  }
  if (dir.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

std::string SpillStore::directory() const {
  absl::MutexLock lock(&mu_);
  return dir_;
}

absl::Status SpillStore::Prepare() { return Directory().status(); }

absl::StatusOr<std::string> SpillStore::Directory() {
  absl::MutexLock lock(&mu_);
  if (!dir_.empty()) return dir_;
  std::string base = base_;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  // A --local-directory that does not exist yet is created (one level).
  if (::mkdir(base.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        Errno(absl::StrCat("local directory ", base, " cannot be created")));
  }
  std::string pattern = absl::StrCat(base, "/taskgrid-worker-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    return absl::FailedPreconditionError(
        Errno(absl::StrCat("cannot create a spill directory in local directory ", base)));
  }
  dir_ = pattern;
  return dir_;
}

std::string SpillStore::PathOf(const std::string& dir, uint64_t id) const {
  return absl::StrCat(dir, "/", id, ".value");
}

absl::StatusOr<SpillStore::Record> SpillStore::Write(const Value& value) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::string> dir = Directory();
  if (!dir.ok()) {
    counters_.write_failures.fetch_add(1, std::memory_order_relaxed);
    return dir.status();
  }
  Record record;
  record.id = next_id_.fetch_add(1, std::memory_order_relaxed);
  const std::string path = PathOf(*dir, record.id);

  // The segments reference the value's own storage: no copy on the way.
  EncodedValue encoded = EncodeValue(value);
  std::vector<iovec> iov;
  iov.reserve(encoded.segments.size());
  uint32_t crc = 0;
  for (const Blob& segment : encoded.segments) {
    if (segment.empty()) continue;
    crc = Crc32cExtend(crc, segment.data(), segment.size());
    iov.push_back(iovec{const_cast<char*>(segment.data()), segment.size()});
  }
  record.file_bytes = static_cast<int64_t>(encoded.total_bytes);
  record.crc32c = crc;

  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  absl::Status status;
  if (fd < 0) {
    status = absl::FailedPreconditionError(Errno(absl::StrCat("cannot create spill file ", path)));
  } else {
    status = WriteAll(fd, std::move(iov), path);
    if (::close(fd) != 0 && status.ok()) {
      status = absl::ResourceExhaustedError(Errno(absl::StrCat("cannot write spill file ", path)));
    }
    if (!status.ok()) ::unlink(path.c_str());
  }
  if (!status.ok()) {
    counters_.write_failures.fetch_add(1, std::memory_order_relaxed);
    return status;
  }
  counters_.bytes_out.fetch_add(record.file_bytes, std::memory_order_relaxed);
  counters_.count_out.fetch_add(1, std::memory_order_relaxed);
  counters_.nanos_out.fetch_add(NanosSince(start), std::memory_order_relaxed);
  return record;
}

absl::StatusOr<Blob> SpillStore::ReadEncoded(const Record& record) {
  const auto start = std::chrono::steady_clock::now();
  const std::string path = PathOf(directory(), record.id);
  auto fail = [this](absl::Status s) {
    counters_.read_failures.fetch_add(1, std::memory_order_relaxed);
    return s;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(absl::DataLossError(Errno(absl::StrCat("spill file ", path))));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size != record.file_bytes) {
    ::close(fd);
    return fail(absl::DataLossError(absl::StrCat("spill file ", path, " has ",
                                                 static_cast<int64_t>(st.st_size),
                                                 " bytes, expected ", record.file_bytes)));
  }
  char* out = nullptr;
  Blob blob = Blob::Allocate(static_cast<size_t>(record.file_bytes), &out);
  size_t done = 0;
  while (done < static_cast<size_t>(record.file_bytes)) {
    ssize_t n = ::read(fd, out + done, static_cast<size_t>(record.file_bytes) - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status s = absl::DataLossError(
          n < 0 ? Errno(absl::StrCat("cannot read spill file ", path))
                : absl::StrCat("spill file ", path, " ended early"));
      ::close(fd);
      return fail(s);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  const uint32_t crc = Crc32cExtend(0, blob.data(), blob.size());
  if (crc != record.crc32c) {
    return fail(absl::DataLossError(absl::StrCat("spill file ", path,
                                                 " is corrupted (CRC-32C mismatch)")));
  }
  counters_.bytes_in.fetch_add(record.file_bytes, std::memory_order_relaxed);
  counters_.count_in.fetch_add(1, std::memory_order_relaxed);
  counters_.nanos_in.fetch_add(NanosSince(start), std::memory_order_relaxed);
  return blob;
}

absl::StatusOr<Value> SpillStore::Read(const Record& record) {
  absl::StatusOr<Blob> encoded = ReadEncoded(record);
  if (!encoded.ok()) return encoded.status();
  absl::StatusOr<Value> value = DecodeValue(*encoded);
  if (!value.ok()) {
    counters_.read_failures.fetch_add(1, std::memory_order_relaxed);
    return absl::DataLossError(
        absl::StrCat("spill file ", record.id, " does not decode: ", value.status().message()));
  }
  return value;
}

void SpillStore::Remove(const Record& record) {
  std::string dir = directory();
  if (!dir.empty()) ::unlink(PathOf(dir, record.id).c_str());
}

}  // namespace taskgrid::worker
