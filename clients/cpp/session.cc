#include "clients/cpp/session.h"

#include <google/protobuf/io/coded_stream.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <glog/logging.h>

namespace taskgrid::client {
namespace {

constexpr char kClientSessionMethod[] = "/taskgrid.v1.Scheduler/ClientSession";
// Field 1 (ClientBatch.messages), wire type 2 (length-delimited).
constexpr uint8_t kMessagesTag = (1 << 3) | 2;
// Bytes of queued messages merged into one stream write.
constexpr size_t kMaxBatchBytes = 16 << 20;

void DeleteString(void* s) { delete static_cast<std::string*>(s); }

}  // namespace

std::string FrameClientMessage(const v1::ClientMessage& msg) {
  using google::protobuf::io::CodedOutputStream;
  const size_t n = msg.ByteSizeLong();
  std::string out;
  out.resize(1 + CodedOutputStream::VarintSize64(n) + n);
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  *p++ = kMessagesTag;
  p = CodedOutputStream::WriteVarint64ToArray(n, p);
  msg.SerializeWithCachedSizesToArray(p);
  return out;
}

SchedulerSession::SchedulerSession(std::shared_ptr<grpc::Channel> channel,
                                   SessionListener* listener)
    : stub_(std::move(channel)), listener_(listener) {}

SchedulerSession::~SchedulerSession() { Shutdown(); }

void SchedulerSession::Start(const v1::ClientHello& hello) {
  v1::ClientMessage first;
  *first.mutable_hello() = hello;
  std::string framed = FrameClientMessage(first);
  NextWrite next;
  {
    absl::MutexLock lock(&mu_);
    queued_.push_back(std::move(framed));
    started_ = true;
    next = TakeNextWriteLocked();
  }
  stub_.PrepareBidiStreamingCall(&context_, kClientSessionMethod, grpc::StubOptions(), this);
  // Writes are started from outside reactions, so the call must not finish
  // until we know no more will be (released in ReleaseHoldIfIdleLocked).
  AddHold();
  StartRead(&incoming_);
  StartNext(next);
  StartCall();
}

void SchedulerSession::Send(const v1::ClientMessage& msg) {
  SendFramed(FrameClientMessage(msg));  // outside the lock: may be large
}

void SchedulerSession::SendFramed(std::string framed) {
  NextWrite next;
  {
    absl::MutexLock lock(&mu_);
    if (closed_ || half_close_wanted_) return;
    FlushReleasesLocked();  // releases queued earlier go first
    queued_.push_back(std::move(framed));
    if (!started_) return;
    next = TakeNextWriteLocked();
  }
  StartNext(next);
}

void SchedulerSession::AppendRelease(const std::string& key) {
  NextWrite next;
  {
    absl::MutexLock lock(&mu_);
    if (closed_ || half_close_wanted_) return;
    releases_.add_keys(key);
    if (!started_) return;
    next = TakeNextWriteLocked();
  }
  StartNext(next);
}

void SchedulerSession::FlushReleasesLocked() {
  if (releases_.keys_size() == 0) return;
  v1::ClientMessage msg;
  msg.mutable_release_keys()->Swap(&releases_);
  queued_.push_back(FrameClientMessage(msg));
}

SchedulerSession::NextWrite SchedulerSession::TakeNextWriteLocked() {
  if (writing_ || closed_) return NextWrite::kNone;
  FlushReleasesLocked();
  if (!queued_.empty()) {
    // The slices take over the queued strings: no copy of the bytes. One
    // write carries what is queued, up to a budget well under the
    // scheduler's message limit (parts of a split graph stay apart).
    std::vector<grpc::Slice> slices;
    size_t taken = 0;
    size_t bytes = 0;
    while (taken < queued_.size() &&
           (taken == 0 || bytes + queued_[taken].size() <= kMaxBatchBytes)) {
      bytes += queued_[taken].size();
      auto* owned = new std::string(std::move(queued_[taken]));
      slices.emplace_back(owned->data(), owned->size(), &DeleteString, owned);
      ++taken;
    }
    queued_.erase(queued_.begin(), queued_.begin() + static_cast<std::ptrdiff_t>(taken));
    in_flight_ = grpc::ByteBuffer(slices.data(), slices.size());
    writing_ = true;
    return NextWrite::kBatch;
  }
  if (half_close_wanted_ && !half_closed_) {
    half_closed_ = true;
    writing_ = true;
    return NextWrite::kWritesDone;
  }
  return NextWrite::kNone;
}

void SchedulerSession::StartNext(NextWrite next) {
  switch (next) {
    case NextWrite::kNone:
      break;
    case NextWrite::kBatch:
      StartWrite(&in_flight_);
      break;
    case NextWrite::kWritesDone:
      StartWritesDone();
      break;
  }
}

bool SchedulerSession::ReleaseHoldIfIdleLocked() {
  if (!closed_ || writing_ || hold_released_) return false;
  hold_released_ = true;
  return true;
}

void SchedulerSession::OnWriteDone(bool ok) {
  NextWrite next;
  bool release;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    in_flight_.Clear();
    if (!ok) closed_ = true;  // the stream is broken; reads will tell why
    next = TakeNextWriteLocked();
    release = ReleaseHoldIfIdleLocked();
  }
  StartNext(next);
  if (release) RemoveHold();
}

void SchedulerSession::OnWritesDoneDone(bool /*ok*/) {
  bool release;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    closed_ = true;
    release = ReleaseHoldIfIdleLocked();
  }
  if (release) RemoveHold();
}

void SchedulerSession::OnReadDone(bool ok) {
  if (ok) {
    grpc::Status parsed =
        grpc::SerializationTraits<v1::ClientEventBatch>::Deserialize(&incoming_, &events_);
    if (parsed.ok()) {
      listener_->OnEvents(events_);
    } else {
      LOG(ERROR) << "unreadable message from the scheduler: " << parsed.error_message();
      context_.TryCancel();
    }
    events_.Clear();
    StartRead(&incoming_);
    return;
  }
  bool release;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    release = ReleaseHoldIfIdleLocked();
  }
  if (release) RemoveHold();
}

void SchedulerSession::OnDone(const grpc::Status& status) {
  listener_->OnClosed(status);
  // Signalled through a std::mutex held while notifying: the waiter may
  // destroy this object as soon as it sees done_.
  std::lock_guard<std::mutex> lock(done_mu_);
  done_ = true;
  done_cv_.notify_all();
}

void SchedulerSession::Shutdown(std::chrono::milliseconds grace) {
  NextWrite next;
  {
    absl::MutexLock lock(&mu_);
    if (!started_) return;
    half_close_wanted_ = true;
    next = TakeNextWriteLocked();
  }
  StartNext(next);
  std::unique_lock<std::mutex> lock(done_mu_);
  if (!done_cv_.wait_for(lock, grace, [this] { return done_; })) {
    context_.TryCancel();
    done_cv_.wait(lock, [this] { return done_; });
  }
}

}  // namespace taskgrid::client
