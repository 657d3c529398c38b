#pragma once
// Process-wide logging setup: glog to stderr, one line per event, so that
// containers and `taskgrid up` collect every service's log the same way.
// Use LOG(INFO) etc. from <glog/logging.h> after calling InitLogging once
// at the start of main().

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace taskgrid {

// Safe to call more than once; later calls do nothing. Also installs a
// crash handler that prints a stack trace (SIGSEGV, SIGABRT, ...), leaving
// any SIGTERM handler in place.
void InitLogging(const char* argv0);

// The value of a --log-format flag: "text" (glog's lines, the default) or
// "json" (one JSON object per line, see common/json_log_sink.h). Anything
// else is InvalidArgument naming the flag. Call after InitLogging, once.
absl::Status SetLogFormat(absl::string_view format);

// Ends a service whose work has stopped: flushes the logs and exits with
// `code` without running destructors. The one thing left by then is
// prometheus-cpp's HTTP listener, whose (Debian-built) civetweb joins its
// poll loop for up to 2 s; the kernel closes its socket at exit anyway.
[[noreturn]] void ExitStoppedService(int code);

}  // namespace taskgrid
