#include "common/json_log_sink.h"

#include <gtest/gtest.h>

#include "common/logging.h"
#include "nlohmann/json.hpp"

namespace taskgrid {
namespace {

nlohmann::json Line(const std::string& message, google::LogSeverity severity = google::GLOG_INFO) {
  // 2026-11-26T10:15:46.250000Z
  const time_t t = 1795688146;
  const std::string line = FormatJsonLogLine(severity, "session_reactors.cc", 42,
                                             google::LogMessageTime(t, t + 0.25),
                                             "taskgrid-scheduler", message, 7);
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one object per line";
  return nlohmann::json::parse(line);
}

TEST(JsonLogSinkTest, HasTimeLevelServiceMessageAndSource) {
  nlohmann::json j = Line("scheduler stopping (signal 15)", google::GLOG_WARNING);
  EXPECT_EQ(j["time"], "2026-11-26T10:15:46.250000Z");
  EXPECT_EQ(j["level"], "WARNING");
  EXPECT_EQ(j["service"], "taskgrid-scheduler");
  EXPECT_EQ(j["message"], "scheduler stopping (signal 15)");
  EXPECT_EQ(j["file"], "session_reactors.cc");
  EXPECT_EQ(j["line"], 42);
  EXPECT_EQ(j["thread"], 7);
  EXPECT_FALSE(j.contains("worker"));
  EXPECT_FALSE(j.contains("key"));
}

TEST(JsonLogSinkTest, ExtractsWorkerKeyAndClientFromTheMessage) {
  nlohmann::json j = Line("worker 10.0.0.7:8788 registered (id 1, 2 threads)");
  EXPECT_EQ(j["worker"], "10.0.0.7:8788");
  j = Line("task inc-3f2a, on worker 3: raised ValueError");
  EXPECT_EQ(j["key"], "inc-3f2a");
  EXPECT_EQ(j["worker"], "3");
  j = Line("client 12 (alice) connected");
  EXPECT_EQ(j["client"], "12");
  j = Line("worker stream sent data before registering");
  EXPECT_FALSE(j.contains("worker")) << j.dump();
}

TEST(JsonLogSinkTest, EscapesQuotesNewlinesAndInvalidUtf8) {
  nlohmann::json j = Line("bad \"graph\"\nline two \xff");
  EXPECT_EQ(j["message"].get<std::string>().substr(0, 21), "bad \"graph\"\nline two ");
}

TEST(SetLogFormatTest, AcceptsTextAndJsonAndNamesTheFlagOtherwise) {
  EXPECT_TRUE(SetLogFormat("text").ok());
  absl::Status s = SetLogFormat("yaml");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--log-format"), std::string::npos);
  EXPECT_NE(s.message().find("yaml"), std::string::npos);
}

}  // namespace
}  // namespace taskgrid
