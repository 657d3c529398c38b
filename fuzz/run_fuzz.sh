#!/usr/bin/env bash
# Bounded libFuzzer run of every fuzz target: run_fuzz.sh SECONDS [BUILD_DIR]
#
# Builds the fuzz_* binaries with clang into BUILD_DIR (default build-fuzz/;
# a no-op when up to date), then fuzzes each target for SECONDS with a fixed
# seed, starting from its committed corpus fuzz/corpus/<target>/ (new inputs
# go to a scratch folder, never into the committed corpus). Exits non-zero
# on the first crash, leaving the input in BUILD_DIR/fuzz-artifacts/: fix
# the bug, then commit the input into the corpus as a regression test.
# JOBS (default 2) sets the build's parallelism.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:?usage: run_fuzz.sh SECONDS [BUILD_DIR]}"
build="${2:-$root/build-fuzz}"
targets=(graph_json value scheduler_graph gateway_job)

if ! command -v clang++ >/dev/null; then
  echo "run_fuzz: clang++ missing (run make setup)" >&2
  exit 1
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTASKGRID_SANITIZE=fuzzer >/dev/null
fi
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
cmake --build "$build" -j"${JOBS:-2}" --target fuzz_all

artifacts="$build/fuzz-artifacts"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$artifacts"
for t in "${targets[@]}"; do
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
echo "run_fuzz: every target ran ${seconds}s without a crash"
