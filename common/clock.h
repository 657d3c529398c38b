#pragma once
// Time as a plain function so that logic (scheduler state machine, timeouts,
// heartbeats) takes an injectable Clock and tests drive time by hand
// instead of sleeping.
//
// Thread-safety: both clocks may be called from any thread.

#include <chrono>
#include <functional>

namespace taskgrid {

// Seconds as a double; which epoch depends on the clock passed in.
using Clock = std::function<double()>;

// Seconds since the Unix epoch (for timestamps reported to users).
inline double WallSeconds() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Seconds since an arbitrary fixed point; never goes backwards (for
// durations and deadlines).
inline double MonotonicSeconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace taskgrid
