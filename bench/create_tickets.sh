#!/usr/bin/env bash
# Benchmark (issue 9): ticket creation through the API with 1, 4, 16 and 64 concurrent
# clients, side by side in the same run with the raw database at the same concurrency:
#   - SQLite: single-row INSERT commits in WAL mode, synchronous=FULL and NORMAL, N threads
#     with their own connections on a scratch database in the same filesystem
#     (bench/raw_sqlite_inserts.py);
#   - PostgreSQL: pgbench single-row inserts, -c N -j N, on a scratch database.
# Also PostgreSQL transactions per ticket (pg_stat_database xact_commit delta of yunwei's
# database / tickets created) and yunwei CPU per ticket (/proc/PID/stat utime+stime delta).
#
# Usage: bench/create_tickets.sh [sqlite|postgres|both]
# Environment: DURATION (seconds per run, default 10), CLIENTS (default "1 4 16 64"),
# PG_BASE (default postgres://postgres@127.0.0.1:5432), RAW_MODE (lock|busy, see
# raw_sqlite_inserts.py; default lock). Needs hey, python3, sqlite3, psql and pgbench.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
WHICH=${1:-both}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-"1 4 16 64"}
RAW_MODE=${RAW_MODE:-lock}
MONITORING=false
BODY='{"kind":"incident","title":"压测建单","description":"并发建单压测","system_id":3,"source":"api","impact":"medium","urgency":"high"}'
for tool in hey python3 sqlite3 psql; do
  command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -1 || true)
if [ "$WHICH" != sqlite ] && [ -z "$PGBENCH" ]; then echo "needs pgbench (postgresql-contrib)" >&2; exit 1; fi
bench_bin
TCK=$(getconf CLK_TCK)
bench_work create

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
xact_commits() { psql "$PG_BASE/postgres" -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = '$1'"; }
# p50 and p99 in ms of the per-transaction logs of pgbench -l (4th column is latency in us).
pg_latency() { cat "$@" | python3 -c '
import sys
lat = sorted(int(l.split()[2]) for l in sys.stdin if l.strip())
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] / 1000
print(f"{p(0.5):.2f} {p(0.99):.2f}")'; }
ratio() { python3 -c "print(f'{100 * $1 / $2:.1f} %' if $2 > 0 else '–')"; }

# One hey run of ticket creation; prints "created_201 seconds p50_ms p99_ms responses".
hey_create() {
  local c=$1 token=$2 out
  out=$(hey -z "${DURATION}s" -c "$c" -t 60 -m POST -H "Authorization: Bearer $token" -T application/json \
    -d "$BODY" "$BASE/api/v1/tickets")
  local created total p50 p99 codes errs
  created=$(echo "$out" | awk '/^  \[201\]/{print $2}'); created=${created:-0}
  total=$(echo "$out" | awk '/Total:/{print $2; exit}')
  p50=$(echo "$out" | awk '/ 50% in/{printf "%.1f", $3*1000}')
  p99=$(echo "$out" | awk '/ 99% in/{printf "%.1f", $3*1000}')
  codes=$(echo "$out" | awk '/^  \[[0-9]+\]/{printf "%s %s ", $1, $2}')
  errs=$(echo "$out" | awk '/^Error distribution:/{e=1; next} e && /\[[0-9]+\]/{n += substr($1, 2, length($1) - 2)} END{print n+0}')
  [ "$errs" -gt 0 ] && codes="$codes[no answer] $errs"
  echo "$created $total ${p50:-–} ${p99:-–} $codes"
}

run_backend() {
  local label=$1 url=$2 db=${3:-} dir token
  dir=$(mktemp -d "$WORK/$label.XXXX")
  start_yunwei "$dir" "$url" --demo
  token=$(login_token)
  for c in $CLIENTS; do
    local n0 n1 x0 x1 t0 t1 res created total p50 p99 codes tps cpu txt raw
    if [ "$label" = SQLite ]; then
      n0=$(sqlite3 "$dir/yunwei.db" 'PRAGMA busy_timeout=10000; SELECT COUNT(*) FROM tickets' | tail -1)
    else
      n0=$(psql "$url" -Atc 'SELECT COUNT(*) FROM tickets'); sleep 1; x0=$(xact_commits "$db")
    fi
    # Every timed run starts with no dirty pages (sync), so that the writes one run left
    # unsynced are not flushed during the next run's fsyncs.
    sync
    t0=$(cpu_ticks "$PID")
    res=$(hey_create "$c" "$token")
    t1=$(cpu_ticks "$PID")
    read -r created total p50 p99 codes <<<"$res"
    if [ "$label" = SQLite ]; then
      n1=$(sqlite3 "$dir/yunwei.db" 'PRAGMA busy_timeout=10000; SELECT COUNT(*) FROM tickets' | tail -1)
      txt="–"
    else
      n1=$(psql "$url" -Atc 'SELECT COUNT(*) FROM tickets')
      sleep 2 # backends flush their statistics at most once a second
      x1=$(xact_commits "$db")
      txt=$(python3 -c "print(f'{($x1 - $x0) / ($n1 - $n0):.1f}' if $n1 > $n0 else '–')")
    fi
    tps=$(python3 -c "print(f'{$created / $total:.1f}')")
    cpu=$(python3 -c "print(f'{1000 * ($t1 - $t0) / $TCK / ($n1 - $n0):.2f}' if $n1 > $n0 else '–')")
    if [ "$label" = SQLite ]; then
      local full normal f_tps n_tps
      sync
      full=$(python3 bench/raw_sqlite_inserts.py "$dir/raw.db" "$c" "$DURATION" FULL "$RAW_MODE")
      sync
      normal=$(python3 bench/raw_sqlite_inserts.py "$dir/raw.db" "$c" "$DURATION" NORMAL "$RAW_MODE")
      f_tps=${full%% *}; n_tps=${normal%% *}
      raw="$f_tps | $(echo "$full" | awk '{print $2 " / " $3}') | $(ratio "$tps" "$f_tps") | $n_tps | $(ratio "$tps" "$n_tps")"
    else
      local rawdb=yunwei_bench_raw_$$ out p_tps lat
      psql "$PG_BASE/postgres" -qc "CREATE DATABASE $rawdb" >/dev/null
      psql "$PG_BASE/$rawdb" -qc "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, client INTEGER NOT NULL, at BIGINT NOT NULL, title TEXT NOT NULL)" >/dev/null
      echo "INSERT INTO t (client, at, title) VALUES (:client_id, 1, '压测建单');" >"$WORK/insert.sql"
      mkdir -p "$WORK/pgb"; rm -f "$WORK/pgb/"*
      sync
      out=$("$PGBENCH" -n -c "$c" -j "$c" -T "$DURATION" -l --log-prefix="$WORK/pgb/log" -f "$WORK/insert.sql" "$PG_BASE/$rawdb" 2>&1)
      p_tps=$(echo "$out" | awk '/^tps = /{printf "%.0f", $3}')
      lat=$(pg_latency "$WORK/pgb/"log*)
      psql "$PG_BASE/postgres" -qc "DROP DATABASE $rawdb" >/dev/null
      raw="$p_tps | $(echo "$lat" | awk '{print $1 " / " $2}') | $(ratio "$tps" "$p_tps") | – | –"
    fi
    echo "| $label | $c | $tps | $p50 | $p99 | $codes| $raw | $txt | $cpu |"
  done
  stop_yunwei
}

echo "Ticket creation, ${DURATION} s per run, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; raw SQLite writers: $RAW_MODE"
echo
echo "| backend | clients | yunwei tickets/s | p50 ms | p99 ms | responses | raw commits/s (SQLite FULL / pgbench) | raw p50 / p99 ms | yunwei / raw | raw SQLite NORMAL /s | yunwei / NORMAL | PG transactions per ticket | yunwei CPU ms per ticket |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
if [ "$WHICH" != postgres ]; then run_backend SQLite ""; fi
if [ "$WHICH" != sqlite ]; then
  DB=yunwei_bench_create_$$
  psql "$PG_BASE/postgres" -qc "CREATE DATABASE $DB" >/dev/null
  run_backend PostgreSQL "$PG_BASE/$DB" "$DB"
  psql "$PG_BASE/postgres" -qc "DROP DATABASE $DB" >/dev/null
fi
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
