#pragma once
// ChunkReceiver: common/chunking.h's ChunkAssembler receiving into a buffer
// from BufferPool instead of a fresh allocation per value; recycled memory
// is what lets a large transfer run at memory speed instead of page-fault
// speed (see buffer_pool.h). Same checks: offsets, total size, CRC-32C, so
// a task is never handed a partial or corrupted value.
//
// Thread-compatible: one receiver per value being received.

#include "common/chunking.h"
#include "services/worker/buffer_pool.h"

namespace taskgrid::worker {

class ChunkReceiver : public ChunkAssembler {
 public:
  ChunkReceiver() : ChunkAssembler(&AllocateBuffer) {}
};

}  // namespace taskgrid::worker
