#!/usr/bin/env bash
# schemathesis against /openapi.json of a namespace-mode vecstore-server: no 5xx and no response
# that breaks the schema, on every documented operation (bounded: a fixed number of examples each).
# Installs schemathesis (PyPI) when missing.
set -euo pipefail
BIN=${1:-target/release/vecstore-server}
ST=${2:-schemathesis}
if ! command -v "$ST" > /dev/null; then
  python3 -m pip install -q schemathesis
  ST=schemathesis
fi
WORK=$(mktemp -d)
"$BIN" --namespaces --namespace-root "$WORK/ns" --dimension 3 --http-port 0 > "$WORK/out" 2> "$WORK/err" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 200); do grep -q listening "$WORK/out" && break; sleep 0.05; done
URL=$(sed -n 's/.*listening on //p' "$WORK/out")
[ -n "$URL" ] || { cat "$WORK/err" >&2; exit 1; }
curl -sS -X POST "$URL/admin/namespaces" -H "Content-Type: application/json" -d '{"id":"st","name":"schemathesis"}' > /dev/null
curl -sS -X POST "$URL/v1/namespaces/st/upsert" -H "Content-Type: application/json" \
  -d '{"id":"a","vector":[1,0,0],"metadata":{"category":"tech"}}' > /dev/null
timeout 170 "$ST" run "$URL/openapi.json" \
  --checks not_a_server_error,response_schema_conformance \
  --header "X-Namespace: st" \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
  --generation-deterministic \
  --request-timeout 10
kill -TERM $PID
for _ in $(seq 1 200); do kill -0 $PID 2>/dev/null || break; sleep 0.05; done
echo "schemathesis: no 5xx, every response matches the schema"
