#!/usr/bin/env bash
# Benchmark: memory of the ticket read path with 100,000 tickets, on SQLite and PostgreSQL.
# RSS after 500 distinct list pages (limit=500) and after exporting every ticket as CSV and
# as XLSX, idle RSS after that, and the p99 of list pages at random offsets up to 9,999
# (bench/memory.py does the requests and samples /proc/PID/status).
# Usage: bench/memory.sh [sqlite|postgres|both]. Needs python3, curl, sqlite3 and psql.
# Environment: ROWS (100000), PAGES (500), IDLE_S (40), RATE (100 requests/s), CONNS (10),
# DEEP_S (20). Prints a Markdown table; JSON_OUT=FILE keeps the figures as JSON lines.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/yunwei-target}"
WHICH=${1:-both}
ROWS=${ROWS:-100000}
PW='Bench#Passw0rd1'
# YUNWEI_BIN=path measures a binary built elsewhere (e.g. another commit) instead.
if [ -z "${YUNWEI_BIN:-}" ]; then cargo build --release --quiet; fi
BIN=${YUNWEI_BIN:-$CARGO_TARGET_DIR/release/yunwei}

# The tickets of bench/tickets_api.sh: seeded with SQL, in the shape the API writes.
SEED_SQL="
INSERT INTO tickets (number, kind, title, description, system_id, source, reported_at, impact, urgency, priority, status,
  calendar_id, created_at, updated_at)
SELECT 'BEN-' || n, CASE WHEN n % 3 = 0 THEN 'request' ELSE 'incident' END, '压测工单 ' || n, '描述 ' || n,
  1 + (n % 27), 'api', 1735689600000 + n * 60000, 'medium', 'medium', 'P3',
  CASE WHEN n % 5 = 0 THEN 'closed' WHEN n % 5 = 1 THEN 'in_progress' ELSE 'new' END,
  1, 1735689600000 + n * 60000, 1735689600000 + n * 60000
FROM seq;"

wait_ready() {
  for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "server on port $1 did not become ready" >&2; exit 1
}

run_one() {
  local label=$1 url=$2 seed=$3
  local dir port pid token
  dir=$(mktemp -d)
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  # First start creates the schema and the demo inventory; stop, seed, start again.
  YUNWEI_ADMIN_PASSWORD=$PW YUNWEI_LOG_LEVEL=warn "$BIN" serve --listen 127.0.0.1:$port --data-dir "$dir" --demo ${url:+--database "$url"} >"$dir/log" 2>&1 &
  pid=$!
  wait_ready $port
  kill $pid; wait $pid 2>/dev/null || true
  $seed "$dir"
  YUNWEI_ADMIN_PASSWORD=$PW YUNWEI_LOG_LEVEL=warn "$BIN" serve --listen 127.0.0.1:$port --data-dir "$dir" ${url:+--database "$url"} >"$dir/log" 2>&1 &
  pid=$!
  wait_ready $port
  token=$(curl -s -XPOST "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$PW\"}" | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
  python3 bench/memory.py "$pid" "$port" "$token" "$label" "$ROWS" 2>>"${JSON_OUT:-/dev/null}"
  kill $pid; wait $pid 2>/dev/null || true
  rm -rf "$dir"
}

seed_sqlite() {
  sqlite3 "$1/yunwei.db" "CREATE TEMP TABLE seq(n INTEGER);
    WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < $ROWS) INSERT INTO seq SELECT n FROM s;
    $SEED_SQL"
}

seed_pg() {
  # VACUUM as autovacuum would shortly after a bulk insert: it sets the visibility map
  # that lets an id-only scan skip the table.
  psql "$PG_URL" -q -c "CREATE TEMP TABLE seq AS SELECT CAST(generate_series(1, $ROWS) AS BIGINT) AS n; $SEED_SQL" >/dev/null
  psql "$PG_URL" -q -c "VACUUM ANALYZE tickets" >/dev/null
}

echo "| backend | RSS start MB | RSS peak, 500 pages MB | RSS after pages MB | CSV export | RSS peak, CSV MB | XLSX export | RSS peak, XLSX MB | RSS after exports MB | RSS idle MB | deep pages (responses) | p50 ms | p99 ms | max ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
if [ "$WHICH" != postgres ]; then run_one SQLite "" seed_sqlite; fi
if [ "$WHICH" != sqlite ]; then
  DB=yunwei_bench_mem_$$
  PG_URL=postgres://postgres@127.0.0.1:5432/$DB
  psql postgres://postgres@127.0.0.1:5432/postgres -qc "CREATE DATABASE $DB" >/dev/null
  run_one PostgreSQL "$PG_URL" seed_pg
  psql postgres://postgres@127.0.0.1:5432/postgres -qc "DROP DATABASE $DB" >/dev/null
fi
