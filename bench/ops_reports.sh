#!/usr/bin/env bash
# Benchmark (issue 12): a service line's 《运营月报》 over 5,000 work records of a month, and
# the month's reports of all 22 lines, through POST /api/v1/reports on the release build.
# Every line gets 5,000 records of November 2025 (CSV import: support calls with durations,
# channels, requesters and results; every line keeps support records); then line_monthly (DOCX) for one
# line five times, support_table (XLSX) for it three times, and line_monthly for every line
# in turn, timed as a whole.
#
# Usage: bench/ops_reports.sh [sqlite|postgres|both]
# Environment: PG_BASE (default postgres://postgres@127.0.0.1:5432), ROWS (default 5000).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
WHICH=${1:-both}
ROWS=${ROWS:-5000}
MONITORING=false
bench_bin
bench_work opsrep

python3 - "$WORK/records.csv" "$ROWS" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
channels = ["电话", "企业微信", "粤政易", "邮件", "现场"]
results = ["已解决", "已解决", "已解决", "待跟进", "已转工单"]
with open(path, "w", encoding="utf-8") as f:
    f.write("类型,发生时间,耗时（分钟）,服务对象,单位层级,服务方式,问题或工作内容,处理结果,对账数据,一致条数,不一致条数\n")
    for i in range(n):
        day = 1 + i % 28
        if True:
            f.write(f"技术支持,2025-11-{day:02d} 09:{i % 60:02d},{i % 300},用户{i % 400},地市,{channels[i % 5]},问题 {i % 40},{results[i % 5]},,,\n")
PY

api() { curl -s -H "Authorization: Bearer $TOKEN" "$@"; }

report() { # kind line format -> seconds
  local t
  t=$(api -o "$WORK/out.json" -w '%{time_total}' -XPOST -H 'content-type: application/json' "$BASE/api/v1/reports" \
    -d "{\"kind\":\"$1\",\"period\":\"2025-11\",\"format\":\"$3\",\"line_id\":$2}")
  python3 -c 'import sys,json;d=json.load(open(sys.argv[1]));sys.exit(0 if d.get("status")=="done" else "report: "+json.dumps(d, ensure_ascii=False))' "$WORK/out.json"
  echo "$t"
}

run_backend() {
  local label=$1 url=$2 dir
  dir=$(mktemp -d "$WORK/$label.XXXX")
  start_yunwei "$dir" "$url" --demo
  TOKEN=$(login_token)
  local lines first times=() xtimes=() n=0
  lines=$(api "$BASE/api/v1/service-lines?limit=100" | python3 -c 'import sys,json;print(" ".join(str(l["id"]) for l in json.load(sys.stdin)["items"]))')
  for l in $lines; do
    api -o "$WORK/imp.json" -XPOST -H 'content-type: text/csv' --data-binary "@$WORK/records.csv" "$BASE/api/v1/work-records/import?line_id=$l"
    python3 -c 'import sys,json;d=json.load(open(sys.argv[1]));sys.exit(0 if d.get("imported")==int(sys.argv[2]) else "import: "+json.dumps(d, ensure_ascii=False)[:300])' "$WORK/imp.json" "$ROWS"
    n=$((n + 1))
  done
  first=${lines%% *}
  for _ in 1 2 3 4 5; do times+=("$(report line_monthly "$first" docx)"); done
  for _ in 1 2 3; do xtimes+=("$(report support_table "$first" xlsx)"); done
  # The server's time for each (curl's total), summed: the answer's check is not counted.
  local all=()
  for l in $lines; do all+=("$(report line_monthly "$l" docx)"); done
  echo "| $label | $n lines × $ROWS records | ${times[*]} | $(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p) | $(printf '%s\n' "${xtimes[@]}" | sort -n | sed -n 2p) | $(printf '%s\n' "${all[@]}" | python3 -c 'import sys;print(round(sum(float(x) for x in sys.stdin), 2))') |"
  stop_yunwei
}

echo "| backend | data | line_monthly DOCX runs (s) | median (s) | support_table XLSX median (s) | all lines' line_monthly (s) |"
echo "|---|---|---|---|---|---|"
on_backends "$WHICH" yunwei_bench_opsrep run_backend
