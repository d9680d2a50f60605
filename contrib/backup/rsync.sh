#!/usr/bin/env bash
# rsync.sh - a directory mirrored with rsync -a to a target (a local directory or
# [user@]host:dir over ssh), with a manifest of the files backed up, reported to yunwei
# (start, then success or fail).
#
# Usage: rsync.sh [-s SOURCE_DIR] [-t TARGET] [-m MANIFEST] [-- RSYNC_OPTIONS...]
#   -s SOURCE_DIR  directory backed up (its contents)  (env SOURCE_DIR; required)
#   -t TARGET      local directory or host:dir         (env RSYNC_TARGET; required)
#   -m MANIFEST    manifest file written locally       (env RSYNC_MANIFEST; default
#                  TARGET.manifest next to a local target; required for a remote target)
#   after --       further rsync options, e.g. -- --delete --exclude=cache/ -e "ssh -i key"
# RSYNC_MANIFEST_MODE: `list` (default: path, size and modification time of each file)
# or `sha256` (each file's sha256 too: reads every file again). The manifest lists the
# local target's files, or the source's for a remote target.
# RSYNC_ALLOW_VANISHED=1 accepts rsync's exit status 24 (source files vanished during
# the transfer), logged as a warning; by default it fails the backup.
# Reporting: YUNWEI_REPORT_URL and the other YUNWEI_* variables of yunwei-report.sh.
#
# Reported: size = rsync's "Total file size" (bytes of the files in the backup set; the
# bytes transferred are in the log), checksum = sha256 of the manifest, location = the
# target. Exit status: 0 on success; non-zero (rsync's, or 1) after reporting `fail`
# with the end of the log.
set -euo pipefail
# shellcheck source=contrib/backup/yunwei-report.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/yunwei-report.sh"

src=${SOURCE_DIR:-}
target=${RSYNC_TARGET:-}
manifest=${RSYNC_MANIFEST:-}
mode=${RSYNC_MANIFEST_MODE:-list}
while getopts 's:t:m:h' opt; do
  case $opt in
    s) src=$OPTARG ;;
    t) target=$OPTARG ;;
    m) manifest=$OPTARG ;;
    h) yw_usage "$0"; exit 0 ;;
    *) yw_usage "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ -z "$src" ] || [ -z "$target" ]; then
  echo "rsync.sh: a source directory (-s or SOURCE_DIR) and a target (-t or RSYNC_TARGET) are required" >&2
  exit 2
fi
case $mode in list|sha256) ;; *) echo "rsync.sh: RSYNC_MANIFEST_MODE is list or sha256: $mode" >&2; exit 2 ;; esac
src=${src%/}
target=${target%/}
remote=0
case $target in
  /*|./*|../*) ;;
  *:*) remote=1 ;;
esac
if [ -z "$manifest" ]; then
  if [ "$remote" = 1 ]; then
    echo "rsync.sh: a remote target needs a local manifest file (-m or RSYNC_MANIFEST)" >&2
    exit 2
  fi
  manifest="$target.manifest"
fi

# The manifest of the files under a directory, sorted by path.
make_manifest() {
  local root=$1
  (
    cd -- "$root"
    if [ "$mode" = sha256 ]; then
      find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum --
    else
      find . -type f -printf '%P\t%s\t%TY-%Tm-%TdT%TH:%TM:%.2TS\n' | LC_ALL=C sort
    fi
  )
}

yw_begin "rsync $(yw_safe_name "$(basename -- "$src")")"
command -v rsync >/dev/null 2>&1 || yw_die "rsync is not installed"
[ -d "$src" ] || yw_die "the source directory does not exist: $src"
if [ "$remote" = 0 ]; then
  mkdir -p -- "$target" 2>>"$YW_LOG" || yw_die "cannot create the target directory $target"
fi
stats="$YW_TMP/rsync.out"
yw_log "syncing $src/ to $target/"
rc=0
rsync -a --stats "$@" -- "$src/" "$target/" >"$stats" 2>>"$YW_LOG" || rc=$?
cat -- "$stats" >>"$YW_LOG"
if [ "$rc" = 24 ] && [ "${RSYNC_ALLOW_VANISHED:-0}" = 1 ]; then
  yw_log "WARNING: source files vanished during the transfer (rsync exit status 24, accepted)"
elif [ "$rc" != 0 ]; then
  yw_log "rsync failed (exit status $rc)"
  exit "$rc"
fi
# "Total file size: 1,234,567 bytes" (digit grouping depends on rsync's version and locale).
size=$(sed -n 's/^Total file size: *\([0-9,.]*\).*/\1/p' "$stats" | head -n 1)
size=${size//[!0-9]/}
[ -n "$size" ] || yw_die "rsync printed no \"Total file size\""
yw_log "$(grep -m 1 '^Total transferred file size' "$stats" || true)"
if [ "$remote" = 1 ]; then root=$src; else root=$target; fi
yw_cleanup_add "$manifest.partial"
make_manifest "$root" >"$manifest.partial" 2>>"$YW_LOG"
mv -- "$manifest.partial" "$manifest"
yw_log "manifest ($mode, $(wc -l <"$manifest" | tr -d ' ') files): $manifest"
if [ "$remote" = 1 ]; then loc=$target; else loc=$(yw_location "$target"); fi
yw_success "$manifest" "$size" "$loc"
