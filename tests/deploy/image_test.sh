#!/usr/bin/env bash
# Builds deploy/Containerfile and runs the image (`make test-image`; too slow
# for `make test`: the first run compiles taskgrid inside the build stage).
#  1. a Debian 12 base image made with mmdebstrap or debootstrap (no registry needed) from
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
# and mmdebstrap (or debootstrap): apt-get install podman runc mmdebstrap.
# Removes every container it starts, also on failure. The run checks (3, 4)
# are shared with the ctest image_prebuilt: tests/deploy/image_common.sh.
set -euo pipefail

TEST_NAME=image_test
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/image_common.sh"
CACHE="${TASKGRID_IMAGE_CACHE:-/var/tmp/taskgrid-image-cache}"
BASE=localhost/taskgrid-debian:12
IMAGE=localhost/taskgrid:test

[ "$(id -u)" -eq 0 ] || die "needs root (rootful podman)"
missing=()
for tool in podman curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
command -v mmdebstrap >/dev/null || command -v debootstrap >/dev/null || missing+=(mmdebstrap)
[ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}: apt-get install podman runc mmdebstrap curl"

podman_setup "$CACHE/storage" /run/taskgrid-image-test
trap cleanup_containers EXIT

# 1. The base image.
mkdir -p "$CACHE"
if ! "${PODMAN[@]}" image exists "$BASE"; then
  make_base "$BASE" "$CACHE/base.tar" "$CACHE/bootstrap.log"
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

# 3, 4. The image's filesystem and user; a cluster of its containers.
check_image "$IMAGE"
echo "image_test: $passed passed"
