#!/usr/bin/env bash
# How many worker threads per process: the measurement behind the default
# of APP_WORKER__THREADS (README). Not part of `make test`; run by hand:
#
#   make all && bash tests/integration/measure_threads.sh [THREADS...]
#
# For each thread count (default 1 2 4 8 16), a stack as shipped (nginx, the
# release build, FCGI_CHILDREN=2 processes) and three figures:
#   rss      idle RSS per process after one upload (kB)
#   8x64MB   aggregate throughput of 8 uploads of 64 MB at once (MB/s)
#   phones   seconds a 1 MB upload takes while 10 slow clients ("phones":
#            2 MB each at 256 KB/s, about 8 s) are uploading
# Loopback only; every process is stopped by PID on exit (lib.sh).

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HANDLER=${REL_HANDLER:-build/fcgi_upload}
case "$HANDLER" in /*) ;; *) HANDLER=$ROOT/$HANDLER ;; esac
CHILDREN=${CHILDREN:-2}
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(1 2 4 8 16)

now() { date +%s.%N; }
post() { # FILE [curl args]: prints "status seconds"
    local f=$1
    shift
    curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 300 -H 'Expect:' \
        -H "X-API-Key: $STACK_KEY" -F "file=@$f" "$@" "$STACK_URL/v1/process"
}

W=$SUITE_TMP/files
mkdir -p "$W"
for i in 1 2 3 4 5 6 7 8; do audio_blob "$W/big$i.wav" $((64 * 1024 * 1024)); done
for i in $(seq 1 10); do audio_blob "$W/phone$i.wav" $((2 * 1024 * 1024)); done
audio_blob "$W/fast.wav" $((1024 * 1024))

printf '%-8s %-10s %-12s %-10s\n' threads rss_kB 8x64MB_MB/s phones_s
for t in "${COUNTS[@]}"; do
    start_stack nginx FCGI_CHILDREN="$CHILDREN" APP_WORKER__THREADS="$t" \
        APP_REDIS__MAX_QUEUE_DEPTH=100000 > /dev/null || exit 1
    # spawn-fcgi writes the PID file after the socket: read it again
    sleep 0.5
    mapfile -t STACK_HANDLER_PIDS < <(grep -E '^[0-9]+$' "$STACK_DIR/pool.pid")
    post "$FIXTURES/tone.wav" > /dev/null
    post "$FIXTURES/tone.wav" > /dev/null
    rss=0
    for p in "${STACK_HANDLER_PIDS[@]}"; do rss=$((rss + $(proc_kb "$p" VmRSS))); done
    rss=$((rss / ${#STACK_HANDLER_PIDS[@]}))

    pids=()
    t0=$(now)
    for i in 1 2 3 4 5 6 7 8; do
        post "$W/big$i.wav" > "$W/big$i.res" &
        pids+=("$!")
        track_pid "$!"
    done
    wait "${pids[@]}"
    t1=$(now)
    tput=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", 8 * 64 / (b - a) }')
    grep -vq '^202' "$W"/big*.res && tput="$tput(!)"
    rm -rf "${STACK_SPOOL:?}"/*

    pids=()
    for i in $(seq 1 10); do
        post "$W/phone$i.wav" --limit-rate 256K > "$W/phone$i.res" &
        pids+=("$!")
        track_pid "$!"
    done
    sleep 1
    fast=$(post "$W/fast.wav" | awk '{ print ($1 == 202 ? $2 : "error " $1) }')
    wait "${pids[@]}"
    printf '%-8s %-10s %-12s %-10s\n' "$t" "$rss" "$tput" "$fast"
    stop_stack
done
