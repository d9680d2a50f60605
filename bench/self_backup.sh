#!/usr/bin/env bash
# Benchmark (issue 14): `yunwei backup` and `yunwei restore` of a database with TICKETS
# tickets (each with a creation event) and ATTACH_MB MiB of attachments (1 MiB random
# files, incompressible like most scans and office files), timed against
# `sqlite3 .backup` (+ tar of the attachments) and `pg_dump -Fc` (+ tar) of the same data.
#   1. the demo on SQLite, then tickets, events and attachment rows inserted by SQL;
#   2. SQLite: yunwei backup, sqlite3 .backup, tar; yunwei restore into a fresh SQLite;
#   3. PostgreSQL: yunwei restore of the same archive into a fresh database (SQLite → PG),
#      yunwei backup from it, pg_dump -Fc, pg_restore into a fresh database.
# Usage: bench/self_backup.sh   Environment: TICKETS (100000), ATTACH_MB (1024),
# YUNWEI_BIN (default: the release build), PG_BASE (postgres://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/yunwei-target}"
TICKETS=${TICKETS:-100000}
ATTACH_MB=${ATTACH_MB:-1024}
PG_BASE=${PG_BASE:-postgres://postgres@127.0.0.1:5432}
if [ -z "${YUNWEI_BIN:-}" ]; then cargo build --release --quiet; YUNWEI_BIN=$CARGO_TARGET_DIR/release/yunwei; fi
BIN=$YUNWEI_BIN
for tool in sqlite3 psql pg_dump pg_restore curl; do
  command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
WORK=$(mktemp -d /var/tmp/yunwei-bench-selfbackup.XXXXXX)
DB1="yunwei_bench_sb1_$$"; DB2="yunwei_bench_sb2_$$"
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  for d in "$DB1" "$DB2"; do psql "$PG_BASE/postgres" -qc "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
unset YUNWEI_DATABASE_URL YUNWEI_DATA_DIR YUNWEI_CONFIG
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
size() { du -sb "$1" | cut -f1; }

echo "== data: demo + $TICKETS tickets + $ATTACH_MB MiB attachments"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
YUNWEI_ADMIN_PASSWORD='Bench#Passw0rd1' YUNWEI_MONITORING_ENABLED=false \
  "$BIN" serve --demo --listen "127.0.0.1:$PORT" --data-dir "$WORK/a" >"$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
DBF=$WORK/a/yunwei.db
sqlite3 "$DBF" <<SQL
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $TICKETS)
INSERT INTO tickets (number, kind, title, description, system_id, source, reported_at, impact,
  urgency, priority, status, sla_breached, reopen_count, created_at, updated_at)
SELECT 'BENCH-' || i, 'incident', '备份基准工单 ' || i, '批量生成：门户网站访问缓慢，已远程排查。',
  1, 'api', 1761955200000 + i * 1000, 'medium', 'high', 'P3', 'closed', 0, 0,
  1761955200000 + i * 1000, 1761955200000 + i * 1000 FROM n;
INSERT INTO ticket_events (ticket_id, at, actor_name, kind, summary)
SELECT id, created_at, 'bench', 'created', '创建工单' FROM tickets WHERE number LIKE 'BENCH-%';
COMMIT;
SQL
first=$(sqlite3 "$DBF" "SELECT MIN(id) FROM tickets WHERE number LIKE 'BENCH-%'")
mkdir -p "$WORK/a/attachments"
{
  echo "BEGIN;"
  for i in $(seq 1 "$ATTACH_MB"); do
    tid=$((first + i - 1))
    mkdir -p "$WORK/a/attachments/$tid"
    f="attachments/$tid/1761955200000-$(printf '%016x' "$i").bin"
    head -c 1048576 /dev/urandom >"$WORK/a/$f"
    echo "INSERT INTO attachments (ticket_id, file_name, content_type, size, sha256, stored_path, uploaded_by_name, created_at) VALUES ($tid, '扫描件$i.pdf', 'application/pdf', 1048576, '', '$f', 'bench', 1761955200000);"
  done
  echo "COMMIT;"
} | sqlite3 "$DBF"
sqlite3 "$DBF" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
echo "tickets: $(sqlite3 "$DBF" 'SELECT COUNT(*) FROM tickets'), database: $(size "$DBF") bytes, attachments: $(size "$WORK/a/attachments") bytes"

echo "== SQLite"
yb=$(t "$BIN" backup --out "$WORK/sqlite.zip" --data-dir "$WORK/a")
sb=$(t sqlite3 "$DBF" ".backup $WORK/copy.db")
tb=$(t tar -C "$WORK/a" -cf "$WORK/files.tar" attachments)
yr=$(t "$BIN" restore "$WORK/sqlite.zip" --data-dir "$WORK/r1")
echo "yunwei backup ${yb}s ($(size "$WORK/sqlite.zip") bytes); sqlite3 .backup ${sb}s + tar ${tb}s"
echo "yunwei restore ${yr}s (SQLite ← SQLite)"

echo "== PostgreSQL"
for d in "$DB1" "$DB2"; do psql "$PG_BASE/postgres" -qc "CREATE DATABASE $d" >/dev/null; done
pr=$(t "$BIN" restore "$WORK/sqlite.zip" --database "$PG_BASE/$DB1" --data-dir "$WORK/p1")
pb=$(t "$BIN" backup --out "$WORK/pg.zip" --database "$PG_BASE/$DB1" --data-dir "$WORK/p1")
pd=$(t pg_dump -Fc -f "$WORK/pg.dump" "$PG_BASE/$DB1")
pt=$(t tar -C "$WORK/p1" -cf "$WORK/pfiles.tar" attachments)
prs=$(t pg_restore -d "$PG_BASE/$DB2" "$WORK/pg.dump")
echo "yunwei backup ${pb}s ($(size "$WORK/pg.zip") bytes); pg_dump -Fc ${pd}s ($(size "$WORK/pg.dump") bytes) + tar ${pt}s"
echo "yunwei restore ${pr}s (PostgreSQL ← SQLite archive); pg_restore ${prs}s (+ untar not timed)"
