#include "common/token_store.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace taskgrid {

absl::string_view BearerToken(absl::string_view authorization) {
  authorization = absl::StripAsciiWhitespace(authorization);
  constexpr absl::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !absl::StartsWithIgnoreCase(authorization, kScheme)) {
    return {};
  }
  return absl::StripLeadingAsciiWhitespace(authorization.substr(kScheme.size()));
}

absl::StatusOr<std::vector<std::string>> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read token file ", path));
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> tokens;
  for (absl::string_view line : absl::StrSplit(text.str(), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    tokens.emplace_back(line);
  }
  if (tokens.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("token file ", path, " has no token"));
  }
  return tokens;
}

absl::Status TokenStore::Reload() {
  if (path_.empty()) return absl::OkStatus();
  absl::StatusOr<std::vector<std::string>> read = ReadTokenFile(path_);
  if (!read.ok()) return read.status();
  absl::flat_hash_set<std::string> tokens(read->begin(), read->end());
  absl::MutexLock lock(&mu_);
  tokens_ = std::move(tokens);
  return absl::OkStatus();
}

bool TokenStore::Check(absl::string_view authorization) const {
  if (path_.empty()) return true;
  const absl::string_view token = BearerToken(authorization);
  if (token.empty()) return false;
  absl::MutexLock lock(&mu_);
  // A hash lookup leaks little timing about the token: the hash of the
  // presented token is compared, not its characters one by one.
  return tokens_.contains(token);
}

size_t TokenStore::size() const {
  absl::MutexLock lock(&mu_);
  return tokens_.size();
}

}  // namespace taskgrid
