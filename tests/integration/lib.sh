# shellcheck shell=bash
# tests/integration/lib.sh - the HTTP integration harness. Sourced (bash).
#
# A "stack" is the handler pool (deploy/spawn-pool.sh, from the shipped
# spawn-fcgi.conf) behind a front end started from its shipped config
# (deploy/<front>/start.sh), on 127.0.0.1 and a free port, with its spool,
# queue, socket and logs in a fresh mktemp directory:
#
#   start_stack nginx [NAME=value ...]   extra environment for the handler
#   ... req_auth POST /v1/process -F file=@...; expect_status 202 ...
#   start_pool                           (re)start a pool that died, same
#                                        settings and directories
#   stop_stack
#
# Every process the harness starts is recorded by PID; cleanup (EXIT trap,
# installed here) stops exactly those, then removes the temp directories
# (KEEP_TMP=1 keeps them). Nothing is killed by name.
#
# Results: begin NAME ... end_case prints one PASS/FAIL line per case, with
# the reasons (request, status, body) above a FAIL; `summary` prints the
# counts and returns non-zero if anything failed. run_section runs a list of
# cases on one stack of its own.
#
# Front ends: nginx, lighttpd, apache-proxy (mod_proxy_fcgi to the pool),
# apache-fcgid (mod_fcgid spawns the handler) and apache-cgi (mod_cgid, one
# handler process per request). Each has a start script with the interface
# of deploy/nginx/start.sh (RUNDIR PORT SOCKET, exec in the foreground,
# stopped by SIGTERM) and a line in front_spec; what each does with the body
# is described in front_can, so the cases that depend on it say so.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FIXTURES=$ROOT/tests/fixtures/audio
FRONT=${FRONT:-nginx}
HANDLER=${HANDLER:-build/san/fcgi_upload}
case "$HANDLER" in /*) ;; *) HANDLER=$ROOT/$HANDLER ;; esac
REQ_TIMEOUT=${REQ_TIMEOUT:-30}
# python3 for JSON (stdlib only), resolved once: a version-manager shim in
# PATH costs ~0.1 s per call, and -S skips site-packages.
PYTHON=$(python3 -c 'import sys; print(sys.executable)')
PYTHON=${PYTHON:-python3}

# Hermetic: settings exported by the caller's shell do not leak into the
# stacks; each stack gets the shipped spawn-fcgi.conf plus what the test
# passes to start_stack.
while IFS= read -r _v; do unset "$_v"; done < <(compgen -e | grep -E '^(APP|FCGI)_' || true)
unset _v

# ---- bookkeeping and cleanup ----------------------------------------------

HARNESS_PIDS=() # background processes of tests (slow curls...), by PID
TMP_DIRS=()
SUITE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/fcgi_it.XXXXXX")
TMP_DIRS+=("$SUITE_TMP")

# alive PID: exists and is not a zombie
alive() {
    local st
    [ -r "/proc/$1/stat" ] || return 1
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ -n "$st" ] && [ "$st" != Z ]
}

# children_of PID: direct children, from /proc (for a front end's workers)
children_of() {
    # ps, not awk over /proc/*/stat: mawk stops at the first file that
    # vanishes while it reads.
    ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '
}

# stop_pids SECONDS PID...: SIGTERM, wait up to SECONDS, then SIGKILL the
# rest (and, for a process that ignored SIGTERM, its direct children, which
# we started through it). Our own children are reaped with wait.
stop_pids() {
    local t=$1 p n left kids
    shift
    for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
    for ((n = 0; n < t * 10; n++)); do
        left=""
        for p in "$@"; do if alive "$p"; then left="$left $p"; fi; done
        [ -z "$left" ] && break
        sleep 0.1
    done
    for p in $left; do
        kids=$(children_of "$p")
        echo "  harness: PID $p survived SIGTERM for ${t}s: SIGKILL $p $kids" >&2
        # shellcheck disable=SC2086 # a list of PIDs
        kill -KILL "$p" $kids 2>/dev/null || true
    done
    for p in "$@"; do wait "$p" 2>/dev/null || true; done
}

track_pid() { HARNESS_PIDS+=("$1"); }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -z "${STACK_DIR:-}" ] || stop_stack
    local live=() p d
    for p in "${HARNESS_PIDS[@]}"; do if alive "$p"; then live+=("$p"); fi; done
    [ ${#live[@]} -eq 0 ] || stop_pids 5 "${live[@]}"
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "harness: kept ${TMP_DIRS[*]}" >&2
    else
        for d in "${TMP_DIRS[@]}"; do rm -rf "$d"; done
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- front ends -------------------------------------------------------------

FRONTS_ALL="nginx lighttpd apache-proxy apache-fcgid apache-cgi"

# front_spec FRONT: sets FRONT_START (the start script), FRONT_POOL (yes: the
# front end talks to the spawn-fcgi pool; no: it starts the handler itself,
# mod_fcgid or CGI, and the handler's log is the front end's error log) and
# FRONT_ENV (NAME=value for the start script).
front_spec() {
    FRONT_ENV=()
    case "$1" in
    nginx) FRONT_START=$ROOT/deploy/nginx/start.sh FRONT_POOL=yes ;;
    lighttpd) FRONT_START=$ROOT/deploy/lighttpd/start.sh FRONT_POOL=yes ;;
    apache-proxy | apache-fcgid | apache-cgi)
        FRONT_START=$ROOT/deploy/apache/start.sh FRONT_POOL=yes
        FRONT_ENV=(APACHE_MODE="${1#apache-}")
        [ "$1" = apache-proxy ] || FRONT_POOL=no
        ;;
    *)
        echo "harness: unknown front end '$1' (known: $FRONTS_ALL)" >&2
        return 1
        ;;
    esac
}

# front_can FEATURE: what the current front end does with the body.
#   chunked    passes a chunked request body (no Content-Length) through
#              (lighttpd answers 411 Length Required when it streams)
#   streaming  hands the body to the handler while the client still sends
#              (mod_fcgid buffers the whole body first)
#   early      delivers the handler's early answer (401/413/415/429) while
#              the client is still sending, so the client can stop (mod_fcgid
#              answers after buffering everything; Apache's CGI modules read
#              the program's answer only after writing it the whole body)
#   cl_cap     answers a Content-Length over the handler's body limit with
#              its own 413 (the handler's JSON, no X-Request-ID) before the
#              handler is involved (server.max-request-size, LimitRequestBody)
#   chunked_limit_500  a chunked body over LimitRequestBody ends in the
#              front end's own 500 (mod_fcgid reports the failed read so),
#              after it has read that many bytes, instead of the 413
#   pool       the handler processes are the spawn-fcgi pool's, long-lived
#   per_request  one handler process per request (CGI)
front_can() {
    case "$FRONT:$1" in
    nginx:chunked | nginx:streaming | nginx:early | nginx:pool) return 0 ;;
    lighttpd:streaming | lighttpd:early | lighttpd:cl_cap | lighttpd:pool) return 0 ;;
    apache-proxy:chunked | apache-proxy:streaming | apache-proxy:early) return 0 ;;
    apache-proxy:cl_cap | apache-proxy:pool) return 0 ;;
    apache-fcgid:chunked | apache-fcgid:cl_cap | apache-fcgid:chunked_limit_500) return 0 ;;
    apache-cgi:chunked | apache-cgi:streaming | apache-cgi:cl_cap) return 0 ;;
    apache-cgi:per_request) return 0 ;;
    *) return 1 ;;
    esac
}

# rand_hex N: N random bytes as 2N hex digits (an API key).
rand_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

free_port() {
    "$PYTHON" -S -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- stacks -------------------------------------------------------------------

# start_stack FRONT [NAME=value ...]
# Sets STACK_DIR STACK_URL STACK_PORT STACK_KEY STACK_SPOOL STACK_QUEUE
# STACK_SOCKET STACK_LOG STACK_POOL_PID STACK_FRONT_PID STACK_HANDLER_PIDS.
# The handler gets the shipped spawn-fcgi.conf, then these (a NAME=value
# argument overrides them): its own spool, queue, socket and a fresh 64-char
# key; one child (FCGI_CHILDREN=1), so "the worker serves the next request"
# and its VmHWM are about one known process. HANDLER picks the binary.
# Returns non-zero (after printing the logs) if the stack does not come up.
start_stack() {
    local front=$1 n
    shift
    front_spec "$front" || return 1
    [ -x "$HANDLER" ] || { echo "harness: $HANDLER is not built" >&2; return 1; }
    STACK_FRONT=$front
    STACK_ARGS=("$@")
    STACK_HANDLER=$HANDLER
    STACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/fcgi_it.XXXXXX")
    TMP_DIRS+=("$STACK_DIR")
    STACK_SPOOL=$STACK_DIR/spool
    STACK_QUEUE=$STACK_DIR/queue
    STACK_SOCKET=$STACK_DIR/fcgi.sock
    STACK_LOG=$STACK_DIR/handler.log
    mkdir -p "$STACK_SPOOL" "$STACK_QUEUE/pending" "$STACK_QUEUE/claimed" "$STACK_DIR/front"
    STACK_KEY=$(rand_hex 32)
    STACK_PORT=$(free_port)
    STACK_URL=http://127.0.0.1:$STACK_PORT
    STACK_POOL_PID="" STACK_FRONT_PID="" STACK_HANDLER_PIDS=()
    # lighttpd's request-body temp files (server.upload-dirs), on tmpfs as
    # shipped, in a directory of our own
    local upload_dir=""
    if [ "$front" = lighttpd ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
        upload_dir=$(mktemp -d /dev/shm/fcgi_it.XXXXXX)
        TMP_DIRS+=("$upload_dir")
    fi
    # Apache started as root runs its children as www-data: they must reach
    # the pool's socket (proxy) or run the handler in these directories
    # (fcgid, cgi; deploy/apache/start.sh hands it the spool and queue).
    local pool_env=()
    if [[ $front == apache-* ]] && [ "$(id -u)" = 0 ]; then
        chmod 0711 "$STACK_DIR"
        pool_env=(FCGI_SOCKET_MODE=0660 FCGI_SOCKET_GROUP="${APACHE_RUN_GROUP:-www-data}")
    fi

    local envs=(
        FCGI_HANDLER="$HANDLER"
        FCGI_SOCKET="$STACK_SOCKET"
        FCGI_SOCKET_MODE=0600
        FCGI_PIDFILE="$STACK_DIR/pool.pid"
        FCGI_LOG="$STACK_LOG"
        FCGI_CHILDREN=1
        APP_PATHS__AUDIO_DIR="$STACK_SPOOL"
        APP_PATHS__QUEUE_DIR="$STACK_QUEUE"
        APP_API__SECRET_KEY="$STACK_KEY"
        # ASan: a leak or error report ends up in the handler log
        ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
        UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
        "${pool_env[@]}"
        "$@"
    )
    STACK_ENVS=("${envs[@]}")
    if [ "$FRONT_POOL" = yes ]; then
        start_pool || return 1
    fi

    # the handler's settings go to the front end too: lighttpd and Apache
    # derive their size limits from them, mod_fcgid and CGI start the handler
    [ "$FRONT_POOL" = yes ] || STACK_LOG=$STACK_DIR/front/error.log
    env "${envs[@]}" "${FRONT_ENV[@]}" ${upload_dir:+LIGHTTPD_UPLOAD_DIR="$upload_dir"} \
        FRONT_ERROR_LOG="$STACK_DIR/front/error.log" FRONT_ACCESS_LOG="$STACK_DIR/front/access.log" \
        "$FRONT_START" "$STACK_DIR/front" "$STACK_PORT" "$STACK_SOCKET" \
        > "$STACK_DIR/front.out" 2>&1 &
    STACK_FRONT_PID=$!
    for ((n = 0; n < 150; n++)); do
        if [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "$STACK_URL/health")" = 200 ]; then
            return 0
        fi
        alive "$STACK_FRONT_PID" || break
        sleep 0.1
    done
    echo "harness: $front on port $STACK_PORT does not answer GET /health with 200" >&2
    stack_logs >&2
    return 1
}

# start_pool: (re)start the stack's handler pool with the settings of
# start_stack (STACK_ENVS), on the same socket, spool and queue: what a
# supervisor (systemd) does when the pool died. Sets STACK_POOL_PID and
# STACK_HANDLER_PIDS; the previous pool must be gone.
start_pool() {
    local n
    rm -f "$STACK_SOCKET"
    env "${STACK_ENVS[@]}" "$ROOT/deploy/spawn-pool.sh" run >> "$STACK_DIR/pool.out" 2>&1 &
    STACK_POOL_PID=$!
    for ((n = 0; n < 150; n++)); do
        [ -S "$STACK_SOCKET" ] && break
        alive "$STACK_POOL_PID" || break
        sleep 0.1
    done
    if [ ! -S "$STACK_SOCKET" ]; then
        echo "harness: the handler pool did not start" >&2
        stack_logs >&2
        return 1
    fi
    # the socket appears before spawn-fcgi has written every child's PID
    local want
    want=$(env "${STACK_ENVS[@]}" "$ROOT/deploy/spawn-pool.sh" config 2>/dev/null |
        sed -n 's/^FCGI_CHILDREN=//p')
    for ((n = 0; n < 50; n++)); do
        mapfile -t STACK_HANDLER_PIDS < <(grep -E '^[0-9]+$' "$STACK_DIR/pool.pid" 2>/dev/null)
        [ "${#STACK_HANDLER_PIDS[@]}" -ge "${want:-1}" ] && break
        sleep 0.1
    done
}

# stop_stack: front end first (no new requests), then the pool.
stop_stack() {
    [ -n "${STACK_DIR:-}" ] || return 0
    local pids=()
    [ -z "${STACK_FRONT_PID:-}" ] || stop_pids 10 "$STACK_FRONT_PID"
    [ -z "${STACK_POOL_PID:-}" ] || pids+=("$STACK_POOL_PID")
    pids+=("${STACK_HANDLER_PIDS[@]}")
    [ ${#pids[@]} -eq 0 ] || stop_pids 15 "${pids[@]}"
    STACK_DIR="" STACK_FRONT_PID="" STACK_POOL_PID="" STACK_HANDLER_PIDS=()
}

# restart_stack: same front end and settings, fresh directories and key.
restart_stack() {
    local front=$STACK_FRONT args=("${STACK_ARGS[@]}") HANDLER=$STACK_HANDLER
    stop_stack
    start_stack "$front" "${args[@]}"
}

# stack_alive: the front end and every handler process still run.
stack_alive() {
    local p
    alive "$STACK_FRONT_PID" || return 1
    for p in "${STACK_HANDLER_PIDS[@]}"; do alive "$p" || return 1; done
}

# front_handler_pids [EXE]: the handler processes a front end started
# itself (mod_fcgid, CGI): live descendants of the front end running EXE
# (default: the stack's HANDLER binary).
front_handler_pids() {
    local exe p todo=("$STACK_FRONT_PID") kids
    exe=$(realpath "${1:-$STACK_HANDLER}")
    while [ ${#todo[@]} -gt 0 ]; do
        p=${todo[0]}
        todo=("${todo[@]:1}")
        mapfile -t kids < <(children_of "$p")
        for k in "${kids[@]}"; do
            todo+=("$k")
            [ "$(readlink "/proc/$k/exe" 2>/dev/null)" != "$exe" ] || ! alive "$k" || echo "$k"
        done
    done
}

stack_logs() {
    local f seen=" "
    for f in "$STACK_DIR/pool.out" "$STACK_LOG" "$STACK_DIR/front.out" "$STACK_DIR/front/error.log"; do
        [ -s "$f" ] || continue
        # without a pool the handler log is the front end's error log: once
        [[ $seen != *" $f "* ]] || continue
        seen="$seen$f "
        echo "---- ${f#"$STACK_DIR"/} (last 30 lines)"
        tail -n 30 "$f"
    done
}

# ---- HTTP -------------------------------------------------------------------

# req METHOD PATH [curl args...]: one request to the current stack.
# Sets ST (status, 000 when none), BODY, CURL_RC, CURL_ERR, UPLOADED (bytes
# curl sent), ELAPSED (seconds), RESP_HDRS (file), LAST_REQ (for messages).
# Bounded by --max-time REQ_TIMEOUT unless the arguments give another.
req() {
    local method=$1 path=$2 w
    shift 2
    RESP_BODY=$STACK_DIR/resp.body RESP_HDRS=$STACK_DIR/resp.hdrs
    : > "$RESP_BODY"
    : > "$RESP_HDRS"
    CURL_RC=0
    w=$(curl -sS -X "$method" --max-time "$REQ_TIMEOUT" -o "$RESP_BODY" -D "$RESP_HDRS" \
        -w '%{http_code} %{size_upload} %{time_total}' "$@" "$STACK_URL$path" \
        2> "$STACK_DIR/resp.err") || CURL_RC=$?
    read -r ST UPLOADED ELAPSED <<< "$w"
    : "${ST:=000}" "${UPLOADED:=0}" "${ELAPSED:=0}"
    BODY=$(cat "$RESP_BODY")
    CURL_ERR=$(cat "$STACK_DIR/resp.err")
    LAST_REQ="$method $path $(printf '%q ' "$@")"
}

# req_auth METHOD PATH [curl args...]: req with the stack's API key.
req_auth() {
    local method=$1 path=$2
    shift 2
    req "$method" "$path" -H "X-API-Key: $STACK_KEY" "$@"
}

# resp_header NAME: the value of a header of the last response (the final
# one when there were interim 100 responses), without CR; empty if absent.
resp_header() {
    awk -v n="$(echo "$1" | tr '[:upper:]' '[:lower:]')" '
        /^HTTP\// { v = "" }
        { sub(/\r$/, "") }
        { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) {
            v = substr($0, i + 1); sub(/^[ \t]+/, "", v) } }
        END { print v }' "$RESP_HDRS"
}

# jget PATH [JSON]: a field of the JSON (default: BODY). PATH is dotted,
# with numbers for list indexes ("features.0"). Strings print raw, other
# values as JSON (true, null, ["a"]). Returns 1 (printing nothing) when the
# text is not JSON or the field is missing.
jget() {
    "$PYTHON" -S -c '
import json, sys
try:
    v = json.loads(sys.argv[2])
    for k in sys.argv[1].split(".") if sys.argv[1] else []:
        v = v[int(k)] if isinstance(v, list) else v[k]
except Exception:
    sys.exit(1)
print(v if isinstance(v, str) else json.dumps(v))
' "$1" "${2-$BODY}"
}

# jfile PATH FILE: jget on a file's content.
jfile() { jget "$1" "$(cat "$2" 2>/dev/null)"; }

# ---- cases and assertions ------------------------------------------------------

PASS_COUNT=0 FAIL_COUNT=0 SKIP_COUNT=0
CASE="" CASE_FAILED=0 FAILED_CASES=()

begin() {
    CASE=$1
    CASE_FAILED=0
    CASE_T0=$(date +%s.%N)
}

# fail MESSAGE: record a failure of the current case (printed at once).
fail() {
    CASE_FAILED=1
    echo "    FAIL: $*"
}

# fail_req MESSAGE: fail, with the last request and response.
# (the request and response are printed once per response, not per check)
fail_req() {
    fail "$*"
    local ctx="$LAST_REQ|$ST|$BODY"
    [ "$ctx" != "${FAIL_CTX:-}" ] || return 0
    FAIL_CTX=$ctx
    echo "      request:  ${LAST_REQ:0:400}"
    echo "      response: status $ST, curl exit $CURL_RC${CURL_ERR:+ ($CURL_ERR)}"
    echo "      body:     ${BODY:0:400}"
}

end_case() {
    local t
    t=$(awk -v a="$CASE_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    if [ -n "${STACK_DIR:-}" ] && ! stack_alive; then
        fail "a stack process died during this case (spawn-fcgi does not restart it)"
        stack_logs | sed 's/^/      /'
        restart_stack > /dev/null 2>&1 || echo "    harness: could not restart the stack"
    fi
    if [ "$CASE_FAILED" = 0 ]; then
        PASS_COUNT=$((PASS_COUNT + 1))
        echo "PASS $FRONT: $CASE (${t}s)"
    else
        FAIL_COUNT=$((FAIL_COUNT + 1))
        FAILED_CASES+=("$CASE")
        echo "FAIL $FRONT: $CASE (${t}s)"
    fi
    CASE=""
}

skip() {
    SKIP_COUNT=$((SKIP_COUNT + 1))
    echo "SKIP $FRONT: $1 - $2"
}

# run_case NAME FUNCTION [ARGS...]: begin, run the function (its assertions
# record failures; a failing command does not stop the suite), end_case.
# ONLY=regex runs only the matching case names.
run_case() {
    local name=$1
    shift
    if [ -n "${ONLY:-}" ] && ! [[ $name =~ $ONLY ]]; then return 0; fi
    begin "$name"
    if "$@"; then :; fi
    end_case
}

# run_section LABEL CASE... -- [start_stack ARGS...]: one $FRONT stack
# (start_stack "$FRONT" ARGS...) for the cases, each NAME:FUNCTION and run
# with run_case; not started when ONLY selects none of them. After
# stop_stack (the workers have exited, so LeakSanitizer has reported) a
# case "LABEL stack: no sanitizer report in the handler log". A stack that
# does not start is a failed case "LABEL stack". Returns 0.
run_section() {
    local label=$1 c wanted=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        if [ -z "${ONLY:-}" ] || [[ ${1%%:*} =~ $ONLY ]]; then wanted+=("$1"); fi
        shift
    done
    shift
    [ ${#wanted[@]} -gt 0 ] || return 0
    if ! start_stack "$FRONT" "$@"; then
        begin "$label stack"
        fail "the stack did not start"
        end_case
        return 0
    fi
    for c in "${wanted[@]}"; do run_case "${c%%:*}" "${c#*:}"; done
    local log=$STACK_LOG
    stop_stack
    begin "$label stack: no sanitizer report in the handler log"
    if grep -qE 'Sanitizer|runtime error:' "$log"; then
        fail "$(grep -m 5 -E 'Sanitizer|runtime error:|SUMMARY' "$log" | tr '\n' ' ')"
    fi
    end_case
}

summary() {
    echo "== $FRONT: $PASS_COUNT passed, $FAIL_COUNT failed, $SKIP_COUNT skipped"
    local c
    for c in "${FAILED_CASES[@]}"; do echo "   failed: $c"; done
    [ "$FAIL_COUNT" = 0 ]
}

expect_eq() { # WHAT ACTUAL EXPECTED
    [ "$2" == "$3" ] || fail_req "$1: got '$2', expected '$3'"
}
expect_match() { # WHAT ACTUAL REGEX
    [[ $2 =~ $3 ]] || fail_req "$1: '$2' does not match /$3/"
}
expect_status() { # CODE
    [ "$ST" = "$1" ] || fail_req "status $ST, expected $1"
}
expect_json() { # FIELD EXPECTED
    local v
    v=$(jget "$1") || v="<missing>"
    [ "$v" == "$2" ] || fail_req "JSON .$1 is '$v', expected '$2'"
}
# expect_error STATUS ERROR_CODE: status, an application/json body
# {"detail": non-empty string, "error_code": ERROR_CODE}, and a completed
# HTTP exchange (curl exit 0: an answer, not a reset).
expect_error() {
    expect_status "$1"
    [ "$CURL_RC" = 0 ] || fail_req "curl exit $CURL_RC: the answer did not arrive cleanly"
    expect_json error_code "$2"
    local d
    d=$(jget detail) || d=""
    [ -n "$d" ] || fail_req "no detail string in the error body"
    expect_match "Content-Type" "$(resp_header Content-Type)" '^application/json'
}

# ---- spool and queue ---------------------------------------------------------

# spool_list: every path under the spool and queue (relative), sorted.
spool_list() {
    (cd "$STACK_DIR" && find spool queue -mindepth 1 2>/dev/null | sort)
}
# snap: remember the spool and queue before a request.
snap() { SNAP=$(spool_list); }
# expect_clean [SECONDS]: the spool and queue are back to the snapshot
# (nothing left by the request), waiting up to SECONDS (default 5) for the
# handler's cleanup.
expect_clean() {
    local t=${1:-5} n now
    for ((n = 0; n <= t * 10; n++)); do
        now=$(spool_list)
        [ "$now" == "$SNAP" ] && return 0
        sleep 0.1
    done
    fail "left in the spool/queue after ${t}s: $(diff <(echo "$SNAP") <(echo "$now") | grep '^>' | tr '\n' ' ')"
}
# pending_count: unclaimed queue entries.
pending_count() { find "$STACK_QUEUE/pending" -mindepth 1 -maxdepth 1 | wc -l; }

# ---- processes -------------------------------------------------------------------

# proc_kb PID FIELD: a /proc/PID/status value in kB (VmHWM, VmRSS).
proc_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# ---- bodies --------------------------------------------------------------------------

# audio_blob OUT BYTES: a file of BYTES bytes that libmagic calls audio/x-wav:
# the 44-byte header of tone.wav, then random bytes.
audio_blob() {
    { head -c 44 "$FIXTURES/tone.wav"; head -c $(($2 - 44)) /dev/urandom; } > "$1"
}

# mkbody OUT BOUNDARY SPEC...: write a multipart/form-data body with exact
# bytes (CRLF line ends, parts in the given order). SPEC is
#   name=value               a form field
#   name@path[;filename=F][;type=T]   a file part (filename defaults to the
#                            path's basename; type to application/octet-stream)
mkbody() {
    "$PYTHON" -S - "$@" << 'EOF'
import os, sys
out, b, specs = sys.argv[1], sys.argv[2].encode(), sys.argv[3:]
with open(out, "wb") as f:
    for s in specs:
        f.write(b"--" + b + b"\r\n")
        at, eq = s.find("@"), s.find("=")
        if at != -1 and (eq == -1 or at < eq):
            name, rest = s[:at], s[at + 1:].split(";")
            path, opts = rest[0], dict(o.split("=", 1) for o in rest[1:])
            fn = opts.get("filename", os.path.basename(path))
            ct = opts.get("type", "application/octet-stream")
            f.write(b'Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
                    % (name.encode(), fn.encode()))
            f.write(b"Content-Type: %s\r\n\r\n" % ct.encode())
            with open(path, "rb") as src:
                f.write(src.read())
        else:
            name, value = s[:eq], s[eq + 1:]
            f.write(b'Content-Disposition: form-data; name="%s"\r\n\r\n' % name.encode())
            f.write(value.encode())
        f.write(b"\r\n")
    f.write(b"--" + b + b"--\r\n")
EOF
}
