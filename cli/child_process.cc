#include "cli/child_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <deque>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace taskgrid::cli {
namespace {

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

}  // namespace

std::string SelfDirectory() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

absl::StatusOr<std::string> FindServiceBinary(const std::string& name,
                                              const std::string& service_dir) {
  const std::string self = SelfDirectory();
  std::vector<std::string> tried = {
      absl::StrCat(self, "/", name),
      absl::StrCat(self, "/../services/", service_dir, "/", name),
      absl::StrCat(self, "/../", name),  // binaries gathered at the build root
  };
  const char* path_env = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path_env != nullptr ? path_env : "", ':')) {
    if (!dir.empty()) tried.push_back(absl::StrCat(dir, "/", name));
  }
  for (const std::string& candidate : tried) {
    if (!IsExecutableFile(candidate)) continue;
    char resolved[PATH_MAX];
    return realpath(candidate.c_str(), resolved) != nullptr ? std::string(resolved) : candidate;
  }
  return absl::NotFoundError(absl::StrCat("cannot find ", name, " (looked next to taskgrid, in ",
                                          self, "/../services/", service_dir, "/, in ", self,
                                          "/../ and on PATH)"));
}

absl::StatusOr<ChildProcess> ChildProcess::Start(std::string name, std::vector<std::string> argv,
                                                 const std::string& log_path) {
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot open log file ", log_path, ": ", std::strerror(errno)));
  }
  // Everything the child needs is prepared before fork: between fork and
  // exec only async-signal-safe calls are allowed (gRPC threads exist).
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);  // the parent died before prctl
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(args[0], args.data());
    static constexpr char kMsg[] = "taskgrid up: exec failed\n";
    ssize_t ignored = write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
    (void)ignored;
    _exit(127);
  }
  close(log_fd);
  ChildProcess child;
  child.name_ = std::move(name);
  child.log_path_ = log_path;
  child.pid_ = pid;
  return child;
}

std::string ChildProcess::ExitDescription() const {
  if (!exit_status_.has_value()) return "";
  if (WIFEXITED(*exit_status_)) return absl::StrCat("exited with status ", WEXITSTATUS(*exit_status_));
  if (WIFSIGNALED(*exit_status_)) {
    return absl::StrCat("killed by signal ", WTERMSIG(*exit_status_), " (",
                        strsignal(WTERMSIG(*exit_status_)), ")");
  }
  return "stopped";
}

bool ChildProcess::Poll() {
  if (exit_status_.has_value()) return true;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) exit_status_ = status;
  return exit_status_.has_value();
}

void ChildProcess::Signal(int sig) {
  if (running()) kill(pid_, sig);
}

bool ChildProcess::WaitFor(double seconds) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(seconds));
  while (!Poll()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::string TailOfFile(const std::string& path, int max_lines) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (static_cast<int>(lines.size()) > max_lines) lines.pop_front();
  }
  return absl::StrJoin(lines, "\n");
}

absl::StatusOr<int> PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError(absl::StrCat("cannot pick a free port: ", std::strerror(errno)));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

bool PortIsFree(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // Same option gRPC servers use, so a port in TIME_WAIT counts as free.
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = Loopback(port);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

bool PortAcceptsConnections(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr = Loopback(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

}  // namespace taskgrid::cli
