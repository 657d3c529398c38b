#pragma once
// Test fixture shared by the state machine's unit tests: a recording
// outbox (fake workers and clients see what the scheduler sends), an
// injected clock, and helpers to act as workers.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/scheduler/scheduler_state.h"

namespace taskgrid::scheduler {
namespace testing_util {

struct Sent {
  WorkerId worker;
  std::string key;
  std::vector<DepLocation> who_has;
  int64_t priority;
};

class RecordingOutbox : public SchedulerOutbox {
 public:
  void ComputeTask(WorkerId w, const ComputeTaskCommand& cmd) override {
    computes.push_back({w, cmd.key, cmd.who_has, cmd.priority});
  }
  void FreeKeys(WorkerId w, const std::vector<std::string>& keys) override {
    for (const auto& k : keys) frees[w].push_back(k);
  }
  void CloseWorker(WorkerId, const std::string&) override {}
  void StealRequest(WorkerId w, const std::string& key) override {
    steals.emplace_back(w, key);
  }
  void KeyEvent(ClientId c, const KeyEventOut& ev) override { events[c].push_back(ev); }
  void AcquireReplicas(WorkerId w, const std::vector<DepLocation>& who_has) override {
    for (const auto& loc : who_has) acquires[w].push_back(loc);
  }

  std::vector<std::string> ComputeKeys(WorkerId w) const {
    std::vector<std::string> out;
    for (const auto& s : computes) {
      if (s.worker == w) out.push_back(s.key);
    }
    return out;
  }
  const Sent* FindCompute(const std::string& key) const {
    for (auto it = computes.rbegin(); it != computes.rend(); ++it) {
      if (it->key == key) return &*it;
    }
    return nullptr;
  }
  std::vector<std::pair<std::string, KeyStatus>> Events(ClientId c) const {
    std::vector<std::pair<std::string, KeyStatus>> out;
    auto it = events.find(c);
    if (it == events.end()) return out;
    for (const auto& e : it->second) out.emplace_back(e.key, e.status);
    return out;
  }

  std::vector<Sent> computes;
  std::map<WorkerId, std::vector<std::string>> frees;
  std::map<ClientId, std::vector<KeyEventOut>> events;
  std::vector<std::pair<WorkerId, std::string>> steals;
  std::map<WorkerId, std::vector<DepLocation>> acquires;
};

inline TaskDef Def(const std::string& key, std::vector<std::string> deps = {},
            const std::string& fn = "inc") {
  TaskDef d;
  d.key = key;
  d.runtime = "builtin";
  d.function = fn;
  d.dependencies = std::move(deps);
  d.run_spec = "spec:" + key + ":" + fn;
  return d;
}

// n root tasks "<prefix>0" .. "<prefix><n-1>" (function inc) and their keys.
struct RootGraph {
  std::vector<TaskDef> tasks;
  std::vector<std::string> keys;
};
inline RootGraph RootTasks(const std::string& prefix, int n) {
  RootGraph g;
  for (int i = 0; i < n; ++i) {
    g.tasks.push_back(Def(prefix + std::to_string(i)));
    g.keys.push_back(g.tasks.back().key);
  }
  return g;
}

// The defaults, but without chain pipelining (max_ahead): most tests
// follow one task at a time through its states; pipelining has its own.
inline SchedulerState::Options OneStepOptions() {
  SchedulerState::Options o;
  o.max_ahead = 0;
  return o;
}

class SchedulerStateTest : public ::testing::Test {
 protected:
  explicit SchedulerStateTest(SchedulerState::Options options = OneStepOptions())
      : state_(&out_, [this] { return now_; }, options) {}

  WorkerId AddWorker(const std::string& address, int nthreads = 1,
                     std::map<std::string, double> resources = {}) {
    WorkerDef def;
    def.address = address;
    def.name = "name-" + address;
    def.nthreads = nthreads;
    def.resources = std::move(resources);
    def.functions = {"builtin/inc", "builtin/add", "builtin/fail", "builtin/sum"};
    auto id = state_.AddWorker(def);
    EXPECT_TRUE(id.ok()) << id.status();
    return *id;
  }

  void Finish(WorkerId w, const std::string& key, int64_t nbytes = 8,
              double duration = 0.001) {
    state_.TaskFinished(w, key, nbytes, "int", duration);
  }
  // Acts as the workers until nothing is left to run: finishes every task
  // sent so far, including those its completion releases. Returns how many.
  size_t FinishEverything() {
    size_t done = 0;
    for (; done < out_.computes.size(); ++done) {
      const Sent s = out_.computes[done];
      if (state_.StatusOf(s.key) == KeyStatus::kProcessing) Finish(s.worker, s.key);
    }
    return done;
  }

  void ExpectValid() { ASSERT_TRUE(state_.Validate().ok()) << state_.Validate(); }

  // Runs everything left, checks that every key of `keys` ended in memory,
  // releases them for client `c` and checks that nothing is left.
  void FinishAllAndRelease(ClientId c, const std::vector<std::string>& keys) {
    FinishEverything();
    EXPECT_EQ(state_.num_queued(), 0u);
    for (const auto& k : keys) EXPECT_EQ(Status(k), KeyStatus::kMemory) << k;
    state_.ReleaseKeys(c, keys);
    EXPECT_EQ(state_.num_tasks(), 0u);
    ExpectValid();
  }

  KeyStatus Status(const std::string& key) {
    auto s = state_.StatusOf(key);
    return s ? *s : KeyStatus::kForgotten;
  }

  double now_ = 1000.0;
  RecordingOutbox out_;
  SchedulerState state_;
};

}  // namespace testing_util
}  // namespace taskgrid::scheduler
