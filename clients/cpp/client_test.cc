// taskgrid::Client against in-process fakes of the scheduler and workers,
// over real gRPC on 127.0.0.1.

#include "clients/cpp/client.h"

#include <future>
#include <thread>

#include "clients/cpp/client_impl.h"
#include "clients/cpp/fake_cluster_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskgrid {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using testing::FakeScheduler;
using testing::FakeServer;
using testing::FakeWorker;

constexpr auto kTimeout = std::chrono::seconds(10);

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = *Client::Connect(scheduler_server_.address());
    ASSERT_NE(client_, nullptr);
  }

  // Submits fn(args) and answers the update the way a scheduler would,
  // with the value held by `worker_`.
  Future SubmitAndComplete(const std::string& fn, std::vector<Value> args, Value result) {
    absl::StatusOr<Future> f = client_->Submit(fn, std::move(args));
    EXPECT_TRUE(f.ok()) << f.status();
    std::optional<v1::UpdateGraph> u = scheduler_.NextUpdate();
    EXPECT_TRUE(u.has_value());
    if (!f.ok() || !u.has_value()) return Future();
    scheduler_.Ack(u->request_id());
    worker_.Put(f->key(), std::move(result));
    scheduler_.Memory(f->key(), {worker_server_.address()});
    return *f;
  }

  // Proves the client sent nothing else before this point: a FutureOf for
  // a marker key must be the very next message. The marker is kept (until
  // the test ends) so that its release doesn't show up in later checks.
  void ExpectNothingSentBefore() {
    markers_.push_back(client_->FutureOf("marker-" + std::to_string(markers_.size())));
    std::optional<v1::UpdateGraph> u = scheduler_.NextUpdate();
    ASSERT_TRUE(u.has_value());
    EXPECT_THAT(u->wanted_keys(), ElementsAre(markers_.back().key()));
  }

  std::vector<Future> markers_;

  FakeScheduler scheduler_;
  FakeServer scheduler_server_{{&scheduler_}};
  FakeWorker worker_;
  FakeServer worker_server_{{&worker_}};
  std::unique_ptr<Client> client_;
};

TEST_F(ClientTest, ConnectGetsClientIdFromWelcome) {
  EXPECT_EQ(client_->client_id(), "client-7");
}

TEST_F(ClientTest, ConnectToNothingFailsNamingTheAddress) {
  const std::string dead = testing::DeadAddress();
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(dead, std::chrono::seconds(5));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr(dead));
}

TEST(ClientConnectTest, SchedulerThatNeverAnswersTimesOut) {
  testing::SilentListener hung;
  absl::StatusOr<std::unique_ptr<Client>> c =
      Client::Connect(hung.address(), std::chrono::milliseconds(200));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(c.status().message(), HasSubstr(hung.address()));
}

TEST_F(ClientTest, SubmitSendsOneTaskAndResultFetchesFromWorker) {
  absl::StatusOr<Future> f = client_->Submit("inc", {Value::Int(1)});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_THAT(f->key(), MatchesRegex("inc-[0-9a-f]{32}"));
  EXPECT_EQ(f->status(), "pending");
  std::optional<v1::UpdateGraph> u = scheduler_.NextUpdate();
  ASSERT_TRUE(u.has_value());
  ASSERT_EQ(u->tasks_size(), 1);
  EXPECT_EQ(u->tasks(0).key(), f->key());
  EXPECT_EQ(u->tasks(0).function(), "inc");
  ASSERT_EQ(u->tasks(0).args_size(), 1);
  EXPECT_EQ(u->tasks(0).args(0).int_value(), 1);
  EXPECT_THAT(u->wanted_keys(), ElementsAre(f->key()));
  scheduler_.Ack(u->request_id());
  // A value larger than one chunk, so it is reassembled.
  worker_.Put(f->key(), Value::String(std::string(100, 'v')));
  scheduler_.Memory(f->key(), {worker_server_.address()});
  absl::StatusOr<Value> v = f->Result(kTimeout);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, Value::String(std::string(100, 'v')));
  EXPECT_EQ(f->status(), "finished");
  EXPECT_TRUE(f->done());
}

TEST_F(ClientTest, ArgumentReferencesTravelAsRefs) {
  Future a = SubmitAndComplete("inc", {Value::Int(1)}, Value::Int(2));
  absl::StatusOr<Future> b =
      client_->Submit("add", {a.AsArg(), Value::List({a.AsArg(), Value::Int(3)})});
  ASSERT_TRUE(b.ok());
  std::optional<v1::UpdateGraph> u = scheduler_.NextUpdate();
  ASSERT_TRUE(u.has_value());
  ASSERT_EQ(u->tasks_size(), 1);
  EXPECT_EQ(u->tasks(0).args(0).ref(), a.key());
  EXPECT_EQ(u->tasks(0).args(1).list_value().items(0).ref(), a.key());
}

TEST_F(ClientTest, IdenticalPureSubmitsShareOneKeyAndOneUpdate) {
  absl::StatusOr<Future> f1 = client_->Submit("inc", {Value::Int(5)});
  absl::StatusOr<Future> f2 = client_->Submit("inc", {Value::Int(5)});
  ASSERT_TRUE(f1.ok() && f2.ok());
  EXPECT_EQ(f1->key(), f2->key());
  ASSERT_TRUE(scheduler_.NextUpdate().has_value());
  ExpectNothingSentBefore();

  SubmitOptions impure;
  impure.pure = false;
  absl::StatusOr<Future> f3 = client_->Submit("inc", {Value::Int(5)}, impure);
  absl::StatusOr<Future> f4 = client_->Submit("inc", {Value::Int(5)}, impure);
  EXPECT_NE(f3->key(), f4->key());
  EXPECT_NE(f3->key(), f1->key());
}

TEST_F(ClientTest, DroppingTheLastFutureReleasesTheKey) {
  std::optional<Future> f1 = *client_->Submit("inc", {Value::Int(1)});
  std::optional<Future> f2 = *f1;  // a copy
  const std::string key = f1->key();
  ASSERT_TRUE(scheduler_.NextUpdate().has_value());
  f1.reset();
  ExpectNothingSentBefore();  // a copy still holds the key
  f2.reset();
  std::optional<v1::ClientMessage> m = scheduler_.NextMessage();
  ASSERT_TRUE(m.has_value());
  ASSERT_TRUE(m->has_release_keys()) << m->ShortDebugString();
  EXPECT_THAT(m->release_keys().keys(), ElementsAre(key));
}

TEST_F(ClientTest, ErredTaskNamesKeyFunctionMessageAndTraceback) {
  absl::StatusOr<Future> f = client_->Submit("fail", {Value::String("boom")});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(scheduler_.NextUpdate().has_value());
  v1::TaskError e;
  e.set_key(f->key());
  e.set_function("builtin/fail");
  e.set_message("boom");
  e.set_type("FunctionError");
  e.set_traceback("Traceback (most recent call last):\n  line 1");
  scheduler_.State(f->key(), v1::KEY_STATE_ERRED, e);
  absl::StatusOr<Value> v = f->Result(kTimeout);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(v.status().message(),
              HasSubstr("task " + f->key() + " (function builtin/fail) erred: boom"));
  EXPECT_THAT(v.status().message(), HasSubstr("Traceback (most recent call last)"));
  EXPECT_EQ(f->status(), "error");
  EXPECT_EQ(f->Exception().code(), absl::StatusCode::kAborted);
}

TEST_F(ClientTest, CancelledAndNoWorkerKeysFailWithTheirOwnCodes) {
  Future a = client_->FutureOf("a");
  Future b = client_->FutureOf("b");
  a.Cancel();
  ASSERT_TRUE(scheduler_.NextUpdate().has_value());
  ASSERT_TRUE(scheduler_.NextUpdate().has_value());
  std::optional<v1::ClientMessage> cancel = scheduler_.NextMessage();
  ASSERT_TRUE(cancel.has_value() && cancel->has_cancel_keys());
  EXPECT_THAT(cancel->cancel_keys().keys(), ElementsAre("a"));
  scheduler_.State("a", v1::KEY_STATE_CANCELLED);
  v1::TaskError why;
  why.set_message("no connected worker can run task b (needs resources GPU=1)");
  scheduler_.State("b", v1::KEY_STATE_NO_WORKER, why);
  EXPECT_EQ(a.Result(kTimeout).status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(a.status(), "cancelled");
  absl::Status nw = b.Result(kTimeout).status();
  EXPECT_EQ(nw.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(nw.message(), HasSubstr("needs resources GPU=1"));
}

TEST_F(ClientTest, RejectedGraphReturnsTheSchedulersError) {
  std::vector<v1::TaskSpec> tasks(1);
  tasks[0].set_key("x");
  tasks[0].set_function("nope");
  auto submitted = std::async(std::launch::async, [&] {
    return client_->SubmitGraph(tasks, {"x"});
  });
  std::optional<v1::UpdateGraph> u = scheduler_.NextUpdate();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->tasks_size(), 1);
  scheduler_.Ack(u->request_id(), false, "task \"x\": unknown function \"nope\"");
  absl::StatusOr<std::vector<Future>> r = submitted.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "task \"x\": unknown function \"nope\"");
}

TEST_F(ClientTest, RejectedSubmitFailsItsFuture) {
  absl::StatusOr<Future> f = client_->Submit("nope", {});
  ASSERT_TRUE(f.ok());
  std::optional<v1::UpdateGraph> u = scheduler_.NextUpdate();
  ASSERT_TRUE(u.has_value());
  scheduler_.Ack(u->request_id(), false, "unknown function \"nope\"");
  absl::Status s = f->Result(kTimeout).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("unknown function"));
}

TEST_F(ClientTest, SubmitGraphReturnsFuturesInKeyOrder) {
  std::vector<v1::TaskSpec> tasks(2);
  tasks[0].set_key("a");
  tasks[0].set_function("inc");
  tasks[0].add_args()->set_int_value(1);
  tasks[1].set_key("b");
  tasks[1].set_function("inc");
  tasks[1].add_args()->set_ref("a");
  auto submitted = std::async(std::launch::async, [&] {
    return client_->Get(tasks, {"b", "a"});
  });
  std::optional<v1::UpdateGraph> u = scheduler_.NextUpdate();
  ASSERT_TRUE(u.has_value());
  EXPECT_THAT(u->wanted_keys(), ElementsAre("b", "a"));
  scheduler_.Ack(u->request_id());
  worker_.Put("a", Value::Int(2));
  worker_.Put("b", Value::Int(3));
  scheduler_.Memory("a", {worker_server_.address()});
  scheduler_.Memory("b", {worker_server_.address()});
  absl::StatusOr<std::vector<Value>> values = submitted.get();
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_THAT(*values, ElementsAre(Value::Int(3), Value::Int(2)));
}

TEST_F(ClientTest, FetchFallsBackToAnotherHolder) {
  absl::StatusOr<Future> f = client_->Submit("inc", {Value::Int(1)});
  ASSERT_TRUE(scheduler_.NextUpdate().has_value());
  worker_.Put(f->key(), Value::Int(2));
  scheduler_.Memory(f->key(), {testing::DeadAddress(), worker_server_.address()});
  absl::StatusOr<Value> v = f->Result(kTimeout);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, Value::Int(2));
}

TEST_F(ClientTest, WhenNoHolderServesTheKeyResultWaitsForTheRecompute) {
  absl::StatusOr<Future> f = client_->Submit("inc", {Value::Int(1)});
  ASSERT_TRUE(scheduler_.NextUpdate().has_value());
  // The only holder doesn't have it (it died and came back empty).
  scheduler_.Memory(f->key(), {worker_server_.address()});
  auto result = std::async(std::launch::async, [&] { return f->Result(kTimeout); });
  // Whether the failed fetch happens before or after these events, the
  // result comes from the recomputed copy.
  FakeWorker other;
  FakeServer other_server({&other});
  other.Put(f->key(), Value::Int(2));
  scheduler_.State(f->key(), v1::KEY_STATE_WAITING);
  scheduler_.Memory(f->key(), {other_server.address()});
  absl::StatusOr<Value> v = result.get();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, Value::Int(2));
}

TEST_F(ClientTest, LosingTheSchedulerFailsPendingFuturesNamingIt) {
  setenv("TASKGRID_RECONNECT_TIMEOUT", "0", 1);  // no reconnecting
  auto client = Client::Connect(scheduler_server_.address());
  unsetenv("TASKGRID_RECONNECT_TIMEOUT");
  ASSERT_TRUE(client.ok());
  absl::StatusOr<Future> f = (*client)->Submit("sleep", {Value::Int(100)});
  ASSERT_TRUE(scheduler_.NextUpdate().has_value());
  scheduler_.EndSession();
  absl::Status s = f->Result(kTimeout).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr(scheduler_server_.address()));
  EXPECT_FALSE((*client)->Submit("inc", {Value::Int(1)}).ok());
}

TEST_F(ClientTest, LostSessionReconnectsReDeclaringHeldKeysAndResendingPendingTasks) {
  Future held = SubmitAndComplete("inc", {Value::Int(1)}, Value::Int(2));
  ASSERT_TRUE(held.Wait(kTimeout));
  absl::StatusOr<Future> pending = client_->Submit("sleep", {Value::Int(100)});
  std::optional<v1::UpdateGraph> first = scheduler_.NextUpdate();
  ASSERT_TRUE(first.has_value());
  scheduler_.EndSession();
  // A new session: its hello wants the key in memory, and the pending
  // task's update goes out again as it was.
  std::optional<v1::UpdateGraph> again = scheduler_.NextUpdate();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->SerializeAsString(), first->SerializeAsString());
  std::vector<v1::ClientHello> hellos = scheduler_.hellos();
  ASSERT_EQ(hellos.size(), 2u);
  EXPECT_FALSE(hellos[0].reconnecting());
  EXPECT_TRUE(hellos[1].reconnecting());
  EXPECT_THAT(hellos[1].wanted_keys(), ElementsAre(held.key()));
  EXPECT_FALSE(pending->done());  // still pending, not failed
  // The new session completes it; the value held before is still served.
  worker_.Put(pending->key(), Value::Int(100));
  scheduler_.Memory(pending->key(), {worker_server_.address()});
  EXPECT_EQ(pending->Result(kTimeout)->as_int(), 100);
  EXPECT_EQ(held.Result(kTimeout)->as_int(), 2);
  // Both resolved: a third session re-declares both and sends no task.
  scheduler_.EndSession();
  for (int i = 0; i < 1000 && scheduler_.hellos().size() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(scheduler_.hellos().size(), 3u);
  EXPECT_THAT(scheduler_.hellos().back().wanted_keys(),
              ::testing::UnorderedElementsAre(held.key(), pending->key()));
  ExpectNothingSentBefore();
}

TEST_F(ClientTest, MapSendsOneUpdateAndSharesIdenticalItems) {
  std::vector<Value> items = {Value::Int(1), Value::Int(2), Value::Int(1)};
  absl::StatusOr<std::vector<Future>> fs = client_->Map("inc", items);
  ASSERT_TRUE(fs.ok());
  ASSERT_EQ(fs->size(), 3u);
  EXPECT_EQ((*fs)[0].key(), (*fs)[2].key());
  EXPECT_NE((*fs)[0].key(), (*fs)[1].key());
  std::optional<v1::UpdateGraph> u = scheduler_.NextUpdate();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->tasks_size(), 2);
  EXPECT_EQ(u->wanted_keys_size(), 2);
  ExpectNothingSentBefore();
}

// A big map goes out in batches as it is built; an item repeated in a
// later batch shares the earlier batch's key and is not sent again.
TEST_F(ClientTest, BigMapIsSentInBatchesThatShareIdenticalItems) {
  const size_t n = 2 * ClientImpl::kMapBatch + 10;
  std::vector<Value> items;
  for (size_t i = 0; i < n; ++i) items.push_back(Value::Int(static_cast<int64_t>(i)));
  items.back() = Value::Int(0);  // the same as the first item
  absl::StatusOr<std::vector<Future>> fs = client_->Map("inc", items);
  ASSERT_TRUE(fs.ok());
  ASSERT_EQ(fs->size(), n);
  EXPECT_EQ(fs->front().key(), fs->back().key());
  std::vector<std::string> sent;
  for (int part = 0; part < 3; ++part) {
    std::optional<v1::UpdateGraph> u = scheduler_.NextUpdate();
    ASSERT_TRUE(u.has_value()) << "part " << part;
    EXPECT_LE(static_cast<size_t>(u->tasks_size()), ClientImpl::kMapBatch);
    for (const v1::TaskSpec& t : u->tasks()) sent.push_back(t.key());
  }
  ASSERT_EQ(sent.size(), n - 1);  // the repeated item is not sent twice
  for (size_t i = 0; i + 1 < n; ++i) EXPECT_EQ(sent[i], (*fs)[i].key()) << i;
  ExpectNothingSentBefore();
}

TEST_F(ClientTest, MapWithStarSpreadsListItemsAsArguments) {
  absl::StatusOr<std::vector<Future>> fs =
      client_->Map("add", {Value::List({Value::Int(1), Value::Int(2)})}, {}, /*star=*/true);
  ASSERT_TRUE(fs.ok());
  std::optional<v1::UpdateGraph> u = scheduler_.NextUpdate();
  ASSERT_TRUE(u.has_value());
  ASSERT_EQ(u->tasks_size(), 1);
  EXPECT_EQ(u->tasks(0).args_size(), 2);
}

// Gather fetches what is done in waves while later tasks still run: the
// first waves are fetched before the last future is done.
TEST_F(ClientTest, GatherFetchesDoneWavesBeforeTheLastTaskFinishes) {
  const size_t n = 2 * ClientImpl::kGatherWave + 5;
  std::vector<Value> items;
  for (size_t i = 0; i < n; ++i) items.push_back(Value::Int(static_cast<int64_t>(i)));
  absl::StatusOr<std::vector<Future>> fs = client_->Map("inc", items);
  ASSERT_TRUE(fs.ok());
  for (size_t i = 0; i + 1 < n; ++i) {
    worker_.Put((*fs)[i].key(), Value::Int(static_cast<int64_t>(i) + 1));
    scheduler_.Memory((*fs)[i].key(), {worker_server_.address()});
  }
  auto gathered = std::async(std::launch::async, [&] { return client_->Gather(*fs); });
  for (int i = 0; i < 1000 && worker_.get_data_calls() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(worker_.get_data_calls(), 2);  // two full waves, the third waits
  EXPECT_EQ(gathered.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  worker_.Put(fs->back().key(), Value::Int(static_cast<int64_t>(n)));
  scheduler_.Memory(fs->back().key(), {worker_server_.address()});
  absl::StatusOr<std::vector<Value>> values = gathered.get();
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_EQ(values->size(), n);
  for (size_t i = 0; i < n; ++i) EXPECT_EQ((*values)[i].as_int(), static_cast<int64_t>(i) + 1);
  EXPECT_EQ(worker_.get_data_calls(), 3);
}

TEST_F(ClientTest, GatherUsesOneStreamPerWorkerAndKeepsOrder) {
  FakeWorker other;
  FakeServer other_server({&other});
  std::vector<Value> items;
  for (int i = 0; i < 6; ++i) items.push_back(Value::Int(i));
  absl::StatusOr<std::vector<Future>> fs = client_->Map("inc", items);
  ASSERT_TRUE(fs.ok());
  ASSERT_TRUE(scheduler_.NextUpdate().has_value());
  for (int i = 0; i < 6; ++i) {
    FakeWorker& holder = i % 2 == 0 ? worker_ : other;
    const std::string& address = i % 2 == 0 ? worker_server_.address() : other_server.address();
    holder.Put((*fs)[i].key(), Value::Int(i + 1));
    scheduler_.Memory((*fs)[i].key(), {address});
  }
  absl::StatusOr<std::vector<Value>> values = client_->Gather(*fs);
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_THAT(*values, ElementsAre(Value::Int(1), Value::Int(2), Value::Int(3), Value::Int(4),
                                   Value::Int(5), Value::Int(6)));
  EXPECT_EQ(worker_.get_data_calls(), 1);
  EXPECT_EQ(other.get_data_calls(), 1);
}

TEST_F(ClientTest, GatherTakesBatchedAndChunkedValuesFromOneStream) {
  FakeWorker big_chunks(64);  // values up to 64 bytes come whole, in batches
  FakeServer server({&big_chunks});
  std::vector<Value> items;
  for (int i = 0; i < 9; ++i) items.push_back(Value::Int(i));
  absl::StatusOr<std::vector<Future>> fs = client_->Map("inc", items);
  ASSERT_TRUE(fs.ok());
  ASSERT_TRUE(scheduler_.NextUpdate().has_value());
  std::vector<Value> want;
  for (int i = 0; i < 9; ++i) {
    // Every third value needs several chunks and splits the batches.
    want.push_back(i % 3 == 1 ? Value::String(std::string(300, static_cast<char>('a' + i)))
                              : Value::Int(i + 1));
    big_chunks.Put((*fs)[i].key(), want.back());
    scheduler_.Memory((*fs)[i].key(), {server.address()});
  }
  absl::StatusOr<std::vector<Value>> values = client_->Gather(*fs);
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ(*values, want);
  EXPECT_EQ(big_chunks.get_data_calls(), 1);
  EXPECT_EQ(big_chunks.batches_sent(), 4);  // {0} {2,3} {5,6} {8}
}

TEST_F(ClientTest, GatherReturnsTheFirstError) {
  absl::StatusOr<std::vector<Future>> fs =
      client_->Map("inc", {Value::Int(0), Value::Int(1)});
  ASSERT_TRUE(scheduler_.NextUpdate().has_value());
  v1::TaskError e;
  e.set_message("bad input");
  scheduler_.State((*fs)[1].key(), v1::KEY_STATE_ERRED, e);
  scheduler_.State((*fs)[0].key(), v1::KEY_STATE_CANCELLED);
  absl::StatusOr<std::vector<Value>> values = client_->Gather(*fs);
  ASSERT_FALSE(values.ok());
  EXPECT_EQ(values.status().code(), absl::StatusCode::kCancelled);
}

TEST_F(ClientTest, AsCompletedYieldsFuturesInCompletionOrder) {
  Future a = client_->FutureOf("a");
  Future b = client_->FutureOf("b");
  Future c = client_->FutureOf("c");
  Client::AsCompleted it = client_->AsCompletedIter({a, b, c});
  EXPECT_EQ(it.remaining(), 3u);
  EXPECT_FALSE(it.Next(std::chrono::milliseconds(1)).valid());  // nothing done yet
  scheduler_.State("b", v1::KEY_STATE_CANCELLED);
  EXPECT_EQ(it.Next().key(), "b");
  scheduler_.State("c", v1::KEY_STATE_ERRED);
  scheduler_.State("a", v1::KEY_STATE_CANCELLED);
  EXPECT_EQ(it.Next().key(), "c");
  EXPECT_EQ(it.Next().key(), "a");
  EXPECT_EQ(it.remaining(), 0u);
  EXPECT_FALSE(it.Next().valid());
}

TEST_F(ClientTest, FuturesOutliveTheClient) {
  Future f = SubmitAndComplete("inc", {Value::Int(1)}, Value::Int(2));
  Future pending = client_->FutureOf("never");
  ASSERT_TRUE(f.Wait(kTimeout));
  client_.reset();
  absl::StatusOr<Value> v = f.Result(kTimeout);  // still in worker memory
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, Value::Int(2));
  EXPECT_FALSE(pending.Result(kTimeout).ok());
}

}  // namespace
}  // namespace taskgrid
