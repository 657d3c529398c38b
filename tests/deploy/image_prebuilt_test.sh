#!/usr/bin/env bash
# ctest image_prebuilt: the image of deploy/Containerfile with
# BINARIES=prebuilt, i.e. its runtime stage (same base, packages, user
# 10001, entrypoints) on the binaries CMake built, then the same run checks
# as `make test-image` (tests/deploy/image_common.sh): uid/gid 10001,
# libraries resolve, --help, Python modules, and scheduler, worker and
# gateway containers compute a job through the gateway.
#   usage: image_prebuilt_test.sh SCHEDULER WORKER GATEWAY CLI
#  1. stages a build context: the binaries (stripped) in bin/ and the Debian
#     packages owning their libraries (deploy/runtime-packages.sh);
#  2. a Debian 12 base by mmdebstrap (else debootstrap) --variant=minbase
#     with those packages
#     (and the runtime stage's ca-certificates, numpy, cloudpickle)
#     included, so that the runtime stage's apt step has nothing to do; kept
#     as the one base image of a private podman store in
#     $TASKGRID_IMAGE_CACHE/prebuilt (default /var/tmp/taskgrid-image-cache),
#     older bases (other package lists) are removed;
#  3. podman build; 4. the run checks.
# Removes its containers, its image, dangling layers and its temp dir on exit,
# also on failure. Exits 77 (ctest SKIP_RETURN_CODE) with a one-line reason
# only where containers cannot run here: not root, no overlay filesystem in
# the kernel, or no namespaces allowed. Missing tools are failures
# (scripts/setup.sh installs podman, runc and mmdebstrap).
set -euo pipefail

TEST_NAME=image_prebuilt
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/image_common.sh"
[ $# -eq 4 ] || die "usage: image_prebuilt_test.sh SCHEDULER WORKER GATEWAY CLI"

skip() { echo "$TEST_NAME: SKIPPED: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "not root: rootful podman and mmdebstrap need root"
if [ "${TASKGRID_IMAGE_STORAGE_DRIVER:-overlay}" = overlay ] && ! grep -qw overlay /proc/filesystems; then
  modprobe overlay 2>/dev/null || true
  grep -qw overlay /proc/filesystems ||
    skip "the kernel has no overlay filesystem (not in /proc/filesystems, modprobe overlay failed)"
fi
unshare --mount --pid --net --ipc --uts --fork true 2>/dev/null ||
  skip "cannot create mount/pid/net/ipc/uts namespaces (unshare failed): containers cannot run here"
missing=()
for tool in podman curl strip; do command -v "$tool" >/dev/null || missing+=("$tool"); done
command -v mmdebstrap >/dev/null || command -v debootstrap >/dev/null || missing+=(mmdebstrap)
[ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}: run scripts/setup.sh"

CACHE="${TASKGRID_IMAGE_CACHE:-/var/tmp/taskgrid-image-cache}/prebuilt"
IMAGE="localhost/taskgrid:prebuilt-$$"
mkdir -p "$CACHE"
TMP="$(mktemp -d /var/tmp/taskgrid-image-prebuilt.XXXXXX)"
podman_setup "$CACHE/storage" /run/taskgrid-image-prebuilt
cleanup() {
  cleanup_containers
  "${PODMAN[@]}" rmi -f "$IMAGE" >/dev/null 2>&1 || true
  "${PODMAN[@]}" image prune -f >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
step() { echo "$TEST_NAME: $1 ($((SECONDS - step_start)) s)"; step_start=$SECONDS; }
step_start=$SECONDS

# 1. The build context.
mkdir -p "$TMP/context/bin"
names=(taskgrid-scheduler taskgrid-worker taskgrid-gateway taskgrid)
bins=("$@")
for i in 0 1 2 3; do
  src="${bins[$i]}"
  [ -x "$src" ] || die "not an executable: $src (build the CMake targets first)"
  strip --strip-unneeded -o "$TMP/context/bin/${names[$i]}" "$src"
done
sh "$ROOT/deploy/runtime-packages.sh" "$TMP"/context/bin/* >"$TMP/context/runtime-packages"
step "staged ${names[*]} and $(wc -l <"$TMP/context/runtime-packages") runtime packages"

# 2. The base: the runtime stage's packages preinstalled.
include="ca-certificates,python3-numpy,python3-cloudpickle,$(paste -sd, "$TMP/context/runtime-packages")"
BASE="localhost/taskgrid-debian-runtime:12-$(echo "$include" | sha256sum | cut -c1-12)"
if ! "${PODMAN[@]}" image exists "$BASE"; then
  for old in $("${PODMAN[@]}" images --format '{{.Repository}}:{{.Tag}}' localhost/taskgrid-debian-runtime); do
    "${PODMAN[@]}" rmi -f "$old" >/dev/null 2>&1 || true
  done
  make_base "$BASE" "$TMP/base.tar" "$TMP/bootstrap.log" "$include"
  step "base $BASE made"
else
  step "base $BASE reused"
fi

# 3. The image: deploy/Containerfile's runtime stage on the staged binaries.
if ! "${PODMAN[@]}" build --pull=never --network host "${LIMITS[@]}" \
    -f "$ROOT/deploy/Containerfile" --build-arg BINARIES=prebuilt \
    --build-arg RUNTIME_IMAGE="$BASE" -t "$IMAGE" "$TMP/context" >"$TMP/build.log" 2>&1; then
  tail -30 "$TMP/build.log"
  die "FAIL podman build"
fi
if grep -q "^Get:" "$TMP/build.log"; then
  echo "$TEST_NAME: note: the runtime stage downloaded packages the base lacked"
fi
check "podman build (BINARIES=prebuilt), $("${PODMAN[@]}" image inspect -f '{{.Size}}' "$IMAGE") bytes" true
step "image $IMAGE built"

# 4. The run checks.
check_image "$IMAGE"
step "run checks done"
echo "$TEST_NAME: $passed passed"
