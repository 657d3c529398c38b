#pragma once
// Task keys chosen by the client, as dask does:
//  - a pure call gets "<fn>-<32 hex digits>", the MD5 of a canonical
//    encoding of everything that makes up the task (function, runtime,
//    arguments, keyword arguments and the options that go into its
//    TaskSpec), so identical calls - from this or any other client - name
//    the same task and the scheduler computes it once;
//  - an impure call gets "<fn>-<32 hex digits>" that are unique per call.
//
// The canonical encoding is independent of protobuf serialisation (which is
// not canonical for maps), and maps are hashed in key order.
//
// Thread-safety: KeyTokenizer is immutable after construction and may be
// shared between threads; UniqueKey may be called from any thread.

#include <string>

#include "absl/types/span.h"
#include "clients/cpp/client.h"
#include "common/value.h"

namespace taskgrid::client {

class KeyTokenizer {
 public:
  // Everything except the positional arguments, which differ per call.
  // Keys read "<name>-<hex>"; `name` defaults to `fn`.
  KeyTokenizer(const std::string& fn, const SubmitOptions& opts,
               const std::string& name = "");

  // "<name>-<hex>" for fn(*args) with the options given at construction.
  std::string PureKey(absl::Span<const Value> args) const;

 private:
  std::string name_;
  std::string prefix_;  // canonical encoding of fn, runtime, kwargs, options
};

// "<fn>-<hex>", different on every call within and across processes.
std::string UniqueKey(const std::string& fn);

// Appends the canonical encoding of `v` (what PureKey hashes); exposed for
// tests.
void AppendCanonical(const Value& v, std::string* out);

}  // namespace taskgrid::client
