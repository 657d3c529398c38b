#include "cli/child_process.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid::cli {
namespace {

using ::testing::HasSubstr;

// A fresh directory, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/taskgrid-child-test-XXXXXX";
    const char* dir = mkdtemp(tmpl);
    EXPECT_NE(dir, nullptr);
    path_ = dir != nullptr ? dir : "/tmp/taskgrid-child-test";
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(FindServiceBinaryTest, FindsAnExecutableOnPath) {
  TempDir dir;
  const std::string path = dir.path() + "/taskgrid-test-service";
  { std::ofstream(path) << "#!/bin/sh\n"; }
  chmod(path.c_str(), 0755);
  const std::string old_path = getenv("PATH") != nullptr ? getenv("PATH") : "";
  setenv("PATH", (dir.path() + ":" + old_path).c_str(), 1);
  absl::StatusOr<std::string> found = FindServiceBinary("taskgrid-test-service", "test");
  setenv("PATH", old_path.c_str(), 1);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, path);
}

TEST(FindServiceBinaryTest, MissingBinaryNamesWhereItLooked) {
  absl::StatusOr<std::string> found = FindServiceBinary("taskgrid-no-such-binary", "nowhere");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(found.status().message(), HasSubstr("taskgrid-no-such-binary"));
  EXPECT_THAT(found.status().message(), HasSubstr("services/nowhere"));
}

TEST(ChildProcessTest, RunsWithOutputInTheLogAndReportsTheExit) {
  TempDir dir;
  const std::string log = dir.path() + "/child.log";
  absl::StatusOr<ChildProcess> child = ChildProcess::Start(
      "echoer", {"/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"}, log);
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(child->WaitFor(30));
  EXPECT_FALSE(child->running());
  EXPECT_EQ(child->ExitDescription(), "exited with status 3");
  const std::string tail = TailOfFile(log);
  EXPECT_THAT(tail, HasSubstr("to-stdout"));
  EXPECT_THAT(tail, HasSubstr("to-stderr"));
}

TEST(ChildProcessTest, SignalStopsAChild) {
  TempDir dir;
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Start("sleeper", {"/bin/sleep", "60"}, dir.path() + "/sleeper.log");
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_FALSE(child->Poll());
  child->Signal(SIGTERM);
  ASSERT_TRUE(child->WaitFor(30));
  EXPECT_THAT(child->ExitDescription(), HasSubstr("killed by signal 15"));
}

TEST(TailOfFileTest, KeepsOnlyTheLastLines) {
  TempDir dir;
  const std::string path = dir.path() + "/lines.txt";
  {
    std::ofstream out(path);
    for (int i = 1; i <= 20; ++i) out << "line " << i << "\n";
  }
  EXPECT_EQ(TailOfFile(path, 3), "line 18\nline 19\nline 20");
}

TEST(PortTest, PickedPortIsFreeUntilSomethingListens) {
  absl::StatusOr<int> port = PickFreePort();
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_GT(*port, 0);
  EXPECT_TRUE(PortIsFree(*port));
  EXPECT_FALSE(PortAcceptsConnections(*port));
}

}  // namespace
}  // namespace taskgrid::cli
