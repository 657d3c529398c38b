#include "common/graph_json.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/utf8.h"
#include "common/value_json.h"
#include "common/value_proto.h"

namespace taskgrid {
namespace {

using nlohmann::json;

absl::Status TaskError(const std::string& key, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("task \"", key, "\": ", what));
}

absl::Status FieldTypeError(const std::string& key, absl::string_view field,
                            absl::string_view expected) {
  return TaskError(key, absl::StrCat("\"", field, "\" must be ", expected));
}

absl::Status ParseStringList(const json& j, const std::string& key, const char* field,
                             google::protobuf::RepeatedPtrField<std::string>* out) {
  if (!j.is_array()) return FieldTypeError(key, field, "an array of strings");
  for (const json& item : j) {
    if (!item.is_string()) return FieldTypeError(key, field, "an array of strings");
    out->Add(item.get<std::string>());
  }
  return absl::OkStatus();
}

absl::Status ParseTask(const std::string& key, const json& t, v1::TaskSpec* spec) {
  if (!t.is_object()) return TaskError(key, "must be an object");
  spec->set_key(key);
  spec->set_runtime("builtin");
  bool has_fn = false;
  const std::string where = absl::StrCat("task \"", key, "\"");
  for (auto it = t.begin(); it != t.end(); ++it) {
    const std::string& field = it.key();
    const json& v = it.value();
    if (field == "fn") {
      if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
        return FieldTypeError(key, field, "a non-empty string");
      }
      spec->set_function(v.get<std::string>());
      has_fn = true;
    } else if (field == "args") {
      if (!v.is_array()) return FieldTypeError(key, field, "an array");
      for (size_t i = 0; i < v.size(); ++i) {
        absl::StatusOr<Value> arg = ValueFromJson(v[i], absl::StrCat(where, ".args[", i, "]"));
        if (!arg.ok()) return arg.status();
        ValueToProto(*arg, spec->add_args());
      }
    } else if (field == "kwargs") {
      if (!v.is_object()) return FieldTypeError(key, field, "an object");
      for (auto kw = v.begin(); kw != v.end(); ++kw) {
        absl::StatusOr<Value> arg =
            ValueFromJson(kw.value(), absl::StrCat(where, ".kwargs.", kw.key()));
        if (!arg.ok()) return arg.status();
        ValueToProto(*arg, &(*spec->mutable_kwargs())[kw.key()]);
      }
    } else if (field == "runtime") {
      if (!v.is_string()) return FieldTypeError(key, field, "a string");
      spec->set_runtime(v.get_ref<const std::string&>().empty() ? "builtin" : v.get<std::string>());
    } else if (field == "retries") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 1000000) {
        return FieldTypeError(key, field, "a non-negative integer");
      }
      spec->set_retries(static_cast<int32_t>(v.get<int64_t>()));
    } else if (field == "priority") {
      if (!v.is_number_integer() ||
          (v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX)) {
        return FieldTypeError(key, field, "an integer");
      }
      spec->set_priority(v.get<int64_t>());
    } else if (field == "workers") {
      if (absl::Status s = ParseStringList(v, key, "workers", spec->mutable_workers()); !s.ok()) return s;
    } else if (field == "extra_dependencies") {
      if (absl::Status s = ParseStringList(v, key, "extra_dependencies",
                                           spec->mutable_extra_dependencies());
          !s.ok()) {
        return s;
      }
    } else if (field == "allow_other_workers") {
      if (!v.is_boolean()) return FieldTypeError(key, field, "a boolean");
      spec->set_allow_other_workers(v.get<bool>());
    } else if (field == "resources") {
      if (!v.is_object()) return FieldTypeError(key, field, "an object of numbers");
      for (auto r = v.begin(); r != v.end(); ++r) {
        if (!r.value().is_number() || !(r.value().get<double>() >= 0) ||
            std::isinf(r.value().get<double>())) {
          return TaskError(key, absl::StrCat("resource \"", r.key(),
                                             "\" must be a non-negative number"));
        }
        (*spec->mutable_resources())[r.key()] = r.value().get<double>();
      }
    } else if (field == "annotations") {
      if (!v.is_object()) return FieldTypeError(key, field, "an object of strings");
      for (auto a = v.begin(); a != v.end(); ++a) {
        if (!a.value().is_string()) return FieldTypeError(key, field, "an object of strings");
        (*spec->mutable_annotations())[a.key()] = a.value().get<std::string>();
      }
    } else if (field == "payload_b64") {
      if (!v.is_string()) return FieldTypeError(key, field, "a base64 string");
      absl::StatusOr<std::string> payload = Base64Decode(v.get_ref<const std::string&>());
      if (!payload.ok()) return TaskError(key, absl::StrCat("\"payload_b64\": ", payload.status().message()));
      spec->set_payload(*std::move(payload));
    } else {
      // Misspelt fields ("kwarg") would otherwise silently change the call.
      return TaskError(key, absl::StrCat("unknown field \"", field, "\""));
    }
  }
  if (!has_fn) return TaskError(key, "missing \"fn\"");
  return absl::OkStatus();
}

void CollectDependencies(const v1::Value& v, absl::flat_hash_set<std::string>* out) {
  switch (v.kind_case()) {
    case v1::Value::kRef: out->insert(v.ref()); return;
    case v1::Value::kListValue:
      for (const v1::Value& item : v.list_value().items()) CollectDependencies(item, out);
      return;
    case v1::Value::kMapValue:
      for (const auto& entry : v.map_value().entries()) CollectDependencies(entry.second, out);
      return;
    default: return;
  }
}

}  // namespace

absl::StatusOr<GraphRequest> GraphFromJson(const json& doc) {
  if (!doc.is_object()) return absl::InvalidArgumentError("graph must be a JSON object");
  GraphRequest req;
  bool has_keys = false;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& field = it.key();
    const json& v = it.value();
    if (field == "tasks") {
      if (!v.is_object()) return absl::InvalidArgumentError("\"tasks\" must be an object");
      req.tasks.reserve(v.size());
      for (auto t = v.begin(); t != v.end(); ++t) {
        if (t.key().empty()) return absl::InvalidArgumentError("a task key is empty");
        v1::TaskSpec spec;
        if (absl::Status s = ParseTask(t.key(), t.value(), &spec); !s.ok()) return s;
        req.tasks.push_back(std::move(spec));
      }
    } else if (field == "keys") {
      if (!v.is_array()) return absl::InvalidArgumentError("\"keys\" must be an array of strings");
      for (const json& k : v) {
        if (!k.is_string()) return absl::InvalidArgumentError("\"keys\" must be an array of strings");
        req.keys.push_back(k.get<std::string>());
      }
      has_keys = true;
    } else if (field == "priority") {
      if (!v.is_number_integer() ||
          (v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX)) {
        return absl::InvalidArgumentError("\"priority\" must be an integer");
      }
      req.priority = v.get<int64_t>();
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown field \"", field, "\" in graph"));
    }
  }
  if (!doc.contains("tasks")) return absl::InvalidArgumentError("graph has no \"tasks\"");
  if (!has_keys) {
    absl::flat_hash_set<std::string> depended_on;
    for (const v1::TaskSpec& spec : req.tasks) {
      for (const v1::Value& arg : spec.args()) CollectDependencies(arg, &depended_on);
      for (const auto& kw : spec.kwargs()) CollectDependencies(kw.second, &depended_on);
      for (const std::string& dep : spec.extra_dependencies()) depended_on.insert(dep);
    }
    for (const v1::TaskSpec& spec : req.tasks) {
      if (!depended_on.contains(spec.key())) req.keys.push_back(spec.key());
    }
    std::sort(req.keys.begin(), req.keys.end());
  }
  return req;
}

namespace {

// A SAX pass that builds nothing and stops at the first key an object
// already has. (nlohmann's callback parser would do it in one pass, but it
// rescans a parent object each time a child ends: quadratic in the number
// of tasks.)
class DuplicateKeyFinder : public nlohmann::json_sax<json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    open_objects_.emplace_back();
    return true;
  }
  bool key(string_t& k) override {
    if (open_objects_.back().insert(k).second) return true;
    duplicate_ = k;
    return false;  // stops the pass
  }
  bool end_object() override {
    open_objects_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
  const std::optional<std::string>& duplicate() const { return duplicate_; }

 private:
  // Keys seen in each object still open, innermost last.
  std::vector<absl::flat_hash_set<std::string>> open_objects_;
  std::optional<std::string> duplicate_;
};

}  // namespace

absl::StatusOr<json> ParseJsonNoDuplicateKeys(std::string_view text,
                                              std::string_view syntax_prefix) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e400
    // e.what() names the byte position and what was expected there.
    return absl::InvalidArgumentError(
        absl::StrCat(absl::string_view(syntax_prefix.data(), syntax_prefix.size()), e.what()));
  }
  DuplicateKeyFinder finder;
  try {
    json::sax_parse(text.begin(), text.end(), &finder);
  } catch (const json::exception&) {
    // Parsed fine above; nothing to add.
  }
  if (finder.duplicate().has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the key \"", EscapeForError(*finder.duplicate(), 200),
        "\" appears twice in one JSON object (a task key may appear once in a graph)"));
  }
  return doc;
}

absl::StatusOr<GraphRequest> GraphFromJsonText(std::string_view text) {
  absl::StatusOr<json> doc = ParseJsonNoDuplicateKeys(text, "graph is not valid JSON: ");
  if (!doc.ok()) return doc.status();
  return GraphFromJson(*doc);
}

}  // namespace taskgrid
