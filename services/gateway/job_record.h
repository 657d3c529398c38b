#pragma once
// JobRecord: what the gateway stores about each job in its durable
// scheduler session (Client::SetSessionData), so that a restarted gateway
// (or a new pod of it) reloads its jobs: which keys each job owns, its
// name, task count, creation time and TTL. Key states are not stored: the
// scheduler replays them when the session is resumed.
//
// Thread-safety: plain data and pure functions.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace taskgrid::gateway {

struct JobRecord {
  std::string id;
  std::string name;
  std::vector<std::string> keys;
  int tasks_total = 0;
  absl::Time created;
  absl::Duration ttl;
};

// Session data names of job records start with this ("job/<id>").
inline constexpr char kJobRecordPrefix[] = "job/";

std::string EncodeJobRecord(const JobRecord& record);
// InvalidArgument naming what is wrong when `text` is not an encoded record.
absl::StatusOr<JobRecord> DecodeJobRecord(const std::string& id, const std::string& text);

}  // namespace taskgrid::gateway
