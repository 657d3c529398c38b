#include "clients/cpp/as_completed.h"

#include <algorithm>

#include "clients/cpp/client_impl.h"

namespace taskgrid {
namespace client {

CompletionQueue::CompletionQueue(std::shared_ptr<ClientImpl> c, std::vector<Future> fs)
    : client(std::move(c)), futures(std::move(fs)) {}

CompletionQueue::~CompletionQueue() { client->Unwatch(*this); }

}  // namespace client

std::shared_ptr<client::CompletionQueue> ClientImpl::Watch(const std::vector<Future>& futures) {
  auto q = std::make_shared<client::CompletionQueue>(shared_from_this(), futures);
  absl::MutexLock lock(&mu_);
  for (const Future& f : q->futures) {
    FutureState* s = f.state_.get();
    if (s == nullptr) continue;
    if (s->client.get() != this) {
      q->foreign.push_back(f);
      continue;
    }
    ++q->remaining;
    if (IsDoneLocked(*s)) {
      q->ready.push_back(s);
    } else {
      s->listeners.push_back(q.get());
    }
  }
  return q;
}

Future ClientImpl::NextCompleted(client::CompletionQueue& q, absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    while (q.ready.empty() && q.remaining > 0) {
      if (changed_.WaitWithDeadline(&mu_, deadline) && q.ready.empty()) return Future();
    }
    if (!q.ready.empty()) {
      FutureState* s = q.ready.front();
      q.ready.pop_front();
      --q.remaining;
      return Future(s->shared_from_this());  // alive: q.futures holds it
    }
  }
  if (q.next_foreign < q.foreign.size()) {
    const Future& f = q.foreign[q.next_foreign];
    if (!f.state_->client->WaitDone(*f.state_, deadline)) return Future();
    ++q.next_foreign;
    return f;
  }
  return Future();
}

size_t ClientImpl::Remaining(client::CompletionQueue& q) {
  absl::MutexLock lock(&mu_);
  return q.remaining + (q.foreign.size() - q.next_foreign);
}

void ClientImpl::Unwatch(client::CompletionQueue& q) {
  absl::MutexLock lock(&mu_);
  for (const Future& f : q.futures) {
    FutureState* s = f.state_.get();
    if (s == nullptr || s->client.get() != this) continue;
    auto& l = s->listeners;
    l.erase(std::remove(l.begin(), l.end(), &q), l.end());
  }
}

}  // namespace taskgrid
