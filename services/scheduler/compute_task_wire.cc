#include "services/scheduler/compute_task_wire.h"

#include <cstdint>

namespace taskgrid::scheduler {
namespace {

// Field numbers of taskgrid.v1.ComputeTask and KeyLocation (protos/taskgrid/
// v1/scheduler.proto and common.proto); compute_task_wire_test parses the
// output with the generated classes, so a renumbering fails there.
constexpr uint32_t kSpec = 1, kWhoHas = 2, kPriority = 3;
constexpr uint32_t kLocKey = 1, kLocWorkers = 2, kLocNbytes = 3;
constexpr uint32_t kVarint = 0, kLen = 2;

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void PutTag(uint32_t field, uint32_t type, std::string* out) { PutVarint((field << 3) | type, out); }

void PutBytes(uint32_t field, const std::string& bytes, std::string* out) {
  PutTag(field, kLen, out);
  PutVarint(bytes.size(), out);
  out->append(bytes);
}

size_t BytesFieldSize(uint32_t field, size_t n) {
  return VarintSize(field << 3) + VarintSize(n) + n;
}

}  // namespace

void AppendComputeTaskWire(const ComputeTaskCommand& cmd, std::string* out) {
  size_t total = BytesFieldSize(kSpec, cmd.run_spec->size()) + 11;
  for (const DepLocation& dep : cmd.who_has) total += dep.key.size() + 32;
  out->reserve(out->size() + total);
  PutBytes(kSpec, *cmd.run_spec, out);
  for (const DepLocation& dep : cmd.who_has) {
    size_t loc = BytesFieldSize(kLocKey, dep.key.size());
    for (const std::string& w : dep.workers) loc += BytesFieldSize(kLocWorkers, w.size());
    if (dep.nbytes != 0) {
      loc += VarintSize(kLocNbytes << 3) + VarintSize(static_cast<uint64_t>(dep.nbytes));
    }
    PutTag(kWhoHas, kLen, out);
    PutVarint(loc, out);
    PutBytes(kLocKey, dep.key, out);
    for (const std::string& w : dep.workers) PutBytes(kLocWorkers, w, out);
    if (dep.nbytes != 0) {
      PutTag(kLocNbytes, kVarint, out);
      PutVarint(static_cast<uint64_t>(dep.nbytes), out);
    }
  }
  if (cmd.priority != 0) {
    PutTag(kPriority, kVarint, out);
    PutVarint(static_cast<uint64_t>(cmd.priority), out);  // int64: two's complement
  }
}

}  // namespace taskgrid::scheduler
