#pragma once
// PushValues: scatter's bulk path. Streams values to one worker with
// Worker.PutData (chunked like GetData, each value's CRC-32C on its last
// chunk), marked with the client's id so the worker leaves announcing them
// to the client (which tells the scheduler with UpdateData).
//
// Thread-safety: a plain function; calls for different workers may run in
// parallel.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/value.h"
#include "taskgrid/v1/worker.grpc.pb.h"

namespace taskgrid::client {

// Returns where the worker stored each value (key, its address, size), or
// an error naming the worker when the stream failed (nothing is stored for
// sure then).
absl::StatusOr<std::vector<v1::KeyLocation>> PushValues(
    v1::Worker::Stub* stub, const std::string& address, const std::string& client_id,
    const std::vector<std::pair<std::string, const Value*>>& values,
    std::chrono::system_clock::time_point deadline);

}  // namespace taskgrid::client
