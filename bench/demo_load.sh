#!/usr/bin/env bash
# Benchmark: `serve --demo` with its simulated history (90 days by default) into an empty
# database, on SQLite and PostgreSQL: the history's own time and its phases (the
# `demo history loaded` log line, also kept in the setting `demo.history`), and the time
# until the server answers `/readyz`.
# Usage: bench/demo_load.sh [sqlite|postgres|both]. RUNS=3 loads per backend.
# YUNWEI_BIN=path measures a binary built elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
WHICH=${1:-both}
RUNS=${RUNS:-3}
DAYS=${DAYS:-90}
bench_bin

run_one() { # LABEL DATABASE_URL
  local label=$1 url=$2 dir t0 ready
  dir=$(mktemp -d)
  t0=$(date +%s.%N)
  LOG_LEVEL=info MONITORING=false READY_TRIES=1500 start_yunwei "$dir" "$url" --demo --demo-days "$DAYS"
  ready=$(seconds_since "$t0")
  stop_yunwei
  python3 - "$dir/log" "$label" "$ready" <<'PY'
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
  on_backends "$WHICH" yunwei_bench_d run_one
done
