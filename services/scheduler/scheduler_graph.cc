// SchedulerState::UpdateGraph: validating and adding a client's tasks.

#include <cmath>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/utf8.h"
#include "services/scheduler/scheduler_model.h"
#include "services/scheduler/scheduler_state.h"

namespace taskgrid::scheduler {
namespace {

// Runtimes whose workers list every function they offer; for the others
// (python, exec) the function travels with the task.
bool RuntimeListsFunctions(const std::string& runtime) {
  return runtime == "builtin" || runtime == "plugin";
}

std::string FunctionId(const TaskDef& d) {
  return absl::StrCat(d.runtime.empty() ? "builtin" : d.runtime, "/", d.function);
}

// A cycle as "a -> b -> c -> a"; a long one shows its first and last
// few keys only, so the error stays readable (and small) for a cycle of
// 10^5 tasks.
std::string DescribeCycle(const std::vector<std::string>& cycle) {
  constexpr size_t kShown = 8;
  if (cycle.size() <= 2 * kShown) return absl::StrJoin(cycle, " -> ");
  return absl::StrCat(
      absl::StrJoin(cycle.begin(), cycle.begin() + kShown, " -> "), " -> ... (",
      cycle.size() - 2 * kShown, " more) -> ",
      absl::StrJoin(cycle.end() - kShown, cycle.end(), " -> "), " (",
      cycle.size() - 1, " tasks)");
}

}  // namespace

absl::Status SchedulerState::ValidateUpdate(const std::vector<TaskDef>& tasks,
                                            const std::vector<std::string>& wanted,
                                            bool adopt_unknown, UpdateLookup* lookup) const {
  StringViewMap<size_t>& incoming = lookup->incoming;
  incoming.clear();
  incoming.reserve(tasks.size());
  lookup->known.assign(tasks.size(), nullptr);
  // Tasks of an update mostly share a function: the last one found
  // offered is not looked up again.
  const std::string* offered_runtime = nullptr;
  const std::string* offered_function = nullptr;
  // Runtimes a task may name: the documented ones (a task in one that no
  // worker offers yet is no-worker until one joins), and any other that
  // some worker has offered ("r" for "r/*"). Anything else is a typo.
  StringViewSet runtimes = {"builtin", "plugin", "python", "exec"};
  // Some task gives an adopted key its definition (see the cycle check).
  bool defines_adopted = false;
  for (const std::string& f : ever_offered_) {
    runtimes.insert(std::string_view(f).substr(0, f.find('/')));
  }
  for (size_t i = 0; i < tasks.size(); ++i) {
    const TaskDef& d = tasks[i];
    if (d.key.empty()) return absl::InvalidArgumentError("a task has an empty key");
    if (!IsValidUtf8(d.key)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "task key \"", EscapeForError(d.key), "\" is not valid UTF-8"));
    }
    if (!incoming.emplace(d.key, i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("task \"", d.key, "\" appears twice in the graph"));
    }
    if (d.function.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("task \"", d.key, "\" has no function"));
    }
    const std::string runtime = d.runtime.empty() ? "builtin" : d.runtime;
    if (!runtimes.contains(runtime)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "task \"", d.key, "\": unknown runtime \"", EscapeForError(runtime),
          "\" (no worker offers it)"));
    }
    const bool same_function = offered_function != nullptr &&
                               *offered_function == d.function &&
                               *offered_runtime == d.runtime;
    if (!same_function && RuntimeListsFunctions(runtime) && !ever_offered_.empty()) {
      if (!ever_offered_.contains(FunctionId(d))) {
        return absl::InvalidArgumentError(
            absl::StrCat("task \"", d.key, "\": unknown function \"", d.function,
                         "\" in runtime ", runtime, " (no worker offers it)"));
      }
      offered_runtime = &d.runtime;
      offered_function = &d.function;
    }
    if (d.retries < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("task \"", d.key, "\": retries must be >= 0"));
    }
    for (const auto& [name, amount] : d.resources) {
      if (!(amount >= 0) || std::isinf(amount)) {
        return absl::InvalidArgumentError(
            absl::StrCat("task \"", d.key, "\": resource ", name,
                         " must be a finite number >= 0"));
      }
    }
    if (Task* existing = Find(d.key); existing != nullptr) {
      lookup->known[i] = existing;
      if (existing->adopted) {
        defines_adopted = true;
      } else if (existing->run_spec != d.run_spec) {
        return absl::InvalidArgumentError(absl::StrCat(
            "task \"", d.key, "\" already exists with a different definition"));
      }
    }
  }
  for (const TaskDef& d : tasks) {
    for (const auto& dep : d.dependencies) {
      if (dep == d.key) {
        return absl::InvalidArgumentError(
            absl::StrCat("task \"", d.key, "\" depends on itself"));
      }
      if ((!adopt_unknown || dep.empty()) && !incoming.contains(dep) && Find(dep) == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "task \"", d.key, "\" depends on missing key \"", EscapeForError(dep), "\""));
      }
    }
  }
  // Cycles can only run through new tasks: known tasks never depend on
  // keys that did not exist when they were added -- except on adopted
  // ones (known by key only, after a restart), which may depend on known
  // tasks once defined here, closing a cycle across two updates. So known
  // tasks are walked too when an adopted one is being defined (known tasks
  // and tasks without dependencies are on no new cycle otherwise). Iterative
  // DFS (a chain of 10^5 tasks must not recurse), colours: 0 unvisited,
  // 1 on the stack, 2 done.
  struct Frame {
    std::string_view key;
    const TaskDef* def;  // an incoming definition, else
    const Task* known;   // a known task (only when defines_adopted)
    size_t next = 0;
  };
  auto frame_for = [&](std::string_view key) -> std::optional<Frame> {
    auto found = tasks_.find(key);
    const Task* known = found == tasks_.end() ? nullptr : found->second.get();
    if (known == nullptr || known->adopted) {
      auto in = incoming.find(key);
      if (in == incoming.end()) return std::nullopt;
      return Frame{key, &tasks[in->second], nullptr};
    }
    if (!defines_adopted) return std::nullopt;
    return Frame{key, nullptr, known};
  };
  StringViewMap<int> colour;
  colour.reserve(incoming.size());
  std::vector<Frame> stack;
  for (const TaskDef& root : tasks) {
    // A task with no dependencies is on no cycle (most of a wide graph).
    if (root.dependencies.empty()) continue;
    if (colour[root.key] != 0) continue;
    std::optional<Frame> first = frame_for(root.key);
    if (!first.has_value()) continue;  // a known task re-sent: its deps are fixed
    colour[root.key] = 1;
    stack.push_back(*first);
    while (!stack.empty()) {
      Frame& f = stack.back();
      const size_t n = f.def != nullptr ? f.def->dependencies.size() : f.known->deps.size();
      if (f.next == n) {
        colour[f.key] = 2;
        stack.pop_back();
        continue;
      }
      const std::string_view dep = f.def != nullptr
                                       ? std::string_view(f.def->dependencies[f.next++])
                                       : std::string_view(f.known->deps[f.next++]->key);
      if (!defines_adopted) {
        // Only new tasks with dependencies can be on a cycle: one lookup
        // settles most of a wide fan-in.
        auto in = incoming.find(dep);
        if (in == incoming.end() || tasks[in->second].dependencies.empty()) continue;
      }
      auto c = colour.find(dep);
      if (c != colour.end() && c->second == 2) continue;
      if (c != colour.end() && c->second == 1) {
        std::vector<std::string> cycle;
        bool on = false;
        for (const Frame& frame : stack) {
          if (frame.key == dep) on = true;
          if (on) cycle.emplace_back(frame.key);
        }
        cycle.emplace_back(dep);
        return absl::InvalidArgumentError(
            absl::StrCat("the graph has a cycle: ", DescribeCycle(cycle)));
      }
      std::optional<Frame> next = frame_for(dep);
      if (!next.has_value()) continue;
      if (next->def != nullptr && next->def->dependencies.empty()) continue;
      colour[dep] = 1;
      stack.push_back(*next);
    }
  }
  for (const auto& key : wanted) {
    if ((!adopt_unknown || key.empty()) && !incoming.contains(key) && Find(key) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("wanted key \"", EscapeForError(key), "\" is not in the graph"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> SchedulerState::UpdateGraph(ClientId client,
                                                std::vector<TaskDef> tasks,
                                                const std::vector<std::string>& wanted,
                                                int64_t priority) {
  if (!clients_.contains(client)) {
    return absl::FailedPreconditionError("unknown client session");
  }
  const bool adopt_unknown = recovering_clients_.contains(client);
  UpdateLookup lookup;
  if (absl::Status s = ValidateUpdate(tasks, wanted, adopt_unknown, &lookup); !s.ok()) {
    return s;
  }

  // Create the new tasks first, then link dependencies (order-independent).
  // Adopted tasks (known by key only, after a restart) get their
  // definition here and are linked like new ones.
  std::vector<Task*> created(tasks.size(), nullptr);
  std::vector<Task*> defined;
  // Consecutive tasks mostly share a function (see ValidateUpdate).
  FunctionStats* fn = nullptr;
  const TaskDef* fn_of = nullptr;
  for (size_t i = 0; i < tasks.size(); ++i) {
    TaskDef& d = tasks[i];
    if (Task* existing = lookup.known[i]; existing != nullptr) {
      if (existing->adopted) {
        DefineAdopted(existing, d, priority);
        created[i] = existing;
        defined.push_back(existing);
      }
      continue;
    }
    auto t = std::make_unique<Task>();
    t->key = d.key;
    t->run_spec = std::move(d.run_spec);
    if (fn_of == nullptr || fn_of->function != d.function || fn_of->runtime != d.runtime) {
      fn = StatsFor(FunctionId(d));
      fn_of = &d;
    }
    t->fn = fn;
    t->priority = priority + d.priority;
    t->seq = next_seq_++;
    t->retries_left = d.retries;
    if (!d.workers.empty() || !d.resources.empty()) {
      t->restrictions = std::make_unique<Restrictions>();
      t->restrictions->workers = std::move(d.workers);
      t->restrictions->allow_other_workers = d.allow_other_workers;
      t->restrictions->resources.assign(d.resources.begin(), d.resources.end());
    }
    ++counts_[static_cast<int>(KeyStatus::kReleased)];
    created[i] = t.get();
    tasks_.emplace(created[i]->key, std::move(t));
  }
  if (adopt_unknown) {
    // A reconnecting client's keys the restarted scheduler never heard of:
    // results a worker may still report.
    bool unknown = false;
    auto adopt = [&](const std::string& key) {
      if (Find(key) != nullptr || key.empty()) return;
      AdoptKey(key);
      unknown = true;
    };
    for (const TaskDef& d : tasks) {
      for (const auto& dep : d.dependencies) adopt(dep);
    }
    for (const auto& key : wanted) adopt(key);
    if (unknown) StartRecoveryHold();
  }
  int added = 0;
  for (size_t i = 0; i < tasks.size(); ++i) {
    Task* t = created[i];
    if (t == nullptr) continue;
    ++added;
    t->deps.reserve(tasks[i].dependencies.size());
    for (const auto& dep_key : tasks[i].dependencies) {
      // A dependency in this update was just created (or defined), unless
      // it re-sent a known task; any other is known.
      auto in = lookup.incoming.find(dep_key);
      Task* d = in != lookup.incoming.end() ? created[in->second] : nullptr;
      if (d == nullptr) d = Find(dep_key);
      if (d->dependents.insert(t).second) t->deps.push_back(d);
    }
  }
  AssignGraphOrder(created);
  for (const auto& key : wanted) Want(client, Find(key));
  // A defined task still awaiting its result is computed now; one in
  // memory is kept only if needed.
  for (Task* t : defined) {
    compute_candidates_.push_back(t);
    release_candidates_.push_back(t);
  }
  // New tasks nobody needs are dropped at once.
  for (Task* t : created) {
    if (t != nullptr) forget_candidates_.push_back(t);
  }
  Drain();
  return added;
}

// Static order of the new tasks: a post-order depth-first walk from each
// new task no other new task depends on (in submission order), visiting
// dependencies in argument order. A reduction's branch is thus ordered
// completely before the next branch starts, so workers running tasks in
// this order free intermediate results early (as dask.order aims to).
void SchedulerState::AssignGraphOrder(const std::vector<Task*>& created) {
  constexpr uint64_t kVisiting = ~uint64_t{0};
  std::vector<std::pair<Task*, size_t>> stack;
  for (Task* root : created) {
    if (root == nullptr || root->order != 0 || !root->dependents.empty()) continue;
    root->order = kVisiting;
    stack.emplace_back(root, 0);
    while (!stack.empty()) {
      Task* t = stack.back().first;
      size_t& next = stack.back().second;
      if (next == t->deps.size()) {
        t->order = next_order_++;
        stack.pop_back();
        continue;
      }
      Task* d = t->deps[next++];
      if (d->order == 0) {
        d->order = kVisiting;
        stack.emplace_back(d, 0);
      }
    }
  }
}

}  // namespace taskgrid::scheduler
