#!/usr/bin/env bash
# Builds deploy/Containerfile and runs the image (`make test-image`; too slow
# for `make test`: the first run compiles taskgrid inside the build stage).
#  1. a Debian 12 base image made with debootstrap (no registry needed) from
#     the host's apt sources, imported once into a private podman store under
#     $TASKGRID_IMAGE_CACHE (default /var/tmp/taskgrid-image-cache), which
#     also keeps the build's layer cache;
#  2. `podman build` of deploy/Containerfile with BUILD_IMAGE/RUNTIME_IMAGE set
#     to that base (JOBS=$TASKGRID_IMAGE_JOBS compile jobs, default 1);
#  3. checks on the image: it runs as uid/gid 10001, every binary's shared
#     libraries resolve, each binary answers --help, Python has numpy and
#     cloudpickle for the worker;
#  4. a cluster of three containers from the image (scheduler, worker,
#     gateway; host network, read-only root filesystem, configured through
#     the TASKGRID_* variables the manifests set), whose processes run as uid
#     10001, computes a job submitted through the gateway's REST API.
# Needs root, podman (with runc where crun cannot run on this host's cgroups)
# and debootstrap: apt-get install podman runc debootstrap.
# Removes every container it starts, also on failure.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
CACHE="${TASKGRID_IMAGE_CACHE:-/var/tmp/taskgrid-image-cache}"
BASE=localhost/taskgrid-debian:12
IMAGE=localhost/taskgrid:test
PY=/usr/bin/python3

die() { echo "image_test: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (rootful podman)"
missing=()
for tool in podman debootstrap curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
[ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}: apt-get install podman runc debootstrap curl"

# Sandbox-friendly podman: a private store, cgroupfs, file events; runc when
# installed (crun refuses hybrid cgroup v1/v2 hosts); the build's and the
# containers' open-file and process limits within this shell's hard limits
# (podman's defaults exceed them where CAP_SYS_RESOURCE is missing).
PODMAN=(podman --root "$CACHE/storage" --runroot /run/taskgrid-image-test
        --storage-driver "${TASKGRID_IMAGE_STORAGE_DRIVER:-overlay}"
        --cgroup-manager cgroupfs --events-backend file)
command -v runc >/dev/null && PODMAN+=(--runtime runc)
LIMITS=()
limit() {  # NAME HARD-LIMIT CAP
  local n="$2"
  [ "$n" = unlimited ] && n="$3"
  [ "$n" -gt "$3" ] && n="$3"
  LIMITS+=(--ulimit "$1=$n:$n")
}
limit nofile "$(ulimit -Hn)" 1048576
limit nproc "$(ulimit -Hu)" 32768

CONTAINERS=()
cleanup() {
  for c in "${CONTAINERS[@]}"; do
    "${PODMAN[@]}" rm -f -t 5 "$c" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT
passed=0
check() {  # NAME COMMAND...: a named check that must succeed
  local name="$1"
  shift
  if "$@"; then
    echo "PASS $name"
    passed=$((passed + 1))
  else
    die "FAIL $name"
  fi
}

# 1. The base image.
mkdir -p "$CACHE"
if ! "${PODMAN[@]}" image exists "$BASE"; then
  # The host's Debian mirror (its apt sources), never a name written here.
  mirror="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}' | grep -v security | head -1 || true)"
  [ -n "$mirror" ] || mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" && $2 !~ /security/ && $2 !~ /^\[/ {print $2; exit}')"
  [ -n "$mirror" ] || die "no Debian mirror in the host's apt sources"
  rootfs="$CACHE/rootfs.tmp"
  rm -rf "$rootfs"
  echo "image_test: debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -20 "$CACHE/debootstrap.log"; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
  # apt inside the build uses the host's sources (updates, security too).
  rm -f "$rootfs/etc/apt/sources.list"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [ -s "$f" ] && cp "$f" "$rootfs$f"
  done
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  tar -C "$rootfs" -c . | "${PODMAN[@]}" import -q --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  rm -rf "$rootfs"
fi
echo "image_test: base $BASE: $("${PODMAN[@]}" run --rm "${LIMITS[@]}" "$BASE" cat /etc/debian_version)"

# 2. The image.
echo "image_test: building $IMAGE (log: $CACHE/build.log)"
start=$SECONDS
if ! nice -n 10 "${PODMAN[@]}" build --pull=never --network host "${LIMITS[@]}" \
    -f "$ROOT/deploy/Containerfile" --ignorefile "$ROOT/deploy/Containerfile.dockerignore" \
    --build-arg BUILD_IMAGE="$BASE" --build-arg RUNTIME_IMAGE="$BASE" \
    --build-arg JOBS="${TASKGRID_IMAGE_JOBS:-1}" -t "$IMAGE" "$ROOT" >"$CACHE/build.log" 2>&1; then
  tail -30 "$CACHE/build.log"
  die "FAIL podman build (log: $CACHE/build.log)"
fi
echo "PASS podman build ($((SECONDS - start)) s, $("${PODMAN[@]}" image inspect -f '{{.Size}}' "$IMAGE") bytes)"
passed=$((passed + 1))

# 3. The image's filesystem and user.
run() { "${PODMAN[@]}" run --rm --network none "${LIMITS[@]}" "$IMAGE" "$@"; }
check "runs as uid/gid 10001" test "$(run id -u):$(run id -g)" = "10001:10001"
check "shared libraries resolve" run sh -c \
  'for b in /usr/local/bin/*; do ldd "$b" >/dev/null || exit 1; done; ! ldd /usr/local/bin/* | grep "not found"'
prints_usage() { run "$1" --help 2>&1 | grep -qi usage; }
for b in taskgrid-scheduler taskgrid-worker taskgrid-gateway taskgrid; do
  check "$b --help" prints_usage "$b"
done
check "python runtime modules" run python3 -c 'import numpy, cloudpickle'

# 4. Scheduler, worker and gateway containers compute a job.
ports=($("$PY" -c '
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))'))
sched_port=${ports[0]} sched_metrics=${ports[1]} worker_port=${ports[2]}
worker_metrics=${ports[3]} http_port=${ports[4]} gw_grpc=${ports[5]}
start_container() {  # NAME ARGS...: detached, host network, read-only root
  local name="taskgrid-image-test-$$-$1"
  shift
  CONTAINERS+=("$name")
  "${PODMAN[@]}" run -d --name "$name" --network host --read-only "${LIMITS[@]}" \
    -e TASKGRID_SCHEDULER_ADDRESS="127.0.0.1:$sched_port" -e TASKGRID_HOST=127.0.0.1 "$@" >/dev/null
}
start_container scheduler "$IMAGE" taskgrid-scheduler --port="$sched_port" --metrics-port="$sched_metrics"
start_container worker --tmpfs /var/lib/taskgrid/worker:mode=1777 -e TASKGRID_NAME=image-worker \
  -e TASKGRID_NTHREADS=2 "$IMAGE" taskgrid-worker --port="$worker_port" --metrics-port="$worker_metrics" \
  --local-directory=/var/lib/taskgrid/worker
start_container gateway "$IMAGE" taskgrid-gateway --http-port="$http_port" --grpc-port="$gw_grpc"

wait_for() {  # WHAT URL PATTERN: polls for 60 s
  for _ in $(seq 120); do
    if curl -fsS "$2" 2>/dev/null | grep -q "$3"; then
      echo "PASS $1"
      passed=$((passed + 1))
      return 0
    fi
    sleep 0.5
  done
  for c in "${CONTAINERS[@]}"; do echo "--- $c"; "${PODMAN[@]}" logs "$c" 2>&1 | tail -10; done
  die "FAIL $1: $2 never matched $3"
}
wait_for "worker registered" "http://127.0.0.1:$sched_metrics/metrics" '^taskgrid_scheduler_workers 1$'
wait_for "gateway ready" "http://127.0.0.1:$http_port/readyz" .
for c in "${CONTAINERS[@]}"; do
  pid="$("${PODMAN[@]}" inspect -f '{{.State.Pid}}' "$c")"
  check "${c##*-} process runs as uid 10001" test "$(stat -c %u "/proc/$pid")" = 10001
done
check "job through the gateway" "$PY" - "http://127.0.0.1:$http_port" <<'EOF'
import json, sys, time, urllib.request
base = sys.argv[1]
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())
job = call("POST", "/v1/jobs", {"tasks": {"a": {"fn": "inc", "args": [1]},
                                         "b": {"fn": "add", "args": [{"ref": "a"}, 40]}},
                                "keys": ["b"]})
for _ in range(120):
    status = call("GET", f"/v1/jobs/{job['id']}")
    if status["keys"]["b"]["state"] in ("memory", "erred"):
        break
    time.sleep(0.5)
result = call("GET", f"/v1/jobs/{job['id']}/results/b")
print(f"job {job['id']}: b = {result} on {status['keys']['b'].get('worker')}")
sys.exit(0 if result == 42 else 1)
EOF
wait_for "worker metrics count the tasks" "http://127.0.0.1:$worker_metrics/metrics" '^taskgrid_worker_tasks_completed_total 2$'
echo "image_test: $passed passed"
