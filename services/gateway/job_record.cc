#include "services/gateway/job_record.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace taskgrid::gateway {

using json = nlohmann::json;

std::string EncodeJobRecord(const JobRecord& r) {
  json doc = {{"name", r.name},
              {"keys", r.keys},
              {"tasks", r.tasks_total},
              {"created_us", absl::ToUnixMicros(r.created)},
              {"ttl_s", absl::ToDoubleSeconds(r.ttl)}};
  return doc.dump();
}

absl::StatusOr<JobRecord> DecodeJobRecord(const std::string& id, const std::string& text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&id](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("job record ", id, ": ", what));
  };
  if (!doc.is_object()) return bad("not a JSON object");
  const json* keys = doc.contains("keys") ? &doc["keys"] : nullptr;
  if (keys == nullptr || !keys->is_array() || keys->empty()) return bad("no \"keys\" list");
  JobRecord r;
  r.id = id;
  for (const json& k : *keys) {
    if (!k.is_string()) return bad("a key is not a string");
    r.keys.push_back(k.get<std::string>());
  }
  if (!doc.value("name", json("")).is_string()) return bad("\"name\" is not a string");
  r.name = doc.value("name", "");
  if (!doc.value("tasks", json(0)).is_number_integer() ||
      !doc.value("created_us", json(0)).is_number_integer() ||
      !doc.value("ttl_s", json(0)).is_number()) {
    return bad("\"tasks\", \"created_us\" or \"ttl_s\" is not a number");
  }
  r.tasks_total = doc.value("tasks", 0);
  r.created = absl::FromUnixMicros(doc.value("created_us", int64_t{0}));
  r.ttl = absl::Seconds(doc.value("ttl_s", 0.0));
  return r;
}

}  // namespace taskgrid::gateway
