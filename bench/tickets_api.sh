#!/usr/bin/env bash
# Benchmark: the ticket list and detail with 100,000 tickets at 500 requests/s, and ticket
# creation throughput through the API, on SQLite and PostgreSQL.
# Usage: bench/tickets_api.sh [sqlite|postgres|both]. Needs hey, sqlite3 and psql.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/yunwei-target}"
WHICH=${1:-both}
ROWS=${ROWS:-100000}
DURATION=${DURATION:-15s}
PW='Bench#Passw0rd1'
# YUNWEI_BIN=path measures a binary built elsewhere (e.g. another commit) instead.
if [ -z "${YUNWEI_BIN:-}" ]; then cargo build --release --quiet; fi
BIN=${YUNWEI_BIN:-$CARGO_TARGET_DIR/release/yunwei}

# Tickets are seeded with SQL (creating 100,000 through the API would take minutes); the
# rows have the shape the API writes, with SLA clock starts so detail pages replay clocks.
SEED_SQL="
INSERT INTO tickets (number, kind, title, description, system_id, source, reported_at, impact, urgency, priority, status,
  calendar_id, created_at, updated_at)
SELECT 'BEN-' || n, CASE WHEN n % 3 = 0 THEN 'request' ELSE 'incident' END, '压测工单 ' || n, '描述 ' || n,
  1 + (n % 27), 'api', 1735689600000 + n * 60000, 'medium', 'medium', 'P3',
  CASE WHEN n % 5 = 0 THEN 'closed' WHEN n % 5 = 1 THEN 'in_progress' ELSE 'new' END,
  1, 1735689600000 + n * 60000, 1735689600000 + n * 60000
FROM seq;
INSERT INTO sla_clock_events (ticket_id, target, kind, at, target_seconds, reason)
SELECT id, 'resolve', 'start', reported_at, 86400, '报障' FROM tickets;"

run_one() {
  local label=$1 url=$2 seed=$3
  local dir port pid token
  dir=$(mktemp -d)
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  # First start creates the schema and the demo inventory; stop, seed, start again.
  YUNWEI_ADMIN_PASSWORD=$PW YUNWEI_LOG_LEVEL=warn "$BIN" serve --listen 127.0.0.1:$port --data-dir "$dir" --demo ${url:+--database "$url"} >"$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  kill $pid; wait $pid 2>/dev/null || true
  local t0 t1; t0=$(date +%s.%N)
  $seed "$dir"
  t1=$(date +%s.%N)
  YUNWEI_ADMIN_PASSWORD=$PW YUNWEI_LOG_LEVEL=warn "$BIN" serve --listen 127.0.0.1:$port --data-dir "$dir" ${url:+--database "$url"} >"$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  token=$(curl -s -XPOST "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$PW\"}" | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
  while IFS='|' read -r path c rate; do
    out=$(hey -z "$DURATION" -c "$c" -q "$rate" -H "Authorization: Bearer $token" "http://127.0.0.1:$port$path")
    rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
    p50=$(echo "$out" | awk '/ 50% in/{print $3*1000}')
    p99=$(echo "$out" | awk '/ 99% in/{print $3*1000}')
    codes=$(echo "$out" | awk '/^  \[[0-9]+\]/{printf "%s %s ", $1, $2}')
    echo "| $label | GET \`$path\` | $c | $((c * rate)) | $rps | $p50 | $p99 | $codes |"
  done <<'Q'
/api/v1/tickets?limit=50|10|50
/api/v1/tickets?limit=50&status=new&system_id=5|10|50
/api/v1/tickets/50000|10|50
Q
  # The list again while tickets are created at 10/s: every write invalidates cached pages.
  hey -z "$DURATION" -c 1 -q 10 -m POST -H "Authorization: Bearer $token" -T application/json \
    -d '{"kind":"request","title":"并发写入","system_id":4,"source":"api"}' "http://127.0.0.1:$port/api/v1/tickets" >/dev/null &
  local writer=$!
  out=$(hey -z "$DURATION" -c 10 -q 50 -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/tickets?limit=50")
  wait $writer
  rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  p50=$(echo "$out" | awk '/ 50% in/{print $3*1000}')
  p99=$(echo "$out" | awk '/ 99% in/{print $3*1000}')
  codes=$(echo "$out" | awk '/^  \[[0-9]+\]/{printf "%s %s ", $1, $2}')
  echo "| $label | GET \`/api/v1/tickets?limit=50\` while 10 tickets/s are created | 10 | 500 | $rps | $p50 | $p99 | $codes |"
  out=$(hey -n 2000 -c 10 -m POST -H "Authorization: Bearer $token" -T application/json \
    -d '{"kind":"incident","title":"压测建单","system_id":3,"source":"api"}' "http://127.0.0.1:$port/api/v1/tickets")
  rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  p99=$(echo "$out" | awk '/ 99% in/{print $3*1000}')
  codes=$(echo "$out" | awk '/^  \[[0-9]+\]/{printf "%s %s ", $1, $2}')
  echo "| $label | POST \`/api/v1/tickets\` (2,000, 10 connections) | 10 | – | $rps | – | $p99 | $codes |"
  echo "| $label | seeding $ROWS tickets with SQL: $(python3 -c "print(round($t1-$t0,1))") s | | | | | | |"
  kill $pid; wait $pid 2>/dev/null || true
  rm -rf "$dir"
}

seed_sqlite() {
  sqlite3 "$1/yunwei.db" "CREATE TEMP TABLE seq(n INTEGER);
    WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < $ROWS) INSERT INTO seq SELECT n FROM s;
    $SEED_SQL"
}

seed_pg() {
  psql "$PG_URL" -q -c "CREATE TEMP TABLE seq AS SELECT CAST(generate_series(1, $ROWS) AS BIGINT) AS n; $SEED_SQL" >/dev/null
}

echo "| backend | request | connections | offered req/s | achieved req/s | p50 ms | p99 ms | responses |"
echo "|---|---|---|---|---|---|---|---|"
if [ "$WHICH" != postgres ]; then run_one SQLite "" seed_sqlite; fi
if [ "$WHICH" != sqlite ]; then
  DB=yunwei_bench_t_$$
  PG_URL=postgres://postgres@127.0.0.1:5432/$DB
  psql postgres://postgres@127.0.0.1:5432/test -qc "CREATE DATABASE $DB" >/dev/null
  run_one PostgreSQL "$PG_URL" seed_pg
  psql postgres://postgres@127.0.0.1:5432/test -qc "DROP DATABASE $DB" >/dev/null
fi
