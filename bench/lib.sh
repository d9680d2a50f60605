# Shared by the benchmark scripts: `source bench/lib.sh` after `cd` to the repository root.
#
# Sets CARGO_TARGET_DIR (a cache outside the clone), PW (the admin password of the servers it
# starts) and PG_BASE; `bench_bin` sets BIN; `start_yunwei` sets PID, PORT and BASE; the EXIT
# trap stops the server still running and removes WORK when a script made one (`bench_work`).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/yunwei-target}"
PW='Bench#Passw0rd1'
PG_BASE=${PG_BASE:-postgres://postgres@127.0.0.1:5432}
PID=
WORK=

# BIN: YUNWEI_BIN when set (a binary built elsewhere, e.g. another commit), else a fresh build
# of PROFILE (release unless PROFILE=debug).
bench_bin() {
  local profile=${PROFILE:-release}
  if [ -z "${YUNWEI_BIN:-}" ]; then
    if [ "$profile" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
  fi
  BIN=${YUNWEI_BIN:-$CARGO_TARGET_DIR/$profile/yunwei}
}

# bench_work NAME: WORK, a scratch directory under /var/tmp removed on exit.
bench_work() { WORK=$(mktemp -d "/var/tmp/yunwei-bench-$1.XXXXXX"); }

bench_cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  if [ -n "$WORK" ]; then rm -rf "$WORK"; fi
}
trap bench_cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# wait_ready PORT [TRIES] [LOG]: waits until /readyz answers, TRIES × 0.2 s (default 300);
# fails with the server's log otherwise.
wait_ready() {
  for _ in $(seq 1 "${2:-300}"); do
    curl -fs "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "yunwei on port $1 did not become ready" >&2
  if [ -n "${3:-}" ]; then cat "$3" >&2; fi
  exit 1
}

# start_yunwei DIR URL [serve arguments…]: yunwei on a free port with its data in DIR and,
# when URL is not empty, that database; MONITORING=false turns the probes off, LOG_LEVEL
# (warn) sets the log, READY_TRIES the wait. Sets PID, PORT and BASE.
start_yunwei() {
  local dir=$1 url=$2
  shift 2
  PORT=$(free_port)
  BASE=http://127.0.0.1:$PORT
  env YUNWEI_ADMIN_PASSWORD="$PW" YUNWEI_LOG_LEVEL="${LOG_LEVEL:-warn}" \
    ${MONITORING:+YUNWEI_MONITORING_ENABLED=$MONITORING} \
    "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$dir" ${url:+--database "$url"} "$@" >"$dir/log" 2>&1 &
  PID=$!
  wait_ready "$PORT" "${READY_TRIES:-300}" "$dir/log"
}

stop_yunwei() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=
}

# login_token [USER] [PASSWORD]: an API token from the server at BASE (admin by default).
login_token() {
  curl -s -XPOST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"${1:-admin}\",\"password\":\"${2:-$PW}\"}" \
    | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])'
}

# seed_sqlite DIR [SQL] and seed_pg DIR [SQL]: run SQL (default SEED_SQL) on the server's
# database (SQLite in DIR, PostgreSQL at PG_URL) with a table seq(n) of 1..ROWS; seed_pg runs
# SEED_PG_AFTER (e.g. a VACUUM) afterwards when set.
seed_sqlite() {
  sqlite3 "$1/yunwei.db" "CREATE TEMP TABLE seq(n INTEGER);
    WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < $ROWS) INSERT INTO seq SELECT n FROM s;
    ${2:-$SEED_SQL}"
}

seed_pg() {
  psql "$PG_URL" -q -c "CREATE TEMP TABLE seq AS SELECT CAST(generate_series(1, $ROWS) AS BIGINT) AS n; ${2:-$SEED_SQL}" >/dev/null
  if [ -n "${SEED_PG_AFTER:-}" ]; then psql "$PG_URL" -q -c "$SEED_PG_AFTER" >/dev/null; fi
}

# on_backends WHICH NAME FN: `FN SQLite "" seed_sqlite` unless WHICH is postgres, and
# `FN PostgreSQL URL seed_pg` on a scratch database NAME_PID unless WHICH is sqlite (PG_URL is
# set for FN, the database dropped after it).
on_backends() {
  local which=$1 name=$2 fn=$3
  if [ "$which" != postgres ]; then "$fn" SQLite "" seed_sqlite; fi
  if [ "$which" != sqlite ]; then
    local db=${name}_$$
    PG_URL=$PG_BASE/$db
    PGOPTIONS=--client-min-messages=warning psql "$PG_BASE/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
    psql "$PG_BASE/postgres" -qc "CREATE DATABASE $db" >/dev/null
    "$fn" PostgreSQL "$PG_URL" seed_pg
    psql "$PG_BASE/postgres" -qc "DROP DATABASE $db" >/dev/null
  fi
}

# hey_figures OUTPUT: sets RPS, P50 and P99 (ms) and CODES ("[200] 1000 …") from hey's report.
hey_figures() {
  RPS=$(echo "$1" | awk '/Requests\/sec/{print $2}')
  P50=$(echo "$1" | awk '/ 50% in/{print $3*1000}')
  P99=$(echo "$1" | awk '/ 99% in/{print $3*1000}')
  CODES=$(echo "$1" | awk '/^  \[[0-9]+\]/{printf "%s %s ", $1, $2}')
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# seconds_since T0: wall seconds since a `date +%s.%N`, one decimal.
seconds_since() { python3 -c "print(round($(date +%s.%N) - $1, 1))"; }

# wait_indexed TOKEN [TRIES]: waits until the background search backfill has indexed the
# seeded ticket BEN-$ROWS (the newest, indexed last), TRIES × 0.2 s (default 6000).
wait_indexed() {
  for _ in $(seq 1 "${2:-6000}"); do
    curl -fs "$BASE/api/v1/search?q=BEN-$ROWS" -H "Authorization: Bearer $1" \
      | python3 -c 'import sys,json; sys.exit(0 if json.load(sys.stdin)["total"] >= 1 else 1)' 2>/dev/null && return 0
    sleep 0.2
  done
}

# BENCH_TICKETS_SQL: ROWS tickets BEN-1…BEN-ROWS over seq(n), in the shape the API writes
# (a third requests, a fifth closed, a fifth in progress; one a minute from 2025-01-01).
BENCH_TICKETS_SQL="
INSERT INTO tickets (number, kind, title, description, system_id, source, reported_at, impact, urgency, priority, status,
  calendar_id, created_at, updated_at)
SELECT 'BEN-' || n, CASE WHEN n % 3 = 0 THEN 'request' ELSE 'incident' END, '压测工单 ' || n, '描述 ' || n,
  1 + (n % 27), 'api', 1735689600000 + n * 60000, 'medium', 'medium', 'P3',
  CASE WHEN n % 5 = 0 THEN 'closed' WHEN n % 5 = 1 THEN 'in_progress' ELSE 'new' END,
  1, 1735689600000 + n * 60000, 1735689600000 + n * 60000
FROM seq;"
