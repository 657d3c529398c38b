#!/usr/bin/env bash
# Submits a JSON task graph to the taskgrid gateway over REST with curl,
# follows the job's Server-Sent Events until it is done, and prints one
# "KEY VALUE" line per wanted key.
#
#   clients/examples/curl.sh [GRAPH.json]
# Environment: TASKGRID_GATEWAY (default http://127.0.0.1:8787),
#              TASKGRID_TOKEN (bearer token, when the gateway has a token file).
set -euo pipefail
GATEWAY="${TASKGRID_GATEWAY:-http://127.0.0.1:8787}"
GRAPH="${1:-$(dirname "$0")/graph.json}"
AUTH=()
if [ -n "${TASKGRID_TOKEN:-}" ]; then AUTH=(-H "Authorization: Bearer ${TASKGRID_TOKEN}"); fi

created=$(curl -sS --fail-with-body "${AUTH[@]}" -H 'Content-Type: application/json' \
  --data-binary "@${GRAPH}" "${GATEWAY}/v1/jobs")
id=$(printf '%s' "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "job ${id}" >&2

# The event stream ends with an "end" event once every key is done.
curl -sS -N --fail-with-body "${AUTH[@]}" "${GATEWAY}/v1/jobs/${id}/events" |
  sed -n 's/^event: end$/job done/p' >&2

status=0
for key in $(printf '%s' "$created" | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["keys"]))'); do
  if value=$(curl -sS --fail-with-body "${AUTH[@]}" "${GATEWAY}/v1/jobs/${id}/results/${key}?format=json"); then
    echo "${key} ${value}"
  else
    echo "${key} ERROR ${value}"
    status=1
  fi
done
exit "$status"
