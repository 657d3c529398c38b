#!/usr/bin/env bash
# Checks deploy/ without a cluster:
#  1. renders deploy/k8s/base and every overlay with `kubectl kustomize`;
#  2. validates every rendered object against the Kubernetes OpenAPI schemas
#     (npm kubernetes-models, @kubernetes-models/prometheus-operator) and
#     checks the wiring against the C++ sources: flags and TASKGRID_* env vars
#     are real, container/probe/Service/monitor ports match the ports the
#     flags open, the ConfigMap's scheduler address reaches the scheduler's
#     gRPC port through its Service (deploy/validate/validate.mjs);
#  3. checks the Grafana dashboard queries only metrics the services export,
#     and the prod worker autoscaler's external metric is served by a
#     prometheus-adapter rule that reads a series the scheduler exports;
#  4. proves the checks can fail: renders deliberately broken variants of the
#     prod overlay and expects each to be rejected with the right message.
# Needs kubectl, node and deploy/validate/node_modules (scripts/setup.sh).
set -euo pipefail

# Resolve symlinks: under `bazel test` this script is a runfiles symlink into
# the source tree, whose deploy/validate/node_modules is not a Bazel input.
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
VALIDATE="$ROOT/deploy/validate"
for tool in kubectl node; do
  command -v "$tool" >/dev/null || { echo "validate_k8s: $tool not found (run make setup)"; exit 1; }
done
if [ ! -d "$VALIDATE/node_modules/kubernetes-models" ]; then
  echo "validate_k8s: $VALIDATE/node_modules missing: run scripts/setup.sh (make setup)"
  exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }

validate() {  # NAME RENDERED [validate.mjs options...]
  local name="$1" rendered="$2"
  shift 2
  if node "$VALIDATE/validate.mjs" --repo "$ROOT" "$@" "$rendered" >"$WORK/$name.log" 2>&1; then
    pass "$name"
  else
    sed 's/^/    /' "$WORK/$name.log"
    fail "$name"
  fi
}

# 1-2. Render and validate base and each overlay.
declare -A OPTIONS=(
  [base]=""
  [dev]="--require HorizontalPodAutoscaler,PodDisruptionBudget"
  [prod]="--require HorizontalPodAutoscaler,PodDisruptionBudget,ServiceMonitor,PodMonitor --require-worker-anti-affinity"
)
for dir in "$ROOT/deploy/k8s/base" "$ROOT"/deploy/k8s/overlays/*/; do
  name="$(basename "$dir")"
  if ! kubectl kustomize "$dir" >"$WORK/$name.yaml" 2>"$WORK/$name.err"; then
    sed 's/^/    /' "$WORK/$name.err"
    fail "render $name"
    continue
  fi
  pass "render $name"
  # shellcheck disable=SC2086  # options are words
  validate "validate $name" "$WORK/$name.yaml" ${OPTIONS[$name]:-}
done
for overlay in dev prod; do
  [ -f "$ROOT/deploy/k8s/overlays/$overlay/kustomization.yaml" ] || fail "overlay $overlay exists"
done

# 3. The dashboard file users import is the one the monitoring component ships.
if node "$VALIDATE/validate.mjs" --repo "$ROOT" --dashboard "$ROOT/deploy/grafana/taskgrid.json" >"$WORK/dash.log" 2>&1 &&
   cmp -s "$ROOT/deploy/grafana/taskgrid.json" "$ROOT/deploy/k8s/components/monitoring/dashboards/taskgrid.json"; then
  pass "grafana dashboard"
else
  sed 's/^/    /' "$WORK/dash.log"
  fail "grafana dashboard (exported metrics only, same file as the monitoring component's)"
fi

# 4. Broken variants must be rejected, each for its own reason.
PROD_REL="$(realpath --relative-to="$WORK" "$ROOT/deploy/k8s/overlays/prod")"
expect_rejected() {  # NAME EXPECTED-MESSAGE KUSTOMIZATION-BODY
  local name="$1" expected="$2" dir="$WORK/broken-$1"
  mkdir -p "$dir"
  printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../%s\n%s\n' \
    "$PROD_REL" "$3" >"$dir/kustomization.yaml"
  if ! kubectl kustomize "$dir" >"$dir/rendered.yaml" 2>"$dir/err"; then
    sed 's/^/    /' "$dir/err"
    fail "broken $name renders"
    return
  fi
  local rc=0
  node "$VALIDATE/validate.mjs" --repo "$ROOT" "$dir/rendered.yaml" >"$dir/log" 2>&1 || rc=$?
  if [ "$rc" -eq 1 ] && grep -qF -- "$expected" "$dir/log"; then
    pass "broken $name is rejected"
  else
    sed 's/^/    /' "$dir/log"
    fail "broken $name is rejected (exit $rc, expected a message containing: $expected)"
  fi
}
json_patch() {  # KIND NAME OP PATH VALUE
  printf 'patches:\n  - target: {kind: %s, name: %s}\n    patch: |-\n      - op: %s\n        path: %s\n        value: %s\n' "$@"
}
expect_rejected wrong-probe-port "readinessProbe checks gRPC port 8790" \
  "$(json_patch Deployment taskgrid-worker replace /spec/template/spec/containers/0/readinessProbe/grpc/port 8790)"
expect_rejected unknown-env "env TASKGRID_THREADS is not TASKGRID_<FLAG>" \
  "$(json_patch Deployment taskgrid-worker add /spec/template/spec/containers/0/env/- '{name: TASKGRID_THREADS, value: "4"}')"
expect_rejected unknown-flag "unknown flag --metric-port" \
  "$(json_patch Deployment taskgrid-scheduler replace /spec/template/spec/containers/0/args/2 --metric-port=9786)"
expect_rejected service-selector "Service/taskgrid-scheduler: selector" \
  "$(json_patch Service taskgrid-scheduler replace /spec/selector/app.kubernetes.io~1component schedular)"
expect_rejected service-target-port "targets metric, which" \
  "$(json_patch Service taskgrid-worker replace /spec/ports/1/targetPort metric)"
expect_rejected scheduler-address "Service taskgrid-scheduler has no port 8787" \
  "$(printf 'configMapGenerator:\n  - name: taskgrid-config\n    behavior: merge\n    literals:\n      - TASKGRID_SCHEDULER_ADDRESS=taskgrid-scheduler:8787\n')"
expect_rejected scrape-grpc-port "does not serve /metrics" \
  "$(json_patch PodMonitor taskgrid-worker replace /spec/podMetricsEndpoints/0/port grpc)"
expect_rejected schema "must be integer" \
  "$(json_patch Deployment taskgrid-gateway replace /spec/template/spec/containers/0/ports/0/containerPort '"8787"')"
expect_rejected memory-limit "exceeds the container memory limit" \
  "$(printf 'configMapGenerator:\n  - name: taskgrid-config\n    behavior: merge\n    literals:\n      - TASKGRID_MEMORY_LIMIT=64GiB\n')"
# The prod autoscaler's external metric must be one a prometheus-adapter rule
# provides, and the rule must read a series and label values the scheduler
# exports (variants of components/monitoring/prometheus-adapter/config.yaml).
expect_rejected hpa-metric "scales on external metric taskgrid_pending_tasks, which no prometheus-adapter rule provides" \
  "$(json_patch HorizontalPodAutoscaler taskgrid-worker replace /spec/metrics/0/external/metric/name taskgrid_pending_tasks)"
adapter_config_variant() {  # NAME SED-SCRIPT: broken-NAME/config.yaml
  mkdir -p "$WORK/broken-$1"
  sed "$2" "$ROOT/deploy/k8s/components/monitoring/prometheus-adapter/config.yaml" >"$WORK/broken-$1/config.yaml"
  printf 'configMapGenerator:\n  - name: taskgrid-prometheus-adapter\n    behavior: replace\n    files: [config.yaml]\n    options: {disableNameSuffixHash: true}\n'
}
expect_rejected adapter-series "seriesQuery selects taskgrid_scheduler_task_queue, which no service exports" \
  "$(adapter_config_variant adapter-series 's/taskgrid_scheduler_tasks/taskgrid_scheduler_task_queue/g')"
expect_rejected adapter-label-value "never sets the value running" \
  "$(adapter_config_variant adapter-label-value 's/queued|processing/queued|running/')"

echo "k8s manifests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
