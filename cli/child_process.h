#pragma once
// Child processes for `taskgrid up`: locating the service binaries and
// running them with their output in a log file.
//
// Children get their own process group, so a Ctrl-C on the terminal reaches
// only `taskgrid up`, which then stops them in order (workers first, so
// they can leave cleanly while the scheduler still runs); and they get
// SIGTERM if `taskgrid up` dies without doing so.
//
// Thread-safety: not thread-safe; used from main's thread.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace taskgrid::cli {

// Where to look for a sibling binary such as "taskgrid-scheduler": the
// directory of the running executable, then the CMake build layout
// (<build>/cli/taskgrid next to <build>/services/<service>/<binary>, or
// binaries at <build>/), then PATH. NotFound lists the places tried.
absl::StatusOr<std::string> FindServiceBinary(const std::string& name,
                                              const std::string& service_dir);

// Directory of the running executable (/proc/self/exe).
std::string SelfDirectory();

class ChildProcess {
 public:
  // Starts `argv` (argv[0] is the binary path) with stdout and stderr
  // appended to `log_path`. `name` is for messages ("worker-1").
  static absl::StatusOr<ChildProcess> Start(std::string name, std::vector<std::string> argv,
                                            const std::string& log_path);

  const std::string& name() const { return name_; }
  const std::string& log_path() const { return log_path_; }
  pid_t pid() const { return pid_; }
  bool running() const { return !exit_status_.has_value(); }
  // "exited with status 1" / "killed by signal 9"; empty while running.
  std::string ExitDescription() const;

  // Reaps the child if it has exited (no waiting); true when it has.
  bool Poll();
  void Signal(int sig);
  // Waits up to `seconds` for the child to exit; true when it has.
  bool WaitFor(double seconds);

 private:
  std::string name_;
  std::string log_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;  // raw waitpid status
};

// Last `max_lines` lines of a file (for showing why a child failed).
std::string TailOfFile(const std::string& path, int max_lines = 15);

// A TCP port on 127.0.0.1 free at the time of the call.
absl::StatusOr<int> PickFreePort();
// True when nothing listens on 127.0.0.1:port and it can be bound.
bool PortIsFree(int port);
// True when something accepts TCP connections on 127.0.0.1:port.
bool PortAcceptsConnections(int port);

}  // namespace taskgrid::cli
