#!/usr/bin/env bash
# Benchmark (issue 13): the O&M documents over a lived-in year on the release build, through
# POST /api/v1/reports: 《运维月报》 (om_monthly) of November 2025, DOCX and XLSX; the
# 《年终总结报告》 (annual_summary) of 2025 for the systems; the 《服务质量评价报告》
# (quality_report) of November 2025.
#
# The demo (seed inventory and contract) is loaded, then seeded with SQL: ROWS tickets
# (default 100,000) spread over 2025 (every fifth minute and a quarter: incidents,
# requests, problems and changes of every priority and source on the 27 systems, two
# thirds resolved with a first response, a resolution and a rating), and one HTTP monitor
# per system with a daily rollup for every day of 2025 (a few hours down here and there),
# so that availability is computed from rollups as in production.
#
# Usage: bench/om_reports.sh [sqlite|postgres|both]. Needs sqlite3 and psql.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
WHICH=${1:-both}
ROWS=${ROWS:-100000}
MONITORING=false
bench_bin
bench_work om

# 2025-01-01 00:00 Beijing = 1735660800000 ms.
T0=1735660800000
SEED_SQL="
INSERT INTO tickets (number, kind, change_type, title, description, system_id, category, source, reported_at,
  impact, urgency, priority, status, calendar_id, first_response_at, resolved_at, satisfaction, created_at, updated_at)
SELECT 'BEN-' || n,
  CASE n % 10 WHEN 0 THEN 'change' WHEN 1 THEN 'problem' WHEN 2 THEN 'request' WHEN 3 THEN 'request' ELSE 'incident' END,
  CASE WHEN n % 10 = 0 THEN 'upgrade' END,
  '压测工单 ' || n, '描述 ' || n, 1 + (n % 27),
  CASE n % 4 WHEN 0 THEN '网络' WHEN 1 THEN '应用' WHEN 2 THEN '数据库' ELSE NULL END,
  CASE n % 6 WHEN 0 THEN 'portal' WHEN 1 THEN 'phone' WHEN 2 THEN 'on_site' WHEN 3 THEN 'api' WHEN 4 THEN 'monitoring' ELSE 'inspection' END,
  $T0 + n * 315000, 'medium', 'medium', 'P' || (1 + n % 4),
  CASE WHEN n % 3 = 0 THEN 'new' ELSE 'resolved' END, 1,
  CASE WHEN n % 3 = 0 THEN NULL ELSE $T0 + n * 315000 + 600000 END,
  CASE WHEN n % 3 = 0 THEN NULL ELSE $T0 + n * 315000 + 5400000 END,
  CASE WHEN n % 3 = 0 THEN NULL ELSE 3 + n % 3 END,
  $T0 + n * 315000, $T0 + n * 315000
FROM seq;
INSERT INTO monitors (name, kind, target, timeout_ms, system_id, state_since, created_at, updated_at)
SELECT '门户可用性 ' || id, 'http', 'http://127.0.0.1:9/', 5000, id, $T0, $T0, $T0 FROM systems;
INSERT INTO monitor_daily (monitor_id, day, up_ms, down_ms, maintenance_ms, unknown_ms, checks, failures)
SELECT m.id, $T0 + d.n * 86400000,
  86400000 - CASE WHEN (m.id + d.n) % 17 = 0 THEN 3600000 ELSE 0 END,
  CASE WHEN (m.id + d.n) % 17 = 0 THEN 3600000 ELSE 0 END, 0, 0, 1440,
  CASE WHEN (m.id + d.n) % 17 = 0 THEN 60 ELSE 0 END
FROM monitors m, days d;
INSERT INTO monitor_rollups (monitor_id, hour, up_ms, down_ms, maintenance_ms, unknown_ms, checks, failures)
SELECT id, $T0 + 31536000000 - 3600000, 3600000, 0, 0, 0, 60, 0 FROM monitors;"

report() { # body -> seconds (curl's total); fails unless the report is done
  local t
  t=$(curl -s -o "$WORK/out.json" -w '%{time_total}' -XPOST -H "Authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' "$BASE/api/v1/reports" -d "$1")
  python3 -c 'import sys,json;d=json.load(open(sys.argv[1]));sys.exit(0 if d.get("status")=="done" else "report: "+json.dumps(d, ensure_ascii=False))' "$WORK/out.json"
  echo "$t"
}

run_one() {
  local label=$1 url=$2 seed=$3 dir
  dir=$(mktemp -d "$WORK/$label.XXXX")
  start_yunwei "$dir" "$url" --demo
  stop_yunwei
  $seed "$dir"
  start_yunwei "$dir" "$url"
  TOKEN=$(login_token)
  local om=() omx=() annual=() quality=()
  for _ in 1 2 3; do om+=("$(report '{"kind":"om_monthly","period":"2025-11","format":"docx"}')"); done
  for _ in 1 2 3; do omx+=("$(report '{"kind":"om_monthly","period":"2025-11","format":"xlsx"}')"); done
  for _ in 1 2 3; do annual+=("$(report '{"kind":"annual_summary","period":"2025","format":"docx","scope":"systems"}')"); done
  for _ in 1 2 3; do quality+=("$(report '{"kind":"quality_report","period":"2025-11","format":"docx"}')"); done
  local month
  month=$(curl -s -H "Authorization: Bearer $TOKEN" \
    "$BASE/api/v1/tickets/stats?from=2025-11-01T00:00:00%2B08:00&to=2025-12-01T00:00:00%2B08:00" |
    python3 -c 'import sys,json;print(json.load(sys.stdin)["total"]["tickets"])')
  echo "| $label | $ROWS | $month | $(median "${om[@]}") | $(median "${omx[@]}") | $(median "${annual[@]}") | $(median "${quality[@]}") |"
  stop_yunwei
}

seed_sqlite() {
  sqlite3 "$1/yunwei.db" "CREATE TEMP TABLE seq(n INTEGER);
    WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < $ROWS) INSERT INTO seq SELECT n FROM s;
    CREATE TEMP TABLE days(n INTEGER);
    WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < 364) INSERT INTO days SELECT n FROM s;
    $SEED_SQL"
}

seed_pg() {
  psql "$PG_URL" -q -c "CREATE TEMP TABLE seq AS SELECT CAST(generate_series(1, $ROWS) AS BIGINT) AS n;
    CREATE TEMP TABLE days AS SELECT CAST(generate_series(0, 364) AS BIGINT) AS n; $SEED_SQL" >/dev/null
}

echo "| backend | tickets in 2025 | of them in November | om_monthly DOCX s | om_monthly XLSX s | annual_summary DOCX s | quality_report DOCX s |"
echo "|---|---|---|---|---|---|---|"
on_backends "$WHICH" yunwei_bench_om run_one
