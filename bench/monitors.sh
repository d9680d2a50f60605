#!/usr/bin/env bash
# Benchmark: N HTTP monitors (default 10,000) at a 60 s interval against a loopback target,
# measured for a while after the jittered start has spread them: probes/s, CPU, RSS, probes
# per CPU-second; then Prometheus blackbox_exporter (Debian package) probing the same
# target at the same rate, driven by hey, for probes per CPU-second side by side.
# Then availability over a year of hourly rollups for the 27 demo systems.
# Usage: bench/monitors.sh   (env: MONITORS=10000 WARMUP=75 MEASURE=180 PART=all|availability)
# Needs: hey, prometheus-blackbox-exporter, sqlite3. Prints Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/yunwei-target}"
MONITORS=${MONITORS:-10000}
WARMUP=${WARMUP:-75}
MEASURE=${MEASURE:-180}
PW='Bench#Passw0rd1'
cargo build --release --quiet
BIN=$CARGO_TARGET_DIR/release/yunwei
for t in hey prometheus-blackbox-exporter sqlite3; do
  command -v $t >/dev/null || { echo "missing $t (apt-get install -y hey prometheus-blackbox-exporter sqlite3)" >&2; exit 1; }
done
TCK=$(getconf CLK_TCK)
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14+$15}' /proc/$1/stat; }
rss_mb() { awk '/VmRSS/{printf "%.0f", $2/1024}' /proc/$1/status; }
probes() { curl -fs "http://127.0.0.1:$1/metrics" | awk '/^yunwei_probes_total /{print $2}'; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

PART=${PART:-all}   # all | availability
if [ "$PART" = all ]; then
# The target: a second yunwei answering /healthz (monitoring off).
TDIR=$(mktemp -d); TPORT=$(free_port)
YUNWEI_ADMIN_PASSWORD=$PW YUNWEI_LOG_LEVEL=warn YUNWEI_MONITORING_ENABLED=false \
  "$BIN" serve --listen 127.0.0.1:$TPORT --data-dir "$TDIR" >"$TDIR/log" 2>&1 &
TPID=$!; PIDS+=($TPID)
TARGET="http://127.0.0.1:$TPORT/healthz"

# The monitors are written into a fresh database before yunwei starts (creating 10,000
# through the API would measure the API, not the prober).
DIR=$(mktemp -d); PORT=$(free_port)
YUNWEI_ADMIN_PASSWORD=$PW YUNWEI_LOG_LEVEL=warn YUNWEI_MONITORING_ENABLED=false \
  "$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$DIR" >"$DIR/log" 2>&1 &
P=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
kill $P; wait $P 2>/dev/null || true
NOW=$(date +%s%3N)
sqlite3 "$DIR/yunwei.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $MONITORS)
INSERT INTO monitors (name, kind, target, interval_s, timeout_ms, failures_before_down, successes_before_up, priority, config,
                      paused, state, base_state, state_since, created_at, updated_at)
SELECT 'bench-' || i, 'http', '$TARGET', 60, 10000, 3, 1, 'P3',
       '{"method":"GET","follow_redirects":true,"verify_tls":true,"cert_expiry_warn_days":14}', 0, 'pending', 'pending', $NOW, $NOW, $NOW FROM n;
SQL
YUNWEI_ADMIN_PASSWORD=$PW YUNWEI_LOG_LEVEL=warn "$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$DIR" >"$DIR/log" 2>&1 &
PID=$!; PIDS+=($PID)
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
sleep "$WARMUP"
c0=$(cpu_ticks $PID); p0=$(probes $PORT); t0=$(date +%s.%N); max_rss=0
for _ in $(seq 1 $((MEASURE / 5))); do
  sleep 5
  r=$(rss_mb $PID); [ "$r" -gt "$max_rss" ] && max_rss=$r
done
c1=$(cpu_ticks $PID); p1=$(probes $PORT); t1=$(date +%s.%N)
up=$(curl -fs "http://127.0.0.1:$PORT/metrics" | grep -c '^yunwei_monitor_up{.*} 1$' || true)
results=$(sqlite3 "$DIR/yunwei.db" "SELECT COUNT(*) FROM monitor_results")
read -r y_rate y_cpu y_ppcs <<<"$(python3 -c "
d=$t1-$t0; cpu=($c1-$c0)/$TCK; n=$p1-$p0
print(round(n/d,1), round(cpu/d*100,1), round(n/max(cpu,1e-9)))")"

# blackbox_exporter probing the same target at the same rate.
BPORT=$(free_port)
prometheus-blackbox-exporter --config.file=/etc/prometheus/blackbox.yml --web.listen-address=127.0.0.1:$BPORT \
  >/dev/null 2>&1 &
BPID=$!; PIDS+=($BPID)
sleep 1
RATE=$(python3 -c "print(max(1, round($MONITORS/60/10)))")
b0=$(cpu_ticks $BPID); bt0=$(date +%s.%N)
out=$(hey -z "${MEASURE}s" -c 10 -q "$RATE" "http://127.0.0.1:$BPORT/probe?target=$TARGET&module=http_2xx")
b1=$(cpu_ticks $BPID); bt1=$(date +%s.%N)
bn=$(echo "$out" | awk '/^  \[200\]/{print $2}')
ok=$(curl -fs "http://127.0.0.1:$BPORT/probe?target=$TARGET&module=http_2xx" | awk '/^probe_success /{print $2}')
b_rss=$(rss_mb $BPID)
read -r b_rate b_cpu b_ppcs <<<"$(python3 -c "
d=$bt1-$bt0; cpu=($b1-$b0)/$TCK; n=${bn:-0}
print(round(n/d,1), round(cpu/d*100,1), round(n/max(cpu,1e-9)))")"

echo
echo "## $MONITORS HTTP monitors at 60 s, measured ${MEASURE}s after ${WARMUP}s warm-up ($(date -u +%Y-%m-%d))"
echo
echo "| prober | probes/s | CPU (% of one core) | max RSS (MB) | probes per CPU-second |"
echo "|---|---|---|---|---|"
echo "| yunwei (probe + store result + state machine) | $y_rate | $y_cpu | $max_rss | $y_ppcs |"
echo "| blackbox_exporter $(prometheus-blackbox-exporter --version 2>&1 | head -1 | awk '{print $3}') (probe via /probe, driven by hey) | $b_rate | $b_cpu | $b_rss | $b_ppcs |"
echo
echo "monitors up: $up / $MONITORS; results stored: $results; blackbox probe_success: $ok"

kill $PID; wait $PID 2>/dev/null || true
fi

# Availability over a year of hourly rollups: 27 systems × 3 monitors × 8,760 hours.
ADIR=$(mktemp -d); APORT=$(free_port)
YUNWEI_ADMIN_PASSWORD=$PW YUNWEI_LOG_LEVEL=warn YUNWEI_MONITORING_ENABLED=false \
  "$BIN" serve --demo --listen 127.0.0.1:$APORT --data-dir "$ADIR" >"$ADIR/log" 2>&1 &
A=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$APORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
kill $A; wait $A 2>/dev/null || true
YEAR0=$(date -u -d '2025-01-01T00:00:00+08:00' +%s)000
sqlite3 "$ADIR/yunwei.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 80)
INSERT INTO monitors (name, kind, target, interval_s, timeout_ms, failures_before_down, successes_before_up, system_id, priority, config,
                      paused, state, base_state, state_since, created_at, updated_at)
SELECT 'sys-' || (i / 3 + 1) || '-' || (i % 3), 'http', 'http://127.0.0.1:9/', 60, 10000, 3, 1, i / 3 + 1, 'P3', '{}', 1, 'paused', 'pending',
       $YEAR0, $YEAR0, $YEAR0 FROM n;
WITH RECURSIVE h(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM h WHERE k < 8759)
INSERT INTO monitor_rollups (monitor_id, hour, up_ms, down_ms, maintenance_ms, unknown_ms, checks, failures, latency_avg_ms, latency_max_ms)
SELECT m.id, $YEAR0 + k * 3600000,
       CASE WHEN (k + m.id) % 997 = 0 THEN 2400000 ELSE 3600000 END,
       CASE WHEN (k + m.id) % 997 = 0 THEN 1200000 ELSE 0 END, 0, 0, 60,
       CASE WHEN (k + m.id) % 997 = 0 THEN 20 ELSE 0 END, 12.5, 40.0
FROM monitors m, h;
INSERT INTO monitor_daily (monitor_id, day, up_ms, down_ms, maintenance_ms, unknown_ms, checks, failures)
SELECT monitor_id, ((hour + 28800000) / 86400000) * 86400000 - 28800000 AS d, SUM(up_ms), SUM(down_ms), SUM(maintenance_ms),
       SUM(unknown_ms), SUM(checks), SUM(failures)
FROM monitor_rollups GROUP BY monitor_id, d;
SQL
rows=$(sqlite3 "$ADIR/yunwei.db" "SELECT COUNT(*) FROM monitor_rollups")
YUNWEI_ADMIN_PASSWORD=$PW YUNWEI_LOG_LEVEL=warn YUNWEI_MONITORING_ENABLED=false \
  "$BIN" serve --listen 127.0.0.1:$APORT --data-dir "$ADIR" >"$ADIR/log" 2>&1 &
A=$!; PIDS+=($A)
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$APORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
TOKEN=$(curl -s -XPOST "http://127.0.0.1:$APORT/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PW\"}" | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
Q="from=2025-01-01T00:00:00%2B08:00&to=2026-01-01T00:00:00%2B08:00"
s0=$(date +%s.%N)
for s in $(seq 1 27); do
  curl -fs -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$APORT/api/v1/systems/$s/availability?$Q" >/dev/null
done
s1=$(date +%s.%N)
one=$(curl -fs -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$APORT/api/v1/systems/1/availability?$Q" \
  | python3 -c 'import sys,json;d=json.load(sys.stdin);print(round(d["availability"],6), d["up_seconds"], d["down_seconds"])')
echo
echo "## Availability for 2025 (hourly rollups: $rows rows, 27 systems × 3 monitors)"
echo
echo "27 system-year availability requests in $(python3 -c "print(round(($s1-$s0)*1000))") ms total; system 1: availability, up s, down s = $one"
