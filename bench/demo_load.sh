#!/usr/bin/env bash
# Benchmark: `serve --demo` with its simulated history (90 days by default) into an empty
# database, on SQLite and PostgreSQL: the history's own time and its phases (the
# `demo history loaded` log line, also kept in the setting `demo.history`), and the time
# until the server answers `/readyz`.
# Usage: bench/demo_load.sh [sqlite|postgres|both]. RUNS=3 loads per backend.
# YUNWEI_BIN=path measures a binary built elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/yunwei-target}"
WHICH=${1:-both}
RUNS=${RUNS:-3}
DAYS=${DAYS:-90}
if [ -z "${YUNWEI_BIN:-}" ]; then cargo build --release --quiet; fi
BIN=${YUNWEI_BIN:-$CARGO_TARGET_DIR/release/yunwei}

run_one() { # LABEL [DATABASE_URL]
  local label=$1 url=${2:-} dir port pid t0 t1
  dir=$(mktemp -d)
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  t0=$(date +%s.%N)
  YUNWEI_ADMIN_PASSWORD='Bench#Passw0rd1' YUNWEI_LOG_LEVEL=info YUNWEI_MONITORING_ENABLED=false \
    "$BIN" serve --demo --demo-days "$DAYS" --listen 127.0.0.1:$port --data-dir "$dir" ${url:+--database "$url"} >"$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 1 3000); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  t1=$(date +%s.%N)
  kill $pid; wait $pid 2>/dev/null || true
  python3 - "$dir/log" "$label" "$(python3 -c "print(round($t1-$t0,1))")" <<'PY'
import sys, re
log, label, ready = sys.argv[1], sys.argv[2], sys.argv[3]
line = next((l for l in open(log, encoding="utf-8", errors="replace") if "demo history loaded" in l), "")
ms = re.search(r"elapsed_ms: (\d+)", line)
phases = re.search(r"phases: \[(.*?)\]", line)
print(f"| {label} | {int(ms.group(1)) / 1000 if ms else '?'} s | {ready} s | {phases.group(1).replace(chr(34), '') if phases else line[:200]} |")
PY
  rm -rf "$dir"
}

echo "| backend | history load | ready after | phases (ms) |"
echo "|---|---|---|---|"
for _ in $(seq 1 "$RUNS"); do
  if [ "$WHICH" != postgres ]; then run_one SQLite; fi
  if [ "$WHICH" != sqlite ]; then
    DB=yunwei_bench_d_$$
    psql postgres://postgres@127.0.0.1:5432/test -qc "DROP DATABASE IF EXISTS $DB" >/dev/null
    psql postgres://postgres@127.0.0.1:5432/test -qc "CREATE DATABASE $DB" >/dev/null
    run_one PostgreSQL "postgres://postgres@127.0.0.1:5432/$DB"
    psql postgres://postgres@127.0.0.1:5432/test -qc "DROP DATABASE $DB" >/dev/null
  fi
done
