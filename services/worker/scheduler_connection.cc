#include "services/worker/scheduler_connection.h"

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "common/grpc_auth.h"
#include "common/grpc_util.h"

namespace taskgrid::worker {

// One WorkerSession call. Writes are started by whoever holds the
// connection's write token (write_in_flight_); a hold keeps the call
// alive while the connection may still start one.
class SchedulerConnection::Session final
    : public grpc::ClientBidiReactor<v1::WorkerBatch, v1::WorkerCommandBatch> {
 public:
  explicit Session(SchedulerConnection* connection) : connection_(connection) {}

  // Starts the call; `hello` is its first write.
  // REQUIRES: the connection's write token is taken for it.
  void Start(v1::Scheduler::Stub* stub, v1::RegisterWorker hello) {
    *write_.add_messages()->mutable_register_() = std::move(hello);
    stub->async()->WorkerSession(&context_, this);
    AddHold();
    StartWrite(&write_);
    StartRead(&read_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      connection_->OnReadFailed();
      return;
    }
    if (!acked_) {
      if (read_.commands_size() == 0 || !read_.commands(0).has_register_ack()) {
        {
          absl::MutexLock lock(&connection_->mu_);
          connection_->session_error_ = "its first reply was not a RegisterAck";
        }
        context_.TryCancel();
        connection_->OnReadFailed();
        return;
      }
      acked_ = true;
      connection_->OnAck(read_.commands(0).register_ack());
    }
    connection_->handler_->HandleCommands(&read_);  // it skips the ack
    StartRead(&read_);
  }

  void OnWriteDone(bool ok) override { connection_->OnWriteDone(ok); }
  void OnDone(const grpc::Status& status) override { connection_->OnSessionDone(status); }

  grpc::ClientContext context_;
  v1::WorkerBatch write_;  // the write in flight; only the token holder touches it
  v1::WorkerCommandBatch read_;

 private:
  SchedulerConnection* const connection_;
  bool acked_ = false;
};

SchedulerConnection::SchedulerConnection(Options options)
    : options_(std::move(options)), heartbeat_interval_(options_.heartbeat_interval) {}

SchedulerConnection::~SchedulerConnection() { Close("", absl::ZeroDuration()); }

void SchedulerConnection::Start(SessionHandler* handler) {
  handler_ = handler;
  session_thread_ = std::thread([this] { SessionLoop(); });
}

void SchedulerConnection::Send(std::vector<std::unique_ptr<v1::WorkerMessage>> messages) {
  {
    absl::MutexLock lock(&mu_);
    if (stop_ || state_ == State::kIdle) return;  // no session to deliver them to
    for (auto& m : messages) pending_.mutable_messages()->AddAllocated(m.release());
  }
  MaybeWrite();
}

bool SchedulerConnection::registered() const {
  absl::MutexLock lock(&mu_);
  return state_ == State::kRegistered;
}

std::string SchedulerConnection::worker_id() const {
  absl::MutexLock lock(&mu_);
  return worker_id_;
}

void SchedulerConnection::MaybeWrite() {
  Session* session;
  {
    absl::MutexLock lock(&mu_);
    if (session_ == nullptr || write_in_flight_ || stream_dead_ || state_ != State::kRegistered) {
      return;
    }
    const bool closing = !closing_reason_.empty() && !closing_written_;
    if (pending_.messages_size() == 0 && !closing) return;
    session = session_;
    write_in_flight_ = true;
    session->write_.Clear();
    session->write_.Swap(&pending_);
    if (closing) {
      session->write_.add_messages()->mutable_closing()->set_reason(closing_reason_);
      closing_written_ = true;
      writes_done_next_ = true;
    }
  }
  session->StartWrite(&session->write_);
}

void SchedulerConnection::OnAck(const v1::RegisterAck& ack) {
  {
    absl::MutexLock lock(&mu_);
    worker_id_ = ack.worker_id();
    scheduler_id_ = ack.scheduler_id();
    if (ack.heartbeat_interval_seconds() > 0) {
      heartbeat_interval_ = absl::Seconds(ack.heartbeat_interval_seconds());
    }
    state_ = State::kRegistered;
  }
  LOG(INFO) << "registered with scheduler " << options_.address << " as worker "
            << ack.worker_id();
  MaybeWrite();  // what was queued while registering
}

void SchedulerConnection::OnReadFailed() {
  Session* session;
  {
    absl::MutexLock lock(&mu_);
    stream_dead_ = true;
    if (write_in_flight_ || hold_released_) return;  // OnWriteDone releases it
    hold_released_ = true;
    session = session_;
  }
  session->RemoveHold();
}

void SchedulerConnection::OnWriteDone(bool ok) {
  Session* session;
  bool half_close = false;
  bool release = false;
  {
    absl::MutexLock lock(&mu_);
    write_in_flight_ = false;
    session = session_;
    if (!ok) {
      stream_dead_ = true;
    } else if (writes_done_next_) {
      writes_done_next_ = false;
      half_close = true;
      stream_dead_ = true;  // nothing is written after WorkerClosing
    }
    if (stream_dead_ && !hold_released_) {
      hold_released_ = true;
      release = true;
    }
  }
  if (half_close) session->StartWritesDone();
  if (release) {
    session->RemoveHold();  // the call may end (and *session go) right after
    return;
  }
  MaybeWrite();
}

void SchedulerConnection::OnSessionDone(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  session_done_ = true;
  session_status_ = status;
}

void SchedulerConnection::SessionLoop() {
  grpc::ChannelArguments args = DefaultChannelArguments();
  // Command batches can be large (a whole graph's worth of tasks); the
  // scheduler is trusted.
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  // Reconnect promptly once a restarted scheduler is back.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.retry_interval)));
  // The worker's token (--token-file / TASKGRID_TOKEN) on every call.
  std::unique_ptr<v1::Scheduler::Stub> stub =
      v1::Scheduler::NewStub(grpc::experimental::CreateCustomChannelWithInterceptors(
          options_.address, grpc::InsecureChannelCredentials(), args,
          OutgoingTokenInterceptors()));
  bool log_failure = true;
  for (;;) {
    const bool registered = RunSession(stub.get(), log_failure);
    // Log the first failed attempt of an outage, not every retry.
    log_failure = registered;
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.retry_interval);
    if (stop_) return;
  }
}

bool SchedulerConnection::RunSession(v1::Scheduler::Stub* stub, bool log_failure) {
  auto session = std::make_unique<Session>(this);
  v1::RegisterWorker registration = handler_->MakeRegistration();
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return false;
    registration.set_previous_scheduler_id(scheduler_id_);
    session_ = session.get();
    state_ = State::kRegistering;
    pending_.Clear();
    write_in_flight_ = true;  // the RegisterWorker write
    stream_dead_ = false;
    hold_released_ = false;
    closing_written_ = false;
    writes_done_next_ = false;
    session_done_ = false;
    session_error_.clear();
  }
  session->Start(stub, std::move(registration));

  // Wait for the end of the session, sending heartbeats meanwhile.
  const absl::Time started = absl::Now();
  bool cancelled = false;
  bool acked = false;
  for (;;) {
    bool cancel = false;
    bool heartbeat = false;
    {
      absl::MutexLock lock(&mu_);
      // Also wakes at registration, to start the scheduler's heartbeat period.
      auto wake = [this, &cancelled, &acked]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return session_done_ || (stop_ && !cancelled) ||
               (!acked && state_ == State::kRegistered);
      };
      const bool woken = mu_.AwaitWithTimeout(absl::Condition(&wake), heartbeat_interval_);
      if (session_done_) break;
      if (!acked && state_ == State::kRegistered) {
        acked = true;
        if (woken) continue;
      }
      if (!cancelled && stop_) {
        cancel = true;
      } else if (!cancelled && state_ == State::kRegistering &&
                 absl::Now() - started > options_.registration_timeout) {
        cancel = true;
        session_error_ = absl::StrCat("no RegisterAck within ",
                                      absl::FormatDuration(options_.registration_timeout));
      }
      heartbeat = state_ == State::kRegistered && !stop_;
    }
    if (cancel) {
      cancelled = true;
      session->context_.TryCancel();
      continue;
    }
    if (heartbeat) {
      std::vector<std::unique_ptr<v1::WorkerMessage>> messages;
      messages.push_back(std::make_unique<v1::WorkerMessage>());
      handler_->FillHeartbeat(messages.back()->mutable_heartbeat());
      Send(std::move(messages));
    }
  }

  bool registered, closing, stopping;
  grpc::Status status;
  std::string error;
  {
    absl::MutexLock lock(&mu_);
    registered = state_ == State::kRegistered;
    state_ = State::kIdle;
    session_ = nullptr;
    pending_.Clear();
    status = session_status_;
    error = session_error_;
    closing = !closing_reason_.empty();
    stopping = stop_;
  }
  session.reset();
  const std::string why = !error.empty() ? error
                          : status.ok()  ? std::string("session ended")
                                         : status.error_message();
  if (registered) {
    handler_->OnSchedulerLost();
    if (!closing && !stopping) {
      LOG(WARNING) << "scheduler lost (" << why << "); reconnecting every "
                   << absl::FormatDuration(options_.retry_interval);
    }
  } else if (log_failure && !stopping) {
    LOG(WARNING) << "cannot register with scheduler at " << options_.address << ": " << why
                 << "; retrying every " << absl::FormatDuration(options_.retry_interval);
  }
  return registered;
}

void SchedulerConnection::Close(const std::string& reason, absl::Duration timeout) {
  bool wait = false;
  {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kRegistered && session_ != nullptr && timeout > absl::ZeroDuration()) {
      closing_reason_ = reason.empty() ? "closing" : reason;
      wait = true;
    }
  }
  if (wait) {
    MaybeWrite();  // or the completion of the write in flight sends it
    // The scheduler ends the session once it has our WorkerClosing.
    absl::MutexLock lock(&mu_);
    auto over = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return session_done_ || session_ == nullptr;
    };
    mu_.AwaitWithTimeout(absl::Condition(&over), timeout);
  }
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (session_thread_.joinable()) session_thread_.join();
}

}  // namespace taskgrid::worker
