#pragma once
// Command-line flags with environment-variable equivalents: every flag
// --some-flag can also be set as TASKGRID_SOME_FLAG; the command line wins.
// Positional arguments are kept in order.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace taskgrid {

class Flags {
 public:
  // `known` lists flag names without dashes; `boolean` those that take no
  // value. Unknown flags are an error naming the flag.
  // Every program also accepts --log-format text|json (TASKGRID_LOG_FORMAT),
  // which Parse applies at once through SetLogFormat (common/logging.h).
  static absl::StatusOr<Flags> Parse(int argc, char** argv,
                                     const std::vector<std::string>& known,
                                     const std::vector<std::string>& boolean = {});

  std::string GetString(const std::string& name, const std::string& def) const;
  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t def) const;
  bool GetBool(const std::string& name) const;
  // Repeated flags (--plugin a --plugin b) in order.
  std::vector<std::string> GetAll(const std::string& name) const;
  bool Has(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

// "4GiB", "512MB", "1e9", "1000" -> bytes. Errors name the text.
absl::StatusOr<int64_t> ParseByteSize(std::string_view text);
// "GPU=1,MEMORY=2e9" -> {GPU: 1, MEMORY: 2e9}; negative or NaN is an error.
absl::StatusOr<std::map<std::string, double>> ParseResources(std::string_view text);
// The scheduler address: explicit, else TASKGRID_SCHEDULER_ADDRESS, else
// 127.0.0.1:8786.
std::string ResolveSchedulerAddress(const std::string& explicit_address);

}  // namespace taskgrid
