#!/usr/bin/env bash
# mysqldump.sh - a MySQL/MariaDB database dumped with mysqldump --single-transaction
# (consistent InnoDB snapshot, no table locks) and gzip into a directory, keeping the
# newest N dumps, reported to yunwei (start, then success or fail).
#
# Usage: mysqldump.sh [-d DATABASE] [-o DIR] [-k KEEP] [-n NAME] [-- MYSQLDUMP_OPTIONS...]
#   -d DATABASE  database name                         (env MYSQL_DATABASE)
#   -o DIR       directory of the dumps                (env BACKUP_DIR; required)
#   -k KEEP      dumps kept, older ones removed        (env BACKUP_KEEP; default 7; 0 keeps all)
#   -n NAME      file name prefix                      (env BACKUP_NAME; default the database)
#   after --     further mysqldump options, e.g. -- --routines --events
# Connection: MYSQL_HOST, MYSQL_PORT, MYSQL_USER; the password in MYSQL_PWD (read by the
# client, not shown in the process list) or, better, in an option file given as
# MYSQL_DEFAULTS_FILE ([client] user=... password=...). MYSQLDUMP: the program (default
# mysqldump; mariadb-dump works too).
# Reporting: YUNWEI_REPORT_URL and the other YUNWEI_* variables of yunwei-report.sh.
#
# The dump is written as NAME-<UTC time>.sql.gz.partial, checked (gzip -t, and mysqldump's
# closing "Dump completed" line unless --skip-comments or --compact is given) and renamed;
# the .sql.gz file's size and sha256 are reported. Exit status: 0 on success; non-zero
# after reporting `fail` with the end of the log. Restore: gunzip -c FILE | mysql DATABASE.
set -euo pipefail
# shellcheck source=contrib/backup/yunwei-report.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/yunwei-report.sh"

db=${MYSQL_DATABASE:-}
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
  echo "mysqldump.sh: a database (-d or MYSQL_DATABASE) and a directory (-o or BACKUP_DIR) are required" >&2
  exit 2
fi
case $keep in ''|*[!0-9]*) echo "mysqldump.sh: KEEP must be a number: $keep" >&2; exit 2 ;; esac
name=$(yw_safe_name "${name:-$db}")
mysqldump=${MYSQLDUMP:-mysqldump}

args=()
# --defaults-extra-file must come first.
[ -z "${MYSQL_DEFAULTS_FILE:-}" ] || args+=("--defaults-extra-file=$MYSQL_DEFAULTS_FILE")
[ -z "${MYSQL_HOST:-}" ] || args+=("--host=$MYSQL_HOST")
[ -z "${MYSQL_PORT:-}" ] || args+=("--port=$MYSQL_PORT")
[ -z "${MYSQL_USER:-}" ] || args+=("--user=$MYSQL_USER")
args+=(--single-transaction --quick "$@")
check_end=1
for a in "$@"; do
  case $a in --skip-comments|--compact) check_end=0 ;; esac
done

yw_begin "mysqldump $name"
command -v "$mysqldump" >/dev/null 2>&1 || yw_die "$mysqldump is not installed"
command -v gzip >/dev/null 2>&1 || yw_die "gzip is not installed"
mkdir -p -- "$dir" 2>>"$YW_LOG" || yw_die "cannot create the directory $dir"
file=$(yw_new_file "$dir" "$name" .sql.gz)
yw_cleanup_add "$file.partial"
yw_log "dumping database $db to $file"
# pipefail: a failing mysqldump fails the pipeline.
"$mysqldump" "${args[@]}" -- "$db" 2>>"$YW_LOG" | gzip -c >"$file.partial"
gzip -t "$file.partial" 2>>"$YW_LOG" || yw_die "the compressed dump is damaged"
if [ "$check_end" = 1 ]; then
  gzip -dc "$file.partial" | tail -c 300 | grep -q 'Dump completed' \
    || yw_die "the dump has no closing \"Dump completed\" line: it is incomplete"
fi
mv -- "$file.partial" "$file"
yw_success "$file"
if [ "$keep" -gt 0 ]; then yw_keep_newest "$dir" "$name" .sql.gz "$keep"; fi
