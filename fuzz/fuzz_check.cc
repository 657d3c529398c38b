#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_targets.h"

namespace taskgrid::fuzz {

void FuzzCheck(bool ok, std::string_view what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz invariant broken: %.*s\n", static_cast<int>(what.size()),
               what.data());
  std::abort();
}

}  // namespace taskgrid::fuzz
