#!/usr/bin/env bash
# The cluster topology of deploy/k8s, for real: scheduler, gateway and three
# workers each in its own Linux network namespace ("pod") with its own
# address from the documentation range 198.51.100.0/24, joined by a bridge
# this test creates. Every process is configured only through the flags and
# TASKGRID_* variables the manifests set, and addresses the others by those
# IPs, so nothing may depend on localhost. Through the gateway it runs a job
# whose data crosses namespaces, kills a worker pod mid-job, and scales the
# workers down and up. Everything it creates (namespaces, links, processes)
# is removed on exit, also on failure.
#
# usage: netns_topology_test.sh SCHEDULER_BIN WORKER_BIN GATEWAY_BIN
# Needs root (CAP_NET_ADMIN) and iproute2; exits 77 (skipped, with the
# reason) where network namespaces cannot be created.
set -euo pipefail

SCHEDULER_BIN=$(readlink -f "$1"); WORKER_BIN=$(readlink -f "$2"); GATEWAY_BIN=$(readlink -f "$3")
ID=$$
BRIDGE="tgbr$ID"
NET=198.51.100
WORK=$(mktemp -d "${TEST_TMPDIR:-/tmp}/netns-topology.XXXXXX")
PIDS=()
NAMESPACES=()
DEADLINE=$((SECONDS + ${TOPOLOGY_TIMEOUT_SECONDS:-90}))

fail() { echo "FAIL: $*" >&2; exit 1; }

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  ip link del "$BRIDGE" 2>/dev/null || true
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    for f in "$WORK"/*.err; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

command -v ip >/dev/null || { echo "SKIP: iproute2 (ip) is not installed" >&2; exit 77; }
if ! ip netns add "tg$ID-probe" 2>"$WORK/probe.err"; then
  echo "SKIP: cannot create network namespaces here: $(cat "$WORK/probe.err")" >&2
  exit 77
fi
ip netns del "tg$ID-probe"

ip link add "$BRIDGE" type bridge
ip addr add "$NET.1/24" dev "$BRIDGE"
ip link set "$BRIDGE" up

# pod NAME OCTET: a namespace with one veth on the bridge at $NET.OCTET.
pod() {
  local ns="tg$ID-$1" host="tg${ID}h$2" peer="tg${ID}p$2"
  ip netns add "$ns"
  NAMESPACES+=("$ns")
  ip link add "$host" type veth peer name "$peer"
  ip link set "$host" master "$BRIDGE" up
  ip link set "$peer" netns "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "$peer" name eth0
  ip -n "$ns" addr add "$NET.$2/24" dev eth0
  ip -n "$ns" link set eth0 up
}

# run POD NAME ENV... -- ARGV...: starts a process inside a pod.
run() {
  local ns="tg$ID-$1" name=$2; shift 2
  local env=()
  while [ "$1" != "--" ]; do env+=("$1"); shift; done
  shift
  ip netns exec "$ns" env -i PATH=/usr/bin:/bin "${env[@]}" "$@" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  eval "PID_$name=$!"
}

# wait_for DESCRIPTION COMMAND...: retries until it succeeds or time runs out.
wait_for() {
  local what=$1; shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$DEADLINE" ] || fail "timed out waiting for $what"
    sleep 0.2
  done
}

SCHED=$NET.10 GW=$NET.11
pod scheduler 10
pod gateway 11
for i in 1 2 3 4; do pod "worker$i" $((20 + i)); done

# Settings as deploy/k8s/base sets them (args + ConfigMap/env).
run scheduler scheduler TASKGRID_WORKER_TIMEOUT=30 -- \
  "$SCHEDULER_BIN" --host=0.0.0.0 --port=8786 --metrics-port=9786
start_worker() {
  run "worker$1" "worker$1" TASKGRID_HOST="$NET.$((20 + $1))" TASKGRID_NAME="worker$1" \
    TASKGRID_SCHEDULER_ADDRESS="$SCHED:8786" TASKGRID_NTHREADS=1 TASKGRID_MEMORY_LIMIT=1GiB -- \
    "$WORKER_BIN" --port=8789 --metrics-port=9789 --local-directory="$WORK/worker$1-data"
}
for i in 1 2 3; do start_worker "$i"; done
run gateway gateway TASKGRID_SCHEDULER_ADDRESS="$SCHED:8786" -- \
  "$GATEWAY_BIN" --http-port=8787 --grpc-port=8788

API="http://$GW:8787"
workers_connected() {
  [ "$(curl -sf "$API/v1/cluster" | /usr/bin/python3 -c \
      'import json,sys; print(len(json.load(sys.stdin)["workers"]))')" = "$1" ]
}
wait_for "the gateway and 3 workers" workers_connected 3

# Every worker registered under its pod IP, never a loopback address.
curl -sf "$API/v1/cluster" | /usr/bin/python3 -c '
import json, sys
addrs = sorted(w["address"] for w in json.load(sys.stdin)["workers"])
want = ["198.51.100.21:8789", "198.51.100.22:8789", "198.51.100.23:8789"]
assert addrs == want, addrs
' || fail "workers registered with unexpected addresses"

# job FILE: submits the graph in FILE, prints the job id.
job() {
  curl -sf -X POST -H 'Content-Type: application/json' --data @"$1" "$API/v1/jobs" |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
job_finished() { curl -sf "$API/v1/jobs/$1" | grep -q '"state":"finished"'; }

# 1. Data crosses pods: arrays made on worker1 and worker2 are added on one of them.
cat >"$WORK/fan_in.json" <<JSON
{"tasks": {
  "a": {"fn": "arange", "args": [200000], "workers": ["$NET.21:8789"]},
  "b": {"fn": "arange", "args": [200000], "workers": ["$NET.22:8789"]},
  "c": {"fn": "array_add", "args": [{"ref": "a"}, {"ref": "b"}]},
  "total": {"fn": "array_sum", "args": [{"ref": "c"}]}},
 "keys": ["total"]}
JSON
ID1=$(job "$WORK/fan_in.json")
wait_for "the fan-in job" job_finished "$ID1"
[ "$(curl -sf "$API/v1/jobs/$ID1/results/total")" = "39999800000" ] ||
  fail "fan-in total is $(curl -s "$API/v1/jobs/$ID1/results/total")"
incoming=0
for i in 1 2 3; do
  n=$(curl -sf "http://$NET.$((20 + i)):9789/metrics" |
      awk '/^taskgrid_worker_transfer_bytes_total\{direction="incoming"\}/ {print int($2)}')
  incoming=$((incoming + ${n:-0}))
done
[ "$incoming" -ge 1600000 ] || fail "only $incoming bytes crossed between worker pods"

# 2. A worker pod dies mid-job; the job still finishes on the others.
/usr/bin/python3 - "$WORK/sleepy.json" <<'PY'
import json, sys
tasks = {"s%d" % i: {"fn": "sleep", "args": [0.3, i]} for i in range(12)}
tasks["sum"] = {"fn": "sum", "args": [[{"ref": k} for k in tasks]]}
json.dump({"tasks": tasks, "keys": ["sum"]}, open(sys.argv[1], "w"))
PY
ID2=$(job "$WORK/sleepy.json")
sleep 0.5
kill -9 "$PID_worker3"
wait_for "the job after a worker was killed" job_finished "$ID2"
[ "$(curl -sf "$API/v1/jobs/$ID2/results/sum")" = "66" ] || fail "sum after worker loss is wrong"
wait_for "the scheduler to drop the killed worker" workers_connected 2

# 3. Scale up (a new worker pod joins and gets work) and down again.
start_worker 4
wait_for "worker4 to join" workers_connected 3
ID3=$(job "$WORK/sleepy.json")
wait_for "the job on the scaled-up cluster" job_finished "$ID3"
kill -TERM "$PID_worker4"
wait_for "worker4 to leave" workers_connected 2

echo "PASS: 5 pods on $NET.0/24, data crossed namespaces ($incoming bytes), survived a killed worker, scaled 2->3->2"
