#pragma once
// Hash tables keyed by std::string_view, hashed with Abseil's string hash.
//
// Debian's Abseil has its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW
// is 0), so a plain absl::flat_hash_map<std::string_view, V> hashes its keys
// with std::hash, which costs several times more per key (it was ~8% of the
// scheduler's instructions per task in bench/scheduler_state_bench.cc).

#include <cstddef>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

namespace taskgrid {

struct StringViewHash {
  size_t operator()(std::string_view s) const {
    return absl::Hash<absl::string_view>{}(absl::string_view(s.data(), s.size()));
  }
};

template <typename V>
using StringViewMap = absl::flat_hash_map<std::string_view, V, StringViewHash>;
using StringViewSet = absl::flat_hash_set<std::string_view, StringViewHash>;

}  // namespace taskgrid
