#!/usr/bin/env bash
# Builds the clang sanitizer tree: build_fuzz_tree.sh [BUILD_DIR] [TARGET...]
#
# BUILD_DIR (default build-fuzz/) is configured with clang and
# -DTASKGRID_SANITIZE=fuzzer when it has no CMakeCache.txt yet. TARGETs
# default to fuzz_all (the libFuzzer binaries) and sanitized_unit_tests (the
# unit tests CI runs under ASan+UBSan, fuzz/CMakeLists.txt). A no-op when up
# to date. JOBS (default 2) sets the build's parallelism.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-fuzz}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_all sanitized_unit_tests)

if ! command -v clang++ >/dev/null; then
  echo "build_fuzz_tree: clang++ missing (run make setup)" >&2
  exit 1
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTASKGRID_SANITIZE=fuzzer >/dev/null
else
  # Regenerate first: one make run over a tree configured before a target
  # was added would not know the target ("No rule to make target").
  cmake -S "$root" -B "$build" >/dev/null
fi
# ccache keyed on paths relative to the checkout, as in the Makefile.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
cmake --build "$build" -j"${JOBS:-2}" --target "${targets[@]}"
