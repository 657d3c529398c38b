#include "services/worker/data_handoff.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <vector>

#include <glog/logging.h>
#include <grpcpp/grpcpp.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/chunking.h"
#include "common/data_chunk_proto.h"
#include "common/value_codec.h"
#include "taskgrid/v1/scheduler.grpc.pb.h"
#include "taskgrid/v1/worker.grpc.pb.h"

namespace taskgrid::worker {
namespace {

std::chrono::system_clock::time_point ToChrono(absl::Time t) { return absl::ToChronoTime(t); }

// Asks the scheduler which of `keys` have a holder other than `self`.
absl::StatusOr<absl::flat_hash_set<std::string>> HeldElsewhere(
    v1::Scheduler::Stub* scheduler, const std::string& self, const std::vector<std::string>& keys,
    absl::Time deadline) {
  grpc::ClientContext context;
  context.set_deadline(ToChrono(deadline));
  v1::WhoHasRequest request;
  for (const std::string& k : keys) request.add_keys(k);
  v1::WhoHasResponse response;
  grpc::Status s = scheduler->WhoHas(&context, request, &response);
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("WhoHas: ", s.error_message()));
  absl::flat_hash_set<std::string> elsewhere;
  for (const v1::KeyLocation& loc : response.locations()) {
    for (const std::string& w : loc.workers()) {
      if (w != self) elsewhere.insert(loc.key());
    }
  }
  return elsewhere;
}

// Pushes `keys` to `peer` in one PutData call; returns the keys it stored.
std::vector<std::string> PushTo(std::shared_ptr<grpc::Channel> channel,
                                const std::vector<std::string>& keys, DataStore* store,
                                absl::Time deadline, int64_t* bytes) {
  auto stub = v1::Worker::NewStub(std::move(channel));
  grpc::ClientContext context;
  context.set_deadline(ToChrono(deadline));
  v1::PutDataResponse response;
  auto writer = stub->PutData(&context, &response);
  bool ok = true;
  for (const std::string& key : keys) {
    absl::StatusOr<std::shared_ptr<const Value>> value = store->Load(key);
    if (!value.ok()) continue;  // freed or lost meanwhile
    if (absl::Status s = PreparePickles(**value); !s.ok()) {
      LOG(WARNING) << "handing data off: skipping '" << key << "': " << s.message();
      continue;
    }
    // Chunk by chunk: one chunk (at most 1 MiB) is copied at a time.
    ok = ForEachChunk(EncodeValue(**value), kDefaultChunkBytes, [&](const ChunkView& c) {
      v1::DataChunk chunk;
      chunk.set_key(key);
      ChunkToProto(c, &chunk);
      return writer->Write(chunk);
    });
    if (!ok) break;
    *bytes += (*value)->ByteSize();
  }
  if (ok) writer->WritesDone();
  grpc::Status s = writer->Finish();
  std::vector<std::string> stored;
  if (!s.ok()) {
    LOG(WARNING) << "handing data off: PutData failed: " << s.error_message();
    return stored;
  }
  for (const v1::KeyLocation& loc : response.stored()) stored.push_back(loc.key());
  return stored;
}

}  // namespace

absl::StatusOr<HandoffReport> HandOffUniqueData(const std::string& self_address,
                                                const std::string& scheduler_address,
                                                DataStore* store, ChannelCache* channels,
                                                absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  HandoffReport report;
  std::vector<std::string> held;
  for (DataStore::KeyInfo& k : store->Snapshot()) held.push_back(std::move(k.key));
  if (held.empty()) return report;
  auto scheduler = v1::Scheduler::NewStub(channels->Get(scheduler_address));

  v1::ClusterInfoResponse cluster;
  {
    grpc::ClientContext context;
    context.set_deadline(ToChrono(deadline));
    grpc::Status s = scheduler->ClusterInfo(&context, v1::ClusterInfoRequest(), &cluster);
    if (!s.ok()) return absl::UnavailableError(absl::StrCat("ClusterInfo: ", s.error_message()));
  }
  std::vector<const v1::WorkerInfo*> peers;
  for (const v1::WorkerInfo& w : cluster.workers()) {
    if (w.address() != self_address) peers.push_back(&w);
  }
  std::sort(peers.begin(), peers.end(), [](const v1::WorkerInfo* a, const v1::WorkerInfo* b) {
    return a->memory_bytes() < b->memory_bytes();
  });
  report.peers = static_cast<int>(peers.size());

  absl::StatusOr<absl::flat_hash_set<std::string>> elsewhere =
      HeldElsewhere(scheduler.get(), self_address, held, deadline);
  if (!elsewhere.ok()) return elsewhere.status();
  std::vector<std::string> unique;
  for (const std::string& k : held) {
    if (!elsewhere->contains(k)) unique.push_back(k);
  }
  report.unique_keys = static_cast<int>(unique.size());
  if (unique.empty() || peers.empty()) return report;

  std::map<std::string, std::vector<std::string>> plan;  // peer -> keys
  for (size_t i = 0; i < unique.size(); ++i) {
    plan[peers[i % peers.size()]->address()].push_back(unique[i]);
  }
  std::vector<std::string> stored;
  int64_t bytes = 0;
  for (const auto& [peer, keys] : plan) {
    std::vector<std::string> s = PushTo(channels->Get(peer), keys, store, deadline, &bytes);
    stored.insert(stored.end(), s.begin(), s.end());
  }
  // The peers announce what they stored on their own streams: wait until
  // the scheduler knows, so that it never sees this worker leave first.
  while (!stored.empty()) {
    absl::StatusOr<absl::flat_hash_set<std::string>> known =
        HeldElsewhere(scheduler.get(), self_address, stored, deadline);
    if (known.ok() && known->size() >= stored.size()) {
      report.handed_off = static_cast<int>(stored.size());
      break;
    }
    if (absl::Now() + absl::Milliseconds(20) >= deadline) {
      report.handed_off = known.ok() ? static_cast<int>(known->size()) : 0;
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  report.bytes = bytes;
  return report;
}

}  // namespace taskgrid::worker
