#include "common/logging.h"

#include <glog/logging.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <mutex>

#include "absl/synchronization/mutex.h"

namespace taskgrid {

void InitLogging(const char* argv0) {
  static std::once_flag once;
  std::call_once(once, [argv0] {
    // Containers and process supervisors read stderr; log files inside a
    // pod would be lost with it.
    FLAGS_logtostderr = true;
    // Debian's Abseil is built with mutex deadlock detection on, which
    // costs ~150 ns per nested lock; lock order is fixed by design here.
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
    FLAGS_colorlogtostderr = false;
    if (!google::IsGoogleLoggingInitialized()) {
      google::InitGoogleLogging(argv0 != nullptr ? argv0 : "taskgrid");
    }
    // Stack traces on crashes, but glog's handler also claims SIGTERM,
    // which services use for a clean shutdown: keep whatever was there.
    struct sigaction previous_term;
    sigaction(SIGTERM, nullptr, &previous_term);
    google::InstallFailureSignalHandler();
    sigaction(SIGTERM, &previous_term, nullptr);
  });
}

void ExitStoppedService(int code) {
  google::FlushLogFiles(google::GLOG_INFO);
  std::fflush(stdout);
  std::fflush(stderr);
  _exit(code);
}

}  // namespace taskgrid
