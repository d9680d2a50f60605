#!/usr/bin/env bash
# Fuzzes the API from its served OpenAPI document with schemathesis (PyPI): a throwaway
# `yunwei serve --demo` on SQLite on a free port, an API token of the admin, then every
# operation with generated valid and invalid input. Fails on any server error (5xx) or any
# response that does not match its documented schema.
#
# Usage: .ci/schemathesis.sh [EXAMPLES_PER_OPERATION]   (default 150: a few minutes)
# Environment: YUNWEI_BIN (default: $CARGO_TARGET_DIR/debug/yunwei, built if missing),
# SCHEMATHESIS_VENV (default /var/tmp/yunwei-schemathesis).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/yunwei-target}"
EXAMPLES="${1:-150}"
SCHEMATHESIS_VERSION=4.32.5
VENV="${SCHEMATHESIS_VENV:-/var/tmp/yunwei-schemathesis}"
BIN="${YUNWEI_BIN:-$CARGO_TARGET_DIR/debug/yunwei}"
PASSWORD='Fuzz#Passw0rd-2026'

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "== installing schemathesis $SCHEMATHESIS_VERSION"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" >/dev/null
fi
if [ -z "${YUNWEI_BIN:-}" ]; then
  cargo build --quiet --bin yunwei
fi

DATA="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT

echo "== yunwei serve --demo on $BASE"
YUNWEI_ADMIN_PASSWORD="$PASSWORD" YUNWEI_LOG_LEVEL="${YUNWEI_LOG_LEVEL:-warn}" \
  "$BIN" serve --demo --listen "127.0.0.1:$PORT" --data-dir "$DATA" >"$DATA/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do
  curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DATA/serve.log"; exit 1; }
  sleep 0.5
done
curl -fsS "$BASE/readyz" >/dev/null

# Log in as the tests do (tests/api/helpers.rs), then use an API token: a fuzzed logout
# ends only a session, not the token.
json_field() { python3 -c "import json, sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
SESSION="$(curl -fsS -H 'content-type: application/json' \
  -d "{\"username\": \"admin\", \"password\": \"$PASSWORD\"}" "$BASE/api/v1/auth/login" | json_field token)"
TOKEN="$(curl -fsS -H 'content-type: application/json' -H "Authorization: Bearer $SESSION" \
  -d '{"name": "schemathesis", "expires_in_days": 1}' "$BASE/api/v1/api-tokens" | json_field token)"

# One of each resource that the demo lacks, so that the documented example id (1) leads
# past "not found" into the operations' own logic.
seed() {
  local path="$1" body="$2" code
  code="$(curl -sS -o "$DATA/seed.json" -w '%{http_code}' -H 'content-type: application/json' \
    -H "Authorization: Bearer $TOKEN" -d "$body" "$BASE/api/v1$path")"
  case "$code" in
    2*) ;;
    *) echo "seeding $path failed: $code $(cat "$DATA/seed.json")"; exit 1 ;;
  esac
}
seed /tickets '{"kind": "incident", "title": "接口模糊测试工单", "description": "schemathesis"}'
seed /tickets/1/comments '{"body": "第一条评论"}'
seed /tickets/1/worklogs '{"minutes": 30, "note": "排查"}'
seed /monitors '{"name": "备份心跳", "kind": "heartbeat", "config": {"period_s": 86400}}'
seed /notification-channels '{"kind": "webhook", "name": "值班群", "config": {"url": "http://127.0.0.1:9/hook"}}'
seed /notification-rules '{"event": "ticket.created", "channel_id": 1, "to_assignee": true}'
for kind in events alertmanager zabbix; do
  seed /integrations "{\"kind\": \"$kind\", \"name\": \"$kind 接入\"}"
  declare "INTAKE_${kind}=$(json_field token <"$DATA/seed.json")"
done
seed /maintenance-windows '{"reason": "例行维护", "starts_at": "2030-01-01T00:00:00+08:00", "ends_at": "2030-01-01T02:00:00+08:00"}'

# A supervisor, who reads the audit log (the admin may not): created, first login, the
# required password change, then an API token.
seed /users '{"username": "fuzz_supervisor", "display_name": "监理", "role": "supervisor", "password": "Init#Passw0rd-2026"}'
login() {
  curl -fsS -H 'content-type: application/json' \
    -d "{\"username\": \"$1\", \"password\": \"$2\"}" "$BASE/api/v1/auth/login" | json_field token
}
SUP_SESSION="$(login fuzz_supervisor 'Init#Passw0rd-2026')"
curl -fsS -H 'content-type: application/json' -H "Authorization: Bearer $SUP_SESSION" \
  -d '{"current_password": "Init#Passw0rd-2026", "new_password": "Sup#Passw0rd-2026x"}' \
  "$BASE/api/v1/auth/password" >/dev/null
SUP_SESSION="$(login fuzz_supervisor 'Sup#Passw0rd-2026x')"
SUP_TOKEN="$(curl -fsS -H 'content-type: application/json' -H "Authorization: Bearer $SUP_SESSION" \
  -d '{"name": "schemathesis", "expires_in_days": 1}' "$BASE/api/v1/api-tokens" | json_field token)"

# One worker: generating in several threads trips a CPython 3.11 bug ("AST constructor
# recursion depth mismatch"). Run from the data directory, where schemathesis keeps its
# state.
run() {
  (cd "$DATA" && "$VENV/bin/schemathesis" run "$BASE/api/v1/openapi.json" \
    --url "$BASE/api/v1" \
    --checks not_a_server_error,response_schema_conformance,content_type_conformance \
    --max-examples "$EXAMPLES" \
    --seed "${SCHEMATHESIS_SEED:-20261129}" \
    --generation-database none \
    --request-timeout 30 \
    --workers 1 \
    --no-color \
    "$@")
}

status=0
# The audit log and the intake endpoints first, with the credentials they take (the main
# pass may delete the integrations); revoking API tokens last, so that the run's own token
# is not revoked halfway.
echo "== schemathesis: the audit log as a supervisor"
run -H "Authorization: Bearer $SUP_TOKEN" --include-path-regex '^/audit-events' || status=1
for kind in events alertmanager zabbix; do
  echo "== schemathesis: $kind intake with its integration token"
  token_var="INTAKE_${kind}"
  run -H "Authorization: Bearer ${!token_var}" --include-path "/integrations/$kind" || status=1
done
echo "== schemathesis: every other operation as the admin, $EXAMPLES examples each"
run -H "Authorization: Bearer $TOKEN" --exclude-path '/api-tokens/{id}' \
  --exclude-path-regex '^/(audit-events|integrations/(events|alertmanager|zabbix)$)' || status=1
echo "== schemathesis: revoking API tokens"
run -H "Authorization: Bearer $TOKEN" --include-path '/api-tokens/{id}' || status=1

if grep -q 'panicked' "$DATA/serve.log"; then
  echo "== the server panicked:"
  grep -A5 'panicked' "$DATA/serve.log" | head -50
  status=1
fi
exit $status
