#!/usr/bin/env bash
# Bazel entry point of the Python client's pytest suite (tests/): finds the
# scheduler and worker binaries in the runfiles and runs Debian's Python.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
runfiles="${RUNFILES_DIR:-$0.runfiles}/taskgrid"
export TASKGRID_SCHEDULER_BIN="$runfiles/services/scheduler/taskgrid-scheduler"
export TASKGRID_WORKER_BIN="$runfiles/services/worker/taskgrid-worker"
export XDG_CACHE_HOME="${TEST_TMPDIR:-$(mktemp -d)}/cache"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider "$here/tests"
