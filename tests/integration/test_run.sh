#!/usr/bin/env bash
# `make run` as a user runs it: deploy/run.sh in the foreground behind nginx,
# with settings from the environment. Checks that it comes up, that the curl
# example it prints works when pasted, that the environment reached the
# handler (spool and size limit), and that SIGTERM stops every process it
# started. Runtime files go to a temp directory, not the tree's var/.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. tests/integration/lib.sh

tmp=$SUITE_TMP/run
mkdir -p "$tmp"
port=$(free_port)
FRONT=nginx
failed=0
check() { # WHAT CONDITION...
    local what=$1
    shift
    if "$@"; then echo "PASS make-run: $what"; else echo "FAIL make-run: $what"; failed=1; fi
}

env -u APP_API__SECRET_KEY RUN_DIR="$tmp/front" FCGI_SOCKET="$tmp/pool.sock" \
    FCGI_PIDFILE="$tmp/pool.pid" FCGI_LOG="$tmp/handler.log" \
    APP_PATHS__AUDIO_DIR="$tmp/audio" APP_API__MAX_FILE_SIZE_MB=1 \
    FRONT=nginx PORT="$port" bash deploy/run.sh > "$tmp/out" 2>&1 &
run_pid=$!
track_pid "$run_pid"

for ((n = 0; n < 200; n++)); do
    grep -q "is running at" "$tmp/out" && break
    alive "$run_pid" || break
    sleep 0.1
done
check "comes up and says where" grep -q "is running at http://127.0.0.1:$port/" "$tmp/out"

# the printed example, pasted as it is
example=$(sed -n 's/^ *try: *//p' "$tmp/out")
check "prints a curl example with a generated key" \
    grep -Eq '^curl -H "X-API-Key: [0-9a-f]{32,}" -F file=@' <<< "$example"
answer=$(eval "$example --max-time 20 -sS" 2>&1)
check "the example answers 202 with a task id" \
    grep -Eq '"task_id":"[0-9a-f-]{36}","status":"PENDING"' <<< "$answer"
task=$(sed -n 's/.*"task_id":"\([0-9a-f-]*\)".*/\1/p' <<< "$answer")
check "APP_PATHS__AUDIO_DIR reached the handler" test -n "$task" -a -f "$tmp/audio/$task/task.json"

key=$(sed -n 's/.*X-API-Key: \([0-9a-f]*\)".*/\1/p' <<< "$example")
big=$tmp/big.bin
head -c 4000000 /dev/zero > "$big"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -H "X-API-Key: $key" \
    -F "file=@$big" "http://127.0.0.1:$port/v1/process")
check "APP_API__MAX_FILE_SIZE_MB=1 reached the handler (4 MB gets 413, got $code)" \
    test "$code" = 413

mapfile -t started < <(grep -E '^[0-9]+$' "$tmp/pool.pid" 2>/dev/null; cat "$tmp/front/nginx.pid" 2>/dev/null)
check "pool and nginx PIDs recorded (${started[*]})" test "${#started[@]}" -ge 2

kill -TERM "$run_pid"
for ((n = 0; n < 600; n++)); do
    alive "$run_pid" || break
    sleep 0.1
done
check "SIGTERM ends make run" bash -c "! kill -0 $run_pid 2>/dev/null"
left=()
for p in "${started[@]}"; do alive "$p" && left+=("$p"); done
check "nothing it started is left running (${left[*]:-none})" test "${#left[@]}" = 0

if [ "$failed" = 0 ]; then echo "make-run: all passed"; else
    sed 's/^/    /' "$tmp/out" | tail -40
    echo "make-run: FAILED"
fi
exit "$failed"
