// The public taskgrid::Client / Future surface: thin forwarding to
// ClientImpl, which holds all state.

#include "clients/cpp/client.h"

#include "absl/time/time.h"
#include "clients/cpp/as_completed.h"
#include "clients/cpp/client_impl.h"

namespace taskgrid {
namespace {

absl::Time DeadlineAfter(std::chrono::milliseconds timeout) {
  // Anything beyond a year means "no deadline" (and avoids overflow).
  if (timeout >= std::chrono::hours(24 * 365)) return absl::InfiniteFuture();
  return absl::Now() + absl::FromChrono(timeout);
}

const std::string& EmptyKey() {
  static const std::string* const empty = new std::string;
  return *empty;
}

absl::Status InvalidFuture() {
  return absl::FailedPreconditionError("the Future is empty (default-constructed)");
}

}  // namespace

// ------------------------------------------------------------------ Future

const std::string& Future::key() const { return state_ ? state_->key : EmptyKey(); }

std::string Future::status() const {
  return state_ ? state_->client->StatusName(*state_) : "pending";
}

bool Future::done() const { return state_ && state_->client->Done(*state_); }

absl::StatusOr<Value> Future::Result() const {
  if (!state_) return InvalidFuture();
  return state_->client->Result(*state_, absl::InfiniteFuture());
}

absl::StatusOr<Value> Future::Result(std::chrono::milliseconds timeout) const {
  if (!state_) return InvalidFuture();
  return state_->client->Result(*state_, DeadlineAfter(timeout));
}

bool Future::Wait(std::chrono::milliseconds timeout) const {
  return state_ && state_->client->WaitDone(*state_, DeadlineAfter(timeout));
}

absl::Status Future::Exception() const {
  if (!state_) return InvalidFuture();
  return state_->client->Exception(*state_);
}

KeyInfo Future::Info() const { return state_ ? state_->client->Info(*state_) : KeyInfo(); }

void Future::Cancel() const {
  if (state_) state_->client->CancelKeys({state_->key}, /*force=*/false).IgnoreError();
}

// ------------------------------------------------------------------ Client

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const std::string& scheduler_address,
                                                        std::chrono::milliseconds timeout) {
  return Connect(scheduler_address, timeout, SessionOptions());
}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const std::string& scheduler_address,
                                                        std::chrono::milliseconds timeout,
                                                        const SessionOptions& session) {
  auto impl = std::make_shared<ClientImpl>(scheduler_address);
  impl->set_session(session);
  if (absl::Status s = impl->Start(absl::FromChrono(timeout)); !s.ok()) {
    impl->Shutdown();
    return s;
  }
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Client::Client(std::shared_ptr<ClientImpl> impl) : impl_(std::move(impl)) {}

Client::~Client() { impl_->Shutdown(); }

absl::StatusOr<Future> Client::Submit(const std::string& fn, std::vector<Value> args,
                                      const SubmitOptions& opts) {
  return impl_->Submit(fn, std::move(args), opts);
}

absl::StatusOr<std::vector<Future>> Client::Map(const std::string& fn,
                                                const std::vector<Value>& items,
                                                const SubmitOptions& opts, bool star) {
  return impl_->Map(fn, items, opts, star);
}

absl::StatusOr<std::vector<Value>> Client::Gather(const std::vector<Future>& futures) {
  return impl_->Gather(futures, absl::InfiniteFuture());
}

absl::StatusOr<std::vector<Future>> Client::SubmitGraph(std::vector<v1::TaskSpec> tasks,
                                                        const std::vector<std::string>& keys,
                                                        int64_t priority) {
  return impl_->SubmitGraph(std::move(tasks), keys, priority);
}

absl::StatusOr<std::vector<Value>> Client::Get(std::vector<v1::TaskSpec> tasks,
                                               const std::vector<std::string>& keys) {
  absl::StatusOr<std::vector<Future>> futures = SubmitGraph(std::move(tasks), keys);
  if (!futures.ok()) return futures.status();
  return Gather(*futures);
}

Client::AsCompleted Client::AsCompletedIter(const std::vector<Future>& futures) {
  AsCompleted it;
  it.impl_ = impl_->Watch(futures);
  return it;
}

Future Client::AsCompleted::Next() { return Next(std::chrono::hours(24 * 366)); }

Future Client::AsCompleted::Next(std::chrono::milliseconds timeout) {
  if (impl_ == nullptr) return Future();
  auto* q = static_cast<client::CompletionQueue*>(impl_.get());
  return q->client->NextCompleted(*q, DeadlineAfter(timeout));
}

size_t Client::AsCompleted::remaining() const {
  if (impl_ == nullptr) return 0;
  auto* q = static_cast<client::CompletionQueue*>(impl_.get());
  return q->client->Remaining(*q);
}

absl::Status Client::Cancel(const std::vector<Future>& futures) {
  std::vector<std::string> keys;
  keys.reserve(futures.size());
  for (const Future& f : futures) {
    if (f.valid()) keys.push_back(f.key());
  }
  return CancelKeys(keys, /*force=*/false);
}

absl::Status Client::CancelKeys(const std::vector<std::string>& keys, bool force) {
  return impl_->CancelKeys(keys, force);
}

void Client::SetKeyListener(KeyListener listener) {
  impl_->SetKeyListener(std::move(listener));
}

Future Client::FutureOf(const std::string& key) { return impl_->FutureOf(key); }

absl::StatusOr<std::vector<Future>> Client::Scatter(std::vector<Value> values,
                                                    const ScatterOptions& opts) {
  return impl_->Scatter(std::move(values), opts);
}

absl::Status Client::Replicate(const std::vector<Future>& futures, int n,
                               const std::vector<std::string>& workers) {
  return impl_->Replicate(futures, n, workers);
}

absl::StatusOr<int> Client::Rebalance(const std::vector<Future>& futures,
                                      const std::vector<std::string>& workers) {
  return impl_->Rebalance(futures, workers);
}

absl::StatusOr<std::map<std::string, std::vector<std::string>>> Client::WhoHas(
    const std::vector<Future>& futures) {
  return impl_->WhoHas(futures);
}

bool Client::resumed() const { return impl_->resumed(); }

std::vector<std::string> Client::ResumedKeys() const { return impl_->ResumedKeys(); }

std::map<std::string, std::string> Client::SessionData() const { return impl_->SessionData(); }

absl::Status Client::SetSessionData(const std::string& name, const std::string& value) {
  return impl_->SetSessionData(name, value);
}

const std::string& Client::client_id() const { return impl_->client_id(); }

const std::string& Client::scheduler_address() const { return impl_->scheduler_address(); }

}  // namespace taskgrid
