#!/usr/bin/env bash
# Benchmark (issue 12): importing 50,000 work records (CSV, 90 % support calls and 10 %
# reconciliations with their type fields) onto one service line through
# POST /api/v1/work-records/import, three times each on a fresh demo, on the release build;
# then the line's indicators over the 150,000 records (GET /service-lines/{id}/stats).
#
# Usage: bench/ops_import.sh [sqlite|postgres|both]
# Environment: PG_BASE (default postgres://postgres@127.0.0.1:5432), ROWS (default 50000).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
WHICH=${1:-both}
ROWS=${ROWS:-50000}
MONITORING=false
bench_bin
bench_work ops

python3 - "$WORK/records.csv" "$ROWS" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w", encoding="utf-8") as f:
    f.write("类型,发生时间,耗时（分钟）,服务对象,单位层级,服务方式,问题或工作内容,处理结果,对账数据,一致条数,不一致条数\n")
    for i in range(n):
        day = 1 + i % 28
        if i % 10 == 0:
            f.write(f"数据对账,2025-11-{day:02d} 10:00,,,,,对账 {i},,办件数据,{i},1\n")
        else:
            f.write(f"技术支持,2025-11-{day:02d} 09:{i % 60:02d},{i % 90},用户{i % 500},地市,电话,问题 {i % 300},已解决,,,\n")
PY
SIZE=$(stat -c %s "$WORK/records.csv")

api() { curl -s -H "Authorization: Bearer $TOKEN" "$@"; }

run_backend() {
  local label=$1 url=$2 dir
  dir=$(mktemp -d "$WORK/$label.XXXX")
  start_yunwei "$dir" "$url" --demo
  TOKEN=$(login_token)
  local line times=() t out
  line=$(api "$BASE/api/v1/service-lines?limit=100" | python3 -c 'import sys,json;print([l["id"] for l in json.load(sys.stdin)["items"] if l["code"]=="4.2.7"][0])')
  for _ in 1 2 3; do
    t=$(api -o "$dir/out.json" -w '%{time_total}' -XPOST -H 'content-type: text/csv' \
      --data-binary "@$WORK/records.csv" "$BASE/api/v1/work-records/import?line_id=$line")
    out=$(python3 -c 'import sys,json;print(json.load(open(sys.argv[1])).get("imported"))' "$dir/out.json")
    [ "$out" = "$ROWS" ] || { echo "import answered: $(cat "$dir/out.json")" >&2; exit 1; }
    times+=("$t")
  done
  local stats_t
  stats_t=$(api -o /dev/null -w '%{time_total}' "$BASE/api/v1/service-lines/$line/stats?from=2025-11-01&to=2025-11-30")
  echo "| $label | $ROWS rows, $((SIZE / 1024)) KB CSV | ${times[*]} | $(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p) | $stats_t |"
  stop_yunwei
}

echo "| backend | file | import runs (s) | median (s) | line stats over $((ROWS * 3)) records (s) |"
echo "|---|---|---|---|---|"
on_backends "$WHICH" yunwei_bench_ops run_backend
