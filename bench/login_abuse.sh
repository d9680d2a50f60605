#!/usr/bin/env bash
# Benchmark: a burst of 500 bad logins for unknown usernames from 50 concurrent clients,
# (a) all from 127.0.0.1 (the per-IP throttle engages) and (b) spread over 500 client IPs
# through X-Forwarded-For from a trusted proxy (every login costs an argon2 hash), while a
# signed-in user lists assets; the server's RSS and threads are sampled every 50 ms.
# Usage: bench/login_abuse.sh [sqlite|postgres|both]. Needs python3 (standard library
# only), curl, and psql for the PostgreSQL run. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/yunwei-target}"
WHICH=${1:-both}
PW='Bench#Passw0rd1'
cargo build --release --quiet
BIN=$CARGO_TARGET_DIR/release/yunwei

run_one() {
  local label=$1 url=$2 mode=$3
  local dir port pid token cfg=()
  dir=$(mktemp -d)
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  if [ "$mode" = many-ips ]; then
    printf '[security]\ntrusted_proxies = ["127.0.0.1"]\n' >"$dir/yunwei.toml"
    cfg=(--config "$dir/yunwei.toml")
  fi
  # --demo gives the asset list a realistic page (the seed contract's inventory).
  YUNWEI_ADMIN_PASSWORD=$PW YUNWEI_LOG_LEVEL=error "$BIN" "${cfg[@]}" serve --demo \
    --listen 127.0.0.1:$port --data-dir "$dir" ${url:+--database "$url"} >"$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  token=$(curl -s -XPOST "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$PW\"}" | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
  sleep 3
  python3 bench/login_abuse.py "$pid" "$port" "$token" "$mode" "$label" 2>>"${JSON_OUT:-/dev/null}"
  kill $pid; wait $pid 2>/dev/null || true
  rm -rf "$dir"
}

echo "| backend | logins from | login responses | Retry-After s | logins/s | login p50 ms | login p99 ms | RSS before MB | RSS peak MB | RSS 5 s after MB | threads before / peak / after | list requests during burst | list p99 before ms | list p50 ms | list p99 ms | list max ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for mode in one-ip many-ips; do
  if [ "$WHICH" != postgres ]; then run_one SQLite "" $mode; fi
  if [ "$WHICH" != sqlite ]; then
    DB=yunwei_bench_login_$$
    psql postgres://postgres@127.0.0.1:5432/postgres -qc "CREATE DATABASE $DB" >/dev/null
    run_one PostgreSQL "postgres://postgres@127.0.0.1:5432/$DB" $mode
    psql postgres://postgres@127.0.0.1:5432/postgres -qc "DROP DATABASE $DB" >/dev/null
  fi
done
