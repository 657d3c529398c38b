// Unit tests of durable (named) client sessions on the state machine: a
// named session outlives its stream for its linger time with its keys and
// data, is resumed by name and owner, and is released exactly like a
// departing client once the linger passes. Every test ends with
// Validate().

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/scheduler/scheduler_state.h"
#include "services/scheduler/scheduler_test_fixture.h"

namespace taskgrid::scheduler {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

using testing_util::Def;
using testing_util::SchedulerStateTest;

class SessionsTest : public SchedulerStateTest {
 protected:
  SchedulerState::SessionOpened Open(const std::string& session, const std::string& owner = "",
                                     double linger = 60) {
    SchedulerState::SessionRequest req;
    req.name = "gateway";
    req.session_name = session;
    req.owner = owner;
    req.linger_seconds = linger;
    auto opened = state_.OpenSession(req);
    EXPECT_TRUE(opened.ok()) << opened.status();
    return opened.ok() ? *opened : SchedulerState::SessionOpened{};
  }
};

TEST_F(SessionsTest, DroppedNamedSessionKeepsItsKeysAndIsResumedWithTheirState) {
  WorkerId w = AddWorker("w1:1");
  SchedulerState::SessionOpened first = Open("gw", "token-a");
  EXPECT_FALSE(first.resumed);
  const ClientId c = first.id;
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("a"), Def("b", {"a"}), Def("slow")}, {"b", "slow"}, 0)
                  .ok());
  state_.SetSessionData(c, "job-1", "b,slow");
  Finish(w, "a");
  Finish(w, "b");
  EXPECT_EQ(Status("b"), KeyStatus::kMemory);

  state_.DetachClient(c);
  now_ += 30;  // within the linger
  EXPECT_EQ(state_.ExpireDetachedSessions().size(), 0u);
  EXPECT_EQ(state_.num_detached_sessions(), 1u);
  EXPECT_EQ(Status("b"), KeyStatus::kMemory);
  EXPECT_EQ(Status("slow"), KeyStatus::kProcessing);
  // Work goes on while nobody listens; the news is not queued for it.
  Finish(w, "slow");
  EXPECT_EQ(Status("slow"), KeyStatus::kMemory);
  ExpectValid();

  out_.events.clear();
  SchedulerState::SessionOpened again = Open("gw", "token-a");
  EXPECT_TRUE(again.resumed);
  EXPECT_FALSE(again.taken_over);
  EXPECT_EQ(again.id, c);
  ASSERT_NE(again.data, nullptr);
  EXPECT_THAT(*again.data, ElementsAre(Pair("job-1", "b,slow")));
  state_.ReplayWanted(c);
  EXPECT_THAT(out_.Events(c), UnorderedElementsAre(Pair("b", KeyStatus::kMemory),
                                                   Pair("slow", KeyStatus::kMemory)));
  for (const KeyEventOut& ev : out_.events[c]) EXPECT_THAT(ev.workers, ElementsAre("w1:1"));
  EXPECT_EQ(state_.num_detached_sessions(), 0u);
  // Resumed, it releases like any client.
  state_.ReleaseKeys(c, {"b", "slow"});
  EXPECT_EQ(state_.num_tasks(), 0u);
  ExpectValid();
}

TEST_F(SessionsTest, LingerExpiryReleasesExactlyTheSessionsKeys) {
  WorkerId w = AddWorker("w1:1");
  const ClientId gw = Open("gw", "", 10).id;
  const ClientId other = state_.AddClient("other");
  ASSERT_TRUE(state_.UpdateGraph(gw, {Def("mine"), Def("shared")}, {"mine", "shared"}, 0).ok());
  ASSERT_TRUE(state_.UpdateGraph(other, {Def("theirs")}, {"theirs", "shared"}, 0).ok());
  ASSERT_TRUE(state_.UpdateGraph(gw, {Def("pending", {"mine"})}, {"pending"}, 0).ok());
  Finish(w, "mine");
  Finish(w, "shared");
  Finish(w, "theirs");
  state_.SetSessionData(gw, "job", "x");
  state_.DetachClient(gw);
  now_ += 9.5;
  EXPECT_THAT(state_.ExpireDetachedSessions(), IsEmpty());
  EXPECT_EQ(Status("mine"), KeyStatus::kMemory);
  now_ += 1;
  EXPECT_THAT(state_.ExpireDetachedSessions(), ElementsAre(gw));
  EXPECT_EQ(Status("mine"), KeyStatus::kForgotten);
  EXPECT_EQ(Status("pending"), KeyStatus::kForgotten);
  EXPECT_EQ(Status("shared"), KeyStatus::kMemory);
  EXPECT_EQ(Status("theirs"), KeyStatus::kMemory);
  EXPECT_THAT(out_.frees[w], UnorderedElementsAre("mine", "pending"));
  EXPECT_EQ(state_.num_clients(), 1u);
  EXPECT_EQ(state_.num_detached_sessions(), 0u);
  ExpectValid();
  // The name is free again: a new session of it starts empty.
  SchedulerState::SessionOpened fresh = Open("gw");
  EXPECT_FALSE(fresh.resumed);
  EXPECT_NE(fresh.id, gw);
  EXPECT_THAT(*fresh.data, IsEmpty());
  state_.DetachClient(fresh.id);
  state_.RemoveClient(other);
  now_ += 120;
  EXPECT_THAT(state_.ExpireDetachedSessions(), ElementsAre(fresh.id));
  // Nothing leaks once every client is gone.
  EXPECT_EQ(state_.num_tasks(), 0u);
  EXPECT_EQ(state_.num_clients(), 0u);
  for (const auto& view : state_.Workers()) EXPECT_EQ(view.keys_held, 0);
  ExpectValid();
}

TEST_F(SessionsTest, ResumingNeedsTheSameOwnerAndTakesOverALiveStream) {
  AddWorker("w1:1");
  const ClientId c = Open("gw", "token-a").id;
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("x")}, {"x"}, 0).ok());
  SchedulerState::SessionRequest thief;
  thief.session_name = "gw";
  thief.owner = "token-b";
  auto refused = state_.OpenSession(thief);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(refused.status().message(), HasSubstr("\"gw\""));
  // Same owner while the old stream still looks alive (a half-open
  // connection of a dead pod): the newcomer takes the session over.
  SchedulerState::SessionOpened again = Open("gw", "token-a");
  EXPECT_TRUE(again.resumed);
  EXPECT_TRUE(again.taken_over);
  EXPECT_EQ(again.id, c);
  EXPECT_EQ(Status("x"), KeyStatus::kProcessing);
  ExpectValid();
}

TEST_F(SessionsTest, UnnamedClientsAndBadLingersBehaveAsBefore) {
  WorkerId w = AddWorker("w1:1");
  SchedulerState::SessionRequest plain;
  plain.name = "cli";
  auto opened = state_.OpenSession(plain);
  ASSERT_TRUE(opened.ok());
  EXPECT_FALSE(opened->resumed);
  ASSERT_TRUE(state_.UpdateGraph(opened->id, {Def("x")}, {"x"}, 0).ok());
  Finish(w, "x");
  state_.DetachClient(opened->id);  // gone at once, with its keys
  EXPECT_EQ(Status("x"), KeyStatus::kForgotten);
  EXPECT_EQ(state_.num_clients(), 0u);
  for (double bad : {-1.0, std::nan("")}) {
    SchedulerState::SessionRequest req;
    req.session_name = "gw";
    req.linger_seconds = bad;
    auto r = state_.OpenSession(req);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("linger_seconds"));
  }
  EXPECT_EQ(state_.num_clients(), 0u);
  ExpectValid();
}

TEST_F(SessionsTest, ErredKeysReplayTheirErrorAndDataErases) {
  WorkerId w = AddWorker("w1:1");
  const ClientId c = Open("gw").id;
  ASSERT_TRUE(state_.UpdateGraph(c, {Def("bad", {}, "fail"), Def("later")}, {"bad", "later"}, 0)
                  .ok());
  ErrorInfo err;
  err.message = "boom";
  state_.TaskErred(w, "bad", err);
  state_.SetSessionData(c, "j1", "1");
  state_.SetSessionData(c, "j2", "2");
  state_.SetSessionData(c, "j1", "");
  state_.DetachClient(c);
  out_.events.clear();
  SchedulerState::SessionOpened again = Open("gw");
  EXPECT_THAT(*again.data, ElementsAre(Pair("j2", "2")));
  state_.ReplayWanted(c);
  EXPECT_THAT(out_.Events(c), UnorderedElementsAre(Pair("bad", KeyStatus::kErred),
                                                   Pair("later", KeyStatus::kProcessing)));
  for (const KeyEventOut& ev : out_.events[c]) {
    if (ev.key == "bad") {
      ASSERT_NE(ev.error, nullptr);
      EXPECT_EQ(ev.error->message, "boom");
    }
  }
  state_.RemoveClient(c);
  EXPECT_EQ(state_.num_tasks(), 0u);
  EXPECT_EQ(state_.num_detached_sessions(), 0u);
  ExpectValid();
}

}  // namespace
}  // namespace taskgrid::scheduler
