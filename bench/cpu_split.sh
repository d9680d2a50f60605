#!/usr/bin/env bash
# Benchmark (issue 9): where the CPU of ticket creation on PostgreSQL goes. One hey run of
# CLIENTS concurrent creations for DURATION seconds against a demo server on a scratch
# PostgreSQL database, and the CPU ticks of yunwei, of every `postgres` process and of the
# whole machine over that run, per ticket.
#
# Usage: bench/cpu_split.sh   Environment: CLIENTS (16), DURATION (10), YUNWEI_BIN, PG_BASE.
# Needs hey and psql.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-10}
MONITORING=false
BODY='{"kind":"incident","title":"压测建单","description":"并发建单压测","system_id":3,"source":"api","impact":"medium","urgency":"high"}'
bench_bin
bench_work cpu
DB=yunwei_bench_cpu_$$
psql "$PG_BASE/postgres" -qc "CREATE DATABASE $DB"
start_yunwei "$WORK" "$PG_BASE/$DB" --demo
token=$(login_token)
TCK=$(getconf CLK_TCK)
pg_ticks() { for p in $(pgrep -x postgres); do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done | awk '{s += $1} END {print s + 0}'; }
own_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
machine() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
n0=$(psql "$PG_BASE/$DB" -Atc 'SELECT COUNT(*) FROM tickets')
y0=$(own_ticks); p0=$(pg_ticks); read -r b0 t0 <<<"$(machine)"
out=$(hey -z "${DURATION}s" -c "$CLIENTS" -t 60 -m POST -H "Authorization: Bearer $token" -T application/json -d "$BODY" "$BASE/api/v1/tickets")
y1=$(own_ticks); p1=$(pg_ticks); read -r b1 t1 <<<"$(machine)"
n1=$(psql "$PG_BASE/$DB" -Atc 'SELECT COUNT(*) FROM tickets')
stop_yunwei
psql "$PG_BASE/postgres" -qc "DROP DATABASE $DB"
python3 - "$((n1 - n0))" "$((y1 - y0))" "$((p1 - p0))" "$((b1 - b0))" "$((t1 - t0))" "$TCK" <<'PY'
import sys
n, y, p, b, t, tck = map(int, sys.argv[1:])
ms = lambda ticks: 1000 * ticks / tck / n if n else float("nan")
print(f"tickets {n}; machine busy {100 * b / t:.0f} %; of that yunwei {100 * y / b:.1f} %, "
      f"PostgreSQL {100 * p / b:.1f} %; CPU per ticket: yunwei {ms(y):.2f} ms, PostgreSQL {ms(p):.2f} ms")
PY
echo "$out" | grep -E 'Requests/sec|99% in'
