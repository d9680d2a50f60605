#!/usr/bin/env bash
# Benchmark (issue 11): 《月度巡检报告》 over a month's worth of inspection tasks — the 27
# systems' daily check for 30 days (810 tasks) and the devices' daily check (the demo's 55
# asset records × 61 rounds, 3,355 tasks; about 4,170 in all, as 27 × 30 + 112 × 30) — each
# report kind and format timed through POST /api/v1/reports (generation, storage of the
# file and the answer), 5 times each, on the release build.
#
# Usage: bench/inspection_report.sh [sqlite|postgres|both]
# Environment: PG_BASE (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
WHICH=${1:-both}
MONITORING=false
bench_bin
bench_work report

api() { curl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' "$@"; }

run_backend() {
  local label=$1 url=$2 dir
  dir=$(mktemp -d "$WORK/$label.XXXX")
  start_yunwei "$dir" "$url" --demo
  TOKEN=$(login_token)
  local sys_tpl dev_tpl sys_plan dev_plan
  sys_tpl=$(api "$BASE/api/v1/inspection-templates?limit=50" | python3 -c 'import sys,json;print([t["id"] for t in json.load(sys.stdin)["items"] if t["name"]=="应用系统日检"][0])')
  dev_tpl=$(api -XPOST "$BASE/api/v1/inspection-templates" -d '{"name":"设备日检（压测）","target_type":"asset","items":[
    {"key":"D1","label":"运行状态","kind":"check","required":true},
    {"key":"D2","label":"CPU 使用率","kind":"number","unit":"%","max":80},
    {"key":"D3","label":"温度","kind":"number","unit":"℃","min":10,"max":45}]}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["id"])')
  sys_plan=$(api -XPOST "$BASE/api/v1/inspection-plans" -d "{\"name\":\"系统日检\",\"template_id\":$sys_tpl,\"target_mode\":\"all\",\"schedule\":\"0 9 * * *\"}" \
    | python3 -c 'import sys,json;print(json.load(sys.stdin)["id"])')
  dev_plan=$(api -XPOST "$BASE/api/v1/inspection-plans" -d "{\"name\":\"设备日检\",\"template_id\":$dev_tpl,\"target_mode\":\"all\",\"schedule\":\"0 9 * * *\"}" \
    | python3 -c 'import sys,json;print(json.load(sys.stdin)["id"])')
  for _ in $(seq 1 30); do api -XPOST "$BASE/api/v1/inspection-plans/$sys_plan/run" -d '{}' >/dev/null; done
  for _ in $(seq 1 61); do api -XPOST "$BASE/api/v1/inspection-plans/$dev_plan/run" -d '{}' >/dev/null; done
  local month tasks
  month=$(TZ=Asia/Shanghai date +%Y-%m)
  tasks=$(api "$BASE/api/v1/inspection-tasks?limit=1" | python3 -c 'import sys,json;print(json.load(sys.stdin)["total"])')
  echo "$label: $tasks tasks in $month"
  echo "| backend | report | format | runs (s) | median (s) | bytes |"
  echo "|---|---|---|---|---|---|"
  for scope in systems infrastructure; do
    for format in docx xlsx; do
      local times=() t size
      for _ in 1 2 3 4 5; do
        t=$(api -o "$dir/out.json" -w '%{time_total}' -XPOST "$BASE/api/v1/reports" \
          -d "{\"kind\":\"inspection_monthly\",\"period\":\"$month\",\"format\":\"$format\",\"scope\":\"$scope\"}")
        times+=("$t")
      done
      size=$(python3 -c 'import sys,json;print(json.load(open(sys.argv[1]))["size"])' "$dir/out.json")
      echo "| $label | inspection_monthly $scope | $format | ${times[*]} | $(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p) | $size |"
    done
  done
  stop_yunwei
}

on_backends "$WHICH" yunwei_bench_report run_backend
