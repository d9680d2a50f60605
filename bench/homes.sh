#!/usr/bin/env bash
# Benchmark: each role's home page (`GET /`) with 100,000 tickets, on SQLite and PostgreSQL.
# Usage: bench/homes.sh [sqlite|postgres|both]. Needs curl, sqlite3 and psql.
# YUNWEI_BIN=path measures a binary built elsewhere; PROFILE=debug builds a debug binary
# (slower than release: an upper bound).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
WHICH=${1:-both}
ROWS=${ROWS:-100000}
N=${N:-30}
UPW='Bench#Changed2'
bench_bin
ROLES="engineer manager supervisor auditor requester operator"

# 100,000 tickets in the shape the API writes: a fifth closed (a tenth of those late), the
# rest open; half assigned to the benchmark's engineer, the rest to nobody; resolve times
# spread over a day either side of now, so "SLA at risk" and "overdue" have work to do;
# every tenth reported by the benchmark's requester; priorities P1–P4.
SEED_SQL="
INSERT INTO tickets (number, kind, title, description, system_id, source, reported_at, impact, urgency, priority, status,
  calendar_id, assignee_id, requester_id, resolve_due_at, sla_breached, created_at, updated_at)
SELECT 'BEN-' || n, CASE WHEN n % 3 = 0 THEN 'request' ELSE 'incident' END, '压测工单 ' || n, '描述 ' || n,
  1 + (n % 27), 'api', NOW_MS - ($ROWS - n) * 60000, 'medium', 'medium', 'P' || (1 + n % 4),
  CASE WHEN n % 5 = 0 THEN 'closed' WHEN n % 5 = 1 THEN 'in_progress' WHEN n % 5 = 2 THEN 'assigned' ELSE 'new' END,
  1, CASE WHEN n % 2 = 0 THEN (SELECT id FROM users WHERE username = 'b_engineer') END,
  CASE WHEN n % 10 = 0 THEN (SELECT id FROM users WHERE username = 'b_requester') END,
  NOW_MS + ((n % 2880) - 1440) * 60000, CASE WHEN n % 50 = 0 THEN 1 ELSE 0 END,
  NOW_MS - ($ROWS - n) * 60000, NOW_MS - ($ROWS - n) * 60000
FROM seq;"

run_one() {
  local label=$1 url=$2 seed=$3
  local dir port token now
  dir=$(mktemp -d)
  start_yunwei "$dir" "$url" --demo
  token=$(login_token)
  for r in $ROLES; do
    [ "$r" = admin ] && continue
    curl -fs -XPOST "$BASE/api/v1/users" -H "Authorization: Bearer $token" -H 'content-type: application/json' \
      -d "{\"username\":\"b_$r\",\"display_name\":\"压测$r\",\"role\":\"$r\",\"password\":\"$PW\"}" >/dev/null
    t=$(login_token "b_$r")
    curl -fs -XPOST "$BASE/api/v1/auth/password" -H "Authorization: Bearer $t" -H 'content-type: application/json' \
      -d "{\"current_password\":\"$PW\",\"new_password\":\"$UPW\"}" >/dev/null
  done
  stop_yunwei
  now=$(python3 -c 'import time;print(int(time.time()*1000))')
  $seed "$dir" "${SEED_SQL//NOW_MS/$now} ANALYZE;"
  start_yunwei "$dir" "$url"
  port=$PORT
  # The seeded tickets have no search index rows: the server indexes them in the
  # background after start. Measure after that, not while it runs.
  wait_indexed "$token" 3000
  for r in $ROLES; do
    local user=b_$r pw=$UPW cookie
    if [ "$r" = admin ]; then user=admin; pw=$PW; fi
    # The session cookie is `Secure` by default: send it by hand over plain HTTP. Logins
    # from one address are throttled: wait and try again when one is refused.
    for attempt in 1 2 3 4; do
    cookie=$(curl -s -D - -o /dev/null -XPOST "http://127.0.0.1:$port/login" -H "Origin: http://127.0.0.1:$port" \
      --data-urlencode "username=$user" --data-urlencode "password=$pw" --data-urlencode "next=/" \
      | tr -d '\r' | awk -F'[ ;]' 'tolower($1)=="set-cookie:"{print $2}')
    # One warm-up, then N sequential loads; the page must be the role's home.
    curl -s -H "Cookie: $cookie" "http://127.0.0.1:$port/" | grep -q 'id="home"' && break
    [ "$attempt" = 4 ] && { echo "$r: no home"; exit 1; }
    sleep 20
    done
    times=$(for _ in $(seq 1 "$N"); do curl -s -H "Cookie: $cookie" -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/"; done)
    echo "$times" | python3 -c "
import sys
t = sorted(float(x) * 1000 for x in sys.stdin.read().split())
p = lambda q: t[min(len(t) - 1, int(q * len(t)))]
print(f'| $label | $r | {len(t)} | {p(0.5):.1f} | {p(0.95):.1f} | {t[-1]:.1f} |')"
  done
  stop_yunwei
  rm -rf "$dir"
}

echo "| backend | home | loads | p50 ms | p95 ms | max ms |"
echo "|---|---|---|---|---|---|"
on_backends "$WHICH" yunwei_bench_h run_one
