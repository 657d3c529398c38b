#include "services/worker/function_registry.h"

#include "absl/strings/str_cat.h"

namespace taskgrid::worker {

namespace {
constexpr absl::string_view kAnyFunction = "*";
}  // namespace

absl::Status FunctionRegistry::Register(absl::string_view runtime, absl::string_view name,
                                        TaskFunction fn) {
  if (name == kAnyFunction) {
    return absl::InvalidArgumentError(
        absl::StrCat("function name '", runtime, "/*' is reserved for RegisterRuntime"));
  }
  if (!fn) {
    return absl::InvalidArgumentError(absl::StrCat("function ", runtime, "/", name, " is empty"));
  }
  return Add(runtime, name, std::move(fn), nullptr);
}

absl::Status FunctionRegistry::RegisterRuntime(absl::string_view runtime, RuntimeFunction fn) {
  if (!fn) {
    return absl::InvalidArgumentError(absl::StrCat("runtime ", runtime, " has no function"));
  }
  return Add(runtime, kAnyFunction, nullptr, std::move(fn));
}

absl::Status FunctionRegistry::Add(absl::string_view runtime, absl::string_view name,
                                   TaskFunction fn, RuntimeFunction any_fn) {
  if (runtime.empty() || name.empty() || runtime.find('/') != absl::string_view::npos ||
      name.find('/') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid function name '", runtime, "/", name,
                     "': runtime and name must be non-empty and contain no '/'"));
  }
  auto& names = by_runtime_[runtime];
  if (names.contains(name)) {
    return absl::AlreadyExistsError(
        absl::StrCat("function ", runtime, "/", name, " is registered twice"));
  }
  auto entry = std::make_unique<Entry>();
  entry->runtime = std::string(runtime);
  entry->name = std::string(name);
  entry->qualified_name = absl::StrCat(runtime, "/", name);
  entry->fn = std::move(fn);
  entry->any_fn = std::move(any_fn);
  entry->index = static_cast<int>(entries_.size());
  names.emplace(entry->name, entry.get());
  entries_.push_back(std::move(entry));
  return absl::OkStatus();
}

const FunctionRegistry::Entry* FunctionRegistry::Find(absl::string_view runtime,
                                                      absl::string_view name) const {
  if (runtime.empty()) runtime = "builtin";
  auto r = by_runtime_.find(runtime);
  if (r == by_runtime_.end()) return nullptr;
  auto f = r->second.find(name);
  if (f == r->second.end()) f = r->second.find(kAnyFunction);
  return f == r->second.end() ? nullptr : f->second;
}

std::vector<std::string> FunctionRegistry::QualifiedNames() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) out.push_back(e->qualified_name);
  return out;
}

}  // namespace taskgrid::worker
