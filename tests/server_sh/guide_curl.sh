#!/usr/bin/env bash
# Runs the feature guide's curl examples (../shared/seed/FEATURES.md) verbatim against the built
# vecstore-server, only the port changed (a free one instead of 8080), and checks the response shapes
# with jq. Namespace creation runs against a namespace-mode server (the guide's command); the /v1
# examples against a single-store server, which serves /v1/... directly as the guide writes them.
set -euo pipefail
BIN=${1:-target/release/vecstore-server}
WORK=$(mktemp -d)
trap 'kill $NS_PID $ST_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

start() { # start <outfile> <args...>; prints the base URL
  local out=$1; shift
  "$BIN" "$@" --http-port 0 > "$out" 2> "$out.err" &
  echo $! > "$out.pid"
  for _ in $(seq 1 200); do
    if grep -q listening "$out"; then sed -n 's/.*listening on //p' "$out"; return; fi
    sleep 0.05
  done
  echo "server did not start: $(cat "$out.err")" >&2; exit 1
}

NS_URL=$(start "$WORK/ns.out" --namespaces --namespace-root "$WORK/namespaces"); NS_PID=$(cat "$WORK/ns.out.pid")
ST_URL=$(start "$WORK/st.out" --db-path "$WORK/data"); ST_PID=$(cat "$WORK/st.out.pid")
NS_PORT=${NS_URL##*:}; ST_PORT=${ST_URL##*:}

stop() { # stop <pid>: SIGTERM, wait for the exit (the server is not our child: $(...) started it)
  kill -TERM "$1"
  for _ in $(seq 1 200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
  echo "server $1 did not stop" >&2; exit 1
}

check() { # check <jq expression> <json>
  if ! echo "$2" | jq -e "$1" > /dev/null; then echo "FAIL: $1 on: $2" >&2; exit 1; fi
}

# --- Create Namespace (verbatim, port changed) ---
out=$(curl -sS -X POST http://localhost:$NS_PORT/admin/namespaces \
  -H "Content-Type: application/json" \
  -d '{
    "id": "customer-123",
    "name": "Acme Corp",
    "quotas": {
      "max_vectors": 1000000,
      "max_storage_bytes": 10737418240,
      "max_requests_per_second": 100.0
    }
  }')
check '.id == "customer-123" and .name == "Acme Corp" and .status == "active" and .quotas.max_vectors == 1000000 and .quotas.max_storage_bytes == 10737418240 and .quotas.max_requests_per_second == 100' "$out"

# --- Batch Operations HTTP API (verbatim, port changed) ---
out=$(curl -sS -X POST http://localhost:$ST_PORT/v1/batch-execute \
  -H "Content-Type: application/json" \
  -d '{
    "operations": [
      {"op": "upsert", "id": "doc1", "vector": [0.1, 0.2], "metadata": {}},
      {"op": "delete", "id": "doc2"},
      {"op": "soft_delete", "id": "doc3"}
    ]
  }')
check '(.succeeded|type) == "number" and (.failed|type) == "number" and (.duration_ms|type) == "number"' "$out"
check '.succeeded == 1 and .failed == 2 and (.errors|length) == 2' "$out"
check '.errors[1] | .index == 2 and .operation == "soft_delete(doc3)" and (.error|type) == "string"' "$out"

# The guide's estimate and explain use 3-d vectors: give the store some (it took dimension 2 from
# doc1 above, so use a fresh store of dimension 3).
stop $ST_PID
ST_URL=$(start "$WORK/st2.out" --db-path "$WORK/data3"); ST_PID=$(cat "$WORK/st2.out.pid"); ST_PORT=${ST_URL##*:}
curl -sS -X POST http://localhost:$ST_PORT/v1/upsert -H "Content-Type: application/json" \
  -d '{"id": "doc_123", "vector": [0.1, 0.2, 0.3], "metadata": {"category": "tech"}}' > /dev/null
curl -sS -X POST http://localhost:$ST_PORT/v1/upsert -H "Content-Type: application/json" \
  -d '{"id": "doc_124", "vector": [0.3, 0.2, 0.1], "metadata": {"category": "food"}}' > /dev/null

# --- Query Validation HTTP API (verbatim, port changed) ---
out=$(curl -sS -X POST http://localhost:$ST_PORT/v1/query-estimate \
  -H "Content-Type: application/json" \
  -d '{
    "vector": [0.1, 0.2, 0.3],
    "limit": 10,
    "filter": "category = '\''tech'\''"
  }')
check '.valid == true and .errors == [] and (.cost_estimate|type) == "number" and (.estimated_distance_calculations|type) == "number" and (.estimated_nodes_visited|type) == "number" and (.will_overfetch|type) == "boolean" and (.recommendations|type) == "array" and (.estimated_duration_ms|type) == "number"' "$out"

# --- Query Explain HTTP API (verbatim, port changed) ---
out=$(curl -sS -X POST http://localhost:$ST_PORT/v1/query-explain \
  -H "Content-Type: application/json" \
  -d '{
    "vector": [0.1, 0.2, 0.3],
    "limit": 10,
    "filter": "category = '\''tech'\''"
  }')
check '(.results|length) == 1 and .results[0].id == "doc_123" and (.results[0].score|type) == "number"' "$out"
check '.results[0].explanation | (.raw_score|type) == "number" and .distance_metric == "Cosine" and .filter_passed == true and .filter_details.filter_expr == "category = '\''tech'\''" and (.filter_details.matched_conditions|type) == "array" and .filter_details.passed == true and (.graph_stats.distance_calculations|type) == "number" and (.graph_stats.nodes_visited|type) == "number" and .rank == 1 and (.explanation_text|startswith("Ranked #1"))' "$out"

stop $NS_PID; stop $ST_PID
echo "guide curl examples: all responses have the guide's shapes"
