#include "common/flags.h"

#include <cstdlib>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<Flags> ParseArgs(std::vector<std::string> args,
                                const std::vector<std::string>& known,
                                const std::vector<std::string>& boolean = {}) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return Flags::Parse(static_cast<int>(argv.size()), argv.data(), known, boolean);
}

// Sets an environment variable for the scope of one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

TEST(FlagsTest, BothValueFormsAndPositionals) {
  absl::StatusOr<Flags> f = ParseArgs({"sched:8786", "--nthreads=4", "--name", "w1", "extra"},
                                      {"nthreads", "name"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(*f->GetInt("nthreads", 1), 4);
  EXPECT_EQ(f->GetString("name", ""), "w1");
  EXPECT_EQ(f->GetString("missing", "dflt"), "dflt");
  EXPECT_EQ(*f->GetInt("missing", 9), 9);
  EXPECT_THAT(f->positional(), ElementsAre("sched:8786", "extra"));
  EXPECT_TRUE(f->Has("name"));
  EXPECT_FALSE(f->Has("missing"));
}

TEST(FlagsTest, Booleans) {
  absl::StatusOr<Flags> f = ParseArgs({"--allow-exec", "--help", "pos", "--verbose=false"},
                                      {"port"}, {"allow-exec", "help", "verbose", "quiet"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->GetBool("allow-exec"));
  EXPECT_TRUE(f->GetBool("help"));
  EXPECT_FALSE(f->GetBool("verbose"));
  EXPECT_TRUE(f->Has("verbose"));
  EXPECT_FALSE(f->GetBool("quiet"));
  EXPECT_THAT(f->positional(), ElementsAre("pos"));  // a boolean takes no value
  EXPECT_FALSE(ParseArgs({"--verbose=maybe"}, {}, {"verbose"}).ok());
  absl::StatusOr<Flags> no = ParseArgs({"--no-verbose"}, {}, {"verbose"});
  ASSERT_TRUE(no.ok());
  EXPECT_FALSE(no->GetBool("verbose"));
  EXPECT_TRUE(no->Has("verbose"));
}

TEST(FlagsTest, RepeatedFlagsKeepOrder) {
  absl::StatusOr<Flags> f = ParseArgs({"--plugin", "a.so", "--plugin=b.so"}, {"plugin"});
  ASSERT_TRUE(f.ok());
  EXPECT_THAT(f->GetAll("plugin"), ElementsAre("a.so", "b.so"));
  EXPECT_EQ(f->GetString("plugin", ""), "b.so");
  EXPECT_TRUE(f->GetAll("other").empty());
}

TEST(FlagsTest, Errors) {
  absl::StatusOr<Flags> unknown = ParseArgs({"--nthread=2"}, {"nthreads"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("unknown flag --nthread"));
  absl::StatusOr<Flags> missing = ParseArgs({"--name"}, {"name"});
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("--name needs a value"));
  absl::StatusOr<Flags> f = ParseArgs({"--port", "abc"}, {"port"});
  ASSERT_TRUE(f.ok());
  EXPECT_THAT(std::string(f->GetInt("port", 0).status().message()), HasSubstr("\"abc\""));
}

TEST(FlagsTest, DoubleDashEndsFlagsAndUnderscoresAreAccepted) {
  absl::StatusOr<Flags> f = ParseArgs({"--memory_limit", "2GB", "--", "--not-a-flag"},
                                      {"memory-limit"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->GetString("memory-limit", ""), "2GB");
  EXPECT_THAT(f->positional(), ElementsAre("--not-a-flag"));
}

TEST(FlagsTest, EnvironmentFillsInAndCommandLineWins) {
  ScopedEnv a("TASKGRID_MEMORY_LIMIT", "1GiB");
  ScopedEnv b("TASKGRID_NTHREADS", "3");
  ScopedEnv c("TASKGRID_ALLOW_EXEC", "1");
  absl::StatusOr<Flags> f = ParseArgs({"--nthreads", "8"}, {"memory-limit", "nthreads"},
                                      {"allow-exec"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->GetString("memory-limit", ""), "1GiB");
  EXPECT_EQ(*f->GetInt("nthreads", 1), 8);
  EXPECT_TRUE(f->GetBool("allow-exec"));
  ScopedEnv d("TASKGRID_VERBOSE", "sometimes");
  absl::StatusOr<Flags> bad = ParseArgs({}, {}, {"verbose"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("TASKGRID_VERBOSE"));
}

// --log-format is accepted by every program without being listed; json
// itself is covered by json_log_sink_test (it redirects this process's log).
TEST(FlagsTest, LogFormatIsAcceptedEverywhereAndChecked) {
  absl::StatusOr<Flags> f = ParseArgs({"--log-format", "text", "--port", "1"}, {"port"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->GetString("log-format", ""), "text");
  f = ParseArgs({"--log-format=yaml"}, {"port"});
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("--log-format"));
  EXPECT_THAT(f.status().message(), HasSubstr("yaml"));
  ScopedEnv env("TASKGRID_LOG_FORMAT", "xml");
  f = ParseArgs({}, {"port"});
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("xml"));
}

TEST(ByteSizeTest, Units) {
  EXPECT_EQ(*ParseByteSize("4GiB"), int64_t{4} << 30);
  EXPECT_EQ(*ParseByteSize("4 GiB"), int64_t{4} << 30);
  EXPECT_EQ(*ParseByteSize("512MB"), 512000000);
  EXPECT_EQ(*ParseByteSize("1e9"), 1000000000);
  EXPECT_EQ(*ParseByteSize("1000"), 1000);
  EXPECT_EQ(*ParseByteSize("2.5GB"), 2500000000);
  EXPECT_EQ(*ParseByteSize("1KiB"), 1024);
  EXPECT_EQ(*ParseByteSize("3MiB"), 3 << 20);
  EXPECT_EQ(*ParseByteSize("1TiB"), int64_t{1} << 40);
  EXPECT_EQ(*ParseByteSize("2kB"), 2000);
  EXPECT_EQ(*ParseByteSize("2KB"), 2000);
  EXPECT_EQ(*ParseByteSize("1TB"), 1000000000000);
  EXPECT_EQ(*ParseByteSize("1.5e3 kB"), 1500000);
  EXPECT_EQ(*ParseByteSize(" 7B "), 7);
  EXPECT_EQ(*ParseByteSize("0"), 0);
}

TEST(ByteSizeTest, Errors) {
  for (const char* bad : {"", "GiB", "-1GB", "4 GiBs", "1e", "abc", "0x10", "nan", "inf",
                          "1e30", "4 XB", "1..2"}) {
    absl::StatusOr<int64_t> v = ParseByteSize(bad);
    ASSERT_FALSE(v.ok()) << bad << " -> " << *v;
    EXPECT_THAT(std::string(v.status().message()), HasSubstr(std::string("\"") + bad + "\""));
  }
}

TEST(ResourcesTest, Parse) {
  absl::StatusOr<std::map<std::string, double>> r = ParseResources("GPU=1,MEMORY=2e9");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->at("GPU"), 1.0);
  EXPECT_EQ(r->at("MEMORY"), 2e9);
  EXPECT_EQ(r->size(), 2u);
  EXPECT_TRUE(ParseResources("")->empty());
  EXPECT_EQ(ParseResources(" GPU = 0.5 , ")->at("GPU"), 0.5);
  EXPECT_EQ(ParseResources("MEMORY=2GiB")->at("MEMORY"), 2147483648.0);
  for (const char* bad : {"GPU", "GPU=-1", "GPU=nan", "=1", "GPU=x", "GPU=1,GPU=2"}) {
    EXPECT_FALSE(ParseResources(bad).ok()) << bad;
  }
  EXPECT_THAT(std::string(ParseResources("GPU=-1").status().message()), HasSubstr("GPU"));
}

TEST(SchedulerAddressTest, ExplicitThenEnvironmentThenDefault) {
  unsetenv("TASKGRID_SCHEDULER_ADDRESS");
  EXPECT_EQ(ResolveSchedulerAddress(""), "127.0.0.1:8786");
  EXPECT_EQ(ResolveSchedulerAddress("h:1"), "h:1");
  ScopedEnv env("TASKGRID_SCHEDULER_ADDRESS", "sched:9000");
  EXPECT_EQ(ResolveSchedulerAddress(""), "sched:9000");
  EXPECT_EQ(ResolveSchedulerAddress("tcp://h:2"), "h:2");
}

}  // namespace
}  // namespace taskgrid
