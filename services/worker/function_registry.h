#pragma once
// FunctionRegistry: the functions a worker offers, by runtime ("builtin",
// "plugin") and name. The scheduler learns them as "runtime/name" at
// registration and only sends tasks whose function is listed.
//
// A runtime that runs any function named by the task itself (the "python"
// runtime: the callable travels in TaskSpec.payload) registers one
// catch-all entry, advertised as "runtime/*", whose RuntimeFunction gets the
// task's function name and payload.
//
// Thread-safety: filled at startup from one thread, then only read
// (Find/Names may be called from any thread once registration is over).
// Entries never move, so an Entry* stays valid for the registry's life.

#include <functional>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/value.h"

namespace taskgrid::worker {

using TaskFunction =
    std::function<absl::StatusOr<Value>(const ValueList& args, const ValueMap& kwargs)>;

// One call of a catch-all runtime function. The views point into the task
// spec and stay valid for the call only.
struct RuntimeCall {
  absl::string_view function;  // TaskSpec.function
  absl::string_view payload;   // TaskSpec.payload
  const ValueList& args;
  const ValueMap& kwargs;
};
using RuntimeFunction = std::function<absl::StatusOr<Value>(const RuntimeCall& call)>;

class FunctionRegistry {
 public:
  struct Entry {
    std::string runtime;
    std::string name;
    std::string qualified_name;  // "runtime/name"
    TaskFunction fn;          // set for named functions
    RuntimeFunction any_fn;   // set for a runtime's catch-all entry (name "*")
    int index;  // dense, 0..size()-1 in registration order
  };

  // AlreadyExists if runtime/name is taken; InvalidArgument for empty names
  // or a '/' inside them.
  absl::Status Register(absl::string_view runtime, absl::string_view name, TaskFunction fn);

  // Registers the catch-all entry "runtime/*": Find(runtime, any name) falls
  // back to it. AlreadyExists if the runtime has one.
  absl::Status RegisterRuntime(absl::string_view runtime, RuntimeFunction fn);

  // The named function, else the runtime's catch-all entry; nullptr when
  // neither exists. An empty runtime means "builtin".
  const Entry* Find(absl::string_view runtime, absl::string_view name) const;
  const Entry& at(int index) const { return *entries_[index]; }
  size_t size() const { return entries_.size(); }
  // "runtime/name" of every function, in registration order.
  std::vector<std::string> QualifiedNames() const;

 private:
  std::vector<std::unique_ptr<Entry>> entries_;
  absl::Status Add(absl::string_view runtime, absl::string_view name, TaskFunction fn,
                   RuntimeFunction any_fn);

  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, const Entry*>> by_runtime_;
};

}  // namespace taskgrid::worker
