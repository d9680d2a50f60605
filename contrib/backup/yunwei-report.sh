# shellcheck shell=bash
# yunwei-report.sh - reports a backup job to yunwei (issue 14). Sourced by the wrappers in
# this directory (pg_dump.sh, mysqldump.sh, rsync.sh, tar.sh); usable from any bash script.
#
# The job reports through its backup policy's secret report URL
# (POST /api/v1/backup-runs/report/{token}, no login): `start` when it begins, then
# `success` (size in bytes, duration, sha256 checksum of the artefact, location, log tail)
# or `fail` (duration and the last 4 KB of the log). Reporting never fails the backup: a
# refused or unreachable report is retried with backoff and then only warned about.
#
# Environment:
#   YUNWEI_REPORT_URL        the policy's full report URL, e.g.
#                            https://yunwei.example.gov.cn/api/v1/backup-runs/report/<token>
#                            (unset: the backup runs and nothing is reported)
#   YUNWEI_REPORT_RETRIES    retries after a failed end report (default 3); a start is tried
#                            once (an end without its start is a run of its own)
#   YUNWEI_REPORT_BACKOFF    seconds before the first retry, doubled for each next (default 2)
#   YUNWEI_REPORT_TIMEOUT    seconds per attempt (default 20; connecting: at most 5)
#   YUNWEI_REPORT_CURL_OPTS  extra curl options, split on spaces, e.g. "--cacert /etc/yunwei/ca.pem"
#   YUNWEI_REPORT_JSON       JSON encoder: python3, jq or sh (default: the first one present;
#                            sh needs only tr, sed, awk and, for non-ASCII text, iconv)
#   YUNWEI_LOCATION_HOST     host name written before the artefact's path in `location`
#                            (default: this machine's hostname)
#   YUNWEI_LOG_FILE          keep the job's log in this file (appended); default: a temporary
#                            file removed at exit
#
# Use:
#   . /opt/yunwei/contrib/backup/yunwei-report.sh
#   yw_begin my-job                  # log, timer, EXIT/INT/TERM traps, reports `start`
#   yw_run some-command args...      # output into the log; a failure ends the job
#   yw_cleanup_add /path/partial     # removed when the job fails
#   yw_success /path/artefact        # reports `success` with its size and sha256
# A script that exits non-zero (set -e, yw_die, a signal) before yw_success reports `fail`
# with the log tail and keeps its exit status.

YW_LOG_TAIL_BYTES=4096
YW_NAME=backup
YW_LOG=
YW_LOG_TEMP=0
YW_T0=0
YW_DONE=0
YW_CLEANUP=()
YW_TMP=

# A log line on stderr and in the log.
yw_log() {
  local line
  line="$(date '+%Y-%m-%d %H:%M:%S') [$YW_NAME] $*"
  printf '%s\n' "$line" >&2
  if [ -n "$YW_LOG" ]; then printf '%s\n' "$line" >>"$YW_LOG"; fi
  return 0
}

# Ends the job with a message: exit status 1, reported as `fail`.
yw_die() {
  yw_log "ERROR: $*"
  exit 1
}

# Runs a command with its output into the log; its status is answered (set -e ends the job).
yw_run() {
  yw_log "running: $1"
  "$@" >>"$YW_LOG" 2>&1
}

# Files or directories removed when the job fails (partial artefacts).
yw_cleanup_add() {
  YW_CLEANUP+=("$@")
}

# Nanoseconds since the epoch (whole seconds where date has no %N).
yw__now_ns() {
  local t
  t=$(date +%s%N 2>/dev/null)
  case $t in
    *[!0-9]*|'') t="$(date +%s)000000000" ;;
  esac
  printf '%s' "$t"
}

# Seconds since yw_begin, with milliseconds.
yw_elapsed() {
  local d=$(( $(yw__now_ns) - YW_T0 ))
  [ "$d" -ge 0 ] || d=0
  printf '%d.%03d' $((d / 1000000000)) $((d / 1000000 % 1000))
}

# The size of a file in bytes.
yw_size() {
  local n
  n=$(wc -c <"$1") || return 1
  printf '%s' "${n//[!0-9]/}"
}

# `sha256:<hex>` of a file.
yw_sha256() {
  local h
  if command -v sha256sum >/dev/null 2>&1; then
    h=$(sha256sum <"$1") || return 1
  elif command -v shasum >/dev/null 2>&1; then
    h=$(shasum -a 256 <"$1") || return 1
  else
    h=$(openssl dgst -sha256 -r <"$1") || return 1
  fi
  printf 'sha256:%s' "${h%% *}"
}

# `host:/absolute/path` of a local path.
yw_location() {
  local p=$1 host
  case $p in
    /*) ;;
    *) p="$(pwd)/$p" ;;
  esac
  host=${YUNWEI_LOCATION_HOST:-$(hostname 2>/dev/null || uname -n)}
  printf '%s:%s' "$host" "$p"
}

# A name made safe for a file name: letters, digits, `.`, `_` and `-` only.
yw_safe_name() {
  local s=${1//[!A-Za-z0-9._-]/_}
  printf '%s' "${s:-backup}"
}

# DIR/PREFIX-<UTC timestamp>SUFFIX, a name not yet taken (waits a second if it is).
yw_new_file() {
  local dir=$1 prefix=$2 suffix=$3 f
  while :; do
    f="$dir/$prefix-$(date -u +%Y%m%dT%H%M%SZ)$suffix"
    [ -e "$f" ] || [ -e "$f.partial" ] || break
    sleep 1
  done
  printf '%s' "$f"
}

# Keeps the KEEP newest DIR/PREFIX-<timestamp>SUFFIX files (made by yw_new_file) and
# removes the older ones; a failure to remove is only logged.
yw_keep_newest() {
  local dir=$1 prefix=$2 suffix=$3 keep=$4 f n=0
  local d='[0-9]'
  local pat="$prefix-$d$d$d$d$d$d$d${d}T$d$d$d$d$d${d}Z$suffix"
  while IFS= read -r f; do
    n=$((n + 1))
    if [ "$n" -gt "$keep" ]; then
      if rm -f -- "$f"; then yw_log "retention ($keep): removed $f"
      else yw_log "WARNING: retention: cannot remove $f"; fi
    fi
  done < <(find "$dir" -maxdepth 1 -type f -name "$pat" 2>/dev/null | LC_ALL=C sort -r)
  return 0
}

# ---- JSON ---------------------------------------------------------------------------------

# The log's last 4 KB as text: control characters other than tab, newline and carriage
# return dropped, and a character cut at the start of the tail dropped too.
yw__tail_text() {
  local cont
  cont=$(printf '\200-\277')
  tail -c "$YW_LOG_TAIL_BYTES" "$YW_LOG" 2>/dev/null \
    | LC_ALL=C tr -d '\000-\010\013\014\016-\037\177' \
    | LC_ALL=C sed "1s/^[$cont]*//"
}

# stdin -> valid UTF-8 (invalid bytes dropped; without iconv every non-ASCII byte is).
yw__utf8() {
  if command -v iconv >/dev/null 2>&1; then
    # glibc's iconv -c exits 1 after dropping bytes; old ones could loop on them, hence
    # the timeout where there is one.
    if command -v timeout >/dev/null 2>&1; then
      timeout 10 iconv -f UTF-8 -t UTF-8 -c 2>/dev/null
    else
      iconv -f UTF-8 -t UTF-8 -c 2>/dev/null
    fi
    return 0
  fi
  LC_ALL=C tr -d '\200-\377'
}

# stdin -> one JSON string literal, in pure sh tools.
yw__json_str() {
  local tab cr
  tab=$(printf '\t')
  cr=$(printf '\r')
  LC_ALL=C tr -d '\000-\010\013\014\016-\037\177' \
    | yw__utf8 \
    | LC_ALL=C sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e "s/$tab/\\\\t/g" -e "s/$cr/\\\\r/g" \
    | LC_ALL=C awk 'BEGIN { printf "\"" } NR > 1 { printf "\\n" } { printf "%s", $0 } END { printf "\"" }'
}

yw__encoder() {
  local e=${YUNWEI_REPORT_JSON:-}
  if [ -z "$e" ]; then
    if command -v python3 >/dev/null 2>&1; then e=python3
    elif command -v jq >/dev/null 2>&1; then e=jq
    else e=sh
    fi
  fi
  printf '%s' "$e"
}

# The report's JSON body on stdout: status, size, duration, checksum, location and a file
# holding the log tail; empty values are left out.
yw__json() {
  local status=$1 size=$2 dur=$3 sum=$4 loc=$5 logf=$6
  case $size in *[!0-9]*) size= ;; esac
  case $dur in *[!0-9.]*) dur= ;; esac
  case $(yw__encoder) in
    python3)
      python3 -c '
import json, os, sys
status, size, dur, sum_, loc, logf = sys.argv[1:7]
def text(s):
    return os.fsencode(s).decode("utf-8", "replace")
d = {"status": status}
if size: d["size_bytes"] = int(size)
if dur: d["duration_seconds"] = float(dur)
if sum_: d["checksum"] = text(sum_)
if loc: d["location"] = text(loc)
if logf:
    with open(logf, "rb") as f:
        log = f.read().decode("utf-8", "replace")
    if log.strip(): d["log_tail"] = log
sys.stdout.write(json.dumps(d))
' "$status" "$size" "$dur" "$sum" "$loc" "$logf"
      ;;
    jq)
      jq -cn --arg status "$status" --arg size "$size" --arg dur "$dur" --arg sum "$sum" \
        --arg loc "$loc" --rawfile log "${logf:-/dev/null}" '
        {status: $status}
        + (if $size != "" then {size_bytes: ($size | tonumber)} else {} end)
        + (if $dur != "" then {duration_seconds: ($dur | tonumber)} else {} end)
        + (if $sum != "" then {checksum: $sum} else {} end)
        + (if $loc != "" then {location: $loc} else {} end)
        + (if ($log | test("\\S")) then {log_tail: $log} else {} end)'
      ;;
    *)
      printf '{"status":'
      printf '%s' "$status" | yw__json_str
      if [ -n "$size" ]; then printf ',"size_bytes":%s' "$size"; fi
      if [ -n "$dur" ]; then printf ',"duration_seconds":%s' "$dur"; fi
      if [ -n "$sum" ]; then printf ',"checksum":'; printf '%s' "$sum" | yw__json_str; fi
      if [ -n "$loc" ]; then printf ',"location":'; printf '%s' "$loc" | yw__json_str; fi
      if [ -n "$logf" ] && [ -s "$logf" ]; then printf ',"log_tail":'; yw__json_str <"$logf"; fi
      printf '}'
      ;;
  esac
}

# ---- reporting ----------------------------------------------------------------------------

# POSTs a JSON body file to the report URL: retried (RETRIES, default
# YUNWEI_REPORT_RETRIES) with backoff, never failing.
yw__post() {
  local body=$1 url=${YUNWEI_REPORT_URL:-}
  if [ -z "$url" ]; then
    yw_log "YUNWEI_REPORT_URL is not set: not reported"
    return 0
  fi
  if ! command -v curl >/dev/null 2>&1; then
    yw_log "WARNING: curl is missing: not reported"
    return 0
  fi
  local tries=$(( ${2:-${YUNWEI_REPORT_RETRIES:-3}} + 1 )) delay=${YUNWEI_REPORT_BACKOFF:-2}
  local timeout=${YUNWEI_REPORT_TIMEOUT:-20} try=1 code resp="$YW_TMP/response"
  local -a opts=()
  # shellcheck disable=SC2206 # split on purpose
  [ -z "${YUNWEI_REPORT_CURL_OPTS:-}" ] || opts=($YUNWEI_REPORT_CURL_OPTS)
  # The URL (its token) is given through curl's config on stdin, not in the process list.
  url=${url//\\/\\\\}
  url=${url//\"/\\\"}
  while :; do
    code=$(printf 'url = "%s"\n' "$url" \
      | curl -sS -K - -X POST -H 'Content-Type: application/json' --data-binary "@$body" \
        --connect-timeout 5 --max-time "$timeout" -o "$resp" -w '%{http_code}' \
        ${opts[@]+"${opts[@]}"} 2>"$YW_TMP/curl.err") || true
    case $code in
      2[0-9][0-9]) return 0 ;;
      4[0-9][0-9])
        if [ "$code" != 429 ]; then
          yw_log "WARNING: report refused (HTTP $code): $(head -c 500 "$resp" 2>/dev/null)"
          return 0
        fi
        ;;
    esac
    if [ "$try" -ge "$tries" ]; then
      yw_log "WARNING: not reported after $try attempts (HTTP ${code:-000}: $(head -c 300 "$YW_TMP/curl.err" 2>/dev/null))"
      return 0
    fi
    sleep "$delay" || true
    delay=$((delay * 2))
    try=$((try + 1))
  done
}

# Reports a status with its values (see yw__json); never fails.
yw_report() {
  local status=$1 size=${2:-} dur=${3:-} sum=${4:-} loc=${5:-} with_log=${6:-} logf=
  if [ -n "$with_log" ]; then
    logf="$YW_TMP/tail"
    yw__tail_text >"$logf" 2>/dev/null || true
  fi
  if yw__json "$status" "$size" "$dur" "$sum" "$loc" "$logf" >"$YW_TMP/body" 2>"$YW_TMP/json.err"; then
    # A start is tried once, not to delay the backup: an end reported without its start
    # is a run of its own that began `duration_seconds` before.
    if [ "$status" = start ]; then yw__post "$YW_TMP/body" 0 || true
    else yw__post "$YW_TMP/body" || true; fi
  else
    yw_log "WARNING: the report could not be encoded ($(yw__encoder)): $(head -c 300 "$YW_TMP/json.err")"
  fi
  return 0
}

# ---- the job ------------------------------------------------------------------------------

yw__on_exit() {
  local rc=$1
  set +e
  trap - EXIT INT TERM HUP
  if [ "$YW_DONE" != 1 ]; then
    [ "$rc" -ne 0 ] || rc=1
    yw_log "backup FAILED (exit status $rc)"
    if [ "${#YW_CLEANUP[@]}" -gt 0 ]; then rm -rf -- "${YW_CLEANUP[@]}"; fi
    yw_report fail "" "$(yw_elapsed)" "" "" log
    if [ "$YW_LOG_TEMP" = 1 ]; then
      printf '%s\n' "---- last lines of the log ----" >&2
      tail -c 2048 "$YW_LOG" >&2
    fi
  fi
  if [ "$YW_LOG_TEMP" = 1 ]; then rm -f -- "$YW_LOG"; fi
  rm -rf -- "$YW_TMP"
  exit "$rc"
}

# Starts the job: its log, timer and traps; reports `start`.
yw_begin() {
  YW_NAME=${1:-backup}
  YW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/yunwei-report.XXXXXX") || {
    echo "cannot make a temporary directory" >&2
    exit 1
  }
  if [ -n "${YUNWEI_LOG_FILE:-}" ]; then
    YW_LOG=$YUNWEI_LOG_FILE
    YW_LOG_TEMP=0
    : >>"$YW_LOG" || { echo "cannot write the log $YW_LOG" >&2; exit 1; }
  else
    YW_LOG="$YW_TMP/job.log"
    YW_LOG_TEMP=1
    : >"$YW_LOG"
  fi
  YW_T0=$(yw__now_ns)
  YW_DONE=0
  trap 'yw__on_exit $?' EXIT
  trap 'yw_log "interrupted (SIGINT)"; exit 130' INT
  trap 'yw_log "terminated (SIGTERM)"; exit 143' TERM
  trap 'yw_log "hung up (SIGHUP)"; exit 129' HUP
  yw_log "started"
  yw_report start
}

# Ends the job as a success: reports the artefact's size (or the one given) and sha256,
# and its location (or the one given).
yw_success() {
  local artefact=$1 size=${2:-} loc=${3:-} sum
  [ -n "$size" ] || size=$(yw_size "$artefact") || yw_die "cannot read the size of $artefact"
  sum=$(yw_sha256 "$artefact") || yw_die "cannot compute the sha256 of $artefact"
  [ -n "$loc" ] || loc=$(yw_location "$artefact")
  YW_DONE=1
  yw_log "done: $loc, $size bytes, $sum"
  yw_report success "$size" "$(yw_elapsed)" "$sum" "$loc" log
}

# The text after the first `# ` block of a script: its usage.
yw_usage() {
  sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$1"
}
