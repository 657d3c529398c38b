#include "clients/cpp/data_fetch.h"

#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/chunking.h"
#include "common/string_view_hash.h"
#include "common/grpc_util.h"
#include "common/value_codec.h"

namespace taskgrid::client {
namespace {

// The chunks of one key being put together.
struct PartialValue {
  ChunkAssembler assembler;
  bool failed = false;
};

absl::Status Annotate(const absl::Status& s, const std::string& key,
                      const std::string& address) {
  return absl::Status(s.code(), absl::StrCat("fetching ", key, " from worker ",
                                             address, ": ", s.message()));
}

}  // namespace

void DataFetcher::set_requester(std::string requester) {
  absl::MutexLock lock(&mu_);
  requester_ = std::move(requester);
}

v1::Worker::Stub* DataFetcher::StubFor(const std::string& address) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<v1::Worker::Stub>& stub = stubs_[address];
  if (stub == nullptr) stub = v1::Worker::NewStub(MakeChannel(address));
  return stub.get();
}

std::vector<absl::StatusOr<Value>> DataFetcher::Fetch(
    const std::string& address, const std::vector<std::string>& keys,
    Deadline deadline) {
  std::vector<std::optional<absl::StatusOr<Value>>> out(keys.size());
  v1::GetDataRequest request;
  {
    absl::MutexLock lock(&mu_);
    request.set_requester(requester_);
  }
  request.set_max_batch_bytes(kDefaultChunkBytes);
  request.mutable_keys()->Reserve(static_cast<int>(keys.size()));
  for (const std::string& k : keys) request.add_keys(k);

  // A key -> position index only pays off for multi-key requests.
  StringViewMap<size_t> index;
  if (keys.size() > 1) {
    index.reserve(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) index.emplace(keys[i], i);
  }
  auto position = [&](const std::string& key) -> std::optional<size_t> {
    if (keys.size() == 1) {
      if (key == keys[0]) return 0;
      return std::nullopt;
    }
    auto it = index.find(key);
    if (it == index.end()) return std::nullopt;
    return it->second;
  };

  grpc::ClientContext context;
  context.set_deadline(deadline);
  std::unique_ptr<grpc::ClientReader<v1::DataChunk>> reader =
      StubFor(address)->GetData(&context, request);
  absl::flat_hash_map<size_t, PartialValue> partial;  // values in more than one chunk
  auto take = [&](const v1::DataChunk& chunk) {
    std::optional<size_t> at = position(chunk.key());
    if (!at.has_value() || out[*at].has_value()) return;  // not asked / done
    if (!chunk.error().empty()) {
      out[*at] = absl::NotFoundError(
          absl::StrCat("worker ", address, " cannot serve ", chunk.key(), ": ",
                       chunk.error()));
      partial.erase(*at);
      return;
    }
    ChunkAssembler single;
    ChunkAssembler* assembler = &single;
    if (!(chunk.offset() == 0 && chunk.last())) assembler = &partial[*at].assembler;
    absl::Status added = assembler->Add(chunk.total_bytes(), chunk.offset(), chunk.data(),
                                        chunk.last(), chunk.crc32c());
    if (!added.ok()) {
      out[*at] = Annotate(added, chunk.key(), address);
      partial.erase(*at);
      return;
    }
    if (!assembler->complete()) return;
    absl::StatusOr<Value> value = DecodeValue(assembler->Take());
    out[*at] = value.ok() ? std::move(value) : Annotate(value.status(), chunk.key(), address);
    if (assembler != &single) partial.erase(*at);
  };
  v1::DataChunk chunk;
  while (reader->Read(&chunk)) {
    if (chunk.batch_size() == 0) {
      take(chunk);
      continue;
    }
    for (const v1::DataChunk& entry : chunk.batch()) take(entry);
  }
  grpc::Status status = reader->Finish();
  std::vector<absl::StatusOr<Value>> result;
  result.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (out[i].has_value()) {
      result.push_back(*std::move(out[i]));
    } else if (!status.ok()) {
      result.push_back(absl::UnavailableError(
          absl::StrCat("fetching ", keys[i], " from worker ", address, ": ",
                       status.error_message(), " (gRPC code ",
                       static_cast<int>(status.error_code()), ")")));
    } else {
      result.push_back(absl::NotFoundError(
          absl::StrCat("worker ", address, " did not send ", keys[i])));
    }
  }
  return result;
}

std::vector<std::vector<absl::StatusOr<Value>>> DataFetcher::FetchGroups(
    const std::vector<Group>& groups, Deadline deadline) {
  std::vector<std::vector<absl::StatusOr<Value>>> results(groups.size());
  std::vector<std::thread> helpers;
  helpers.reserve(groups.size());
  for (size_t i = 1; i < groups.size(); ++i) {
    helpers.emplace_back([this, &groups, &results, deadline, i] {
      results[i] = Fetch(groups[i].address, groups[i].keys, deadline);
    });
  }
  if (!groups.empty()) results[0] = Fetch(groups[0].address, groups[0].keys, deadline);
  for (std::thread& t : helpers) t.join();
  return results;
}

}  // namespace taskgrid::client
