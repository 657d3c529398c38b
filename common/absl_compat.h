#pragma once
// Debian 12's Abseil is built with ABSL_OPTION_USE_STD_STRING_VIEW=0, so
// absl::string_view is its own type and absl::StrCat, StrSplit, Strip*
// and absl::Status messages do not accept std::string_view. These convert
// at the boundary without copying.

#include <string_view>

#include "absl/strings/string_view.h"

namespace taskgrid {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view ToStd(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

}  // namespace taskgrid
