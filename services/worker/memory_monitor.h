#pragma once
// MemoryMonitor: the worker's memory policy, Dask-like. Every interval
// (and on demand, Check) it compares memory with fractions of the limit:
//
//   target    managed bytes (results in memory) above it: spill
//             least-recently-used results until at most target. The data
//             store does this on every Put too, against a budget the
//             monitor sets: the target, lowered so that managed plus
//             unmanaged memory (process - managed) stays under the spill
//             threshold.
//   spill     process bytes (RSS) above it: return freed heap to the
//             kernel (malloc_trim), then spill results until the process
//             is estimated to be at the target again.
//   pause     process bytes above it, or a spill failing (disk full,
//             unwritable directory) while managed bytes are above target:
//             the worker starts no new task until this clears. A pause
//             for process bytes that has lasted unmanaged_pause_limit
//             with every result spilled is lifted (with a warning): the
//             excess is unmanaged memory that spilling cannot free, and
//             staying paused would stall the worker for good (terminate
//             still guards the process). It applies again once results
//             are back in memory or the process fell below pause.
//   terminate process bytes above it: the worker is told to exit (once).
//
// A fraction of 0 disables that threshold; a limit of 0 disables all.
// Process bytes come from an injectable function (tests), by default the
// resident set size.
//
// Thread-safety: Check may be called from any thread; calls are
// serialised. The callbacks run on the calling (monitor) thread, without
// the monitor's lock.

#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/worker/data_store.h"

namespace taskgrid::worker {

struct MemoryFractions {
  double target = 0.6;
  double spill = 0.7;
  double pause = 0.8;
  double terminate = 0.95;
};

class MemoryMonitor {
 public:
  struct Options {
    int64_t limit = 0;  // bytes; 0: no memory management
    MemoryFractions fractions;
    absl::Duration interval = absl::Milliseconds(100);
    std::function<int64_t()> process_bytes;  // default: resident set size
    bool trim_heap = true;                   // malloc_trim when above spill
    absl::Duration unmanaged_pause_limit = absl::Seconds(5);
  };
  struct Callbacks {
    std::function<void(bool paused, const std::string& why)> on_pause;
    std::function<void(const std::string& why)> on_terminate;
  };

  MemoryMonitor(Options options, DataStore* store, Callbacks callbacks);
  ~MemoryMonitor();  // Stop()
  MemoryMonitor(const MemoryMonitor&) = delete;
  MemoryMonitor& operator=(const MemoryMonitor&) = delete;

  // Runs Check every interval on a thread of its own until Stop.
  void Start();
  void Stop();
  // One evaluation of the policy.
  void Check();

  bool paused() const;
  int64_t last_process_bytes() const;

 private:
  int64_t Threshold(double fraction) const;

  const Options options_;
  DataStore* const store_;
  const Callbacks callbacks_;

  absl::Mutex check_mu_;  // serialises Check
  mutable absl::Mutex mu_;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time paused_since_ ABSL_GUARDED_BY(mu_);
  // The pause for unmanaged memory was lifted (see the header comment).
  bool unmanaged_override_ ABSL_GUARDED_BY(mu_) = false;
  bool terminating_ ABSL_GUARDED_BY(mu_) = false;
  int64_t last_process_bytes_ ABSL_GUARDED_BY(mu_) = 0;

  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace taskgrid::worker
