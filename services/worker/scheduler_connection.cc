#include "services/worker/scheduler_connection.h"

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "common/grpc_util.h"

namespace taskgrid::worker {

SchedulerConnection::SchedulerConnection(Options options)
    : options_(std::move(options)), heartbeat_interval_(options_.heartbeat_interval) {}

SchedulerConnection::~SchedulerConnection() { Close("", absl::ZeroDuration()); }

void SchedulerConnection::Start(SessionHandler* handler) {
  handler_ = handler;
  session_thread_ = std::thread([this] { SessionLoop(); });
}

void SchedulerConnection::Send(std::vector<std::unique_ptr<v1::WorkerMessage>> messages) {
  absl::MutexLock lock(&mu_);
  if (stop_ || state_ == State::kIdle) return;  // no session to deliver them to
  for (auto& m : messages) pending_.mutable_messages()->AddAllocated(m.release());
}

bool SchedulerConnection::registered() const {
  absl::MutexLock lock(&mu_);
  return state_ == State::kRegistered;
}

std::string SchedulerConnection::worker_id() const {
  absl::MutexLock lock(&mu_);
  return worker_id_;
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
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options_.address, grpc::InsecureChannelCredentials(), args);
  bool log_failure = true;
  for (;;) {
    const bool registered = RunSession(channel, log_failure);
    // Log the first failed attempt of an outage, not every retry.
    log_failure = registered;
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.retry_interval);
    if (stop_) return;
  }
}

bool SchedulerConnection::RunSession(const std::shared_ptr<grpc::Channel>& channel,
                                     bool log_failure) {
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return false;
    context_ = &context;
    state_ = State::kRegistering;
    pending_.Clear();
    end_session_ = false;
    closing_sent_ = false;
  }
  std::unique_ptr<v1::Scheduler::Stub> stub = v1::Scheduler::NewStub(channel);
  std::unique_ptr<Stream> stream = stub->WorkerSession(&context);
  v1::WorkerBatch hello;
  *hello.add_messages()->mutable_register_() = handler_->MakeRegistration();
  v1::WorkerCommandBatch commands;
  const bool exchanged = stream->Write(hello) && stream->Read(&commands);
  const bool acked = exchanged && commands.commands_size() > 0 &&
                     commands.commands(0).has_register_ack();
  if (!acked) {
    context.TryCancel();
    grpc::Status status = stream->Finish();
    {
      absl::MutexLock lock(&mu_);
      context_ = nullptr;
      state_ = State::kIdle;
      pending_.Clear();
    }
    if (log_failure) {
      LOG(WARNING) << "cannot register with scheduler at " << options_.address << ": "
                   << (exchanged ? "its first reply was not a RegisterAck"
                                 : status.error_message())
                   << "; retrying every " << absl::FormatDuration(options_.retry_interval);
    }
    return false;
  }
  const v1::RegisterAck& ack = commands.commands(0).register_ack();
  {
    absl::MutexLock lock(&mu_);
    worker_id_ = ack.worker_id();
    if (ack.heartbeat_interval_seconds() > 0) {
      heartbeat_interval_ = absl::Seconds(ack.heartbeat_interval_seconds());
    }
    state_ = State::kRegistered;
  }
  LOG(INFO) << "registered with scheduler " << options_.address << " as worker "
            << ack.worker_id();
  // The ack's batch may already carry work.
  if (commands.commands_size() > 1) handler_->HandleCommands(&commands);

  std::thread writer([this, s = stream.get()] { WriterLoop(s); });
  while (stream->Read(&commands)) handler_->HandleCommands(&commands);

  bool closing;
  {
    absl::MutexLock lock(&mu_);
    end_session_ = true;
    state_ = State::kIdle;  // from now on Send drops: nobody would read it
    pending_.Clear();
    closing = !closing_reason_.empty();
  }
  // The stream is finished or broken, so a Write in progress fails too.
  writer.join();
  grpc::Status status = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    context_ = nullptr;
  }
  handler_->OnSchedulerLost();
  if (!closing) {
    LOG(WARNING) << "scheduler lost (" << (status.ok() ? "session ended" : status.error_message())
                 << "); reconnecting every " << absl::FormatDuration(options_.retry_interval);
  }
  return true;
}

void SchedulerConnection::WriterLoop(Stream* stream) {
  absl::Time next_heartbeat;
  {
    absl::MutexLock lock(&mu_);
    next_heartbeat = absl::Now() + heartbeat_interval_;
  }
  for (;;) {
    v1::WorkerBatch batch;
    bool heartbeat = false;
    std::string closing_reason;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return end_session_ || pending_.messages_size() > 0 ||
               (!closing_reason_.empty() && !closing_sent_);
      };
      mu_.AwaitWithDeadline(absl::Condition(&has_work), next_heartbeat);
      if (end_session_) return;
      batch.Swap(&pending_);
      if (!closing_reason_.empty() && !closing_sent_) closing_reason = closing_reason_;
      absl::Time now = absl::Now();
      if (now >= next_heartbeat) {
        heartbeat = true;
        next_heartbeat = now + heartbeat_interval_;
      }
    }
    if (heartbeat) handler_->FillHeartbeat(batch.add_messages()->mutable_heartbeat());
    if (!closing_reason.empty()) batch.add_messages()->mutable_closing()->set_reason(closing_reason);
    if (batch.messages_size() > 0 && !stream->Write(batch)) return;  // the reader sees the break
    if (!closing_reason.empty()) {
      stream->WritesDone();
      absl::MutexLock lock(&mu_);
      closing_sent_ = true;
      return;
    }
  }
}

void SchedulerConnection::Close(const std::string& reason, absl::Duration timeout) {
  {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kRegistered && timeout > absl::ZeroDuration()) {
      closing_reason_ = reason.empty() ? "closing" : reason;
      // The scheduler ends the session once it has our WorkerClosing.
      auto session_over = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return state_ != State::kRegistered;
      };
      mu_.AwaitWithTimeout(absl::Condition(&session_over), timeout);
    }
    stop_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  if (session_thread_.joinable()) session_thread_.join();
  absl::MutexLock lock(&mu_);
  state_ = State::kClosed;
}

}  // namespace taskgrid::worker
