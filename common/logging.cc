#include "common/logging.h"

#include <csignal>
#include <mutex>

#include <glog/logging.h>

namespace taskgrid {

void InitLogging(const char* argv0) {
  static std::once_flag once;
  std::call_once(once, [argv0] {
    // Containers and process supervisors read stderr; log files inside a
    // pod would be lost with it.
    FLAGS_logtostderr = true;
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

}  // namespace taskgrid
