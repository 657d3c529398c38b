#include "clients/cpp/spec_check.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/utf8.h"

namespace taskgrid::client {
namespace {

absl::Status NotUtf8(const std::string& key, const std::string& where, const std::string& text) {
  return absl::InvalidArgumentError(absl::StrCat("task \"", EscapeForError(key), "\": ", where,
                                                 " \"", EscapeForError(text),
                                                 "\" is not valid UTF-8"));
}

// Strings, references and map keys anywhere inside `root` (iteratively:
// nesting depth is the caller's to bound).
absl::Status CheckValue(const std::string& key, const std::string& where,
                        const v1::Value& root) {
  std::vector<const v1::Value*> stack{&root};
  while (!stack.empty()) {
    const v1::Value* v = stack.back();
    stack.pop_back();
    switch (v->kind_case()) {
      case v1::Value::kStringValue:
        if (!IsValidUtf8(v->string_value())) {
          return NotUtf8(key, absl::StrCat("a string in ", where), v->string_value());
        }
        break;
      case v1::Value::kRef:
        if (!IsValidUtf8(v->ref())) {
          return NotUtf8(key, absl::StrCat("a reference in ", where), v->ref());
        }
        break;
      case v1::Value::kListValue:
        for (const v1::Value& item : v->list_value().items()) stack.push_back(&item);
        break;
      case v1::Value::kMapValue:
        for (const auto& [name, item] : v->map_value().entries()) {
          if (!IsValidUtf8(name)) return NotUtf8(key, absl::StrCat("a map key in ", where), name);
          stack.push_back(&item);
        }
        break;
      default:
        break;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckSpecText(const v1::TaskSpec& spec) {
  const std::string& key = spec.key();
  if (!IsValidUtf8(key)) {
    return absl::InvalidArgumentError(
        absl::StrCat("task key \"", EscapeForError(key), "\" is not valid UTF-8"));
  }
  if (!IsValidUtf8(spec.function())) return NotUtf8(key, "the function name", spec.function());
  if (!IsValidUtf8(spec.runtime())) return NotUtf8(key, "the runtime", spec.runtime());
  for (int i = 0; i < spec.args_size(); ++i) {
    if (absl::Status s = CheckValue(key, absl::StrCat("args[", i, "]"), spec.args(i)); !s.ok()) {
      return s;
    }
  }
  for (const auto& [name, v] : spec.kwargs()) {
    if (!IsValidUtf8(name)) return NotUtf8(key, "a keyword argument name", name);
    if (absl::Status s = CheckValue(key, absl::StrCat("kwargs.", name), v); !s.ok()) return s;
  }
  for (const std::string& dep : spec.extra_dependencies()) {
    if (!IsValidUtf8(dep)) return NotUtf8(key, "an extra dependency", dep);
  }
  for (const std::string& w : spec.workers()) {
    if (!IsValidUtf8(w)) return NotUtf8(key, "a worker name", w);
  }
  for (const auto& [name, amount] : spec.resources()) {
    if (!IsValidUtf8(name)) return NotUtf8(key, "a resource name", name);
  }
  for (const auto& [name, text] : spec.annotations()) {
    if (!IsValidUtf8(name) || !IsValidUtf8(text)) {
      return NotUtf8(key, "an annotation", IsValidUtf8(name) ? text : name);
    }
  }
  return absl::OkStatus();
}

absl::Status CheckWantedKeys(const std::vector<std::string>& keys) {
  for (const std::string& k : keys) {
    if (!IsValidUtf8(k)) {
      return absl::InvalidArgumentError(
          absl::StrCat("wanted key \"", EscapeForError(k), "\" is not valid UTF-8"));
    }
  }
  return absl::OkStatus();
}

}  // namespace taskgrid::client
