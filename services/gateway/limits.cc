#include "services/gateway/limits.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/token_store.h"

namespace taskgrid::gateway {

absl::Status CheckJsonDepth(absl::string_view json, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // skip the escaped character (\" must not end the string)
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          return absl::InvalidArgumentError(absl::StrCat("JSON nesting deeper than the limit of ",
                                                         max_depth, " levels (at byte ", i, ")"));
        }
        break;
      case ']':
      case '}':
        --depth;
        break;
      default:
        break;
    }
  }
  return absl::OkStatus();
}

bool StreamLimiter::TryAcquire(const std::string& client) {
  absl::MutexLock lock(&mu_);
  int& n = open_[client];
  if (n >= max_) return false;
  ++n;
  return true;
}

void StreamLimiter::Release(const std::string& client) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(client);
  if (it == open_.end()) return;
  if (--it->second <= 0) open_.erase(it);
}

int StreamLimiter::open(const std::string& client) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(client);
  return it == open_.end() ? 0 : it->second;
}

std::string ClientIdentity(absl::string_view authorization, absl::string_view peer_address) {
  absl::string_view token = BearerToken(authorization);
  if (!token.empty()) return absl::StrCat("token:", token);
  return absl::StrCat("peer:", peer_address);
}

std::string GrpcPeerHost(absl::string_view grpc_peer) {
  // Newer gRPC percent-encodes the IPv6 brackets.
  const std::string decoded = absl::StrReplaceAll(grpc_peer, {{"%5B", "["}, {"%5D", "]"}});
  absl::string_view peer = decoded;
  for (absl::string_view scheme : {"ipv4:", "ipv6:"}) {
    if (absl::StartsWith(peer, scheme)) peer.remove_prefix(scheme.size());
  }
  if (size_t colon = peer.rfind(':'); colon != absl::string_view::npos) {
    peer = peer.substr(0, colon);
  }
  if (peer.size() >= 2 && peer.front() == '[' && peer.back() == ']') {
    peer = peer.substr(1, peer.size() - 2);
  }
  return std::string(peer);
}

}  // namespace taskgrid::gateway
