#!/usr/bin/env bash
# tar.sh - a directory archived as tar.gz into a backup directory, keeping the newest N
# archives, reported to yunwei (start, then success or fail).
#
# Usage: tar.sh [-s SOURCE_DIR] [-o DIR] [-k KEEP] [-n NAME] [-- TAR_OPTIONS...]
#   -s SOURCE_DIR  directory archived                  (env SOURCE_DIR; required)
#   -o DIR         directory of the archives           (env BACKUP_DIR; required)
#   -k KEEP        archives kept, older ones removed   (env BACKUP_KEEP; default 7; 0 keeps all)
#   -n NAME        file name prefix                    (env BACKUP_NAME; default the source's name)
#   after --       further tar options, e.g. -- --exclude=*.tmp
# TAR_ALLOW_CHANGED=1 accepts GNU tar's exit status 1 ("file changed as we read it"),
# logged as a warning; by default it fails the backup.
# Reporting: YUNWEI_REPORT_URL and the other YUNWEI_* variables of yunwei-report.sh.
#
# The archive holds the source directory under its own name; it is written as
# NAME-<UTC time>.tar.gz.partial, checked with gzip -t and renamed; its size and sha256 are
# reported. Exit status: 0 on success; non-zero after reporting `fail` with the end of
# the log. Restore: tar -xzf FILE -C /restore/here.
set -euo pipefail
# shellcheck source=contrib/backup/yunwei-report.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/yunwei-report.sh"

src=${SOURCE_DIR:-}
dir=${BACKUP_DIR:-}
keep=${BACKUP_KEEP:-7}
name=${BACKUP_NAME:-}
while getopts 's:o:k:n:h' opt; do
  case $opt in
    s) src=$OPTARG ;;
    o) dir=$OPTARG ;;
    k) keep=$OPTARG ;;
    n) name=$OPTARG ;;
    h) yw_usage "$0"; exit 0 ;;
    *) yw_usage "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ -z "$src" ] || [ -z "$dir" ]; then
  echo "tar.sh: a source directory (-s or SOURCE_DIR) and a directory (-o or BACKUP_DIR) are required" >&2
  exit 2
fi
case $keep in ''|*[!0-9]*) echo "tar.sh: KEEP must be a number: $keep" >&2; exit 2 ;; esac
src=${src%/}
src=${src:-/}
base=$(basename -- "$src")
parent=$(dirname -- "$src")
[ "$src" != / ] || base=.
name=$(yw_safe_name "${name:-$base}")

yw_begin "tar $name"
command -v tar >/dev/null 2>&1 || yw_die "tar is not installed"
[ -d "$src" ] || yw_die "the source directory does not exist: $src"
mkdir -p -- "$dir" 2>>"$YW_LOG" || yw_die "cannot create the directory $dir"
file=$(yw_new_file "$dir" "$name" .tar.gz)
yw_cleanup_add "$file.partial"
yw_log "archiving $src to $file"
rc=0
tar -C "$parent" -czf "$file.partial" "$@" -- "$base" >>"$YW_LOG" 2>&1 || rc=$?
if [ "$rc" = 1 ] && [ "${TAR_ALLOW_CHANGED:-0}" = 1 ]; then
  yw_log "WARNING: files changed while they were read (tar exit status 1, accepted)"
elif [ "$rc" != 0 ]; then
  yw_log "tar failed (exit status $rc)"
  exit "$rc"
fi
gzip -t "$file.partial" 2>>"$YW_LOG" || yw_die "the archive is damaged"
mv -- "$file.partial" "$file"
yw_success "$file"
if [ "$keep" -gt 0 ]; then yw_keep_newest "$dir" "$name" .tar.gz "$keep"; fi
