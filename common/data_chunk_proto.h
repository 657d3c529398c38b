#pragma once
// A ChunkView (common/chunking.h) as the taskgrid.v1.DataChunk message that
// Worker.GetData and Worker.PutData stream (the key is the caller's).
//
// Thread-safety: pure function.

#include <string>

#include "common/chunking.h"
#include "taskgrid/v1/worker.pb.h"

namespace taskgrid {

inline void ChunkToProto(const ChunkView& c, v1::DataChunk* out) {
  out->set_total_bytes(c.total_bytes);
  out->set_offset(c.offset);
  out->set_data(std::string(c.data));
  out->set_last(c.last);
  out->set_crc32c(c.crc32c);
}

}  // namespace taskgrid
