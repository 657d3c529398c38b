#include "services/gateway/job_record.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(JobRecordTest, RoundTrips) {
  JobRecord r;
  r.id = "j1";
  r.name = "nightly";
  r.keys = {"a", "b-\"quoted\""};
  r.tasks_total = 3;
  r.created = absl::FromUnixMicros(1700000000123456);
  r.ttl = absl::Seconds(90);
  absl::StatusOr<JobRecord> back = DecodeJobRecord("j1", EncodeJobRecord(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->id, "j1");
  EXPECT_EQ(back->name, "nightly");
  EXPECT_THAT(back->keys, ElementsAre("a", "b-\"quoted\""));
  EXPECT_EQ(back->tasks_total, 3);
  EXPECT_EQ(back->created, r.created);
  EXPECT_EQ(back->ttl, absl::Seconds(90));
}

TEST(JobRecordTest, MalformedRecordsNameTheProblem) {
  for (const char* text : {"", "[1]", "{\"keys\": []}", "{\"keys\": [1]}",
                           "{\"keys\": [\"a\"], \"tasks\": \"x\"}"}) {
    absl::StatusOr<JobRecord> r = DecodeJobRecord("j9", text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("job record j9"));
  }
}

}  // namespace
}  // namespace taskgrid::gateway
