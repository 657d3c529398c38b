#include "services/worker/worker.h"

#include <map>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"
#include "common/value_proto.h"
#include "services/worker/builtins.h"

namespace taskgrid::worker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// Records what the worker sends to the scheduler.
class FakeSink : public MessageSink {
 public:
  void Send(std::vector<std::unique_ptr<v1::WorkerMessage>> messages) override {
    absl::MutexLock lock(&mu_);
    for (auto& m : messages) messages_.push_back(*m);
  }
  // Waits until `n` messages arrived in total; returns all of them.
  std::vector<v1::WorkerMessage> WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return messages_.size() >= n; };
    mu_.Await(absl::Condition(&enough));
    return messages_;
  }
  size_t size() {
    absl::MutexLock lock(&mu_);
    return messages_.size();
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::WorkerMessage> messages_ ABSL_GUARDED_BY(mu_);
};

// Records fetch requests; the test completes them.
class FakeFetcher : public PeerFetcher {
 public:
  void Fetch(std::vector<FetchRequest> requests, FetchCallback done) override {
    absl::MutexLock lock(&mu_);
    for (auto& r : requests) pending_.emplace_back(std::move(r), done);
  }
  std::vector<FetchRequest> Requests() {
    absl::MutexLock lock(&mu_);
    std::vector<FetchRequest> out;
    for (auto& [r, done] : pending_) out.push_back(r);
    return out;
  }
  void Complete(const std::string& key, absl::StatusOr<Value> value,
                std::vector<std::string> tried, std::vector<std::string> unreachable = {}) {
    FetchCallback done;
    {
      absl::MutexLock lock(&mu_);
      for (auto it = pending_.begin(); it != pending_.end(); ++it) {
        if (it->first.key == key) {
          done = it->second;
          pending_.erase(it);
          break;
        }
      }
    }
    ASSERT_TRUE(done) << "no fetch pending for " << key;
    done(FetchResult{key, std::move(value), std::move(tried), std::move(unreachable)});
  }

 private:
  absl::Mutex mu_;
  std::vector<std::pair<FetchRequest, FetchCallback>> pending_ ABSL_GUARDED_BY(mu_);
};

v1::Value P(const Value& v) {
  v1::Value p;
  ValueToProto(v, &p);
  return p;
}

class WorkerTest : public ::testing::Test {
 protected:
  WorkerTest() {
    EXPECT_TRUE(RegisterBuiltins(&functions_).ok());
    // block(): runs until the test releases it.
    EXPECT_TRUE(functions_
                    .Register("builtin", "block",
                              [this](const ValueList&, const ValueMap&) -> absl::StatusOr<Value> {
                                started_.Notify();
                                release_.WaitForNotification();
                                return Value::String("unblocked");
                              })
                    .ok());
    stats_ = std::make_unique<WorkerStats>(functions_.size());
    WorkerIdentity id;
    id.address = "10.0.0.1:5000";
    id.name = "w";
    id.nthreads = 1;
    id.memory_limit = 1 << 30;
    id.resources = {{"GPU", 2}};
    id.metrics_address = "10.0.0.1:5001";
    worker_ = std::make_unique<Worker>(id, &functions_, &store_, &executor_, &fetcher_,
                                       stats_.get(), &sink_);
  }
  ~WorkerTest() override {
    Release();
    executor_.Stop(absl::InfiniteDuration());
  }

  // One ComputeTask command.
  static v1::WorkerCommand Compute(const std::string& key, const std::string& fn,
                                   std::vector<Value> args, int64_t priority = 0,
                                   std::vector<v1::KeyLocation> who_has = {}) {
    v1::WorkerCommand c;
    v1::ComputeTask* t = c.mutable_compute_task();
    t->mutable_spec()->set_key(key);
    t->mutable_spec()->set_function(fn);
    for (const Value& a : args) *t->mutable_spec()->add_args() = P(a);
    t->set_priority(priority);
    for (auto& loc : who_has) *t->add_who_has() = loc;
    return c;
  }
  static v1::KeyLocation Loc(const std::string& key, std::vector<std::string> workers,
                             int64_t nbytes = 8) {
    v1::KeyLocation loc;
    loc.set_key(key);
    for (auto& w : workers) loc.add_workers(w);
    loc.set_nbytes(nbytes);
    return loc;
  }
  static v1::WorkerCommand Free(std::vector<std::string> keys) {
    v1::WorkerCommand c;
    for (auto& k : keys) c.mutable_free_keys()->add_keys(k);
    return c;
  }
  static v1::WorkerCommand Steal(const std::string& key) {
    v1::WorkerCommand c;
    c.mutable_steal_request()->set_key(key);
    return c;
  }
  void Handle(std::vector<v1::WorkerCommand> commands) {
    v1::WorkerCommandBatch batch;
    for (auto& c : commands) *batch.add_commands() = std::move(c);
    worker_->HandleCommands(&batch);
  }
  // `first` ("c0"), then c1 = inc(c0) and c2 = inc(c1) sent ahead: their
  // inputs have no holder yet.
  void SendChain(v1::WorkerCommand first) {
    Handle({std::move(first), Compute("c1", "inc", {Value::Ref("c0")}, 0, {Loc("c0", {})}),
            Compute("c2", "inc", {Value::Ref("c1")}, 0, {Loc("c1", {})})});
  }
  // Occupies the only executor thread with a "block" task.
  void BlockExecutor(const std::string& key = "blocker") {
    Handle({Compute(key, "block", {})});
    started_.WaitForNotification();
  }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }
  // Finishes running tasks and stops the executor (queued ones are dropped).
  void WaitIdle() {
    executor_.Stop(absl::InfiniteDuration());
  }

  FunctionRegistry functions_;
  DataStore store_;
  TaskExecutor executor_{1};
  FakeFetcher fetcher_;
  FakeSink sink_;
  std::unique_ptr<WorkerStats> stats_;
  std::unique_ptr<Worker> worker_;
  absl::Notification started_, release_;
};

TEST_F(WorkerTest, RunsTaskStoresResultAndReportsIt) {
  Handle({Compute("x", "add", {Value::Int(1), Value::Int(2)})});
  std::vector<v1::WorkerMessage> m = sink_.WaitFor(1);
  ASSERT_TRUE(m[0].has_task_finished()) << m[0].DebugString();
  const v1::TaskFinished& f = m[0].task_finished();
  EXPECT_EQ(f.key(), "x");
  EXPECT_EQ(f.type_name(), "int");
  EXPECT_EQ(f.nbytes(), Value::Int(3).ByteSize());
  EXPECT_GT(f.start_time(), 1.6e9);
  EXPECT_GE(f.stop_time(), f.start_time());
  ASSERT_NE(store_.Get("x"), nullptr);
  EXPECT_EQ(*store_.Get("x"), Value::Int(3));
  EXPECT_EQ(WorkerStats::Read(stats_->tasks_completed), 1);
  EXPECT_EQ(worker_->tasks_in_progress(), 0u);
}

TEST_F(WorkerTest, KeyAlreadyHeldIsFinishedAtOnce) {
  store_.Put("x", Value::String("kept"));
  Handle({Compute("x", "fail", {Value::String("must not run")})});
  std::vector<v1::WorkerMessage> m = sink_.WaitFor(1);
  ASSERT_TRUE(m[0].has_task_finished());
  EXPECT_EQ(m[0].task_finished().type_name(), "str");
  EXPECT_EQ(*store_.Get("x"), Value::String("kept"));
}

TEST_F(WorkerTest, FunctionErrorsAreReportedWithType) {
  Handle({Compute("bad", "fail", {Value::String("boom")}),
          Compute("typo", "add", {Value::Int(1), Value::String("s")}),
          Compute("nope", "no_such_function", {})});
  std::vector<v1::WorkerMessage> m = sink_.WaitFor(3);
  std::map<std::string, v1::TaskError> errors;
  for (const auto& msg : m) {
    ASSERT_TRUE(msg.has_task_erred()) << msg.DebugString();
    errors[msg.task_erred().key()] = msg.task_erred().error();
  }
  EXPECT_EQ(errors["bad"].message(), "boom");
  EXPECT_EQ(errors["bad"].type(), "FunctionError");
  EXPECT_EQ(errors["bad"].function(), "fail");
  EXPECT_EQ(errors["bad"].key(), "bad");
  EXPECT_EQ(errors["typo"].type(), "TypeError");
  EXPECT_THAT(errors["typo"].message(), HasSubstr("argument 2 is str"));
  EXPECT_THAT(errors["nope"].message(), HasSubstr("'builtin/no_such_function' is not available"));
  EXPECT_EQ(store_.Get("bad"), nullptr);
  EXPECT_EQ(WorkerStats::Read(stats_->tasks_erred), 3);
}

TEST_F(WorkerTest, SubstitutesLocalDependenciesAnywhere) {
  store_.Put("a", Value::Int(10));
  store_.Put("b", Value::Int(32));
  Handle({Compute("s", "sum", {Value::List({Value::Ref("a"), Value::Ref("b"), Value::Int(1)})})});
  sink_.WaitFor(1);
  EXPECT_EQ(*store_.Get("s"), Value::Int(43));
  EXPECT_TRUE(fetcher_.Requests().empty());
}

TEST_F(WorkerTest, FetchesMissingDependenciesOnceAndRunsWhenTheyArrive) {
  store_.Put("local", Value::Int(1));
  Handle({Compute("t1", "add", {Value::Ref("local"), Value::Ref("remote")}, 0,
                  {Loc("remote", {"10.0.0.2:1", "10.0.0.3:1"}, 99)}),
          Compute("t2", "inc", {Value::Ref("remote")}, 0, {Loc("remote", {"10.0.0.2:1"})})});
  std::vector<FetchRequest> requests = fetcher_.Requests();
  ASSERT_EQ(requests.size(), 1u);  // one fetch serves both tasks
  EXPECT_EQ(requests[0].key, "remote");
  EXPECT_THAT(requests[0].holders, ElementsAre("10.0.0.2:1", "10.0.0.3:1"));
  EXPECT_EQ(requests[0].nbytes, 99);
  EXPECT_EQ(WorkerStats::Read(stats_->waiting), 2);
  EXPECT_EQ(sink_.size(), 0u);

  fetcher_.Complete("remote", Value::Int(41), {"10.0.0.2:1"});
  std::vector<v1::WorkerMessage> m = sink_.WaitFor(3);
  ASSERT_TRUE(m[0].has_keys_added());
  EXPECT_EQ(m[0].keys_added().keys(0).key(), "remote");
  EXPECT_THAT(m[0].keys_added().keys(0).workers(), ElementsAre("10.0.0.1:5000"));
  WaitIdle();
  EXPECT_EQ(*store_.Get("t1"), Value::Int(42));
  EXPECT_EQ(*store_.Get("t2"), Value::Int(42));
  EXPECT_EQ(*store_.Get("remote"), Value::Int(41));  // the fetched copy is kept
  EXPECT_EQ(WorkerStats::Read(stats_->waiting), 0);
}

TEST_F(WorkerTest, UnfetchableDependencyGivesMissingData) {
  Handle({Compute("t", "inc", {Value::Ref("d")}, 0, {Loc("d", {"10.0.0.2:1"})})});
  fetcher_.Complete("d", absl::UnavailableError("peer down"), {"10.0.0.2:1"}, {"10.0.0.2:1"});
  std::vector<v1::WorkerMessage> m = sink_.WaitFor(1);
  ASSERT_TRUE(m[0].has_missing_data()) << m[0].DebugString();
  EXPECT_EQ(m[0].missing_data().key(), "t");
  ASSERT_EQ(m[0].missing_data().missing_size(), 1);
  EXPECT_EQ(m[0].missing_data().missing(0).key(), "d");
  EXPECT_THAT(m[0].missing_data().missing(0).workers(), ElementsAre("10.0.0.2:1"));
  // The holder never answered: the scheduler may keep its copy.
  EXPECT_THAT(m[0].missing_data().unreachable(), ElementsAre("10.0.0.2:1"));
  EXPECT_EQ(worker_->tasks_in_progress(), 0u);
  EXPECT_EQ(WorkerStats::Read(stats_->fetch_failures), 1);
}

// A chain's next tasks sent ahead (their input has no holder yet, and is
// being computed here) wait for it here instead of fetching it.
TEST_F(WorkerTest, TasksSentAheadRunAsTheirInputsAreComputedHere) {
  BlockExecutor();
  SendChain(Compute("c0", "inc", {Value::Int(1)}));
  EXPECT_TRUE(fetcher_.Requests().empty());
  EXPECT_EQ(WorkerStats::Read(stats_->waiting), 2);
  Release();
  std::vector<v1::WorkerMessage> m = sink_.WaitFor(4);
  std::vector<std::string> order;
  for (const auto& msg : m) order.push_back(msg.task_finished().key());
  EXPECT_THAT(order, ElementsAre("blocker", "c0", "c1", "c2"));
  EXPECT_EQ(*store_.Get("c2"), Value::Int(4));
  EXPECT_EQ(worker_->tasks_in_progress(), 0u);
  EXPECT_EQ(WorkerStats::Read(stats_->waiting), 0);
}

// ... and when that input produces no value, each gets MissingData naming
// no holder, after the input's own report, so the scheduler places them
// again (or errs them with the input's error).
TEST_F(WorkerTest, TasksSentAheadOfAFailedInputAreGivenBack) {
  BlockExecutor();
  SendChain(Compute("c0", "fail", {Value::String("boom")}));
  Release();
  std::vector<v1::WorkerMessage> m = sink_.WaitFor(4);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_TRUE(m[1].has_task_erred());
  EXPECT_EQ(m[1].task_erred().key(), "c0");
  std::map<std::string, std::string> missing;
  for (size_t i = 2; i < m.size(); ++i) {
    ASSERT_TRUE(m[i].has_missing_data()) << m[i].DebugString();
    ASSERT_EQ(m[i].missing_data().missing_size(), 1);
    EXPECT_EQ(m[i].missing_data().missing(0).workers_size(), 0);
    missing[m[i].missing_data().key()] = m[i].missing_data().missing(0).key();
  }
  EXPECT_THAT(missing, UnorderedElementsAre(std::pair<const std::string, std::string>("c1", "c0"),
                                            std::pair<const std::string, std::string>("c2", "c1")));
  WaitIdle();
  EXPECT_EQ(worker_->tasks_in_progress(), 0u);
  EXPECT_EQ(WorkerStats::Read(stats_->waiting), 0);
}

TEST_F(WorkerTest, FreeingOrStealingAnInputGivesBackWhatWaitsForIt) {
  BlockExecutor();
  Handle({Compute("q", "inc", {Value::Int(1)}),
          Compute("after-q", "inc", {Value::Ref("q")}, 0, {Loc("q", {})}),
          Compute("s", "inc", {Value::Int(1)}),
          Compute("after-s", "inc", {Value::Ref("s")}, 0, {Loc("s", {})}),
          // Its input is neither held nor computed here: fetched, and with
          // no holder that fails at once.
          Compute("orphan", "inc", {Value::Ref("nowhere")}, 0, {Loc("nowhere", {})})});
  EXPECT_THAT(fetcher_.Requests(), testing::SizeIs(1));  // only "nowhere"
  Handle({Free({"q"}), Steal("s")});
  fetcher_.Complete("nowhere", absl::NotFoundError("no holder"), {});
  // Two given back for their inputs, the steal's answer, and the orphan.
  std::set<std::string> given_back;
  for (const auto& msg : sink_.WaitFor(4)) {
    if (msg.has_missing_data()) given_back.insert(msg.missing_data().key());
  }
  EXPECT_THAT(given_back, UnorderedElementsAre("after-q", "after-s", "orphan"));
  Release();
  WaitIdle();
  EXPECT_EQ(worker_->tasks_in_progress(), 0u);
  EXPECT_EQ(WorkerStats::Read(stats_->waiting), 0);
  EXPECT_EQ(WorkerStats::Read(stats_->ready), 0);
}

TEST_F(WorkerTest, FreeKeysDropsDataAndQueuedTasks) {
  store_.Put("old", Value::Int(1));
  BlockExecutor();
  Handle({Compute("queued", "inc", {Value::Int(1)}),
          Compute("fetching", "inc", {Value::Ref("r")}, 0, {Loc("r", {"10.0.0.2:1"})})});
  EXPECT_EQ(worker_->tasks_in_progress(), 3u);
  Handle({Free({"old", "queued", "fetching"})});
  EXPECT_EQ(store_.Get("old"), nullptr);
  EXPECT_EQ(worker_->tasks_in_progress(), 1u);  // only the running blocker
  fetcher_.Complete("r", Value::Int(5), {"10.0.0.2:1"});
  Release();
  WaitIdle();
  std::vector<v1::WorkerMessage> m = sink_.WaitFor(2);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_TRUE(m[0].has_keys_added() || m[1].has_keys_added());
  for (const auto& msg : m) {
    if (msg.has_task_finished()) {
      EXPECT_EQ(msg.task_finished().key(), "blocker");
    }
  }
  EXPECT_EQ(store_.Get("queued"), nullptr);
  EXPECT_EQ(store_.Get("fetching"), nullptr);
  EXPECT_EQ(WorkerStats::Read(stats_->ready), 0);
  EXPECT_EQ(WorkerStats::Read(stats_->waiting), 0);
}

TEST_F(WorkerTest, FreedRunningTaskIsDiscardedUnlessResent) {
  BlockExecutor("b1");
  Handle({Free({"b1"})});
  Release();
  WaitIdle();
  EXPECT_EQ(sink_.size(), 0u);  // no report for a freed task
  EXPECT_EQ(store_.Get("b1"), nullptr);
}

TEST_F(WorkerTest, FreedRunningTaskResentIsReported) {
  BlockExecutor("b1");
  Handle({Free({"b1"}), Compute("b1", "block", {})});
  Release();
  std::vector<v1::WorkerMessage> m = sink_.WaitFor(1);
  ASSERT_TRUE(m[0].has_task_finished());
  EXPECT_EQ(m[0].task_finished().key(), "b1");
  WaitIdle();
  EXPECT_EQ(sink_.size(), 1u);  // the resend did not run it twice
  EXPECT_EQ(*store_.Get("b1"), Value::String("unblocked"));
}

TEST_F(WorkerTest, StealTakesOnlyTasksNotStarted) {
  BlockExecutor("running");
  Handle({Compute("queued", "inc", {Value::Int(1)}), Steal("queued"), Steal("running"),
          Steal("unknown")});
  std::vector<v1::WorkerMessage> m = sink_.WaitFor(3);
  std::map<std::string, bool> stolen;
  for (const auto& msg : m) stolen[msg.steal_response().key()] = msg.steal_response().stolen();
  EXPECT_TRUE(stolen["queued"]);
  EXPECT_FALSE(stolen["running"]);
  EXPECT_FALSE(stolen["unknown"]);
  Release();
  WaitIdle();
  EXPECT_EQ(store_.Get("queued"), nullptr);
}

TEST_F(WorkerTest, HigherPriorityRunsFirst) {
  BlockExecutor();
  Handle({Compute("low", "inc", {Value::Int(1)}, 1), Compute("high", "inc", {Value::Int(1)}, 10),
          Compute("mid", "inc", {Value::Int(1)}, 5)});
  Release();
  std::vector<v1::WorkerMessage> m = sink_.WaitFor(4);
  std::vector<std::string> order;
  for (const auto& msg : m) order.push_back(msg.task_finished().key());
  EXPECT_THAT(order, ElementsAre("blocker", "high", "mid", "low"));
}

TEST_F(WorkerTest, SchedulerLossDropsAssignedWork) {
  BlockExecutor();
  Handle({Compute("queued", "inc", {Value::Int(1)})});
  worker_->OnSchedulerLost();
  Release();
  WaitIdle();
  EXPECT_EQ(sink_.size(), 0u);
  EXPECT_EQ(worker_->tasks_in_progress(), 0u);
  EXPECT_EQ(store_.Get("queued"), nullptr);
}

TEST_F(WorkerTest, RegistrationDescribesTheWorker) {
  store_.Put("held", Value::Int(1));
  v1::RegisterWorker r = worker_->MakeRegistration();
  EXPECT_EQ(r.address(), "10.0.0.1:5000");
  EXPECT_EQ(r.name(), "w");
  EXPECT_EQ(r.nthreads(), 1);
  EXPECT_EQ(r.memory_limit(), 1 << 30);
  EXPECT_EQ(r.resources().at("GPU"), 2);
  EXPECT_EQ(r.metrics_address(), "10.0.0.1:5001");
  EXPECT_EQ(r.api_version(), "v1");
  EXPECT_THAT(r.functions(), ::testing::Contains("builtin/inc"));
  ASSERT_EQ(r.held_keys_size(), 1);
  EXPECT_EQ(r.held_keys(0).key(), "held");
  EXPECT_THAT(r.held_keys(0).workers(), ElementsAre("10.0.0.1:5000"));
}

TEST_F(WorkerTest, PutDataStoresAndAnnouncesAHandoff) {
  std::vector<std::pair<std::string, Value>> values;
  values.emplace_back("p", Value::String("scattered"));
  std::vector<v1::KeyLocation> stored = worker_->HandlePutData(std::move(values), "");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_THAT(stored[0].workers(), ElementsAre("10.0.0.1:5000"));
  EXPECT_EQ(*store_.Get("p"), Value::String("scattered"));
  std::vector<v1::WorkerMessage> m = sink_.WaitFor(1);
  ASSERT_TRUE(m[0].has_keys_added());
  EXPECT_EQ(m[0].keys_added().keys(0).key(), "p");

  v1::WorkerStatus status;
  worker_->HandleStatus(&status);
  EXPECT_EQ(status.keys_held(), 1);
  EXPECT_THAT(status.keys(), ElementsAre("p"));
  EXPECT_EQ(status.address(), "10.0.0.1:5000");
}

TEST_F(WorkerTest, PutDataFromAClientIsLeftToTheClientToAnnounce) {
  std::vector<std::pair<std::string, Value>> values;
  values.emplace_back("s", Value::Int(7));
  ASSERT_EQ(worker_->HandlePutData(std::move(values), "client:1").size(), 1u);
  EXPECT_EQ(*store_.Get("s"), Value::Int(7));
  // A later message arrives first: nothing was sent for the scatter.
  Handle({Compute("t", "inc", {Value::Int(1)})});
  std::vector<v1::WorkerMessage> m = sink_.WaitFor(1);
  EXPECT_TRUE(m[0].has_task_finished()) << m[0].DebugString();
}

TEST_F(WorkerTest, AcquireReplicasFetchesAndReportsEachKey) {
  store_.Put("have", Value::Int(1));
  v1::WorkerCommand c;
  for (const char* key : {"have", "good", "bad"}) {
    v1::KeyLocation* loc = c.mutable_acquire_replicas()->add_who_has();
    loc->set_key(key);
    loc->add_workers("10.0.0.2:5000");
  }
  Handle({c});
  // Already held: confirmed at once; the others are fetched from the holder.
  std::vector<v1::WorkerMessage> m = sink_.WaitFor(1);
  ASSERT_TRUE(m[0].has_keys_added());
  EXPECT_EQ(m[0].keys_added().keys(0).key(), "have");
  std::vector<FetchRequest> requests = fetcher_.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_THAT(requests[0].holders, ElementsAre("10.0.0.2:5000"));
  fetcher_.Complete("good", Value::Int(2), {"10.0.0.2:5000"});
  fetcher_.Complete("bad", absl::NotFoundError("gone"), {"10.0.0.2:5000"});
  m = sink_.WaitFor(3);
  ASSERT_TRUE(m[1].has_keys_added());
  EXPECT_EQ(m[1].keys_added().keys(0).key(), "good");
  EXPECT_EQ(*store_.Get("good"), Value::Int(2));
  ASSERT_TRUE(m[2].has_missing_data()) << m[2].DebugString();
  EXPECT_EQ(m[2].missing_data().key(), "");
  EXPECT_EQ(m[2].missing_data().missing(0).key(), "bad");
  EXPECT_THAT(m[2].missing_data().missing(0).workers(), ElementsAre("10.0.0.2:5000"));
}

TEST_F(WorkerTest, CloseCommandCallsTheHandler) {
  std::string reason;
  worker_->SetCloseRequestHandler([&](const std::string& r) { reason = r; });
  v1::WorkerCommand c;
  c.mutable_close()->set_reason("retired");
  Handle({c});
  EXPECT_EQ(reason, "retired");
}

}  // namespace
}  // namespace taskgrid::worker
