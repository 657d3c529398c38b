#include "services/scheduler/session_reactors.h"

#include <glog/logging.h>

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

#include "services/scheduler/proto_convert.h"
#include "services/scheduler/scheduler_metrics.h"
#include "services/scheduler/scheduler_service.h"

namespace taskgrid::scheduler {
namespace {

// Plumbing shared by both sessions: the read loop (parsing each message
// itself, see SchedulerServiceBase), the outlet, and finishing exactly
// once. The reactor keeps itself alive through `self_` until OnDone; the
// outlet's callbacks hold only weak references.
template <typename In, typename Out>
class SessionReactor : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  // `stream` names the method in errors ("ClientSession").
  SessionReactor(SchedulerService* service, const char* stream)
      : service_(service), stream_(stream) {}

  // `overflow_message` is the status a peer that stopped reading gets once
  // more than `max_queued_bytes` wait to be sent to it.
  void Init(std::shared_ptr<SessionReactor> self, size_t max_queued_bytes,
            std::string overflow_message) {
    self_ = self;
    std::weak_ptr<SessionReactor> weak = self;
    outlet_ = std::make_shared<StreamOutlet<Out>>(
        [weak](const Out* msg) {
          if (auto r = weak.lock()) r->Write(*msg);
        },
        [weak, message = std::move(overflow_message)] {
          LOG(WARNING) << message;
          if (auto r = weak.lock()) {
            // The status reaches the peer only after the data ahead of it,
            // i.e. when (if ever) it reads again, and until the call ends
            // no read fails: drop the session from the scheduler now.
            r->OnDisconnect();
            r->FinishOnce(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, message));
          }
        },
        max_queued_bytes);
    this->StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      OnDisconnect();
      // Finish on the loop, after the batches posted before this: when one
      // of them refuses the peer (Abort: a bad hello or registration), its
      // status is what the peer gets, not a plain end of stream.
      service_->loop().Post([self = self_] {
        if (self->outlet_->Close()) self->FinishOnce(self->close_status_);
      });
      return;
    }
    ++messages_read_;
    const size_t bytes = in_.Length();
    In batch;
    if (!grpc::SerializationTraits<In>::Deserialize(&in_, &batch).ok()) {
      // Nothing of it is applied; what came before it stands (the session
      // ends like a disconnect).
      std::string message = absl::StrCat(stream_, " message ", messages_read_, " (", bytes,
                                         " bytes) does not parse as ",
                                         In::descriptor()->full_name(),
                                         ": truncated or not a message of this stream");
      LOG(WARNING) << message << " (from " << peer_ << ")";
      OnDisconnect();
      service_->loop().Post([self = self_, status = grpc::Status(
                                               grpc::StatusCode::INVALID_ARGUMENT, message)] {
        self->Abort(status);
      });
      return;
    }
    HandleBatch(std::move(batch));
    this->StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    if (outlet_->OnWriteDone(ok)) FinishOnce(close_status_);
  }

  void OnDone() override { self_.reset(); }

  // Ends the session from the server side (any thread).
  void Abort(grpc::Status status) {
    close_status_ = std::move(status);
    if (outlet_->Close()) FinishOnce(close_status_);
  }

  void set_peer(std::string peer) { peer_ = std::move(peer); }

 protected:
  virtual void HandleBatch(In&& batch) = 0;
  virtual void OnDisconnect() = 0;

  // Serializes `msg` into the write buffer (free until OnWriteDone: the
  // outlet keeps one write in flight) and starts writing it.
  void Write(const Out& msg) {
    out_.Clear();  // the previous message, written by now
    bool own_buffer = false;
    // Fails only for a message over 2 GiB; the outlet's are at most 16 MiB.
    grpc::Status serialized =
        grpc::SerializationTraits<Out>::Serialize(msg, &out_, &own_buffer);
    CHECK(serialized.ok()) << serialized.error_message();
    this->StartWrite(&out_);
  }

  void FinishOnce(const grpc::Status& status) {
    if (!finished_.exchange(true)) this->Finish(status);
  }

  SchedulerService* service_;
  std::shared_ptr<StreamOutlet<Out>> outlet_;
  std::shared_ptr<SessionReactor> self_;

 private:
  const char* stream_;
  std::string peer_;
  grpc::ByteBuffer in_;
  grpc::ByteBuffer out_;
  uint64_t messages_read_ = 0;
  std::atomic<bool> finished_{false};
  grpc::Status close_status_ = grpc::Status::OK;
};

// The API version a hello or registration declares must be this one. An
// empty one (a peer that does not say) is taken as v1; a breaking change
// is a new package (taskgrid.v2), so any other value is a peer this
// scheduler cannot serve.
constexpr char kApiVersion[] = "v1";
std::optional<grpc::Status> UnsupportedApiVersion(const char* who, const std::string& declared) {
  if (declared.empty() || declared == kApiVersion) return std::nullopt;
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      absl::StrCat("unsupported api_version \"", declared, "\" in the ", who,
                                   ": this scheduler speaks ", kApiVersion,
                                   " (package taskgrid.v1)"));
}

// ------------------------------------------------------------------ clients

struct ClientHandle {  // loop thread only
  ClientId id = 0;
  bool gone = false;
};

class ClientSessionReactor final
    : public SessionReactor<v1::ClientBatch, v1::ClientEventBatch> {
 public:
  explicit ClientSessionReactor(SchedulerService* service)
      : SessionReactor(service, "ClientSession") {}

 private:
  struct Update {
    uint64_t request_id;
    std::vector<TaskDef> tasks;
    std::vector<std::string> wanted;
    int64_t priority;
  };

  void HandleBatch(v1::ClientBatch&& batch) override {
    // Convert off the loop thread; the loop only applies.
    auto msgs = std::make_shared<v1::ClientBatch>(std::move(batch));
    std::vector<Update> updates;
    for (auto& m : *msgs->mutable_messages()) {
      if (!m.has_update_graph()) continue;
      v1::UpdateGraph* ug = m.mutable_update_graph();
      Update u{ug->request_id(), {}, {ug->wanted_keys().begin(), ug->wanted_keys().end()},
               ug->priority()};
      u.tasks.reserve(ug->tasks_size());
      for (v1::TaskSpec& spec : *ug->mutable_tasks()) {
        // One spelling of the default runtime, so identical tasks from
        // different clients compare equal.
        if (spec.runtime().empty()) spec.set_runtime("builtin");
        u.tasks.push_back(TaskDefFromSpec(spec));
      }
      // The parsed specs are done with: free them before the update waits
      // for the loop (a large graph arrives as many such batches).
      ug->clear_tasks();
      updates.push_back(std::move(u));
    }
    auto outlet = outlet_;
    std::weak_ptr<SessionReactor> weak = self_;
    service_->loop().Post([svc = service_, h = handle_, outlet, msgs, weak, owner = owner_,
                           updates = std::move(updates)]() mutable {
      if (h->gone) return;
      SchedulerState& state = svc->state();
      GrpcOutbox& out = svc->outbox();
      size_t next_update = 0;
      for (const auto& m : msgs->messages()) {
        if (h->id == 0) {
          if (auto refused = UnsupportedApiVersion("ClientHello", m.hello().api_version())) {
            LOG(WARNING) << "refused client " << m.hello().name() << ": "
                         << refused->error_message();
            h->gone = true;
            if (auto r = weak.lock()) r->Abort(*refused);
            return;
          }
          SchedulerState::SessionRequest req;
          req.name = m.has_hello() ? m.hello().name() : "anonymous";
          req.session_name = m.hello().session_name();
          req.linger_seconds = m.hello().linger_seconds();
          req.owner = owner;
          const std::string& name = req.name;
          auto opened = state.OpenSession(req);
          if (!opened.ok()) {
            LOG(WARNING) << "refused client " << name << ": " << opened.status();
            h->gone = true;
            if (auto r = weak.lock()) {
              r->Abort(grpc::Status(static_cast<grpc::StatusCode>(opened.status().code()),
                                    std::string(opened.status().message())));
            }
            return;
          }
          auto& closers = svc->session_closers();
          if (opened->taken_over) {
            auto old = closers.find(opened->id);
            if (old != closers.end()) old->second();
            LOG(WARNING) << "session \"" << req.session_name
                         << "\" taken over by a new connection; its old stream is closed";
          }
          h->id = opened->id;
          out.AttachClient(h->id, outlet);
          v1::Welcome* w = out.AddClientEvent(h->id)->mutable_welcome();
          w->set_client_id(std::to_string(h->id));
          w->set_scheduler_id(svc->scheduler_id());
          w->set_api_version("v1");
          if (!req.session_name.empty()) {
            closers[h->id] = [h, weak] {
              h->gone = true;
              if (auto r = weak.lock()) {
                r->Abort(grpc::Status(grpc::StatusCode::ABORTED,
                                      "session taken over by a newer connection of the same "
                                      "session name"));
              }
            };
          }
          if (opened->resumed) {
            w->set_resumed(true);
            for (const auto& [key, value] : *opened->data) {
              (*w->mutable_session_data())[key] = value;
            }
            state.ReplayWanted(h->id);
          }
          LOG(INFO) << "client " << h->id << " (" << name << ") "
                    << (opened->resumed ? "resumed session \"" + req.session_name + "\""
                                        : std::string("connected"));
          if (m.has_hello() && (m.hello().reconnecting() || m.hello().wanted_keys_size() > 0)) {
            // Reconnecting after a scheduler restart.
            state.RedeclareKeys(h->id, {m.hello().wanted_keys().begin(),
                                        m.hello().wanted_keys().end()});
            LOG(INFO) << "client " << h->id << " re-declared " << m.hello().wanted_keys_size()
                      << " keys";
          }
        }
        switch (m.msg_case()) {
          case v1::ClientMessage::kUpdateGraph: {
            Update& u = updates[next_update++];
            v1::GraphAck* ack = out.AddClientEvent(h->id)->mutable_graph_ack();
            ack->set_request_id(u.request_id);
            SchedulerMetrics* metrics = svc->metrics();
            SchedulerMetrics::PreparedGraph prepared;
            if (metrics != nullptr) prepared = metrics->Prepare(u.tasks);
            auto added = state.UpdateGraph(h->id, std::move(u.tasks), u.wanted, u.priority);
            ack->set_accepted(added.ok());
            if (added.ok()) {
              if (metrics != nullptr) metrics->Accept(prepared);
              ack->set_tasks_added(*added);
            } else {
              ack->set_error(std::string(added.status().message()));
            }
            break;
          }
          case v1::ClientMessage::kReleaseKeys:
            state.ReleaseKeys(h->id, {m.release_keys().keys().begin(),
                                      m.release_keys().keys().end()});
            break;
          case v1::ClientMessage::kCancelKeys:
            state.CancelKeys(h->id,
                             {m.cancel_keys().keys().begin(), m.cancel_keys().keys().end()},
                             m.cancel_keys().force());
            break;
          case v1::ClientMessage::kUpdateData: {
            // Scatter: the client pushed the values to the workers itself.
            std::vector<DepLocation> keys;
            keys.reserve(m.update_data().keys_size());
            for (const auto& loc : m.update_data().keys()) keys.push_back(FromProto(loc));
            absl::Status stored = state.UpdateData(h->id, keys);
            v1::GraphAck* ack = out.AddClientEvent(h->id)->mutable_graph_ack();
            ack->set_request_id(m.update_data().request_id());
            ack->set_accepted(stored.ok());
            if (!stored.ok()) ack->set_error(std::string(stored.message()));
            break;
          }
          case v1::ClientMessage::kSetSessionData:
            state.SetSessionData(h->id, m.set_session_data().name(),
                                 m.set_session_data().value());
            break;
          default:
            break;
        }
      }
    });
  }

  void OnDisconnect() override {
    service_->loop().Post([svc = service_, h = handle_] {
      if (h->gone) return;
      h->gone = true;
      if (h->id != 0) {
        svc->outbox().DetachClient(h->id);
        svc->session_closers().erase(h->id);
        // A named session lingers with its keys; others are removed.
        svc->state().DetachClient(h->id);
        LOG(INFO) << "client " << h->id << " disconnected";
      }
    });
  }

 public:
  // Who may resume a named session this stream opens (see NewClientSession).
  void set_owner(std::string owner) { owner_ = std::move(owner); }

 private:
  std::string owner_;
  std::shared_ptr<ClientHandle> handle_ = std::make_shared<ClientHandle>();
};

// ------------------------------------------------------------------ workers

struct WorkerHandle {  // loop thread only
  WorkerId id = kNoWorker;
  std::string address;
  bool gone = false;
};

class WorkerSessionReactor final
    : public SessionReactor<v1::WorkerBatch, v1::WorkerCommandBatch> {
 public:
  explicit WorkerSessionReactor(SchedulerService* service)
      : SessionReactor(service, "WorkerSession") {}

 private:
  void HandleBatch(v1::WorkerBatch&& batch) override {
    auto msgs = std::make_shared<v1::WorkerBatch>(std::move(batch));
    std::weak_ptr<SessionReactor> weak = self_;
    service_->loop().Post([svc = service_, h = handle_, outlet = outlet_, msgs, weak] {
      if (h->gone) return;
      SchedulerState& state = svc->state();
      for (const auto& m : msgs->messages()) {
        if (m.has_register_()) {
          if (h->id != kNoWorker) continue;
          if (auto refused =
                  UnsupportedApiVersion("RegisterWorker", m.register_().api_version())) {
            LOG(WARNING) << "refused worker " << m.register_().address() << ": "
                         << refused->error_message();
            h->gone = true;
            if (auto r = weak.lock()) r->Abort(*refused);
            return;
          }
          std::vector<DepLocation> held;
          held.reserve(m.register_().held_keys_size());
          for (const auto& loc : m.register_().held_keys()) held.push_back(FromProto(loc));
          // The same scheduler it registered with before: it was cut off, and
          // keys forgotten meanwhile are garbage, not results to adopt.
          const bool rejoining =
              !m.register_().previous_scheduler_id().empty() &&
              m.register_().previous_scheduler_id() == svc->scheduler_id();
          auto id = state.AddWorker(WorkerDefFromRegister(m.register_()), held, !rejoining);
          if (!id.ok()) {
            LOG(WARNING) << "refused worker " << m.register_().address() << ": "
                         << id.status();
            h->gone = true;
            if (auto r = weak.lock()) {
              r->Abort(grpc::Status(static_cast<grpc::StatusCode>(id.status().code()),
                                    std::string(id.status().message())));
            }
            return;
          }
          h->id = *id;
          h->address = m.register_().address();
          svc->outbox().AttachWorker(h->id, outlet);
          v1::RegisterAck* ack = svc->outbox().AddWorkerCommand(h->id)->mutable_register_ack();
          ack->set_worker_id(std::to_string(h->id));
          ack->set_scheduler_id(svc->scheduler_id());
          ack->set_heartbeat_interval_seconds(svc->options().heartbeat_interval_seconds);
          LOG(INFO) << "worker " << h->address << " registered (id " << h->id << ", "
                    << m.register_().nthreads() << " threads"
                    << (held.empty() ? std::string()
                                     : ", holding " + std::to_string(held.size()) + " keys")
                    << ")";
          continue;
        }
        if (h->id != kNoWorker && !state.has_worker(h->id)) {
          // Removed meanwhile (missed heartbeats, e.g. paused or cut off):
          // whatever this session still says is stale. The worker registers
          // again as a new one and reports what it holds.
          LOG(WARNING) << "worker " << h->address << " (id " << h->id
                       << ") was removed; closing its old session so it registers again";
          h->gone = true;
          if (auto r = weak.lock()) {
            r->Abort(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                  "this worker was removed after missing its heartbeats; "
                                  "register again"));
          }
          return;
        }
        if (h->id == kNoWorker) {
          LOG(WARNING) << "worker stream sent data before registering; closing it";
          h->gone = true;
          if (auto r = weak.lock()) {
            r->Abort(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                  "the first message of a worker session must be register"));
          }
          return;
        }
        switch (m.msg_case()) {
          case v1::WorkerMessage::kHeartbeat:
            state.Heartbeat(h->id, m.heartbeat().memory_bytes(), m.heartbeat().spilled_bytes(),
                            m.heartbeat().paused());
            break;
          case v1::WorkerMessage::kTaskFinished: {
            const auto& f = m.task_finished();
            if (svc->metrics() != nullptr) {
              svc->metrics()->TaskFinished(state.RunningFunction(f.key()),
                                           f.stop_time() - f.start_time());
            }
            state.TaskFinished(h->id, f.key(), f.nbytes(), f.type_name(),
                               f.stop_time() - f.start_time());
            break;
          }
          case v1::WorkerMessage::kTaskErred:
            if (svc->metrics() != nullptr) {
              svc->metrics()->TaskErred(state.RunningFunction(m.task_erred().key()));
            }
            state.TaskErred(h->id, m.task_erred().key(), FromProto(m.task_erred().error()));
            break;
          case v1::WorkerMessage::kMissingData: {
            std::vector<DepLocation> missing;
            for (const auto& loc : m.missing_data().missing()) missing.push_back(FromProto(loc));
            state.MissingData(h->id, m.missing_data().key(), missing,
                              {m.missing_data().unreachable().begin(),
                               m.missing_data().unreachable().end()});
            break;
          }
          case v1::WorkerMessage::kKeysAdded: {
            std::vector<DepLocation> keys;
            for (const auto& loc : m.keys_added().keys()) keys.push_back(FromProto(loc));
            state.KeysAdded(h->id, keys);
            break;
          }
          case v1::WorkerMessage::kKeysLost:
            state.KeysLost(h->id, {m.keys_lost().keys().begin(), m.keys_lost().keys().end()});
            break;
          case v1::WorkerMessage::kStealResponse:
            state.StealResponse(h->id, m.steal_response().key(), m.steal_response().stolen());
            break;
          case v1::WorkerMessage::kClosing:
            LOG(INFO) << "worker " << h->address << " is closing: " << m.closing().reason();
            svc->outbox().DetachWorker(h->id);
            state.RemoveWorker(h->id, "worker closed: " + m.closing().reason());
            h->gone = true;
            return;
          default:
            break;
        }
      }
    });
  }

  void OnDisconnect() override {
    service_->loop().Post([svc = service_, h = handle_] {
      if (h->gone) return;
      h->gone = true;
      if (h->id != kNoWorker) {
        LOG(WARNING) << "worker " << h->address << " disconnected; rescheduling its tasks";
        svc->outbox().DetachWorker(h->id);
        svc->state().RemoveWorker(h->id, "connection lost");
      }
    });
  }

  std::shared_ptr<WorkerHandle> handle_ = std::make_shared<WorkerHandle>();
};

// The status of a session disconnected for not reading, naming the limit.
std::string OverflowMessage(const char* who, const char* what, size_t limit,
                            const char* setting) {
  return absl::StrCat(who, " session disconnected: the ", who,
                      " stopped reading its stream and more than ", limit, " bytes of ", what,
                      " queued up for it", setting);
}

}  // namespace

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* NewClientSession(
    SchedulerService* service, grpc::CallbackServerContext* ctx) {
  auto r = std::make_shared<ClientSessionReactor>(service);
  r->set_peer(ctx->peer());
  // With --token-file, a named session belongs to the token that opened
  // it (kept as a digest, not the token itself).
  if (service->options().tokens != nullptr && service->options().tokens->enabled()) {
    auto it = ctx->client_metadata().find("authorization");
    if (it != ctx->client_metadata().end()) {
      r->set_owner(std::to_string(std::hash<std::string>()(
          std::string(it->second.data(), it->second.size()))));
    }
  }
  const size_t limit = service->options().client_queue_bytes;
  r->Init(r, limit, OverflowMessage("client", "events", limit, " (scheduler flag --client-queue-bytes)"));
  return r.get();
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* NewWorkerSession(
    SchedulerService* service, grpc::CallbackServerContext* ctx) {
  auto r = std::make_shared<WorkerSessionReactor>(service);
  r->set_peer(ctx->peer());
  const size_t limit = service->options().max_queued_bytes;
  r->Init(r, limit, OverflowMessage("worker", "commands", limit, ""));
  return r.get();
}

}  // namespace taskgrid::scheduler
