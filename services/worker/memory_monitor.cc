#include "services/worker/memory_monitor.h"

#include <malloc.h>

#include <algorithm>
#include <limits>

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "services/worker/worker_metrics.h"

namespace taskgrid::worker {

MemoryMonitor::MemoryMonitor(Options options, DataStore* store, Callbacks callbacks)
    : options_(std::move(options)), store_(store), callbacks_(std::move(callbacks)) {}

MemoryMonitor::~MemoryMonitor() { Stop(); }

void MemoryMonitor::Start() {
  if (options_.limit <= 0 || thread_.joinable()) return;
  thread_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(options_.interval)) Check();
  });
}

void MemoryMonitor::Stop() {
  if (!thread_.joinable()) return;
  if (!stop_.HasBeenNotified()) stop_.Notify();
  thread_.join();
}

int64_t MemoryMonitor::Threshold(double fraction) const {
  return fraction > 0 ? static_cast<int64_t>(static_cast<double>(options_.limit) * fraction) : 0;
}

void MemoryMonitor::Check() {
  if (options_.limit <= 0) return;
  absl::MutexLock serial(&check_mu_);
  auto process_bytes = [this] {
    return options_.process_bytes ? options_.process_bytes() : ProcessResidentBytes();
  };
  const int64_t target = Threshold(options_.fractions.target);
  const int64_t spill = Threshold(options_.fractions.spill);
  const int64_t pause = Threshold(options_.fractions.pause);
  const int64_t terminate = Threshold(options_.fractions.terminate);

  int64_t process = process_bytes();
  // What results may take in memory before a Put spills: the target, and
  // no more than keeps the process under the spill threshold given its
  // unmanaged memory (interpreter, buffers, values being computed or
  // sent), so the process stays in bounds between two checks.
  const int64_t unmanaged = std::max<int64_t>(0, process - store_->memory_bytes());
  int64_t budget = target > 0 ? target : std::numeric_limits<int64_t>::max();
  if (spill > 0) budget = std::min(budget, std::max<int64_t>(1, spill - unmanaged));
  if (budget == std::numeric_limits<int64_t>::max()) budget = 0;  // nothing applies
  store_->SetMemoryTarget(budget);
  if (budget > 0) store_->SpillLeastRecentlyUsed(budget);
  if (spill > 0 && process > spill) {
    if (options_.trim_heap) {
      malloc_trim(0);
      process = process_bytes();
    }
    if (process > spill) {
      // Spilling frees about its bytes from the process (once readers let
      // go): spill the excess over the target (or over spill if no target).
      const int64_t goal = target > 0 ? target : spill;
      const int64_t keep = std::max<int64_t>(0, store_->memory_bytes() - (process - goal));
      if (store_->SpillLeastRecentlyUsed(keep) > 0 && options_.trim_heap) malloc_trim(0);
      process = process_bytes();
    }
  }

  std::string why;
  const bool above_pause = pause > 0 && process > pause;
  bool lift_pause = false;  // newly lifted for unmanaged memory
  {
    absl::MutexLock lock(&mu_);
    if (!above_pause || store_->memory_bytes() > 0) {
      unmanaged_override_ = false;
    } else if (!unmanaged_override_ && paused_ &&
               absl::Now() - paused_since_ >= options_.unmanaged_pause_limit) {
      unmanaged_override_ = lift_pause = true;
    }
  }
  if (lift_pause) {
    LOG(WARNING) << "process memory " << process << " bytes stays above the pause threshold "
                 << pause << " with every result spilled: the excess is unmanaged memory "
                 << "that pausing cannot free; running tasks again (terminate at " << terminate
                 << " bytes still applies)";
  }
  bool overridden;
  {
    absl::MutexLock lock(&mu_);
    overridden = unmanaged_override_;
  }
  if (above_pause && !overridden) {
    why = absl::StrCat("process memory ", process, " bytes is above the pause threshold ", pause,
                       " (", options_.fractions.pause, " of the limit ", options_.limit, ")");
  } else if (store_->spill_failing()) {
    why = "results cannot be spilled to disk (see the spill error above)";
  }
  const bool pause_now = !why.empty();
  bool changed;
  bool terminate_now = false;
  {
    absl::MutexLock lock(&mu_);
    last_process_bytes_ = process;
    changed = pause_now != paused_;
    if (changed && pause_now) paused_since_ = absl::Now();
    paused_ = pause_now;
    if (terminate > 0 && process > terminate && !terminating_) {
      terminating_ = terminate_now = true;
    }
  }
  if (changed) {
    if (pause_now) {
      LOG(WARNING) << "pausing: no new task starts until memory falls: " << why;
    } else {
      LOG(INFO) << "resuming: process memory " << process << " bytes, managed "
                << store_->memory_bytes() << " bytes, spilled " << store_->spilled_bytes();
    }
    if (callbacks_.on_pause) callbacks_.on_pause(pause_now, why);
  }
  if (terminate_now) {
    std::string reason =
        absl::StrCat("process memory ", process, " bytes is above the terminate threshold ",
                     terminate, " (", options_.fractions.terminate, " of the limit ",
                     options_.limit, ")");
    LOG(ERROR) << "terminating: " << reason;
    if (callbacks_.on_terminate) callbacks_.on_terminate(reason);
  }
}

bool MemoryMonitor::paused() const {
  absl::MutexLock lock(&mu_);
  return paused_;
}

int64_t MemoryMonitor::last_process_bytes() const {
  absl::MutexLock lock(&mu_);
  return last_process_bytes_;
}

}  // namespace taskgrid::worker
