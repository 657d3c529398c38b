#!/usr/bin/env bash
# Installs what taskgrid needs on Debian 12, idempotently: Debian packages
# that are missing (skipped when present) and the prometheus-cpp source tree
# at third_party/prometheus-cpp (copied from ../shared/third_party when it is
# there, else downloaded from the pinned upstream release).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake make pkg-config git ccache
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev nlohmann-json3-dev libcpp-httplib-dev libgoogle-glog-dev
  libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev
  libcivetweb-dev civetweb libjemalloc-dev
  bazel-bootstrap
  python3 python3-grpcio python3-dask python3-distributed python3-numpy
  python3-dev pybind11-dev python3-cloudpickle python3-pandas python3-pytest
  python3-psutil python3-matplotlib
  chromium python3-grpc-tools curl openssl
  prometheus
  # the container image test (tests/deploy/image_prebuilt_test.sh): rootful
  # podman with runc (crun rejects hybrid cgroup hosts), mmdebstrap for a
  # base image without a registry
  podman runc mmdebstrap
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: system packages present"
fi

# prometheus-cpp v1.3.0 (not packaged by Debian).
PROM_DIR=third_party/prometheus-cpp
PROM_REPO="https://github.com/jupp0r/prometheus-cpp.git"
PROM_TAG="v1.3.0"
if [ ! -f "$PROM_DIR/CMakeLists.txt" ]; then
  if [ -d ../shared/third_party/prometheus-cpp ]; then
    echo "setup: prometheus-cpp from ../shared/third_party"
    mkdir -p "$PROM_DIR"
    cp -r ../shared/third_party/prometheus-cpp/. "$PROM_DIR/"
    chmod -R u+w "$PROM_DIR"
  else
    # Fallback for machines with internet and no ../shared beside the clone.
    echo "setup: fetching prometheus-cpp $PROM_TAG"
    git clone --depth 1 --branch "$PROM_TAG" "$PROM_REPO" "$PROM_DIR"
  fi
fi

# npm packages (pinned by each folder's package-lock.json):
# deploy/validate, the Kubernetes schema validator used by tests/deploy, and
# clients/examples/node, the Node.js Jobs client example. kubectl, which
# renders the manifests, comes with the machine image (Debian 12 ships none).
for dir in deploy/validate clients/examples/node; do
  [ -d "$dir/node_modules" ] && continue
  if ! command -v npm >/dev/null; then
    echo "setup: installing nodejs npm"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nodejs npm
  fi
  echo "setup: npm packages for $dir"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
done
command -v kubectl >/dev/null || echo "setup: warning: kubectl not found; tests/deploy cannot render the manifests"
echo "setup: done"
