#!/usr/bin/env bash
# Benchmark: the asset list API with 100,000 assets, at a fixed 500 requests/s, on SQLite
# and PostgreSQL; idle memory. Usage: bench/list_api.sh [sqlite|postgres|both]
# Needs: hey (Debian package `hey`), psql for the PostgreSQL run. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
WHICH=${1:-both}
ROWS=${ROWS:-100000}
DURATION=${DURATION:-30s}
bench_bin
command -v hey >/dev/null || { echo "install hey: apt-get install -y hey" >&2; exit 1; }

CSV=$(mktemp --suffix=.csv)
python3 - "$ROWS" > "$CSV" <<'PY'
import sys, random
random.seed(7)
n = int(sys.argv[1])
cats = ["网络设备", "安全设备", "服务器设备", "存储设备", "机房环境设备"]
print("名称,类别,品牌/型号,数量,单位,取得时间,过保时间,运行状态,管理IP")
for i in range(n):
    y = random.randint(2012, 2024)
    print(f"设备{i:06d},{random.choice(cats)},型号-{random.randint(1,500)},{random.randint(1,10)},台,{y},{y + random.randint(1,6)},良好,10.{i//65536}.{(i//256)%256}.{i%256}")
PY

run_one() {
  local label=$1 url=$2
  local dir port pid token
  dir=$(mktemp -d)
  start_yunwei "$dir" "$url"
  port=$PORT pid=$PID
  sleep 2
  local idle_kb; idle_kb=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
  token=$(login_token)
  local t0 t1
  t0=$(date +%s.%N)
  curl -fs -XPOST "http://127.0.0.1:$port/api/v1/assets/import" -H "authorization: Bearer $token" \
    -H 'content-type: text/csv' --data-binary @"$CSV" >/dev/null
  t1=$(date +%s.%N)
  local import_s; import_s=$(python3 -c "print(round($t1-$t0,1))")
  sleep 2
  local idle_loaded_kb; idle_loaded_kb=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
  # query | connections | requests/s per connection (10 x 50 = 50 x 10 = 500 requests/s)
  while IFS='|' read -r q c rate; do
    cpu0=$(awk '{print $14+$15}' /proc/$pid/stat)
    out=$(hey -z "$DURATION" -c "$c" -q "$rate" -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/assets?$q")
    cpu1=$(awk '{print $14+$15}' /proc/$pid/stat)
    hey_figures "$out"
    n=$(echo "$out" | awk '/^  \[200\]/{print $2}')
    cpu=$(python3 -c "print(round(($cpu1-$cpu0)*1000/$(getconf CLK_TCK)/max(${n:-0},1),2))")
    echo "| $label | \`/api/v1/assets?$q\` | $c | $((c * rate)) | $RPS | $P50 | $P99 | $cpu | $CODES |"
  done <<'Q'
limit=50|10|50
limit=50&category=server|10|50
limit=50&category=server&sort=-quantity|10|50
limit=50|50|10
limit=50&category=server&sort=-quantity|50|10
limit=50&offset=99000|10|50
limit=50&q=%E8%AE%BE%E5%A4%87099|5|2
Q
  local peak_kb; peak_kb=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
  echo "| $label | import of $ROWS rows in one transaction: ${import_s} s; RSS idle at start $((idle_kb/1024)) MB, after import $((idle_loaded_kb/1024)) MB, peak $((peak_kb/1024)) MB | | | | | |"
  stop_yunwei
  rm -rf "$dir"
}

echo "| backend | request | connections | offered req/s | achieved req/s | p50 ms | p99 ms | server CPU ms/req | responses |"
echo "|---|---|---|---|---|---|---|---|---|"
on_backends "$WHICH" yunwei_bench run_one
rm -f "$CSV"
