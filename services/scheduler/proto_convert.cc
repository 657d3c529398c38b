#include "services/scheduler/proto_convert.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>

namespace taskgrid::scheduler {
namespace {

void CollectRefs(const v1::Value& root, std::vector<std::string>* out) {
  std::vector<const v1::Value*> stack{&root};
  while (!stack.empty()) {
    const v1::Value* v = stack.back();
    stack.pop_back();
    switch (v->kind_case()) {
      case v1::Value::kRef:
        out->push_back(v->ref());
        break;
      case v1::Value::kListValue:
        for (const auto& item : v->list_value().items()) stack.push_back(&item);
        break;
      case v1::Value::kMapValue:
        for (const auto& [k, item] : v->map_value().entries()) stack.push_back(&item);
        break;
      default:
        break;
    }
  }
}

}  // namespace

TaskDef TaskDefFromSpec(const v1::TaskSpec& spec) {
  TaskDef d;
  d.key = spec.key();
  d.runtime = spec.runtime().empty() ? "builtin" : spec.runtime();
  d.function = spec.function();
  for (const auto& a : spec.args()) CollectRefs(a, &d.dependencies);
  for (const auto& [k, v] : spec.kwargs()) CollectRefs(v, &d.dependencies);
  for (const auto& k : spec.extra_dependencies()) d.dependencies.push_back(k);
  if (d.dependencies.size() > 1) {
    std::sort(d.dependencies.begin(), d.dependencies.end());
    d.dependencies.erase(std::unique(d.dependencies.begin(), d.dependencies.end()),
                         d.dependencies.end());
  }
  // Deterministic (map fields in key order), so the same task submitted
  // twice serializes to the same bytes: known keys are compared by spec.
  d.run_spec.resize(spec.ByteSizeLong());
  {
    google::protobuf::io::ArrayOutputStream array(d.run_spec.data(),
                                                  static_cast<int>(d.run_spec.size()));
    google::protobuf::io::CodedOutputStream coded(&array);
    coded.SetSerializationDeterministic(true);
    spec.SerializeWithCachedSizes(&coded);
  }
  d.priority = spec.priority();
  d.retries = spec.retries();
  d.workers.assign(spec.workers().begin(), spec.workers().end());
  d.allow_other_workers = spec.allow_other_workers();
  d.resources.insert(spec.resources().begin(), spec.resources().end());
  return d;
}

WorkerDef WorkerDefFromRegister(const v1::RegisterWorker& reg) {
  WorkerDef d;
  d.address = reg.address();
  d.name = reg.name();
  d.nthreads = reg.nthreads();
  d.memory_limit = reg.memory_limit();
  d.resources.insert(reg.resources().begin(), reg.resources().end());
  d.functions.assign(reg.functions().begin(), reg.functions().end());
  d.metrics_address = reg.metrics_address();
  return d;
}

v1::KeyState ToProtoState(KeyStatus s) {
  switch (s) {
    case KeyStatus::kReleased: return v1::KEY_STATE_RELEASED;
    case KeyStatus::kWaiting: return v1::KEY_STATE_WAITING;
    case KeyStatus::kQueued: return v1::KEY_STATE_QUEUED;
    case KeyStatus::kProcessing: return v1::KEY_STATE_PROCESSING;
    case KeyStatus::kMemory: return v1::KEY_STATE_MEMORY;
    case KeyStatus::kErred: return v1::KEY_STATE_ERRED;
    case KeyStatus::kForgotten: return v1::KEY_STATE_FORGOTTEN;
    case KeyStatus::kCancelled: return v1::KEY_STATE_CANCELLED;
    case KeyStatus::kLost: return v1::KEY_STATE_LOST;
    case KeyStatus::kNoWorker: return v1::KEY_STATE_NO_WORKER;
  }
  return v1::KEY_STATE_UNSPECIFIED;
}

void ToProto(const ErrorInfo& e, v1::TaskError* out) {
  out->set_key(e.key);
  out->set_function(e.function);
  out->set_message(e.message);
  out->set_traceback(e.traceback);
  out->set_type(e.type);
  out->set_cause_key(e.cause_key);
}

void ToProto(const KeyEventOut& ev, v1::KeyEvent* out) {
  out->set_key(ev.key);
  out->set_state(ToProtoState(ev.status));
  for (const auto& w : ev.workers) out->add_workers(w);
  out->set_nbytes(ev.nbytes);
  out->set_type_name(ev.type_name);
  if (ev.error) ToProto(*ev.error, out->mutable_error());
}

DepLocation FromProto(const v1::KeyLocation& loc) {
  DepLocation d;
  d.key = loc.key();
  d.workers.assign(loc.workers().begin(), loc.workers().end());
  d.nbytes = loc.nbytes();
  return d;
}

ErrorInfo FromProto(const v1::TaskError& e) {
  ErrorInfo out;
  out.key = e.key();
  out.function = e.function();
  out.message = e.message();
  out.traceback = e.traceback();
  out.type = e.type();
  out.cause_key = e.cause_key();
  return out;
}

}  // namespace taskgrid::scheduler
