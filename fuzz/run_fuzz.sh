#!/usr/bin/env bash
# Bounded libFuzzer run: run_fuzz.sh [--no-build] SECONDS [BUILD_DIR] [TARGET...]
#
# Builds the fuzz_* binaries with clang into BUILD_DIR (default build-fuzz/;
# a no-op when up to date; --no-build when the caller already built them,
# as ctest's fuzz_tree_build fixture does), then fuzzes each TARGET (default:
# all of them, one after the other) for SECONDS with a fixed seed, starting
# from its committed corpus fuzz/corpus/<target>/ (new inputs go to a
# scratch folder, never into the committed corpus). Exits non-zero on the
# first crash, leaving the input in BUILD_DIR/fuzz-artifacts/: fix the bug,
# then commit the input into the corpus as a regression test.
# JOBS (default 2) sets the build's parallelism.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build_first=1
if [ "${1:-}" = "--no-build" ]; then
  build_first=0
  shift
fi
seconds="${1:?usage: run_fuzz.sh [--no-build] SECONDS [BUILD_DIR] [TARGET...]}"
build="${2:-$root/build-fuzz}"
shift $(($# < 2 ? $# : 2))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(graph_json value scheduler_graph gateway_job)

if [ "$build_first" = 1 ]; then
  "$root/fuzz/build_fuzz_tree.sh" "$build" fuzz_all
fi

artifacts="$build/fuzz-artifacts"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$artifacts"
for t in "${targets[@]}"; do
  if [ ! -x "$build/fuzz/fuzz_$t" ]; then
    echo "run_fuzz: $build/fuzz/fuzz_$t missing (build it: fuzz/build_fuzz_tree.sh $build)" >&2
    exit 1
  fi
  mkdir -p "$scratch/$t"
  echo "run_fuzz: $t for ${seconds}s"
  if ! "$build/fuzz/fuzz_$t" -seed=1 -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$artifacts/$t-" "$scratch/$t" "$root/fuzz/corpus/$t" \
      >"$scratch/$t.log" 2>&1; then
    tail -n 60 "$scratch/$t.log" >&2
    echo "run_fuzz: $t crashed; the input is in $artifacts/ (replay: $build/fuzz/fuzz_$t FILE)" >&2
    exit 1
  fi
  grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$scratch/$t.log" || true
done
echo "run_fuzz: ${targets[*]} ran ${seconds}s each without a crash"
