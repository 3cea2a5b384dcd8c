#!/usr/bin/env bash
# `make browser`: the upload page (deploy/www) in headless Chromium against
# a real stack (nginx + the handler pool, started by the integration
# harness tests/integration/lib.sh from the shipped configs, on loopback).
#
#   FRONT=nginx           the front end (lib.sh's front_spec names the others)
#   BROWSER_TIMEOUT=300   seconds for the whole browser script, then it is
#                         stopped (and the browser with it, by PID)
#   CHROMIUM=/usr/bin/chromium   the browser (Debian's chromium package)
#   HANDLER=build/san/fcgi_upload   the handler binary (lib.sh)
#   KEEP_TMP=1            keep the stack's temp directory (logs, spool)
#
# Needs node >= 20 and npm (deploy/ensure-deps.sh test checks them) and
# installs tests/browser/node_modules (playwright-core, pinned in
# package-lock.json) with `npm ci` when it is missing or not the locked
# version. playwright-core downloads no browser; it drives Debian's.
#
# Output: PASS/FAIL per case, screenshots of each end state and the
# browser's console in build/browser/. Exits non-zero if a case failed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR/../..
. "$HERE/../integration/lib.sh"
cd "$ROOT"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
OUT_DIR=$ROOT/build/browser
MAX_MB=1          # small, so the 413 case needs only a 1.5 MB file
RETRY_AFTER=42    # a value the 429 case can recognise in the message

missing=""
for tool in node npm curl spawn-fcgi; do
    command -v "$tool" > /dev/null 2>&1 || missing="$missing $tool"
done
[ -x "$CHROMIUM" ] || missing="$missing $CHROMIUM"
if [ -n "$missing" ]; then
    echo "browser: missing:$missing (make deps-test)" >&2
    exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
    echo "browser: node $(node --version) is too old: playwright-core needs node >= 20" >&2
    exit 1
fi

# playwright-core as locked. --ignore-scripts: it has no install step, and
# nothing here may download a browser. tests/browser/.npmrc keeps registry
# addresses out of the lock file.
want=$(node -p 'require("./tests/browser/package-lock.json").packages["node_modules/playwright-core"].version')
have=$(node -p 'try { require("./tests/browser/node_modules/playwright-core/package.json").version } catch { "" }')
if [ "$have" != "$want" ]; then
    echo "browser: installing playwright-core $want (npm ci)"
    (cd tests/browser && timeout 300 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/*.png "$OUT_DIR"/*.wav "$OUT_DIR"/console.log

# The browser's processes, for stopping them by PID: its process group
# (playwright starts the browser as a group leader: renderers and zygotes
# stay in it) and any process whose command line names our temp directory
# (the crash handler, which leaves the group). $1: the browser's PID.
browser_pids() {
    local f p st comm cmd
    for f in /proc/[0-9]*/comm; do
        read -r comm 2> /dev/null < "$f" || continue
        case "$comm" in *chrom*) ;; *) continue ;; esac
        p=${f#/proc/}
        p=${p%/comm}
        read -r st 2> /dev/null < "/proc/$p/stat" || continue
        st=${st##*) } # after the comm: state ppid pgrp ...
        read -r _ _ st _ <<< "$st"
        if [ "$st" = "$1" ]; then
            echo "$p"
        elif [ -n "${NODE_TMP:-}" ]; then
            cmd=$(tr '\0' ' ' 2> /dev/null < "/proc/$p/cmdline") || continue
            [[ $cmd != *"$NODE_TMP"* ]] || echo "$p"
        fi
    done
}

# After the script: its browser should be gone (it closes it in a finally).
# Wait up to 10 s for the last helper processes to exit, then stop what is
# left by PID. Also stops a browser left by a killed earlier run, whose PID
# the script wrote down.
stop_browser() {
    local pid n left
    pid=$(cat "$OUT_DIR/chromium.pid" 2> /dev/null || true)
    rm -f "$OUT_DIR/chromium.pid"
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    for ((n = 0; n < 100; n++)); do
        left=$(browser_pids "$pid")
        [ -z "$left" ] && return 0
        sleep 0.1
    done
    echo "browser: browser processes still running 10 s after the script: stopping" "$left" >&2
    # shellcheck disable=SC2086 # a list of PIDs
    stop_pids 5 $left
}
stop_browser
# On any exit (also Ctrl-C or a failed start), the browser before the stack;
# then lib.sh's cleanup, which gets the exit status it expects in $?.
# shellcheck disable=SC2154 # _rc is set inside the trap
trap '_rc=$?; set +e; stop_browser; (exit "$_rc"); cleanup' EXIT

if ! start_stack "$FRONT" APP_API__MAX_FILE_SIZE_MB=$MAX_MB APP_REDIS__MAX_QUEUE_DEPTH=1 \
    APP_API__RETRY_AFTER_S=$RETRY_AFTER; then
    echo "browser: the stack did not start" >&2
    exit 1
fi
echo "browser: $FRONT stack on $STACK_URL"

# Chromium's temporary profile (a fresh user-data-dir per launch), its
# config and crash-report folders (XDG_*: not the user's ~/.config) and any
# other temp file of the script go under the harness's temp directory,
# which its cleanup removes.
NODE_TMP=$SUITE_TMP/node-tmp
mkdir -p "$NODE_TMP/config" "$NODE_TMP/cache"
rc=0
BASE_URL=$STACK_URL API_KEY=$STACK_KEY SPOOL=$STACK_SPOOL QUEUE=$STACK_QUEUE \
    OUT_DIR=$OUT_DIR MAX_MB=$MAX_MB RETRY_AFTER=$RETRY_AFTER CHROMIUM=$CHROMIUM \
    TMPDIR=$NODE_TMP XDG_CONFIG_HOME=$NODE_TMP/config XDG_CACHE_HOME=$NODE_TMP/cache \
    timeout --kill-after=10 "${BROWSER_TIMEOUT:-300}" node tests/browser/upload.spec.mjs &
node_pid=$!
track_pid "$node_pid"
wait "$node_pid" || rc=$?
stop_browser

if [ "$rc" != 0 ]; then
    [ "$rc" != 124 ] || echo "browser: the script ran over ${BROWSER_TIMEOUT:-300}s and was stopped" >&2
    echo "browser: FAILED (exit $rc); stack logs:" >&2
    stack_logs >&2
fi
exit "$rc"
