#pragma once
// Process-wide logging setup: glog to stderr, one line per event, so that
// containers and `taskgrid up` collect every service's log the same way.
// Use LOG(INFO) etc. from <glog/logging.h> after calling InitLogging once
// at the start of main().

namespace taskgrid {

// Safe to call more than once; later calls do nothing. Also installs a
// crash handler that prints a stack trace (SIGSEGV, SIGABRT, ...), leaving
// any SIGTERM handler in place.
void InitLogging(const char* argv0);

}  // namespace taskgrid
