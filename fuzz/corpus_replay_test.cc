// Replays every committed corpus input (fuzz/corpus/<target>/*) through its
// target's FuzzOne in the regular build, so inputs that once crashed stay
// fixed even where clang/libFuzzer are not used. A crash or broken
// invariant aborts the test binary, which fails the test.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz/fuzz_targets.h"
#include "gtest/gtest.h"

namespace taskgrid::fuzz {
namespace {

namespace fs = std::filesystem;

// CMake's ctest names the source tree in TASKGRID_SOURCE_DIR; Bazel runs
// the test from its runfiles root, where fuzz/corpus is a data dependency.
fs::path CorpusRoot() {
  if (const char* dir = std::getenv("TASKGRID_SOURCE_DIR")) return fs::path(dir) / "fuzz/corpus";
  return "fuzz/corpus";
}

class CorpusReplayTest : public ::testing::TestWithParam<FuzzTarget> {};

TEST_P(CorpusReplayTest, EveryCommittedInputPasses) {
  const fs::path dir = CorpusRoot() / GetParam().name;
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " is missing";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  // At least one valid and one invalid seed per target.
  ASSERT_GE(files.size(), 2u) << dir;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    ASSERT_TRUE(in) << file;
    std::stringstream bytes;
    bytes << in.rdbuf();
    const std::string input = bytes.str();
    SCOPED_TRACE(file.string());
    EXPECT_EQ(GetParam().fuzz_one(reinterpret_cast<const uint8_t*>(input.data()), input.size()),
              0);
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, CorpusReplayTest, ::testing::ValuesIn(kFuzzTargets),
                         [](const ::testing::TestParamInfo<FuzzTarget>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace taskgrid::fuzz
