// libFuzzer's entry point for one target, chosen at compile time with
// -DTASKGRID_FUZZ_TARGET=<namespace in fuzz_targets.h>.
#include "fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return taskgrid::fuzz::TASKGRID_FUZZ_TARGET::FuzzOne(data, size);
}
