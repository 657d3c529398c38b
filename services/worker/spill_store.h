#pragma once
// SpillStore: results written to files on local disk while memory is short.
//
// A value is stored in its wire encoding (common/value_codec.h, exactly
// what GetData sends), written straight from the value's own storage with
// writev (no intermediate copy). The caller keeps the returned Record
// (file id, size, CRC-32C); Read checks both, so a truncated or corrupted
// file is reported as DataLoss and never decoded into a wrong value.
//
// Files live in a private subdirectory ("taskgrid-worker-XXXXXX") of the
// base directory (--local-directory, else $TMPDIR, else /tmp), created on
// first use, so several workers may share a base directory; the destructor
// removes the subdirectory and everything in it. An unusable base
// directory (missing and uncreatable, read-only, a file) makes Write fail
// with a clear error; it is retried on the next Write.
//
// Thread-safety: all methods are thread-safe; distinct records are
// independent files, so reads and writes run in parallel without locks
// beyond creating the directory. Counters are relaxed atomics.

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/blob.h"
#include "common/value.h"

namespace taskgrid::worker {

class SpillStore {
 public:
  struct Record {
    uint64_t id = 0;
    int64_t file_bytes = 0;  // encoded size
    uint32_t crc32c = 0;     // of the whole file
  };
  // Cumulative counters, for metrics ("out" = written, "in" = read back).
  struct Counters {
    std::atomic<int64_t> bytes_out{0}, bytes_in{0};
    std::atomic<int64_t> count_out{0}, count_in{0};
    std::atomic<int64_t> nanos_out{0}, nanos_in{0};
    std::atomic<int64_t> write_failures{0}, read_failures{0};
  };

  // `base_directory` empty: $TMPDIR, else /tmp.
  explicit SpillStore(std::string base_directory);
  ~SpillStore();  // RemoveAll()
  SpillStore(const SpillStore&) = delete;
  SpillStore& operator=(const SpillStore&) = delete;

  // Writes `value`; on failure nothing is left on disk.
  absl::StatusOr<Record> Write(const Value& value);
  // The encoded bytes, in one allocation, verified against the record.
  // DataLoss: missing, truncated or corrupted file.
  absl::StatusOr<Blob> ReadEncoded(const Record& record);
  // ReadEncoded + decode (bytes/array payloads share the read buffer).
  absl::StatusOr<Value> Read(const Record& record);
  void Remove(const Record& record);
  // Deletes the private directory and every file in it (for shutdown; a
  // later Write makes a new directory).
  void RemoveAll();

  // The private directory ("" until the first successful Write).
  std::string directory() const;
  // Creates the private directory now (Write does it lazily); for an
  // early warning at startup.
  absl::Status Prepare();
  const Counters& counters() const { return counters_; }

 private:
  absl::StatusOr<std::string> Directory();
  std::string PathOf(const std::string& dir, uint64_t id) const;

  const std::string base_;
  mutable absl::Mutex mu_;
  std::string dir_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> next_id_{0};
  Counters counters_;
};

}  // namespace taskgrid::worker
