#include "common/logging.h"

#include <glog/logging.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/json_log_sink.h"

namespace taskgrid {
namespace {

std::string& ProgramName() {
  static std::string* name = new std::string("taskgrid");
  return *name;
}

}  // namespace

void InitLogging(const char* argv0) {
  static std::once_flag once;
  std::call_once(once, [argv0] {
    if (argv0 != nullptr) {
      const char* slash = std::strrchr(argv0, '/');
      ProgramName() = slash != nullptr ? slash + 1 : argv0;
    }
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

absl::Status SetLogFormat(absl::string_view format) {
  if (format == "text") return absl::OkStatus();
  if (format != "json") {
    return absl::InvalidArgumentError(absl::StrCat(
        "flag --log-format: \"", format, "\" is not one of text, json"));
  }
  // The sink writes every event; glog itself writes neither to stderr nor
  // to files.
  static std::once_flag once;
  std::call_once(once, [] {
    FLAGS_logtostderr = false;
    google::SetStderrLogging(google::NUM_SEVERITIES);
    for (int s = 0; s < google::NUM_SEVERITIES; ++s) google::SetLogDestination(s, "");
    google::AddLogSink(new JsonLogSink(ProgramName()));
  });
  return absl::OkStatus();
}

void ExitStoppedService(int code) {
  google::FlushLogFiles(google::GLOG_INFO);
  std::fflush(stdout);
  std::fflush(stderr);
  _exit(code);
}

}  // namespace taskgrid
