#!/usr/bin/env bash
# The self-backup round trip CI runs (.ci/run): the demo on SQLite, backed up while the
# server runs, restored into a fresh PostgreSQL database, backed up from there, restored
# into a fresh SQLite file; row counts per table equal (audit_events: plus one restore
# record per restore), stored files byte-equal and
# `yunwei audit verify` passing after each restore. The search index (search_docs, and
# SQLite's full-text tables search_fts*) is left out: archives do not hold it, and the
# server refills it from the records in the background after start.
# Usage: bench/self_backup_roundtrip.sh [YUNWEI_BIN] [POSTGRES_URL]
set -euo pipefail
BIN="${1:-${CARGO_TARGET_DIR:-target}/debug/yunwei}"
PG_URL="${2:-postgres://postgres@127.0.0.1:5432/test}"
WORK=$(mktemp -d)
DB="yunwei_test_roundtrip_$$"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
unset YUNWEI_DATABASE_URL YUNWEI_DATA_DIR YUNWEI_CONFIG

echo "-- demo on SQLite (served while it is backed up)"
YUNWEI_ADMIN_PASSWORD='RoundTrip#2025x' YUNWEI_MONITORING_ENABLED=false \
  "$BIN" serve --demo --listen "127.0.0.1:$PORT" --data-dir "$WORK/a" >"$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/serve.log"; exit 1; }
  sleep 0.5
done
curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null
mkdir -p "$WORK/a/attachments/1"
head -c 300000 /dev/urandom >"$WORK/a/attachments/1/roundtrip.bin"
"$BIN" backup --out "$WORK/one.zip" --data-dir "$WORK/a"
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=

counts() { # URL -> "table rows" lines
  case "$1" in
    sqlite:*) local f="${1#sqlite://}"
      for t in $(sqlite3 "$f" "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'search_%' AND name <> '_sqlx_migrations' ORDER BY name"); do
        echo "$t $(sqlite3 "$f" "SELECT COUNT(*) FROM \"$t\"")"; done ;;
    *) for t in $(psql "$1" -Atc "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations' AND table_name <> 'search_docs' ORDER BY 1"); do
        echo "$t $(psql "$1" -Atc "SELECT COUNT(*) FROM \"$t\"")"; done ;;
  esac
}
# Each restore appends one `restore` audit record: audit_events grows by the restores made.
same_counts() { # SOURCE_URL TARGET_URL RESTORES
  diff <(counts "$1" | grep -v '^audit_events ') <(counts "$2" | grep -v '^audit_events ')
  local a b
  a=$(counts "$1" | awk '$1 == "audit_events" {print $2}')
  b=$(counts "$2" | awk '$1 == "audit_events" {print $2}')
  [ "$b" -eq $((a + $3)) ] || { echo "audit_events: $b, expected $a + $3 restore records" >&2; exit 1; }
}
files() { (cd "$1" && find attachments inspection-photos deliverables staff personnel-changes -type f 2>/dev/null | sort | xargs -r sha256sum); }

echo "-- restore into PostgreSQL"
psql "$PG_URL" -qc "CREATE DATABASE $DB" >/dev/null
PG_DB="${PG_URL%/*}/$DB"
"$BIN" restore "$WORK/one.zip" --database "$PG_DB" --data-dir "$WORK/b"
"$BIN" audit verify --database "$PG_DB" --data-dir "$WORK/b"
same_counts "sqlite://$WORK/a/yunwei.db" "$PG_DB" 1
diff <(files "$WORK/a") <(files "$WORK/b")

echo "-- backup from PostgreSQL, restore into SQLite"
"$BIN" backup --out "$WORK/two.zip" --database "$PG_DB" --data-dir "$WORK/b"
"$BIN" restore "$WORK/two.zip" --data-dir "$WORK/c"
"$BIN" audit verify --data-dir "$WORK/c"
same_counts "sqlite://$WORK/a/yunwei.db" "sqlite://$WORK/c/yunwei.db" 2
diff <(files "$WORK/a") <(files "$WORK/c")
echo "self backup round trip: OK ($(counts "sqlite://$WORK/c/yunwei.db" | awk '{s+=$2} END {print s}') rows, $(files "$WORK/c" | wc -l) files)"
