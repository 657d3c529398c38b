#pragma once
// Subprocess: a real child process for end-to-end tests, with its stdout
// and stderr captured to files in a test directory so tests can wait for a
// line ("listening on ...") and show the logs when something fails.
//
// Thread-safety: none; owned by one test.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace taskgrid::testing {

class Subprocess {
 public:
  // Starts `argv` (argv[0] is the binary path) with output in
  // `log_prefix`.out / .err. Extra environment entries are KEY=VALUE.
  Subprocess(std::vector<std::string> argv, const std::string& log_prefix,
             std::vector<std::string> extra_env = {});
  ~Subprocess();  // SIGKILLs the child if it still runs
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  // Waits until stdout has a line containing `needle`; returns that line.
  std::optional<std::string> WaitForOutput(const std::string& needle,
                                           std::chrono::milliseconds timeout);
  void Signal(int sig);
  // Waits for exit; returns the exit code, 128+signal when killed, or
  // nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  bool running();
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string out_path_;
  std::string err_path_;
};

std::string ReadFile(const std::string& path);
// A fresh directory under TEST_TMPDIR or /tmp.
std::string MakeTempDir(const std::string& prefix);
// A 127.0.0.1 port nobody listened on a moment ago, for programs that
// cannot report the port they picked for :0 (e.g. Prometheus).
int PickFreePort();

}  // namespace taskgrid::testing
