#!/usr/bin/env bash
# pg_dump.sh - a PostgreSQL database dumped in pg_dump's custom format (-Fc) into a
# directory, keeping the newest N dumps, reported to yunwei (start, then success or fail).
#
# Usage: pg_dump.sh [-d DATABASE] [-o DIR] [-k KEEP] [-n NAME] [-- PG_DUMP_OPTIONS...]
#   -d DATABASE  database name or connection string   (env PGDATABASE)
#   -o DIR       directory of the dumps                (env BACKUP_DIR; required)
#   -k KEEP      dumps kept, older ones removed        (env BACKUP_KEEP; default 7; 0 keeps all)
#   -n NAME      file name prefix                      (env BACKUP_NAME; default the database)
#   after --     further pg_dump options, e.g. -- --exclude-table=audit_log_old
# Connection: the usual libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD (better:
# ~/.pgpass or PGPASSFILE), PGSSLMODE. PG_DUMP: the pg_dump program (default pg_dump).
# Reporting: YUNWEI_REPORT_URL and the other YUNWEI_* variables of yunwei-report.sh.
#
# The dump is written as NAME-<UTC time>.dump.partial and renamed when pg_dump succeeded;
# its size and sha256 are reported. Exit status: 0 on success; non-zero (pg_dump's, or 1)
# after reporting `fail` with the end of the log. Restore: pg_restore -d DB FILE.
set -euo pipefail
# shellcheck source=contrib/backup/yunwei-report.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/yunwei-report.sh"

db=${PGDATABASE:-}
dir=${BACKUP_DIR:-}
keep=${BACKUP_KEEP:-7}
name=${BACKUP_NAME:-}
while getopts 'd:o:k:n:h' opt; do
  case $opt in
    d) db=$OPTARG ;;
    o) dir=$OPTARG ;;
    k) keep=$OPTARG ;;
    n) name=$OPTARG ;;
    h) yw_usage "$0"; exit 0 ;;
    *) yw_usage "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ -z "$db" ] || [ -z "$dir" ]; then
  echo "pg_dump.sh: a database (-d or PGDATABASE) and a directory (-o or BACKUP_DIR) are required" >&2
  exit 2
fi
case $keep in ''|*[!0-9]*) echo "pg_dump.sh: KEEP must be a number: $keep" >&2; exit 2 ;; esac
name=$(yw_safe_name "${name:-$db}")
pg_dump=${PG_DUMP:-pg_dump}

yw_begin "pg_dump $name"
command -v "$pg_dump" >/dev/null 2>&1 || yw_die "$pg_dump is not installed"
mkdir -p -- "$dir" 2>>"$YW_LOG" || yw_die "cannot create the directory $dir"
file=$(yw_new_file "$dir" "$name" .dump)
yw_cleanup_add "$file.partial"
yw_log "dumping database $name to $file"
"$pg_dump" --format=custom --file="$file.partial" "$@" --dbname="$db" >>"$YW_LOG" 2>&1
mv -- "$file.partial" "$file"
yw_success "$file"
if [ "$keep" -gt 0 ]; then yw_keep_newest "$dir" "$name" .dump "$keep"; fi
