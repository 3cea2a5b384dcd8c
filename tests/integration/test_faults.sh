#!/usr/bin/env bash
# Faults survived (issue 5), through the real front end:
#
#   FRONT=nginx HANDLER=build/san/fcgi_upload REL_HANDLER=build/fcgi_upload \
#       bash tests/integration/test_faults.sh
#
# Stacks, one after the other (lib.sh; one handler process each):
#   faults   (sanitizer build, 4 threads, 5 s grace, 1 s sweep age)
#            worker killed mid-upload, the start-up sweep sparing a live
#            upload, graceful stop, client aborts at random points
#   diskfull (sanitizer build, AUDIO_DIR on a 4 MB tmpfs made here: root
#            only, SKIP otherwise) 507 and nothing left
#   hostile  (release build: its VmHWM is the figure, 8 MB file limit)
#            a 1 MB part header, 100 000 tiny parts, a 71-character
#            boundary, bodies without a close delimiter
#   valgrind (release build under valgrind memcheck) the request sequence
#            of the integration suite, in short; no error, no definite leak
#            at exit after SIGTERM
# ONLY=regex runs the matching cases. Every process is stopped by PID in the
# EXIT trap; the tmpfs is unmounted there too.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REL_HANDLER=${REL_HANDLER:-build/fcgi_upload}
case "$REL_HANDLER" in /*) ;; *) REL_HANDLER=$ROOT/$REL_HANDLER ;; esac
B=xYzBoUnDaRy42
GRACE_S=5
SEED=${SEED:-$RANDOM}
RANDOM=$SEED
MOUNTS=()

# The tmpfs must go before lib.sh removes the temp directories, and after
# the handler that holds it open has stopped.
fault_cleanup() {
    local rc=$? m
    [ -z "${STACK_DIR:-}" ] || stop_stack
    for m in "${MOUNTS[@]}"; do
        umount "$m" 2> /dev/null || umount -l "$m" 2> /dev/null || true
    done
    (exit "$rc")
    cleanup
}
trap fault_cleanup EXIT

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

drain_queue() {
    local f
    for f in "$STACK_QUEUE"/pending/*; do
        [ -e "$f" ] || continue
        mv "$f" "$STACK_QUEUE/claimed/" 2> /dev/null || true
    done
}

# handler_pid: the stack's one handler process
handler_pid() { echo "${STACK_HANDLER_PIDS[0]:-}"; }

# wait_gone PID SECONDS: true once PID has exited (reaped or zombie)
wait_gone() {
    local n
    for ((n = 0; n < $2 * 10; n++)); do
        alive "$1" || return 0
        sleep 0.1
    done
    return 1
}

# wait_part SPOOL [COUNT] [SECONDS]: wait until at least COUNT non-empty
# temp files exist under SPOOL; prints them.
wait_part() {
    local spool=$1 want=${2:-1} t=${3:-10} n parts
    for ((n = 0; n < t * 10; n++)); do
        parts=$(find "$spool" -name '.*.part' -size +0c 2> /dev/null)
        if [ -n "$parts" ] && [ "$(echo "$parts" | wc -l)" -ge "$want" ]; then
            echo "$parts"
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# bg_upload NAME FILE RATE [curl args]: POST FILE as `file` in the
# background at RATE (curl --limit-rate); NAME.code gets "status seconds",
# NAME.body the answer. Sets BG_PID.
bg_upload() {
    local name=$1 file=$2 rate=$3
    shift 3
    curl -sS -o "$name.body" -w '%{http_code} %{time_total}\n' --max-time 120 \
        --limit-rate "$rate" -H 'Expect:' -H "X-API-Key: $STACK_KEY" \
        -F "file=@$file" "$@" "$STACK_URL/v1/process" > "$name.code" 2> "$name.err" &
    BG_PID=$!
    track_pid "$BG_PID"
}

# check_stored BODY_FILE SOURCE: the 202 answer in BODY_FILE names a task
# whose file, record and queue entry are all there and match SOURCE.
check_stored() {
    local body id sha dir
    body=$(cat "$1")
    sha=$(sha_of "$2")
    id=$(jget task_id "$body") || { fail "no task_id in '$body'"; return 1; }
    [ "$(jget sha256 "$body")" = "$sha" ] || fail "answer sha256 differs from the source's"
    dir=$STACK_SPOOL/$id
    [ -f "$dir/task.json" ] || { fail "task $id: no task.json"; return 1; }
    [ "$(jfile sha256 "$dir/task.json")" = "$sha" ] || fail "task $id: task.json sha256 differs"
    [ "$(sha_of "$dir"/raw.*)" = "$sha" ] || fail "task $id: stored file differs from the source"
    [ -e "$STACK_QUEUE/pending/$id.json" ] || fail "task $id: no queue entry"
}

# ---- faults stack ---------------------------------------------------------------

# kill -9 the handler while it streams an upload: the upload is lost (the
# client never got 202), nothing of it is visible as a task, and the sweep
# of the next worker process removes its temp file and directory.
t_worker_killed() {
    local src=$STACK_DIR/killed.wav pid part dir log_lines
    audio_blob "$src" $((20 * 1024 * 1024))
    drain_queue
    snap
    bg_upload "$STACK_DIR/killed" "$src" 512K
    part=$(wait_part "$STACK_SPOOL" 1 10 | head -n 1) || {
        fail "the upload never reached the spool"
        return
    }
    dir=$(dirname "$part")
    pid=$(handler_pid)
    kill -KILL "$pid"
    wait_gone "$pid" 5 || fail "handler $pid survived SIGKILL"
    { wait "$pid"; } 2> /dev/null # reaped quietly (no "Killed" notice)
    wait "$BG_PID" 2> /dev/null
    echo "    killed handler $pid mid-upload: client got '$(cat "$STACK_DIR/killed.code")'," \
        "left ${part#"$STACK_SPOOL"/}"
    [[ $(cat "$STACK_DIR/killed.code") != 202* ]] || fail "the killed upload was answered 202"
    [ ! -e "$dir/task.json" ] || fail "a task record appeared for the killed upload"
    [ "$(pending_count)" = 0 ] || fail "a queue entry appeared for the killed upload"
    [ -z "$(ls -A "$STACK_QUEUE/tmp" 2> /dev/null)" ] || fail "queue tmp/ is not empty"
    [ -e "$part" ] || fail "no temp file left to sweep (test premise)"

    # older than APP_WORKER__SWEEP_AGE_S=1
    sleep 1.5
    echo "    spawn-fcgi does not restart children: restarting the pool as the" \
        "launcher (systemd Restart=) would"
    log_lines=$(wc -l < "$STACK_LOG")
    start_pool || { fail "the pool did not restart"; return; }
    [ ! -e "$dir" ] || fail "the sweep left ${dir#"$STACK_SPOOL"/}: $(ls -A "$dir")"
    expect_clean
    local sweep
    sweep=$(tail -n +"$((log_lines + 1))" "$STACK_LOG" | grep -m 1 '"event":"sweep"')
    echo "    sweep of the new worker: ${sweep#*\"age_s\"}"
    [[ $sweep =~ \"dirs_removed\":[1-9] ]] || fail "the sweep reports no removed directory: $sweep"
    upload_ok
}

upload_ok() {
    req_auth POST /v1/process -F "file=@$FIXTURES/tone.wav"
    expect_status 202
    drain_queue
}

# A second worker process starting while an upload is in progress (and
# older than the sweep age) must not sweep it away: the upload's thread
# holds its task directory's lock.
t_sweep_spares_live_upload() {
    local src=$STACK_DIR/live.wav part other_log=$STACK_DIR/other.log opid sweep n
    audio_blob "$src" $((3 * 1024 * 1024))
    drain_queue
    bg_upload "$STACK_DIR/live" "$src" 512K
    part=$(wait_part "$STACK_SPOOL" 1 10 | head -n 1) || {
        fail "the upload never reached the spool"
        return
    }
    sleep 1.5 # the upload is now older than APP_WORKER__SWEEP_AGE_S=1
    env "${STACK_ENVS[@]}" spawn-fcgi -n -s "$STACK_DIR/other.sock" -- "$STACK_HANDLER" \
        2> "$other_log" > /dev/null &
    opid=$!
    track_pid "$opid"
    for ((n = 0; n < 100; n++)); do
        grep -q '"event":"sweep"' "$other_log" 2> /dev/null && break
        sleep 0.1
    done
    sweep=$(grep -m 1 '"event":"sweep"' "$other_log")
    stop_pids 10 "$opid"
    echo "    sweep of a second worker during the upload: ${sweep#*\"age_s\"}"
    [[ $sweep =~ \"held\":[1-9] ]] || fail "the sweep did not see the live upload as held: $sweep"
    [[ $sweep =~ \"dirs_removed\":0 ]] || fail "the sweep removed a directory: $sweep"
    [ -e "$part" ] || [ -e "$(dirname "$part")" ] || fail "the live upload's directory is gone"
    wait "$BG_PID" 2> /dev/null
    # shellcheck disable=SC2034 # read by the expect_* functions
    ST=$(cut -d' ' -f1 < "$STACK_DIR/live.code") BODY=$(cat "$STACK_DIR/live.body") \
        CURL_RC=0 LAST_REQ="live upload"
    expect_status 202
    [ "$ST" != 202 ] || check_stored "$STACK_DIR/live.body" "$src"
    drain_queue
}

# SIGTERM with two uploads in flight: the one that finishes within the
# grace period gets 202 and is durable; the other is cut after the grace
# period and removed; no new request is accepted meanwhile; exit 0.
t_graceful_stop() {
    local quick=$STACK_DIR/quick.wav slow=$STACK_DIR/slow.wav pid t0 t1 rc qpid spid
    audio_blob "$quick" $((2 * 1024 * 1024))
    audio_blob "$slow" $((40 * 1024 * 1024))
    drain_queue
    snap
    bg_upload "$STACK_DIR/quick" "$quick" 1M
    qpid=$BG_PID
    bg_upload "$STACK_DIR/slow" "$slow" 256K
    spid=$BG_PID
    wait_part "$STACK_SPOOL" 2 10 > /dev/null || {
        fail "the two uploads did not both reach the spool"
        return
    }
    pid=$(handler_pid)
    t0=$(date +%s.%N)
    kill -TERM "$pid"
    sleep 0.2
    req GET /health --max-time 5
    echo "    GET /health right after SIGTERM: $ST (no new request is accepted)"
    [ "$ST" != 200 ] || fail "a request was accepted after SIGTERM"
    wait_gone "$pid" $((GRACE_S + 15)) || fail "handler $pid still runs $((GRACE_S + 15))s after SIGTERM"
    t1=$(date +%s.%N)
    rc=0
    wait "$pid" || rc=$?
    echo "    handler exited $rc after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s" \
        "(grace ${GRACE_S}s)"
    expect_eq "handler exit status" "$rc" 0
    wait "$qpid" "$spid" 2> /dev/null
    echo "    in flight: quick (2 MB at 1 MB/s) -> $(cat "$STACK_DIR/quick.code"), slow" \
        "(40 MB at 256 KB/s) -> $(cat "$STACK_DIR/slow.code")"
    # shellcheck disable=SC2034 # read by the expect_* functions
    ST=$(cut -d' ' -f1 < "$STACK_DIR/quick.code") BODY=$(cat "$STACK_DIR/quick.body") \
        CURL_RC=0 LAST_REQ="quick upload during the stop"
    expect_status 202
    [ "$ST" != 202 ] || check_stored "$STACK_DIR/quick.body" "$quick"
    [[ $(cat "$STACK_DIR/slow.code") != 202* ]] || fail "the slow upload got 202"
    [ -z "$(find "$STACK_SPOOL" -name '.*.part')" ] ||
        fail "partial files left: $(find "$STACK_SPOOL" -name '.*.part')"
    [ -z "$(ls -A "$STACK_QUEUE/tmp")" ] || fail "queue tmp/ is not empty"
    # exactly one new task (the quick one), nothing of the slow one
    local dirs
    dirs=$(find "$STACK_SPOOL" -mindepth 1 -maxdepth 1 -type d | wc -l)
    expect_eq "task directories after the stop" "$dirs" "$(($(echo "$SNAP" | grep -c '^spool/[^/]*$') + 1))"
    grep -q 'grace period over' "$STACK_LOG" || fail "the log does not show the grace period ending"
    echo "    restarting the pool (the launcher would)"
    start_pool || { fail "the pool did not restart"; return; }
    drain_queue
}

# client_abort_py CUT MODE: a raw HTTP/1.1 client on a socket to nginx:
# headers (Content-Length, or chunked with MODE=chunked), the body up to
# byte CUT, a pause so nginx relays it, then the connection closed (MODE
# rst: with a TCP reset).
client_abort_py() {
    "$PYTHON" -S - "$STACK_PORT" "$STACK_KEY" "$B" "$STACK_DIR/abort.body" "$1" "$2" << 'EOF'
import socket, struct, sys, time
port, key, b, path, cut, mode = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
body = open(path, "rb").read()
s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
head = ("POST /v1/process HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: %s\r\n"
        "Content-Type: multipart/form-data; boundary=%s\r\n" % (key, b))
if mode == "chunked":
    head += "Transfer-Encoding: chunked\r\n\r\n"
    s.sendall(head.encode())
    part = body[:cut]
    for i in range(0, len(part), 65536):
        c = part[i:i + 65536]
        s.sendall(b"%x\r\n%s\r\n" % (len(c), c))
else:
    head += "Content-Length: %d\r\n\r\n" % len(body)
    s.sendall(head.encode())
    s.sendall(body[:cut])
time.sleep(0.5)
if mode == "rst":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
EOF
}

# Clients that go away at chosen and at random points of the body: nothing
# is left, and the same worker serves the next upload.
t_client_aborts() {
    local src=$STACK_DIR/abort.wav total file_start close_at cut mode i spec cuts=()
    audio_blob "$src" $((3 * 1024 * 1024))
    mkbody "$STACK_DIR/abort.body" "$B" features=raw_transcript "file@$src" enable_vad=true
    total=$(stat -c %s "$STACK_DIR/abort.body")
    file_start=$(grep -abo 'filename=' "$STACK_DIR/abort.body" | head -n 1 | cut -d: -f1)
    close_at=$((total - ${#B} - 8)) # "\r\n--B--\r\n" starts here
    cuts+=("$((file_start - 20)):close") # inside the file part's headers
    cuts+=("$((file_start + 200)):rst")  # just after them
    cuts+=("$((total / 2)):close")       # mid-file
    cuts+=("$((total / 2)):chunked")     # mid-file, chunked request
    cuts+=("$close_at:close")            # all data, no close delimiter
    cuts+=("$((close_at + 2)):chunked")  # ... its CRLF but not "--B--"
    cuts+=("$((close_at + 5)):rst")      # inside the close delimiter
    for ((i = 0; i < 6; i++)); do        # random points (SEED=$SEED)
        cut=$(((RANDOM * 32768 + RANDOM) % (total - 1) + 1))
        case $((RANDOM % 3)) in 0) mode=close ;; 1) mode=rst ;; *) mode=chunked ;; esac
        cuts+=("$cut:$mode")
    done
    echo "    body $total bytes (file part header at byte $file_start, close delimiter at $close_at); random cuts with SEED=$SEED"
    drain_queue
    for spec in "${cuts[@]}"; do
        cut=${spec%%:*} mode=${spec#*:}
        snap
        client_abort_py "$cut" "$mode" || fail "the client could not send $cut bytes ($mode)"
        expect_clean 10
        [ "$CASE_FAILED" = 0 ] || echo "    (after cut at $cut, $mode)"
    done
    stack_alive || fail "the worker died"
    upload_ok
}

# ---- diskfull stack --------------------------------------------------------------

t_disk_full() {
    local big=$STACK_DIR/big.wav audio=$DISK_MNT/audio free
    free=$(df -B1 --output=avail "$DISK_MNT" | tail -n 1 | tr -d ' ')
    audio_blob "$big" $((6 * 1024 * 1024))
    drain_queue
    req_auth POST /v1/process -H 'Expect:' -F "file=@$big"
    echo "    6 MB upload with $free bytes free on AUDIO_DIR: $ST after ${ELAPSED}s"
    expect_error 507 INSUFFICIENT_STORAGE
    local n left
    for ((n = 0; n < 50; n++)); do
        left=$(find "$audio" -mindepth 1 2> /dev/null)
        [ -z "$left" ] && break
        sleep 0.1
    done
    [ -z "$left" ] || fail "left on the full filesystem: $left"
    [ "$(pending_count)" = 0 ] || fail "a queue entry appeared"
    req_auth POST /v1/process -F "file=@$FIXTURES/tone.wav"
    expect_status 202
    local id
    id=$(jget task_id) || id=""
    if [ -z "$id" ] || [ ! -f "$audio/$id/task.json" ]; then
        fail "the small upload is not stored on the tmpfs"
    fi
    drain_queue
}

# ---- hostile stack (release build) --------------------------------------------------

# hostile_post NAME EXPECT BODY_FILE|- [curl args]: POST a raw body with
# our boundary; EXPECT is a regex of the allowed statuses.
hostile_post() {
    local name=$1 want=$2 src=$3
    shift 3
    snap
    if [ "$src" = - ]; then
        req_auth POST /v1/process -T - -H 'Expect:' --max-time 30 \
            -H "Content-Type: multipart/form-data; boundary=$B" "$@"
    else
        req_auth POST /v1/process --data-binary "@$src" -H 'Expect:' --max-time 30 \
            -H "Content-Type: multipart/form-data; boundary=$B" "$@"
    fi
    echo "    $name: $ST $(jget error_code 2> /dev/null) after ${ELAPSED}s (client sent $UPLOADED bytes)"
    [[ $ST =~ ^($want)$ ]] || fail_req "$name: status $ST, expected $want"
    [ "$CURL_RC" = 0 ] || fail_req "$name: curl exit $CURL_RC"
    awk -v t="$ELAPSED" 'BEGIN { exit !(t < 15) }' || fail "$name: took ${ELAPSED}s"
    expect_clean
}

t_hostile_bodies() {
    local pid hwm0 hwm1 d=$STACK_DIR
    pid=$(handler_pid)
    # warm up: the first upload maps libmagic's database
    req_auth POST /v1/process -F "file=@$FIXTURES/tone.wav"
    expect_status 202
    drain_queue
    hwm0=$(proc_kb "$pid" VmHWM)

    "$PYTHON" -S - "$B" "$d" "$FIXTURES/tone.wav" << 'EOF'
import sys
b, d = sys.argv[1].encode(), sys.argv[2]
with open(d + "/h1", "wb") as f:  # a part header of 1 MB
    f.write(b"--" + b + b'\r\nContent-Disposition: form-data; name="file"; filename="')
    f.write(b"a" * (1 << 20))
    f.write(b'"\r\n\r\nRIFF\r\n--' + b + b"--\r\n")
with open(d + "/h2", "wb") as f:  # 100 000 tiny parts
    for i in range(100000):
        f.write(b"--" + b + b'\r\nContent-Disposition: form-data; name="x"\r\n\r\nv\r\n')
    f.write(b"--" + b + b"--\r\n")
with open(d + "/h3", "wb") as f:  # a file part, then the body ends
    f.write(b"--" + b + b'\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n')
    f.write(open(sys.argv[3], "rb").read(44) + b"\0" * 100000)
EOF
    hostile_post "1 MB part header" 400 "$d/h1"
    hostile_post "100 000 tiny parts" '400|413' "$d/h2"
    local long
    long=$(printf 'b%.0s' {1..71})
    snap
    req_auth POST /v1/process --data-binary "@$d/h2" --max-time 30 \
        -H "Content-Type: multipart/form-data; boundary=$long"
    echo "    71-character boundary: $ST $(jget error_code) after ${ELAPSED}s"
    expect_error 400 INVALID_MULTIPART
    expect_clean
    hostile_post "no close delimiter, body ends" 400 "$d/h3"
    # no close delimiter, the body never ends: a file part of zeros from a
    # pipe, chunked; the 8 MB limit ends it
    hostile_post "no close delimiter, endless" 413 - < <(
        printf -- '--%s\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n' "$B"
        head -c 44 "$FIXTURES/tone.wav"
        head -c $((64 * 1024 * 1024)) /dev/zero
    )
    hwm1=$(proc_kb "$pid" VmHWM)
    echo "    handler VmHWM ${hwm0} kB before, ${hwm1} kB after the hostile bodies"
    [ $((hwm1 - hwm0)) -le 2048 ] || fail "VmHWM grew by $((hwm1 - hwm0)) kB (limit 2048 kB)"
    upload_ok
}

# ---- valgrind ------------------------------------------------------------------------

# The request sequence of the integration suite, in short: every fixture,
# the error rows, status and health.
t_valgrind_sequence() {
    local f id
    for f in tone.wav tone.flac tone.ogg tone.opus tone.mp3 tone-id3.mp3 tone.m4a; do
        req_auth POST /v1/process -F "file=@$FIXTURES/$f" -F features=raw_transcript \
            -F features=summary -F template_id=t1 -F enable_vad=no
        expect_status 202
    done
    id=$(jget task_id)
    req_auth GET "/v1/status/$id"
    expect_status 200
    req_auth GET "/v1/status/$(cat /proc/sys/kernel/random/uuid)"
    expect_error 404 NOT_FOUND
    req GET /health
    expect_status 200
    req POST /v1/process -F "file=@$FIXTURES/tone.wav"
    expect_error 401 UNAUTHORIZED
    req_auth GET /v1/process
    expect_error 405 METHOD_NOT_ALLOWED
    req_auth POST /v1/process -H 'Content-Type: application/json' --data-binary '{}'
    expect_error 400 INVALID_MULTIPART
    req_auth POST /v1/process -F "file=@$FIXTURES/not-audio.png"
    expect_error 415 INVALID_FILE_FORMAT
    req_auth POST /v1/process -F features=raw_transcript
    expect_error 422 MISSING_FILE
    req_auth POST /v1/process -F "file=@$FIXTURES/tone.wav" -F vad_threshold=2
    expect_error 422 VALIDATION_ERROR
    audio_blob "$STACK_DIR/over.wav" $((1024 * 1024 + 1))
    req_auth POST /v1/process -F "file=@$STACK_DIR/over.wav"
    expect_error 413 FILE_TOO_LARGE
    mkbody "$STACK_DIR/cut.body" "$B" "file@$FIXTURES/tone.wav"
    head -c 3000 "$STACK_DIR/cut.body" > "$STACK_DIR/cut"
    req_auth POST /v1/process -H "Content-Type: multipart/form-data; boundary=$B" \
        --data-binary "@$STACK_DIR/cut"
    expect_error 400 INVALID_MULTIPART
    mkbody "$STACK_DIR/abort.body" "$B" "file@$FIXTURES/tone.flac"
    client_abort_py 2000 rst
    drain_queue

    local pid rc=0 vlog=$STACK_LOG.valgrind
    pid=$(handler_pid)
    kill -TERM "$pid"
    wait_gone "$pid" 60 || fail "the handler under valgrind did not stop in 60 s"
    wait "$pid" || rc=$?
    echo "    valgrind: $(grep -E 'ERROR SUMMARY' "$vlog" | tail -n 1 | sed 's/^==[0-9]*== //')"
    grep -E 'definitely lost|indirectly lost|possibly lost|still reachable|All heap blocks' "$vlog" |
        sed 's/^==[0-9]*== */    valgrind: /'
    expect_eq "exit status under valgrind (97: errors or definite leaks)" "$rc" 0
    grep -q 'ERROR SUMMARY: 0 errors' "$vlog" || {
        fail "valgrind reported errors:"
        grep -E -A12 '^==[0-9]+== (Invalid|Conditional|Syscall|Mismatched|Source|Use of|[0-9,]+ bytes in)' "$vlog" |
            head -n 60 | sed 's/^/      /'
    }
    if grep -E 'definitely lost: [1-9]' "$vlog" > /dev/null; then fail "definite leaks"; fi
    # a stopped handler is what the end of the case must find: restart it
    # without valgrind, so end_case sees a live stack
    STACK_ENVS+=(FCGI_HANDLER="$REL_HANDLER")
    start_pool || fail "the pool did not restart"
}

# ---- the run ---------------------------------------------------------------------------

# run_section (lib.sh) LABEL CASES... -- start_stack args: one stack for the
# cases (not started when ONLY selects none of them).

front_spec "$FRONT" || exit 2
echo "== $FRONT: faults, handler $HANDLER (release: $REL_HANDLER), SEED=$SEED"

run_section faults worker_killed_sweep:t_worker_killed \
    sweep_spares_live_upload:t_sweep_spares_live_upload \
    graceful_stop:t_graceful_stop client_aborts:t_client_aborts -- \
    APP_WORKER__THREADS=4 APP_WORKER__GRACE_S=$GRACE_S APP_WORKER__SWEEP_AGE_S=1

if [ -z "${ONLY:-}" ] || [[ disk_full_507 =~ $ONLY ]]; then
    DISK_MNT=$SUITE_TMP/tmpfs
    mkdir -p "$DISK_MNT"
    if mount -t tmpfs -o size=4m,mode=0750 fcgi_upload_test "$DISK_MNT" 2> "$SUITE_TMP/mount.err"; then
        MOUNTS+=("$DISK_MNT")
        run_section diskfull disk_full_507:t_disk_full -- \
            APP_PATHS__AUDIO_DIR="$DISK_MNT/audio" APP_API__MAX_FILE_SIZE_MB=64
        umount "$DISK_MNT" && MOUNTS=()
    elif [ "$(id -u)" != 0 ]; then
        # make test as a normal user: mounting needs root; say so loudly
        skip disk_full_507 "cannot mount a tmpfs as uid $(id -u) (run make test as root for this case): $(cat "$SUITE_TMP/mount.err")"
    else
        # as root the mount must work: a machine that cannot is not testing
        # the 507 path, which must not pass unnoticed
        FAIL_COUNT=$((FAIL_COUNT + 1))
        FAILED_CASES+=(disk_full_507)
        echo "FAIL $FRONT: disk_full_507 - cannot mount a tmpfs as root: $(cat "$SUITE_TMP/mount.err")"
    fi
fi

if [ -x "$REL_HANDLER" ]; then
    HANDLER=$REL_HANDLER run_section hostile hostile_bodies:t_hostile_bodies -- \
        APP_API__MAX_FILE_SIZE_MB=8
else
    begin hostile_bodies
    fail "$REL_HANDLER is not built"
    end_case
fi

if [ -z "${ONLY:-}" ] || [[ valgrind_sequence =~ $ONLY ]]; then
    if ! command -v valgrind > /dev/null 2>&1; then
        begin valgrind_sequence
        fail "valgrind is not installed (make deps-test)"
        end_case
    elif [ ! -x "$REL_HANDLER" ]; then
        begin valgrind_sequence
        fail "$REL_HANDLER is not built"
        end_case
    else
        # spawn-fcgi execs this wrapper, which execs valgrind on the
        # release build (same PID, fd 0 the listening socket).
        VG=$SUITE_TMP/valgrind-handler
        cat > "$VG" << EOF
#!/bin/sh
case "\${1:-}" in --*) exec "$REL_HANDLER" "\$@" ;; esac
exec valgrind --leak-check=full --show-leak-kinds=definite,indirect \\
    --errors-for-leak-kinds=definite --error-exitcode=97 --num-callers=30 \\
    --log-file="\$FCGI_LOG.valgrind" "$REL_HANDLER"
EOF
        chmod +x "$VG"
        # valgrind's log: next to the handler log of the stack
        HANDLER=$VG run_section valgrind valgrind_sequence:t_valgrind_sequence -- \
            APP_WORKER__THREADS=2 APP_API__MAX_FILE_SIZE_MB=1
    fi
fi

summary
