#!/usr/bin/env bash
# `make demo`: start a local cluster (scheduler + 2 workers) with
# `taskgrid up`, run example jobs against it, show the results and where the
# metrics are, then stop everything.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_DIR:-build}
TG="$BUILD/cli/taskgrid"
DEMO="$BUILD/clients/cpp/taskgrid-demo"

log=$(mktemp -t taskgrid-demo-XXXXXX.log)
"$TG" up --workers 2 --nthreads 1 --port 0 --metrics-port 0 --gateway >"$log" 2>&1 &
up_pid=$!
cleanup() {
  if kill -0 "$up_pid" 2>/dev/null; then
    kill -INT "$up_pid"
    wait "$up_pid" || true
  fi
  rm -f "$log"
}
trap cleanup EXIT

for _ in $(seq 1 300); do
  grep -q "Press Ctrl-C" "$log" && break
  if ! kill -0 "$up_pid" 2>/dev/null; then
    echo "demo: the local cluster failed to start:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
grep -q "Press Ctrl-C" "$log" || { echo "demo: cluster start timed out" >&2; cat "$log" >&2; exit 1; }

address=$(sed -n 's/^export TASKGRID_SCHEDULER_ADDRESS=//p' "$log")
export TASKGRID_SCHEDULER_ADDRESS="$address"
echo "== taskgrid up --workers 2"
grep -v "Press Ctrl-C" "$log"
echo

echo "== 1. a JSON graph with the CLI: taskgrid submit clients/examples/graph.json"
"$TG" submit clients/examples/graph.json
echo

echo "== 2. the C++ client: tree reduction and a worker-to-worker transfer"
"$DEMO" "$address"
echo

echo "== 3. taskgrid status"
"$TG" status
echo

metrics=$(grep -m1 "^  scheduler" "$log" | grep -o "http://[^ ]*/metrics" || true)
gateway=$(grep -m1 "^  gateway" "$log" | grep -o "http://[0-9.:]*" || true)
echo "== where to look"
echo "  scheduler metrics: $metrics (workers' metrics: see the table above)"
if [ -n "$metrics" ]; then
  curl -fsS "$metrics" | grep -E '^taskgrid_scheduler_(tasks|workers|transitions_total)' | sed 's/^/    /' || true
fi
echo "  gateway:           $gateway (/healthz, /readyz)"
echo
echo "stopping the cluster"
