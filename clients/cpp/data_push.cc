#include "clients/cpp/data_push.h"

#include "absl/strings/str_cat.h"
#include "common/chunking.h"
#include "common/data_chunk_proto.h"
#include "common/value_codec.h"

namespace taskgrid::client {

absl::StatusOr<std::vector<v1::KeyLocation>> PushValues(
    v1::Worker::Stub* stub, const std::string& address, const std::string& client_id,
    const std::vector<std::pair<std::string, const Value*>>& values,
    std::chrono::system_clock::time_point deadline) {
  grpc::ClientContext context;
  context.set_deadline(deadline);
  v1::PutDataResponse response;
  std::unique_ptr<grpc::ClientWriter<v1::DataChunk>> writer = stub->PutData(&context, &response);
  bool ok = true;
  for (const auto& [key, value] : values) {
    // One chunk (at most 1 MiB) is copied into a message at a time.
    ok = ForEachChunk(EncodeValue(*value), kDefaultChunkBytes, [&, &key = key](const ChunkView& c) {
      v1::DataChunk chunk;
      chunk.set_key(key);
      chunk.set_client_id(client_id);
      ChunkToProto(c, &chunk);
      return writer->Write(chunk);
    });
    if (!ok) break;
  }
  if (ok) writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat("scattering to worker ", address, ": ",
                                               status.error_message()));
  }
  return std::vector<v1::KeyLocation>(response.stored().begin(), response.stored().end());
}

}  // namespace taskgrid::client
