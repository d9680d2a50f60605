#!/usr/bin/env bash
# Benchmark: memory of the ticket read path with 100,000 tickets, on SQLite and PostgreSQL.
# RSS after 500 distinct list pages (limit=500) and after exporting every ticket as CSV and
# as XLSX, idle RSS after that, and the p99 of list pages at random offsets up to 9,999
# (bench/memory.py does the requests and samples /proc/PID/status).
# Usage: bench/memory.sh [sqlite|postgres|both]. Needs python3, curl, sqlite3 and psql.
# Environment: ROWS (100000), PAGES (500), IDLE_S (40), RATE (100 requests/s), CONNS (10),
# DEEP_S (20). Prints a Markdown table; JSON_OUT=FILE keeps the figures as JSON lines.
# YUNWEI_BIN=path measures a binary built elsewhere (e.g. another commit) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
WHICH=${1:-both}
ROWS=${ROWS:-100000}
bench_bin
# VACUUM as autovacuum would shortly after a bulk insert: it sets the visibility map that
# lets an id-only scan skip the table.
SEED_PG_AFTER="VACUUM ANALYZE tickets"

# The tickets of bench/tickets_api.sh: seeded with SQL, in the shape the API writes.
SEED_SQL=$BENCH_TICKETS_SQL

run_one() {
  local label=$1 url=$2 seed=$3
  local dir token
  dir=$(mktemp -d)
  # First start creates the schema and the demo inventory (without the demo's simulated
  # history: the exports must hold exactly the seeded tickets); stop, seed, start again.
  start_yunwei "$dir" "$url" --demo --demo-days 0
  stop_yunwei
  $seed "$dir"
  start_yunwei "$dir" "$url"
  token=$(login_token)
  python3 bench/memory.py "$PID" "$PORT" "$token" "$label" "$ROWS" 2>>"${JSON_OUT:-/dev/null}"
  stop_yunwei
  rm -rf "$dir"
}

echo "| backend | RSS start MB | RSS peak, 500 pages MB | RSS after pages MB | CSV export | RSS peak, CSV MB | XLSX export | RSS peak, XLSX MB | RSS after exports MB | RSS idle MB | deep pages (responses) | p50 ms | p99 ms | max ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
on_backends "$WHICH" yunwei_bench_mem run_one
