#!/usr/bin/env bash
# Benchmark: GET /api/v1/search over 100,000 tickets with Chinese titles and descriptions,
# on SQLite and PostgreSQL: the time until the server answers and until the background
# backfill has indexed them (the tickets are seeded with SQL and the index emptied), then p50/p99 latency of a query mix
# (two-character words, a phrase, a latin word, a ticket number prefix, a word found in
# most tickets, and the similar-ticket query) from 4 client threads.
# Usage: bench/search.sh [sqlite|postgres|both]. Needs sqlite3 and psql.
# YUNWEI_BIN=path uses a binary built elsewhere (e.g. the debug build of the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
WHICH=${1:-both}
ROWS=${ROWS:-100000}
REQUESTS=${REQUESTS:-400}
bench_bin

# Titles and descriptions from a small vocabulary, deterministic per ticket number; the
# search index is emptied so that the next start rebuilds it from the tickets.
SEED_SQL="
INSERT INTO tickets (number, kind, title, description, system_id, source, reported_at, impact, urgency, priority, status,
  calendar_id, created_at, updated_at, resolution)
SELECT 'BEN-' || n, CASE WHEN n % 3 = 0 THEN 'request' ELSE 'incident' END,
  (CASE n % 7 WHEN 0 THEN 'OA系统' WHEN 1 THEN '数据库' WHEN 2 THEN '门户网站' WHEN 3 THEN '统一身份认证'
     WHEN 4 THEN '视频会议' WHEN 5 THEN '核心交换机' ELSE '邮件服务' END)
  || (CASE n % 11 WHEN 0 THEN '登录失败' WHEN 1 THEN '备份失败' WHEN 2 THEN '访问缓慢' WHEN 3 THEN '页面报错'
     WHEN 4 THEN '证书过期' WHEN 5 THEN '磁盘空间不足' WHEN 6 THEN '无法连接' WHEN 7 THEN '数据同步延迟'
     WHEN 8 THEN '打印异常' WHEN 9 THEN '接口超时' ELSE '账号锁定' END) || ' 工单' || n,
  '用户反馈' || (CASE n % 5 WHEN 0 THEN '上午九点起' WHEN 1 THEN '夜间批处理时' WHEN 2 THEN '月底报表期间'
     WHEN 3 THEN '升级之后' ELSE '切换网络后' END) || '出现问题，影响约 ' || (n % 300) || ' 名用户，错误码 E' || (n % 997),
  1 + (n % 27), 'api', 1735689600000 + n * 60000, 'medium', 'medium', 'P3',
  CASE WHEN n % 5 = 0 THEN 'closed' WHEN n % 5 = 1 THEN 'in_progress' ELSE 'new' END,
  1, 1735689600000 + n * 60000, 1735689600000 + n * 60000,
  CASE WHEN n % 5 = 0 THEN '重启应用服务并清理缓存，已恢复' END
FROM seq;
DELETE FROM search_docs;"

CLIENT=$(mktemp --suffix=.py)
cat > "$CLIENT" <<'PY'
import sys, json, time, threading, http.client, urllib.parse
port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
queries = [("登录", ""), ("备份", ""), ("数据库备份失败", ""), ("证书过期", ""), ("oa", ""),
           ("BEN-5000", ""), ("工单", ""), ("e42", ""), ("门户网站访问缓慢", "&type=knowledge&match=any&limit=5")]
def worker(results, k):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for i in range(n // 4):
        q, extra = queries[(i + k) % len(queries)]
        path = "/api/v1/search?q=" + urllib.parse.quote(q) + extra
        t = time.perf_counter()
        c.request("GET", path, headers={"Authorization": "Bearer " + token})
        r = c.getresponse(); body = r.read()
        results.append((q + extra, (time.perf_counter() - t) * 1000, r.status))
res = []
ts = [threading.Thread(target=worker, args=(res, k)) for k in range(4)]
t0 = time.perf_counter()
[t.start() for t in ts]; [t.join() for t in ts]
wall = time.perf_counter() - t0
def pct(v, p): v = sorted(v); return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
lat = [r[1] for r in res]
codes = sorted(set(r[2] for r in res))
print(f"all|{len(res)}|{len(res)/wall:.0f}|{pct(lat,50):.1f}|{pct(lat,99):.1f}|{codes}")
for q, extra in queries:
    l = [r[1] for r in res if r[0] == q + extra]
    print(f"{q}{extra}|{len(l)}||{pct(l,50):.1f}|{pct(l,99):.1f}|")
PY

run_one() {
  local label=$1 url=$2 seed=$3
  local dir token t0 ready
  dir=$(mktemp -d)
  start_yunwei "$dir" "$url" --demo
  stop_yunwei
  $seed "$dir"
  t0=$(date +%s.%N)
  READY_TRIES=6000 start_yunwei "$dir" "$url"
  ready=$(seconds_since "$t0")
  token=$(login_token)
  wait_indexed "$token"
  echo "| $label | ready $ready s after start; index of $ROWS tickets filled in the background $(seconds_since "$t0") s after start | | | | | |"
  python3 "$CLIENT" "$PORT" "$token" "$REQUESTS" | while IFS='|' read -r q n rps p50 p99 codes; do
    echo "| $label | \`$q\` | $n | $rps | $p50 | $p99 | $codes |"
  done
  stop_yunwei
  rm -rf "$dir"
}

echo "| backend | query | requests | req/s | p50 ms | p99 ms | statuses |"
echo "|---|---|---|---|---|---|---|"
on_backends "$WHICH" yunwei_bench_s run_one
rm -f "$CLIENT"
