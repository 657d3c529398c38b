# Shared by tests/deploy/image_test.sh (make test-image: full Containerfile
# build) and tests/deploy/image_prebuilt_test.sh (ctest image_prebuilt: the
# runtime stage on CMake-built binaries). Sourced, not run. Provides:
#   podman_setup STORE RUNROOT  sandbox-friendly podman in a private store
#   make_base TAG SCRATCH LOG [PACKAGES]  Debian 12 minbase image (mmdebstrap)
#   check_image IMAGE           the run checks on a built image
# and die/check, ROOT, PY and the containers' cleanup (cleanup_containers).
# The caller sets TEST_NAME (message prefix) and `set -euo pipefail`.

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
PY=/usr/bin/python3
CONTAINERS=()
passed=0

die() { echo "$TEST_NAME: $*" >&2; exit 1; }
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

# Sandbox-friendly podman: a private store, cgroupfs, file events; runc when
# installed (crun refuses hybrid cgroup v1/v2 hosts); the build's and the
# containers' open-file and process limits within this shell's hard limits
# (podman's defaults exceed them where CAP_SYS_RESOURCE is missing).
podman_setup() {  # STORE RUNROOT
  PODMAN=(podman --root "$1" --runroot "$2"
          --storage-driver "${TASKGRID_IMAGE_STORAGE_DRIVER:-overlay}"
          --cgroup-manager cgroupfs --events-backend file)
  if command -v runc >/dev/null; then PODMAN+=(--runtime runc); fi
  LIMITS=()
  _limit nofile "$(ulimit -Hn)" 1048576
  _limit nproc "$(ulimit -Hu)" 32768
}
_limit() {  # NAME HARD-LIMIT CAP
  local n="$2"
  [ "$n" = unlimited ] && n="$3"
  [ "$n" -gt "$3" ] && n="$3"
  LIMITS+=(--ulimit "$1=$n:$n")
}

cleanup_containers() {
  local c
  for c in "${CONTAINERS[@]}"; do
    "${PODMAN[@]}" rm -f -t 5 "$c" >/dev/null 2>&1 || true
  done
  CONTAINERS=()
}

# The host's Debian mirror (its apt sources), never a name written here.
host_mirror() {
  local mirror
  mirror="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}' | grep -v security | head -1 || true)"
  [ -n "$mirror" ] || mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" && $2 !~ /security/ && $2 !~ /^\[/ {print $2; exit}')"
  [ -n "$mirror" ] || die "no Debian mirror in the host's apt sources"
  echo "$mirror"
}

# TAG SCRATCH LOG [PACKAGES]: a Debian 12 (bookworm) minbase with PACKAGES
# (comma-separated) and their dependencies preinstalled and the host's apt
# sources, imported as TAG. mmdebstrap when installed (apt downloads in
# parallel and dpkg runs with unsafe I/O: about half debootstrap's time),
# else debootstrap. SCRATCH (a tarball or directory path) is removed.
make_base() {
  local tag="$1" scratch="$2" log="$3" include="${4:-}" mirror f sources=()
  rm -rf "$scratch"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && grep -q '^[^#]' "$f" && sources+=("$f")
  done
  if command -v mmdebstrap >/dev/null && [ ${#sources[@]} -gt 0 ]; then
    echo "$TEST_NAME: mmdebstrap --variant=minbase bookworm from ${sources[*]}${include:+ (+ $include)}"
    # Merged /usr by mmdebstrap's hook, as debootstrap does it, rather than
    # by the usrmerge package (which pulls in perl).
    local hooks=()
    [ -d /usr/share/mmdebstrap/hooks/merged-usr ] && hooks=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
    mmdebstrap --mode=root --variant=minbase "${hooks[@]}" ${include:+--include="$include"} bookworm \
        "$scratch" "${sources[@]}" >"$log" 2>&1 ||
      { tail -20 "$log"; rm -f "$scratch"; die "mmdebstrap failed (log: $log)"; }
    "${PODMAN[@]}" import -q --change 'CMD ["/bin/bash"]' "$scratch" "$tag" >/dev/null
    rm -f "$scratch"
    return
  fi
  mirror="$(host_mirror)"
  echo "$TEST_NAME: debootstrap --variant=minbase bookworm from $mirror${include:+ (+ $include)}"
  debootstrap --variant=minbase ${include:+--include="$include"} bookworm "$scratch" "$mirror" >"$log" 2>&1 ||
    { tail -20 "$log"; rm -rf "$scratch"; die "debootstrap failed (log: $log)"; }
  # apt inside the build uses the host's sources (updates, security too).
  rm -f "$scratch/etc/apt/sources.list"
  for f in "${sources[@]}"; do cp "$f" "$scratch$f"; done
  chroot "$scratch" apt-get clean
  rm -rf "$scratch"/var/lib/apt/lists/* "$scratch"/var/cache/apt/*.bin
  tar -C "$scratch" -c . | "${PODMAN[@]}" import -q --change 'CMD ["/bin/bash"]' - "$tag" >/dev/null
  rm -rf "$scratch"
}

# IMAGE: the image's filesystem and user, then scheduler, worker and gateway
# containers from it (host network, read-only root, configured through the
# TASKGRID_* variables the manifests set) compute a job through the gateway.
check_image() {
  local image="$1"
  run() { "${PODMAN[@]}" run --rm --network none "${LIMITS[@]}" "$image" "$@"; }
  check "runs as uid/gid 10001" test "$(run id -u):$(run id -g)" = "10001:10001"
  check "shared libraries resolve" run sh -c \
    'for b in /usr/local/bin/*; do ldd "$b" >/dev/null || exit 1; done; ! ldd /usr/local/bin/* | grep "not found"'
  prints_usage() { run "$1" --help 2>&1 | grep -qi usage; }
  local b
  for b in taskgrid-scheduler taskgrid-worker taskgrid-gateway taskgrid; do
    check "$b --help" prints_usage "$b"
  done
  check "python runtime modules" run python3 -c 'import numpy, cloudpickle'

  local ports
  ports=($("$PY" -c '
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))'))
  local sched_port=${ports[0]} sched_metrics=${ports[1]} worker_port=${ports[2]}
  local worker_metrics=${ports[3]} http_port=${ports[4]} gw_grpc=${ports[5]}
  start_container() {  # NAME ARGS...: detached, host network, read-only root
    local name="taskgrid-$TEST_NAME-$$-$1"
    shift
    CONTAINERS+=("$name")
    "${PODMAN[@]}" run -d --name "$name" --network host --read-only "${LIMITS[@]}" \
      -e TASKGRID_SCHEDULER_ADDRESS="127.0.0.1:$sched_port" -e TASKGRID_HOST=127.0.0.1 "$@" >/dev/null
  }
  start_container scheduler "$image" taskgrid-scheduler --port="$sched_port" --metrics-port="$sched_metrics"
  start_container worker --tmpfs /var/lib/taskgrid/worker:mode=1777 -e TASKGRID_NAME=image-worker \
    -e TASKGRID_NTHREADS=2 "$image" taskgrid-worker --port="$worker_port" --metrics-port="$worker_metrics" \
    --local-directory=/var/lib/taskgrid/worker
  start_container gateway "$image" taskgrid-gateway --http-port="$http_port" --grpc-port="$gw_grpc"

  wait_for() {  # WHAT URL PATTERN: polls for 60 s
    local c
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
  local c pid
  for c in "${CONTAINERS[@]}"; do
    pid="$("${PODMAN[@]}" inspect -f '{{.State.Pid}}' "$c")"
    check "${c##*-} process runs as uid 10001" test "$(stat -c %u "/proc/$pid")" = 10001
  done
  check "job through the gateway" "$PY" - "http://127.0.0.1:$http_port" <<'PYEOF'
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
PYEOF
  wait_for "worker metrics count the tasks" "http://127.0.0.1:$worker_metrics/metrics" '^taskgrid_worker_tasks_completed_total 2$'
}
