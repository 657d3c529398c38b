// ClientImpl: the cluster data operations. Scatter pushes values to the
// workers itself (Worker.PutData) and then tells the scheduler where they
// are (UpdateData, acknowledged like a graph update); Replicate, Rebalance
// and WhoHas are unary Scheduler calls.

#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "clients/cpp/client_impl.h"
#include "clients/cpp/data_push.h"
#include "clients/cpp/key.h"
#include "common/string_view_hash.h"

namespace taskgrid {
namespace {

// Unary scheduler calls that answer at once, and those that wait for
// copies between workers (Replicate, Rebalance) or pushes (Scatter).
constexpr std::chrono::seconds kQuickCall(30);
constexpr std::chrono::minutes kLongCall(10);

std::chrono::system_clock::time_point In(std::chrono::system_clock::duration d) {
  return std::chrono::system_clock::now() + d;
}

absl::Status FromGrpc(const grpc::Status& s, const char* call) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(call, ": ", s.error_message()));
}

std::string WithoutScheme(const std::string& address) {
  return absl::StartsWith(address, "tcp://") ? address.substr(6) : address;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ClientImpl::ScatterTargets(
    const std::vector<std::string>& names) {
  grpc::ClientContext context;
  context.set_deadline(In(kQuickCall));
  v1::ClusterInfoResponse info;
  grpc::Status s = scheduler_->ClusterInfo(&context, v1::ClusterInfoRequest(), &info);
  if (!s.ok()) return FromGrpc(s, "scatter: ClusterInfo");
  std::vector<std::string> out;
  for (const v1::WorkerInfo& w : info.workers()) {
    if (names.empty() && w.status() != "retiring") out.push_back(w.address());
  }
  for (const std::string& name : names) {
    const std::string wanted = WithoutScheme(name);
    const v1::WorkerInfo* found = nullptr;
    for (const v1::WorkerInfo& w : info.workers()) {
      if (w.address() == wanted || (!w.name().empty() && w.name() == wanted)) found = &w;
    }
    if (found == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("scatter: no connected worker named or at ", name));
    }
    out.push_back(found->address());
  }
  if (out.empty()) return absl::FailedPreconditionError("scatter: no worker to put the data on");
  return out;
}

absl::StatusOr<std::vector<Future>> ClientImpl::Scatter(std::vector<Value> values,
                                                        const ScatterOptions& opts) {
  if (!opts.keys.empty() && opts.keys.size() != values.size()) {
    return absl::InvalidArgumentError(absl::StrCat("scatter: ", opts.keys.size(), " keys for ",
                                                   values.size(), " values"));
  }
  std::vector<std::string> keys(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (!opts.keys.empty()) {
      if (opts.keys[i].empty()) return absl::InvalidArgumentError("scatter: an empty key");
      keys[i] = opts.keys[i];
    } else if (opts.hash) {  // same data, same key (as dask's tokenize)
      keys[i] = client::KeyTokenizer("scatter", SubmitOptions(), values[i].TypeName())
                    .PureKey(absl::Span<const Value>(&values[i], 1));
    } else {
      keys[i] = client::UniqueKey(values[i].TypeName());
    }
  }
  absl::StatusOr<std::vector<std::string>> targets = ScatterTargets(opts.workers);
  if (!targets.ok()) return targets.status();

  // Keys this client already wants are not sent again.
  const uint64_t request_id = NextRequestId();
  std::vector<Future> futures(values.size());
  std::vector<size_t> to_push;
  {
    absl::MutexLock lock(&mu_);
    if (!closed_.ok()) return closed_;
    StringViewSet seen;
    for (size_t i = 0; i < values.size(); ++i) {
      bool fresh = false;
      futures[i] = Future(AcquireLocked(keys[i], request_id, &fresh));
      if (fresh && seen.insert(keys[i]).second) to_push.push_back(i);
    }
    if (!to_push.empty()) awaited_acks_[request_id];
  }
  if (to_push.empty()) return futures;

  // Round robin over the workers (continuing where the last scatter ended),
  // or everything everywhere.
  std::map<std::string, std::vector<std::pair<std::string, const Value*>>> plan;
  const uint64_t cursor = scatter_cursor_.fetch_add(to_push.size());
  for (size_t j = 0; j < to_push.size(); ++j) {
    const size_t i = to_push[j];
    if (opts.broadcast) {
      for (const std::string& t : *targets) plan[t].emplace_back(keys[i], &values[i]);
    } else {
      plan[(*targets)[(cursor + j) % targets->size()]].emplace_back(keys[i], &values[i]);
    }
  }
  std::vector<std::string> addresses;
  for (const auto& [address, batch] : plan) addresses.push_back(address);
  std::vector<absl::StatusOr<std::vector<v1::KeyLocation>>> pushed(
      addresses.size(), absl::UnknownError("not pushed"));
  const auto deadline = In(kLongCall);
  const std::string requester = absl::StrCat("client:", client_id_);
  auto push = [&](size_t k) {
    pushed[k] = client::PushValues(fetcher_.StubFor(addresses[k]), addresses[k], requester,
                                   plan[addresses[k]], deadline);
  };
  std::vector<std::thread> helpers;
  for (size_t k = 1; k < addresses.size(); ++k) helpers.emplace_back(push, k);
  push(0);
  for (std::thread& t : helpers) t.join();

  // Tell the scheduler what is where. What one worker failed to store is
  // left out, and the call fails; the rest is announced all the same, so
  // that releasing the futures frees it on the workers.
  v1::ClientMessage msg;
  v1::UpdateData* update = msg.mutable_update_data();
  update->set_request_id(request_id);
  absl::flat_hash_map<std::string, v1::KeyLocation*> by_key;
  absl::Status push_error;
  for (size_t k = 0; k < addresses.size(); ++k) {
    if (!pushed[k].ok()) {
      if (push_error.ok()) push_error = pushed[k].status();
      continue;
    }
    for (const v1::KeyLocation& stored : *pushed[k]) {
      v1::KeyLocation*& loc = by_key[stored.key()];
      if (loc == nullptr) {
        loc = update->add_keys();
        loc->set_key(stored.key());
        loc->set_nbytes(stored.nbytes());
      }
      loc->add_workers(addresses[k]);
    }
  }
  absl::MutexLock lock(&mu_);
  if (update->keys_size() == 0 || !closed_.ok()) {
    awaited_acks_.erase(request_id);
    return push_error.ok() ? closed_ : push_error;
  }
  session_->Send(msg);
  while (!awaited_acks_[request_id].has_value() && closed_.ok()) changed_.Wait(&mu_);
  std::optional<v1::GraphAck> ack = std::move(awaited_acks_[request_id]);
  awaited_acks_.erase(request_id);
  if (!push_error.ok()) return push_error;
  if (!ack.has_value()) return closed_;
  if (!ack->accepted()) return absl::InvalidArgumentError(ack->error());
  return futures;
}

absl::StatusOr<std::vector<std::string>> ClientImpl::KeysInMemory(
    const std::vector<Future>& futures) {
  std::vector<std::string> keys;
  absl::MutexLock lock(&mu_);
  for (const Future& f : futures) {
    const FutureState* s = f.state_.get();
    if (s == nullptr) return absl::InvalidArgumentError("an invalid (empty) Future");
    if (s->client.get() != this) {
      return absl::InvalidArgumentError(
          absl::StrCat("future ", s->key, " belongs to another client"));
    }
    AwaitDoneLocked(*s, absl::InfiniteFuture());
    if (s->state != v1::KEY_STATE_MEMORY) return FailureLocked(*s);
    keys.push_back(s->key);
  }
  return keys;
}

absl::Status ClientImpl::Replicate(const std::vector<Future>& futures, int n,
                                   const std::vector<std::string>& workers) {
  if (n < 0) return absl::InvalidArgumentError("replicate: n must be >= 0");
  absl::StatusOr<std::vector<std::string>> keys = KeysInMemory(futures);
  if (!keys.ok()) return keys.status();
  if (keys->empty()) return absl::OkStatus();
  v1::ReplicateRequest request;
  for (const std::string& k : *keys) request.add_keys(k);
  request.set_n(n);
  for (const std::string& w : workers) request.add_workers(WithoutScheme(w));
  grpc::ClientContext context;
  context.set_deadline(In(kLongCall));
  v1::ReplicateResponse response;
  grpc::Status s = scheduler_->Replicate(&context, request, &response);
  return s.ok() ? absl::OkStatus() : FromGrpc(s, "replicate");
}

absl::StatusOr<int> ClientImpl::Rebalance(const std::vector<Future>& futures,
                                          const std::vector<std::string>& workers) {
  absl::StatusOr<std::vector<std::string>> keys = KeysInMemory(futures);
  if (!keys.ok()) return keys.status();
  if (!futures.empty() && keys->empty()) return 0;
  v1::RebalanceRequest request;
  for (const std::string& k : *keys) request.add_keys(k);
  for (const std::string& w : workers) request.add_workers(WithoutScheme(w));
  grpc::ClientContext context;
  context.set_deadline(In(kLongCall));
  v1::RebalanceResponse response;
  grpc::Status s = scheduler_->Rebalance(&context, request, &response);
  if (!s.ok()) return FromGrpc(s, "rebalance");
  return response.keys_moved();
}

absl::StatusOr<std::map<std::string, std::vector<std::string>>> ClientImpl::WhoHas(
    const std::vector<Future>& futures) {
  v1::WhoHasRequest request;
  for (const Future& f : futures) {
    if (f.valid()) request.add_keys(f.key());
  }
  grpc::ClientContext context;
  context.set_deadline(In(kQuickCall));
  v1::WhoHasResponse response;
  grpc::Status s = scheduler_->WhoHas(&context, request, &response);
  if (!s.ok()) return FromGrpc(s, "who_has");
  std::map<std::string, std::vector<std::string>> out;
  for (const v1::KeyLocation& loc : response.locations()) {
    out[loc.key()].assign(loc.workers().begin(), loc.workers().end());
  }
  return out;
}

std::vector<std::string> ClientImpl::AskWhoHas(const std::string& key) {
  v1::WhoHasRequest request;
  request.add_keys(key);
  grpc::ClientContext context;
  context.set_deadline(In(kQuickCall));
  v1::WhoHasResponse response;
  if (!scheduler_->WhoHas(&context, request, &response).ok()) return {};
  for (const v1::KeyLocation& loc : response.locations()) {
    if (loc.key() == key) return {loc.workers().begin(), loc.workers().end()};
  }
  return {};
}

}  // namespace taskgrid
