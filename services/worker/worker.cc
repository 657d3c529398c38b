#include "services/worker/worker.h"

#include <new>
#include <optional>

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "services/worker/function_errors.h"
#include "services/worker/task_args.h"

namespace taskgrid::worker {

struct Worker::Task {
  uint64_t id = 0;
  v1::TaskSpec spec;
  const FunctionRegistry::Entry* function = nullptr;
  int64_t priority = 0;
  int missing = 0;  // dependencies still being fetched
  absl::flat_hash_map<std::string, std::shared_ptr<const Value>> deps;
};

namespace {

std::unique_ptr<v1::WorkerMessage> TaskFinishedMessage(const std::string& key, int64_t nbytes,
                                                       const char* type_name, double start,
                                                       double stop) {
  auto m = std::make_unique<v1::WorkerMessage>();
  v1::TaskFinished* f = m->mutable_task_finished();
  f->set_key(key);
  f->set_nbytes(nbytes);
  f->set_type_name(type_name);
  f->set_start_time(start);
  f->set_stop_time(stop);
  return m;
}

// Runs a task function; C++ exceptions (from plugins) become errors.
absl::StatusOr<Value> CallFunction(const FunctionRegistry::Entry& fn, const v1::TaskSpec& spec,
                                   const TaskArguments& args) {
  try {
    if (fn.any_fn) {
      return fn.any_fn(RuntimeCall{spec.function(), spec.payload(), args.args, args.kwargs});
    }
    return fn.fn(args.args, args.kwargs);
  } catch (const std::bad_alloc&) {
    return FunctionError("MemoryError", absl::StrCat(fn.name, ": out of memory"),
                         absl::StatusCode::kResourceExhausted);
  } catch (const std::exception& e) {
    return FunctionError("RuntimeError", absl::StrCat(fn.name, ": ", e.what()),
                         absl::StatusCode::kUnknown);
  } catch (...) {
    return FunctionError("RuntimeError", absl::StrCat(fn.name, ": unknown C++ exception"),
                         absl::StatusCode::kUnknown);
  }
}

}  // namespace

Worker::Worker(WorkerIdentity identity, const FunctionRegistry* functions, DataStore* store,
               TaskExecutor* executor, PeerFetcher* fetcher, WorkerStats* stats,
               MessageSink* sink)
    : identity_(std::move(identity)), functions_(functions), store_(store), executor_(executor),
      fetcher_(fetcher), stats_(stats), sink_(sink) {
  // A result whose spill file went bad is gone: the scheduler recomputes it.
  store_->SetLossHandler([this](const std::string& key, const absl::Status&) {
    auto m = std::make_unique<v1::WorkerMessage>();
    m->mutable_keys_lost()->add_keys(key);
    std::vector<std::unique_ptr<v1::WorkerMessage>> messages;
    messages.push_back(std::move(m));
    sink_->Send(std::move(messages));
  });
}

Worker::~Worker() { store_->SetLossHandler(nullptr); }

void Worker::SetCloseRequestHandler(std::function<void(const std::string&)> handler) {
  absl::MutexLock lock(&mu_);
  on_close_request_ = std::move(handler);
}

void Worker::HandleCommands(v1::WorkerCommandBatch* batch) {
  Outcome out;
  for (v1::WorkerCommand& command : *batch->mutable_commands()) {
    switch (command.cmd_case()) {
      case v1::WorkerCommand::kComputeTask:
        AcceptTask(command.mutable_compute_task(), &out);
        break;
      case v1::WorkerCommand::kFreeKeys:
        FreeKeys(command.free_keys(), &out);
        break;
      case v1::WorkerCommand::kStealRequest:
        Steal(command.steal_request().key(), &out);
        break;
      case v1::WorkerCommand::kAcquireReplicas:
        AcquireReplicas(command.acquire_replicas(), &out);
        break;
      case v1::WorkerCommand::kClose: {
        std::function<void(const std::string&)> handler;
        {
          absl::MutexLock lock(&mu_);
          handler = on_close_request_;
        }
        LOG(INFO) << "scheduler asked this worker to close: " << command.close().reason();
        if (handler) handler(command.close().reason());
        break;
      }
      default:  // register_ack (handled by the session) and future commands
        break;
    }
  }
  Act(&out);
}

void Worker::AcceptTask(v1::ComputeTask* command, Outcome* out) {
  v1::TaskSpec* spec = command->mutable_spec();
  const std::string key = spec->key();
  if (key.empty()) {
    LOG(WARNING) << "ignoring a ComputeTask without a key";
    return;
  }
  if (std::optional<DataStore::KeyInfo> held = store_->Describe(key)) {
    double now = WallSeconds();
    out->messages.push_back(TaskFinishedMessage(key, held->nbytes, held->type_name, now, now));
    return;
  }
  const FunctionRegistry::Entry* function = functions_->Find(spec->runtime(), spec->function());
  std::vector<std::string> deps = ReferencedKeys(*spec);
  // Held dependencies, looked up before taking the lock: a spilled one is
  // read back from disk.
  std::vector<std::shared_ptr<const Value>> held_deps;
  held_deps.reserve(deps.size());
  for (const std::string& dep : deps) held_deps.push_back(store_->Get(dep));

  absl::MutexLock lock(&mu_);
  auto [it, inserted] = tasks_.try_emplace(key);
  TaskRecord& record = it->second;
  if (!inserted) {
    // Already queued or running: a resend. A running task that was freed
    // is wanted again, so its result will be kept after all.
    if (record.state == TaskState::kRunning) record.discard = false;
    return;
  }
  if (function == nullptr) {
    tasks_.erase(it);
    out->messages.push_back(TaskErredMessage(
        key, spec->function(),
        FunctionError("FunctionError",
                      absl::StrCat("function '", spec->runtime().empty() ? "builtin" : spec->runtime(),
                                   "/", spec->function(), "' is not available on worker ",
                                   identity_.address))));
    stats_->Add(stats_->tasks_erred, 1);
    return;
  }
  auto task = std::make_unique<Task>();
  task->id = record.id = ++next_task_id_;
  task->spec.Swap(spec);
  task->function = function;
  task->priority = command->priority();
  std::vector<std::string> missing;
  for (size_t i = 0; i < deps.size(); ++i) {
    std::string& dep = deps[i];
    if (held_deps[i] != nullptr) {
      task->deps.emplace(std::move(dep), std::move(held_deps[i]));
    } else {
      missing.push_back(std::move(dep));
    }
  }
  absl::flat_hash_map<absl::string_view, const v1::KeyLocation*> locations;
  if (!missing.empty()) {
    for (const v1::KeyLocation& loc : command->who_has()) locations.emplace(loc.key(), &loc);
  }
  auto location = [&locations](const std::string& dep) -> const v1::KeyLocation* {
    auto it = locations.find(dep);
    return it == locations.end() ? nullptr : it->second;
  };
  // No worker holds it yet: this worker may be computing it (a chain's
  // next task sent ahead of its input).
  auto no_holder = [&location](const std::string& dep) {
    const v1::KeyLocation* loc = location(dep);
    return loc == nullptr || loc->workers_size() == 0;
  };
  // An input with no holder that this worker was computing may have
  // finished since the lookup above (the store's lock is taken after the
  // task table's). Inputs held elsewhere are fetched without a second look.
  for (auto m = missing.begin(); m != missing.end();) {
    std::shared_ptr<const Value> now_held;
    if (no_holder(*m) && !tasks_.contains(*m)) now_held = store_->Get(*m);
    if (now_held == nullptr) {
      ++m;
      continue;
    }
    task->deps.emplace(std::move(*m), std::move(now_held));
    m = missing.erase(m);
  }
  if (missing.empty()) {
    record.state = TaskState::kReady;
    stats_->Add(stats_->ready, 1);
    out->ready.push_back(MakeReadyItem(std::move(task)));
    return;
  }
  record.state = TaskState::kWaiting;
  stats_->Add(stats_->waiting, 1);
  task->missing = static_cast<int>(missing.size());
  for (std::string& dep : missing) {
    if (no_holder(dep) && tasks_.contains(dep)) {
      local_waiters_[dep].push_back(FetchWaiter{key, task->id});
      continue;
    }
    auto [f, new_fetch] = fetching_.try_emplace(dep);
    f->second.push_back(FetchWaiter{key, task->id});
    if (!new_fetch) continue;  // already on its way for another task
    FetchRequest request;
    // No location: the fetch fails at once and the task gets MissingData.
    if (const v1::KeyLocation* loc = location(dep)) {
      request.holders.assign(loc->workers().begin(), loc->workers().end());
      request.nbytes = loc->nbytes();
    }
    request.key = std::move(dep);
    out->fetches.push_back(std::move(request));
  }
  record.task = std::move(task);
}

TaskExecutor::Item Worker::MakeReadyItem(std::unique_ptr<Task> task) {
  TaskExecutor::Item item;
  item.priority = task->priority;
  item.run = [this, task = std::move(task)]() mutable { RunTask(std::move(task)); };
  return item;
}

void Worker::RunTask(std::unique_ptr<Task> task) {
  const std::string& key = task->spec.key();
  {
    absl::MutexLock lock(&mu_);
    auto it = tasks_.find(key);
    if (it == tasks_.end() || it->second.id != task->id) return;  // freed or stolen
    it->second.state = TaskState::kRunning;
  }
  stats_->Add(stats_->ready, -1);
  stats_->Add(stats_->executing, 1);

  const double start = WallSeconds();
  absl::StatusOr<Value> result;
  {
    auto lookup = [&task](const std::string& dep) -> const Value* {
      auto it = task->deps.find(dep);
      return it == task->deps.end() ? nullptr : it->second.get();
    };
    absl::StatusOr<TaskArguments> args = ResolveArguments(task->spec, lookup);
    result = args.ok() ? CallFunction(*task->function, task->spec, *args) : args.status();
  }
  const double stop = WallSeconds();
  stats_->task_durations[task->function->index].Observe(stop - start);
  task->deps.clear();  // release dependencies before taking the lock

  std::shared_ptr<const Value> value;
  int64_t nbytes = 0;
  if (result.ok()) {
    value = std::make_shared<const Value>(*std::move(result));
    nbytes = value->ByteSize();
  }
  bool report;
  Outcome out;
  {
    absl::MutexLock lock(&mu_);
    auto it = tasks_.find(key);
    const bool current = it != tasks_.end() && it->second.id == task->id;
    report = current && !it->second.discard;
    if (current) tasks_.erase(it);
    if (report && value != nullptr) store_->Put(key, value, nbytes, /*spill=*/false);
    // The report goes first: the scheduler hears of this result before
    // any of the tasks that were waiting here for it.
    if (report) {
      if (value != nullptr) {
        stats_->Add(stats_->tasks_completed, 1);
        out.messages.push_back(TaskFinishedMessage(key, nbytes, value->TypeName(), start, stop));
      } else {
        stats_->Add(stats_->tasks_erred, 1);
        out.messages.push_back(TaskErredMessage(key, task->spec.function(), result.status()));
      }
    }
    if (current) LocalInputDone(key, report ? value : nullptr, &out);
  }
  store_->SpillIfAboveTarget();  // outside the task table's lock
  stats_->Add(stats_->executing, -1);
  Act(&out);
}

void Worker::LocalInputDone(const std::string& key, const std::shared_ptr<const Value>& value,
                            Outcome* out) {
  auto waiting = local_waiters_.find(key);
  if (waiting == local_waiters_.end()) return;
  std::vector<FetchWaiter> waiters = std::move(waiting->second);
  local_waiters_.erase(waiting);
  for (const FetchWaiter& w : waiters) {
    auto it = tasks_.find(w.task_key);
    if (it == tasks_.end() || it->second.id != w.task_id ||
        it->second.state != TaskState::kWaiting) {
      continue;  // dropped meanwhile
    }
    if (value == nullptr) {
      // No holder to name: the scheduler places the task again once the
      // input is computed somewhere (or errs it with the input's error).
      FetchResult none;
      none.key = key;
      out->messages.push_back(MissingDataMessage(w.task_key, none));
      const std::string dropped = w.task_key;
      tasks_.erase(it);
      stats_->Add(stats_->waiting, -1);
      LocalInputDone(dropped, nullptr, out);
      continue;
    }
    Task& task = *it->second.task;
    task.deps.emplace(key, value);
    if (--task.missing == 0) {
      it->second.state = TaskState::kReady;
      stats_->Add(stats_->waiting, -1);
      stats_->Add(stats_->ready, 1);
      out->ready.push_back(MakeReadyItem(std::move(it->second.task)));
    }
  }
}

void Worker::OnFetched(FetchResult result) {
  Outcome out;
  std::shared_ptr<const Value> value;
  int64_t nbytes = 0;
  if (result.value.ok()) {
    value = std::make_shared<const Value>(*std::move(result.value));
    nbytes = value->ByteSize();
  } else {
    stats_->Add(stats_->fetch_failures, 1);
    LOG(WARNING) << "could not fetch dependency '" << result.key << "': " << result.value.status();
  }
  {
    absl::MutexLock lock(&mu_);
    std::vector<FetchWaiter> waiters;
    if (auto f = fetching_.find(result.key); f != fetching_.end()) {
      waiters = std::move(f->second);
      fetching_.erase(f);
    }
    if (replicas_wanted_.erase(result.key) > 0 && value == nullptr) {
      out.messages.push_back(MissingDataMessage("", result));
    }
    if (value != nullptr) {
      store_->Put(result.key, value, nbytes, /*spill=*/false);
      out.messages.push_back(KeysAddedMessage(result.key, nbytes));
    }
    for (const FetchWaiter& w : waiters) {
      auto it = tasks_.find(w.task_key);
      if (it == tasks_.end() || it->second.id != w.task_id ||
          it->second.state != TaskState::kWaiting) {
        continue;  // dropped meanwhile
      }
      if (value == nullptr &&
          result.value.status().code() == absl::StatusCode::kFailedPrecondition) {
        out.messages.push_back(TaskErredMessage(w.task_key, it->second.task->spec.function(),
                                                result.value.status()));
        tasks_.erase(it);
        stats_->Add(stats_->waiting, -1);
        LocalInputDone(w.task_key, nullptr, &out);
        continue;
      }
      if (value == nullptr) {
        out.messages.push_back(MissingDataMessage(w.task_key, result));
        tasks_.erase(it);
        stats_->Add(stats_->waiting, -1);
        LocalInputDone(w.task_key, nullptr, &out);
        continue;
      }
      Task& task = *it->second.task;
      task.deps.emplace(result.key, value);
      if (--task.missing == 0) {
        it->second.state = TaskState::kReady;
        stats_->Add(stats_->waiting, -1);
        stats_->Add(stats_->ready, 1);
        out.ready.push_back(MakeReadyItem(std::move(it->second.task)));
      }
    }
  }
  store_->SpillIfAboveTarget();  // outside the task table's lock
  Act(&out);
}

void Worker::FreeKeys(const v1::FreeKeys& command, Outcome* out) {
  std::vector<std::shared_ptr<const Value>> dropped;  // released after unlocking
  absl::MutexLock lock(&mu_);
  for (const std::string& key : command.keys()) {
    if (std::shared_ptr<const Value> v = store_->Erase(key)) dropped.push_back(std::move(v));
    auto it = tasks_.find(key);
    if (it == tasks_.end()) continue;
    switch (it->second.state) {
      case TaskState::kRunning:
        it->second.discard = true;
        break;
      case TaskState::kReady:
        stats_->Add(stats_->ready, -1);
        tasks_.erase(it);
        LocalInputDone(key, nullptr, out);
        break;
      case TaskState::kWaiting:
        stats_->Add(stats_->waiting, -1);
        tasks_.erase(it);
        LocalInputDone(key, nullptr, out);
        break;
    }
  }
}

void Worker::Steal(const std::string& key, Outcome* out) {
  bool stolen = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = tasks_.find(key);
    if (it != tasks_.end() && it->second.state != TaskState::kRunning) {
      stats_->Add(it->second.state == TaskState::kReady ? stats_->ready : stats_->waiting, -1);
      tasks_.erase(it);
      stolen = true;
      LocalInputDone(key, nullptr, out);
    }
  }
  auto m = std::make_unique<v1::WorkerMessage>();
  m->mutable_steal_response()->set_key(key);
  m->mutable_steal_response()->set_stolen(stolen);
  out->messages.push_back(std::move(m));
}

void Worker::AcquireReplicas(const v1::AcquireReplicas& command, Outcome* out) {
  for (const v1::KeyLocation& loc : command.who_has()) {
    if (loc.key().empty()) continue;
    if (std::optional<DataStore::KeyInfo> held = store_->Describe(loc.key())) {
      out->messages.push_back(KeysAddedMessage(loc.key(), held->nbytes));
      continue;
    }
    absl::MutexLock lock(&mu_);
    replicas_wanted_.insert(loc.key());
    // Already on its way for a task: its arrival is announced all the same.
    if (!fetching_.try_emplace(loc.key()).second) continue;
    FetchRequest request;
    request.key = loc.key();
    request.holders.assign(loc.workers().begin(), loc.workers().end());
    request.nbytes = loc.nbytes();
    out->fetches.push_back(std::move(request));
  }
}

void Worker::Act(Outcome* out) {
  if (!out->messages.empty()) sink_->Send(std::move(out->messages));
  if (!out->ready.empty()) executor_->SubmitBatch(std::move(out->ready));
  if (!out->fetches.empty()) {
    fetcher_->Fetch(std::move(out->fetches), [this](FetchResult r) { OnFetched(std::move(r)); });
  }
}

void Worker::OnSchedulerLost() {
  absl::MutexLock lock(&mu_);
  local_waiters_.clear();  // every task waiting here is dropped below
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    if (it->second.state == TaskState::kRunning) {
      it->second.discard = true;
      ++it;
    } else {
      stats_->Add(it->second.state == TaskState::kReady ? stats_->ready : stats_->waiting, -1);
      tasks_.erase(it++);
    }
  }
}

std::unique_ptr<v1::WorkerMessage> Worker::KeysAddedMessage(const std::string& key,
                                                            int64_t nbytes) const {
  auto m = std::make_unique<v1::WorkerMessage>();
  v1::KeyLocation* loc = m->mutable_keys_added()->add_keys();
  loc->set_key(key);
  loc->add_workers(identity_.address);
  loc->set_nbytes(nbytes);
  return m;
}

std::unique_ptr<v1::WorkerMessage> Worker::MissingDataMessage(const std::string& task_key,
                                                              const FetchResult& failed) {
  auto m = std::make_unique<v1::WorkerMessage>();
  v1::MissingData* missing = m->mutable_missing_data();
  missing->set_key(task_key);
  v1::KeyLocation* loc = missing->add_missing();
  loc->set_key(failed.key);
  for (const std::string& holder : failed.tried) loc->add_workers(holder);
  for (const std::string& holder : failed.unreachable) missing->add_unreachable(holder);
  return m;
}

std::unique_ptr<v1::WorkerMessage> Worker::TaskErredMessage(const std::string& key,
                                                            const std::string& function,
                                                            const absl::Status& error) const {
  auto m = std::make_unique<v1::WorkerMessage>();
  v1::TaskErred* erred = m->mutable_task_erred();
  erred->set_key(key);
  v1::TaskError* e = erred->mutable_error();
  e->set_key(key);
  e->set_function(function);
  e->set_message(std::string(error.message()));
  e->set_type(ErrorTypeName(error));
  e->set_traceback(ErrorTraceback(error));
  return m;
}

v1::RegisterWorker Worker::MakeRegistration() {
  v1::RegisterWorker r;
  r.set_address(identity_.address);
  r.set_name(identity_.name);
  r.set_nthreads(identity_.nthreads);
  r.set_memory_limit(identity_.memory_limit);
  for (const auto& [name, amount] : identity_.resources) (*r.mutable_resources())[name] = amount;
  for (std::string& f : functions_->QualifiedNames()) r.add_functions(std::move(f));
  r.set_metrics_address(identity_.metrics_address);
  r.set_api_version("v1");
  for (DataStore::KeyInfo& info : store_->Snapshot()) {
    v1::KeyLocation* loc = r.add_held_keys();
    loc->set_key(std::move(info.key));
    loc->add_workers(identity_.address);
    loc->set_nbytes(info.nbytes);
  }
  return r;
}

void Worker::FillHeartbeat(v1::WorkerHeartbeat* hb) {
  hb->set_memory_bytes(store_->memory_bytes());
  hb->set_spilled_bytes(store_->spilled_bytes());
  hb->set_executing(static_cast<int32_t>(WorkerStats::Read(stats_->executing)));
  hb->set_ready(static_cast<int32_t>(WorkerStats::Read(stats_->ready)));
  hb->set_transfer_bytes_in(WorkerStats::Read(stats_->transfer_bytes_in));
  hb->set_transfer_bytes_out(WorkerStats::Read(stats_->transfer_bytes_out));
  hb->set_paused(WorkerStats::Read(stats_->paused) != 0);
}

std::vector<v1::KeyLocation> Worker::HandlePutData(
    std::vector<std::pair<std::string, Value>> values, const std::string& client_id) {
  std::vector<v1::KeyLocation> stored;
  auto m = std::make_unique<v1::WorkerMessage>();
  for (auto& [key, value] : values) {
    auto shared = std::make_shared<const Value>(std::move(value));
    const int64_t nbytes = shared->ByteSize();
    store_->Put(key, std::move(shared), nbytes);
    v1::KeyLocation loc;
    loc.set_key(key);
    loc.add_workers(identity_.address);
    loc.set_nbytes(nbytes);
    *m->mutable_keys_added()->add_keys() = loc;
    stored.push_back(std::move(loc));
  }
  if (!stored.empty() && client_id.empty()) {
    std::vector<std::unique_ptr<v1::WorkerMessage>> messages;
    messages.push_back(std::move(m));
    sink_->Send(std::move(messages));
  }
  return stored;
}

void Worker::HandleStatus(v1::WorkerStatus* s) {
  s->set_address(identity_.address);
  s->set_name(identity_.name);
  s->set_nthreads(identity_.nthreads);
  s->set_executing(static_cast<int32_t>(WorkerStats::Read(stats_->executing)));
  s->set_ready(static_cast<int32_t>(WorkerStats::Read(stats_->ready)));
  s->set_waiting(static_cast<int32_t>(WorkerStats::Read(stats_->waiting)));
  s->set_memory_bytes(store_->memory_bytes());
  s->set_memory_limit(identity_.memory_limit);
  s->set_transfer_bytes_in(WorkerStats::Read(stats_->transfer_bytes_in));
  s->set_transfer_bytes_out(WorkerStats::Read(stats_->transfer_bytes_out));
  s->set_transfers_in(WorkerStats::Read(stats_->transfers_in));
  s->set_transfers_out(WorkerStats::Read(stats_->transfers_out));
  s->set_tasks_completed(WorkerStats::Read(stats_->tasks_completed));
  s->set_tasks_erred(WorkerStats::Read(stats_->tasks_erred));
  std::vector<DataStore::KeyInfo> keys = store_->Snapshot();
  s->set_keys_held(static_cast<int64_t>(keys.size()));
  for (DataStore::KeyInfo& k : keys) s->add_keys(std::move(k.key));
  for (std::string& f : functions_->QualifiedNames()) s->add_functions(std::move(f));
}

size_t Worker::tasks_in_progress() const {
  absl::MutexLock lock(&mu_);
  return tasks_.size();
}

}  // namespace taskgrid::worker
