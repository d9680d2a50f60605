#!/usr/bin/env bash
# Benchmark: the ticket list and detail with 100,000 tickets at 500 requests/s, and ticket
# creation throughput through the API, on SQLite and PostgreSQL.
# Usage: bench/tickets_api.sh [sqlite|postgres|both]. Needs hey, sqlite3 and psql.
# YUNWEI_BIN=path measures a binary built elsewhere (e.g. another commit) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
WHICH=${1:-both}
ROWS=${ROWS:-100000}
DURATION=${DURATION:-15s}
bench_bin

# Tickets are seeded with SQL (creating 100,000 through the API would take minutes); the
# rows have the shape the API writes, with SLA clock starts so detail pages replay clocks.
SEED_SQL="$BENCH_TICKETS_SQL
INSERT INTO sla_clock_events (ticket_id, target, kind, at, target_seconds, reason)
SELECT id, 'resolve', 'start', reported_at, 86400, '报障' FROM tickets;"

run_one() {
  local label=$1 url=$2 seed=$3
  local dir token out t0 seeded
  dir=$(mktemp -d)
  # First start creates the schema and the demo inventory; stop, seed, start again.
  start_yunwei "$dir" "$url" --demo
  stop_yunwei
  t0=$(date +%s.%N)
  $seed "$dir"
  seeded=$(seconds_since "$t0")
  start_yunwei "$dir" "$url"
  token=$(login_token)
  while IFS='|' read -r path c rate; do
    out=$(hey -z "$DURATION" -c "$c" -q "$rate" -H "Authorization: Bearer $token" "$BASE$path")
    hey_figures "$out"
    echo "| $label | GET \`$path\` | $c | $((c * rate)) | $RPS | $P50 | $P99 | $CODES |"
  done <<'Q'
/api/v1/tickets?limit=50|10|50
/api/v1/tickets?limit=50&status=new&system_id=5|10|50
/api/v1/tickets/50000|10|50
Q
  # The list again while tickets are created at 10/s: every write invalidates cached pages.
  hey -z "$DURATION" -c 1 -q 10 -m POST -H "Authorization: Bearer $token" -T application/json \
    -d '{"kind":"request","title":"并发写入","system_id":4,"source":"api"}' "$BASE/api/v1/tickets" >/dev/null &
  local writer=$!
  out=$(hey -z "$DURATION" -c 10 -q 50 -H "Authorization: Bearer $token" "$BASE/api/v1/tickets?limit=50")
  wait $writer
  hey_figures "$out"
  echo "| $label | GET \`/api/v1/tickets?limit=50\` while 10 tickets/s are created | 10 | 500 | $RPS | $P50 | $P99 | $CODES |"
  out=$(hey -n 2000 -c 10 -m POST -H "Authorization: Bearer $token" -T application/json \
    -d '{"kind":"incident","title":"压测建单","system_id":3,"source":"api"}' "$BASE/api/v1/tickets")
  hey_figures "$out"
  echo "| $label | POST \`/api/v1/tickets\` (2,000, 10 connections) | 10 | – | $RPS | – | $P99 | $CODES |"
  echo "| $label | seeding $ROWS tickets with SQL: $seeded s | | | | | | |"
  stop_yunwei
  rm -rf "$dir"
}

echo "| backend | request | connections | offered req/s | achieved req/s | p50 ms | p99 ms | responses |"
echo "|---|---|---|---|---|---|---|---|"
on_backends "$WHICH" yunwei_bench_t run_one
