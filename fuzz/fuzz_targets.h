#pragma once
// taskgrid's fuzz targets. Each target's logic is one FuzzOne function, so
// the same body runs under libFuzzer (libfuzzer_main.cc, built with clang by
// `make fuzz`) and as a regression replay of the committed corpus
// (corpus_replay_test.cc, built by the regular gcc build). A FuzzOne
// returns 0 for every input; a broken invariant aborts with a message
// (FuzzCheck), which libFuzzer and the replay test report as a crash.
//
// Thread-safety: each FuzzOne is a pure function of its input.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace taskgrid::fuzz {

// Aborts with `what` when `ok` is false.
void FuzzCheck(bool ok, std::string_view what);

// common/graph_json: the JSON graph format (GraphFromJsonText).
namespace graph_json {
int FuzzOne(const uint8_t* data, size_t size);
}
// common/value_codec and common/value_json: first byte even -> the rest is
// taskgrid.v1.Value wire bytes for the zero-copy decoder, odd -> JSON text
// for ValueFromJson; whatever decodes must survive an encode/decode round
// trip unchanged.
namespace value {
int FuzzOne(const uint8_t* data, size_t size);
}
// services/scheduler: a v1.UpdateGraph message converted by
// proto_convert.cc and fed to a SchedulerState with one fake worker, which
// then runs everything it is sent; Validate() must hold after every step.
namespace scheduler_graph {
int FuzzOne(const uint8_t* data, size_t size);
}
// services/gateway: a POST /v1/jobs body (ParseJobSubmission).
namespace gateway_job {
int FuzzOne(const uint8_t* data, size_t size);
}

struct FuzzTarget {
  const char* name;  // also the folder of its corpus: fuzz/corpus/<name>/
  int (*fuzz_one)(const uint8_t*, size_t);
};
inline constexpr FuzzTarget kFuzzTargets[] = {
    {"graph_json", &graph_json::FuzzOne},
    {"value", &value::FuzzOne},
    {"scheduler_graph", &scheduler_graph::FuzzOne},
    {"gateway_job", &gateway_job::FuzzOne},
};

}  // namespace taskgrid::fuzz
