#include "services/gateway/job_registry.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid::gateway {
namespace {

using ::testing::ElementsAre;

// Counts how many holds are alive, to check when keys are released.
struct CountedHolds : JobHolds {
  explicit CountedHolds(int* alive) : alive(alive) { ++*alive; }
  ~CountedHolds() override { --*alive; }
  int* alive;
};

KeyInfo Info(v1::KeyState state, uint64_t generation, int64_t nbytes = 0) {
  KeyInfo info;
  info.state = state;
  info.generation = generation;
  info.nbytes = nbytes;
  if (state == v1::KEY_STATE_MEMORY) info.workers = {"127.0.0.1:1"};
  return info;
}

class JobRegistryTest : public ::testing::Test {
 protected:
  JobRegistry::NewJob Job(std::vector<std::string> keys) {
    JobRegistry::NewJob job;
    job.name = "test";
    job.initial.resize(keys.size());
    job.keys = std::move(keys);
    job.tasks_total = static_cast<int>(job.keys.size());
    job.holds = std::make_shared<CountedHolds>(&alive_);
    return job;
  }
  JobState StateOf(const std::string& id) { return registry_.Get(id)->summary.state; }

  absl::Time now_ = absl::FromUnixSeconds(1000);
  int alive_ = 0;
  JobRegistry registry_{absl::Seconds(60), [this] { return now_; }};
};

TEST_F(JobRegistryTest, JobStateFollowsItsKeys) {
  const std::string id = registry_.Add(Job({"a", "b"}));
  EXPECT_EQ(StateOf(id), JobState::kPending);
  registry_.OnKeyUpdate("a", Info(v1::KEY_STATE_MEMORY, 1, 8));
  EXPECT_EQ(StateOf(id), JobState::kRunning);
  registry_.OnKeyUpdate("b", Info(v1::KEY_STATE_MEMORY, 1));
  std::optional<JobSnapshot> snap = registry_.Get(id);
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(snap->summary.state, JobState::kFinished);
  EXPECT_EQ(snap->summary.keys_done, 2);
  EXPECT_EQ(snap->keys[0].key, "a");
  EXPECT_EQ(snap->keys[0].info.nbytes, 8);
  EXPECT_THAT(snap->keys[0].info.workers, ElementsAre("127.0.0.1:1"));
}

TEST_F(JobRegistryTest, AnyFailedKeyFailsTheJobOnceAllAreDone) {
  const std::string id = registry_.Add(Job({"a", "b"}));
  registry_.OnKeyUpdate("a", Info(v1::KEY_STATE_ERRED, 1));
  EXPECT_EQ(StateOf(id), JobState::kRunning);
  registry_.OnKeyUpdate("b", Info(v1::KEY_STATE_MEMORY, 1));
  EXPECT_EQ(StateOf(id), JobState::kFailed);
  EXPECT_EQ(registry_.Get(id)->summary.keys_erred, 1);
}

TEST_F(JobRegistryTest, OlderNewsIsIgnored) {
  JobRegistry::NewJob job = Job({"a"});
  job.initial[0] = Info(v1::KEY_STATE_MEMORY, 3);
  const std::string id = registry_.Add(std::move(job));
  registry_.OnKeyUpdate("a", Info(v1::KEY_STATE_ERRED, 2));
  EXPECT_EQ(registry_.Get(id)->keys[0].info.state, v1::KEY_STATE_MEMORY);
}

TEST_F(JobRegistryTest, SharedKeyUpdatesEveryJobWantingIt) {
  const std::string a = registry_.Add(Job({"x"}));
  const std::string b = registry_.Add(Job({"x", "y"}));
  EXPECT_NE(a, b);
  registry_.OnKeyUpdate("x", Info(v1::KEY_STATE_MEMORY, 1));
  EXPECT_EQ(StateOf(a), JobState::kFinished);
  EXPECT_EQ(StateOf(b), JobState::kRunning);
}

TEST_F(JobRegistryTest, CancelReturnsOnlyKeysNoOtherJobWants) {
  const std::string a = registry_.Add(Job({"x", "only-a", "done-a"}));
  const std::string b = registry_.Add(Job({"x"}));
  registry_.OnKeyUpdate("done-a", Info(v1::KEY_STATE_MEMORY, 1));
  ASSERT_EQ(alive_, 2);
  absl::StatusOr<JobRegistry::Cancelled> c = registry_.Cancel(a);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->exclusive_keys, ElementsAre("only-a"));
  ASSERT_NE(c->holds, nullptr);
  c->holds.reset();
  EXPECT_EQ(alive_, 1);
  EXPECT_EQ(StateOf(a), JobState::kCancelled);
  // The other job still follows the shared key; the cancelled one no more.
  registry_.OnKeyUpdate("x", Info(v1::KEY_STATE_MEMORY, 1));
  EXPECT_EQ(StateOf(b), JobState::kFinished);
  EXPECT_EQ(registry_.Get(a)->keys[0].info.state, v1::KEY_STATE_UNSPECIFIED);
  EXPECT_FALSE(registry_.Cancel("nope").ok());
}

TEST_F(JobRegistryTest, FinishedJobsExpireAfterTheirTtl) {
  const std::string done = registry_.Add(Job({"a"}));
  JobRegistry::NewJob short_job = Job({"b"});
  short_job.ttl = absl::Seconds(5);
  const std::string short_id = registry_.Add(std::move(short_job));
  const std::string running = registry_.Add(Job({"c"}));
  registry_.OnKeyUpdate("a", Info(v1::KEY_STATE_MEMORY, 1));
  registry_.OnKeyUpdate("b", Info(v1::KEY_STATE_MEMORY, 1));
  now_ += absl::Seconds(10);
  std::vector<std::shared_ptr<JobHolds>> dropped = registry_.ExpireFinished();
  EXPECT_EQ(dropped.size(), 1u);
  EXPECT_FALSE(registry_.Get(short_id).has_value());
  now_ += absl::Seconds(60);
  dropped = registry_.ExpireFinished();
  EXPECT_EQ(dropped.size(), 1u);
  dropped.clear();
  EXPECT_FALSE(registry_.Get(done).has_value());
  EXPECT_TRUE(registry_.Get(running).has_value());  // never expires while running
  EXPECT_EQ(alive_, 1);
  // An expired job's keys get no more updates (and nothing crashes).
  registry_.OnKeyUpdate("a", Info(v1::KEY_STATE_LOST, 2));
}

TEST_F(JobRegistryTest, SubscriberGetsReplayLiveEventsAndOneFinalEvent) {
  const std::string id = registry_.Add(Job({"a", "b"}));
  registry_.OnKeyUpdate("a", Info(v1::KEY_STATE_MEMORY, 1));
  std::vector<std::string> seen;
  absl::StatusOr<uint64_t> sub = registry_.Subscribe(id, [&](const JobEvent& ev) {
    seen.push_back(ev.final ? std::string("final:") + JobStateName(ev.job_state)
                            : ev.key.key + ":" + KeyStateName(ev.key.info.state));
  });
  ASSERT_TRUE(sub.ok());
  registry_.OnKeyUpdate("b", Info(v1::KEY_STATE_NO_WORKER, 1));
  registry_.OnKeyUpdate("b", Info(v1::KEY_STATE_MEMORY, 2));  // after the end: not sent
  EXPECT_THAT(seen, ElementsAre("a:memory", "b:no-worker", "final:failed"));
  registry_.Unsubscribe(*sub);  // already gone: harmless
}

TEST_F(JobRegistryTest, SubscribingToATerminalJobReplaysAndEnds) {
  const std::string id = registry_.Add(Job({"a"}));
  registry_.OnKeyUpdate("a", Info(v1::KEY_STATE_MEMORY, 1));
  int finals = 0, keys = 0;
  ASSERT_TRUE(
      registry_.Subscribe(id, [&](const JobEvent& ev) { ev.final ? ++finals : ++keys; }).ok());
  EXPECT_EQ(keys, 1);
  EXPECT_EQ(finals, 1);
  EXPECT_FALSE(registry_.Subscribe("nope", [](const JobEvent&) {}).ok());
}

TEST_F(JobRegistryTest, UnsubscribedSinkGetsNothingAndCancelEndsStreams) {
  const std::string id = registry_.Add(Job({"a"}));
  int quiet = 0, ended = 0;
  absl::StatusOr<uint64_t> gone = registry_.Subscribe(id, [&](const JobEvent&) { ++quiet; });
  ASSERT_TRUE(registry_.Subscribe(id, [&](const JobEvent& ev) { ended += ev.final; }).ok());
  registry_.Unsubscribe(*gone);
  ASSERT_TRUE(registry_.Cancel(id).ok());
  EXPECT_EQ(quiet, 0);
  EXPECT_EQ(ended, 1);
}

TEST_F(JobRegistryTest, HoldsForChecksJobAndKey) {
  const std::string id = registry_.Add(Job({"a"}));
  EXPECT_TRUE(registry_.HoldsFor(id, "a").ok());
  EXPECT_EQ(registry_.HoldsFor(id, "zz").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_.HoldsFor("nope", "a").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(JobRegistryTest, ListAndCountByState) {
  const std::string a = registry_.Add(Job({"a"}));
  now_ += absl::Seconds(1);
  const std::string b = registry_.Add(Job({"b"}));
  registry_.OnKeyUpdate("a", Info(v1::KEY_STATE_MEMORY, 1));
  std::vector<JobSummary> jobs = registry_.List();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].id, a);
  EXPECT_EQ(jobs[1].id, b);
  auto counts = registry_.CountByState();
  EXPECT_EQ(counts[static_cast<int>(JobState::kFinished)].second, 1);
  EXPECT_EQ(counts[static_cast<int>(JobState::kPending)].second, 1);
}

TEST(KeyStateNameTest, MatchesSchedulerNames) {
  EXPECT_EQ(KeyStateName(v1::KEY_STATE_UNSPECIFIED), "pending");
  EXPECT_EQ(KeyStateName(v1::KEY_STATE_MEMORY), "memory");
  EXPECT_EQ(KeyStateName(v1::KEY_STATE_NO_WORKER), "no-worker");
  EXPECT_THAT(
      std::vector<bool>({IsKeyDone(v1::KEY_STATE_ERRED), IsKeyDone(v1::KEY_STATE_PROCESSING)}),
      ElementsAre(true, false));
}

}  // namespace
}  // namespace taskgrid::gateway
