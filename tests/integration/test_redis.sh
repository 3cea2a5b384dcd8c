#!/usr/bin/env bash
# tests/integration/test_redis.sh - the Redis/RQ hand-off (issue 6) through
# nginx, with the real handler, a private redis-server and stock `rq worker`s
# from Debian's python3-rq.
#
#   bash tests/integration/test_redis.sh
#
#   FRONT=nginx                        the front end (lib.sh)
#   HANDLER=build/san/fcgi_upload      the handler binary (lib.sh)
#   RQ_TEST_PYTHON=/usr/bin/python3    the Python that has rq (Debian's)
#   ONLY=regex                         run only the matching cases
#   KEEP_TMP=1                         keep the temp directories
#
# Redis listens on a unix socket in the suite's mktemp directory only
# (--port 0) and keeps nothing on disk (--save '' --appendonly no). The
# workers import src.worker.pipeline.process_audio_task from
# tests/integration/rqpkg, which records its argument (one JSON line in
# RQTEST_RECORD) and sets the task hash to COMPLETE. Every process started
# here is recorded by PID and stopped by PID (lib.sh's EXIT trap covers the
# stacks and everything passed to track_pid); nothing is killed by name, and
# every wait is bounded.
#
# Stacks: "one" (one handler process, queue limit 5, 1 s command timeout)
# for the single-upload cases; "scale" (three handler processes on one
# socket, two workers) for 100 uploads run exactly once each.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PY=${RQ_TEST_PYTHON:-/usr/bin/python3}
RQPKG=$ROOT/tests/integration/rqpkg
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
WAIT_S=60 # bound of any wait for a worker or Redis

for t in redis-server redis-cli curl sha256sum xargs; do
    command -v "$t" > /dev/null 2>&1 || {
        echo "test_redis: $t missing (make deps-test)" >&2
        exit 1
    }
done
"$PY" -c 'import rq, redis' 2> /dev/null || {
    echo "test_redis: $PY lacks rq (Debian's python3-rq)" >&2
    exit 1
}

RDIR=$SUITE_TMP/redis
mkdir -p "$RDIR"
SOCK=$RDIR/redis.sock
URL=unix://$SOCK
export RQTEST_RECORD=$RDIR/record.jsonl RQTEST_REDIS_SOCKET=$SOCK
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree
: > "$RQTEST_RECORD"

# ---- processes -----------------------------------------------------------------

# untrack PID: forget a process that was stopped (its PID may be reused)
untrack() {
    local p keep=()
    for p in "${HARNESS_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    HARNESS_PIDS=("${keep[@]}")
}

REDIS_PID=""
start_redis() {
    local n
    rm -f "$SOCK"
    redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 \
        --save '' --appendonly no --dir "$RDIR" \
        --logfile "$RDIR/redis.log" > /dev/null 2>&1 &
    REDIS_PID=$!
    track_pid "$REDIS_PID"
    for ((n = 0; n < WAIT_S * 10; n++)); do
        [ "$(redis-cli -s "$SOCK" ping 2> /dev/null)" = PONG ] && return 0
        alive "$REDIS_PID" || break
        sleep 0.1
    done
    echo "test_redis: redis-server did not start" >&2
    return 1
}

stop_redis() {
    [ -n "$REDIS_PID" ] || return 0
    stop_pids 10 "$REDIS_PID"
    untrack "$REDIS_PID"
    REDIS_PID=""
}

rcli() { timeout 10 redis-cli -s "$SOCK" "$@"; }

# start_worker NAME: a long-running `rq worker` on queue default; WORKER_PID
start_worker() {
    (cd "$RDIR" && PYTHONPATH=$RQPKG exec "$PY" -m rq.cli worker \
        --url "$URL" --name "$1" default > "$RDIR/$1.log" 2>&1) &
    WORKER_PID=$!
    track_pid "$WORKER_PID"
}

stop_worker() {
    stop_pids 15 "$1"
    untrack "$1"
}

# burst_worker: one `rq worker --burst`: runs what is queued, then exits
burst_worker() {
    local pid
    (cd "$RDIR" && PYTHONPATH=$RQPKG exec timeout "$WAIT_S" "$PY" -m rq.cli \
        worker --burst --url "$URL" default >> "$RDIR/burst.log" 2>&1) &
    pid=$!
    track_pid "$pid"
    wait "$pid"
    BURST_RC=$?
    untrack "$pid"
}

# ---- checks ----------------------------------------------------------------------

# pycheck SCRIPT ARGS...: Debian's Python with redis clients r0 (the queue
# database) and r1 (the task hashes), `same` (type- and order-exact
# equality) and `problems` (non-empty: print them, exit 1).
pycheck() {
    local script=$1
    shift
    timeout "$WAIT_S" "$PY" - "$SOCK" "$@" 2>&1 << EOF
import hashlib, json, os, struct, sys
import redis
sock = sys.argv[1]
argv = sys.argv[2:]
r0, r1 = (redis.Redis(unix_socket_path=sock, db=d) for d in (0, 1))
def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, float):
        return struct.pack('>d', a) == struct.pack('>d', b)
    return a == b
def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()
problems = []
$script
for p in problems:
    print("  " + p)
sys.exit(1 if problems else 0)
EOF
}

# log_line RID: the handler's request log line for X-Request-ID RID
log_line() {
    sleep 0.2
    grep -F "\"request_id\":\"$1\"" "$STACK_LOG" | grep -F '"event":"request"' | tail -n 1
}

# expect_no_body_read RID: the handler answered without reading a body byte
expect_no_body_read() {
    local line
    line=$(log_line "$1")
    if [[ $line =~ \"bytes_read\":([0-9]+) ]]; then
        [ "${BASH_REMATCH[1]}" = 0 ] ||
            fail "the handler read ${BASH_REMATCH[1]} body bytes before answering"
    else
        fail "no log line with bytes_read for request $1"
    fi
}

# wait_records N: until the test module recorded N calls (bounded)
wait_records() {
    local n
    for ((n = 0; n < WAIT_S * 10; n++)); do
        [ "$(wc -l < "$RQTEST_RECORD")" -ge "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

# ---- cases: one handler process --------------------------------------------------

t_health() {
    req GET /health
    expect_status 200
    expect_json status ok
    expect_json redis_connected true
    expect_json queue_depth 0
    expect_json worker_active false
    expect_json workers 0
    expect_match "version" "$(jget version)" '.'
    expect_match "spool_free_bytes" "$(jget spool_free_bytes)" '^[0-9]+$'
    start_worker rqt-live
    local n pid=$WORKER_PID
    for ((n = 0; n < WAIT_S * 10; n++)); do
        [ "$(rcli sismember rq:workers:default rq:worker:rqt-live)" = 1 ] && break
        sleep 0.1
    done
    req GET /health
    expect_status 200
    expect_json worker_active true
    expect_json workers 1
    stop_worker "$pid"
    req GET /health
    expect_json worker_active false
}

# The one upload, followed from the 202 to the worker and back.
t_upload_to_worker() {
    local src=$STACK_DIR/one.wav rid=rid-redis-$RANDOM id sha path
    audio_blob "$src" 300000
    sha=$(sha256sum "$src" | cut -d' ' -f1)
    : > "$RQTEST_RECORD"
    req_auth POST /v1/process -H "X-Request-ID: $rid" -F "file=@$src" \
        -F features=clean_transcript -F features=summary -F template_id=tpl-9 \
        -F asr_backend=ChunkFormer -F enable_diarization=true \
        -F enable_vad=off -F vad_threshold=0.35
    expect_status 202
    id=$(jget task_id) || id=""
    [[ $id =~ $UUID_RE ]] || { fail_req "no task_id"; return; }
    expect_json status PENDING
    expect_json sha256 "$sha"
    expect_json size_bytes 300000
    expect_json mime_type audio/x-wav
    path=$STACK_SPOOL/$id/raw.wav
    [ -f "$path" ] || fail "no stored file $path"
    # the filesystem queue is not used in this mode
    [ -z "$(ls -A "$STACK_QUEUE/pending")" ] || fail "an entry in the filesystem queue"

    # PENDING through GET /v1/status, the hash with its types
    req_auth GET "/v1/status/$id"
    expect_status 200
    expect_json status PENDING
    expect_json task_id "$id"
    expect_json features '["clean_transcript", "summary"]'
    expect_json template_id tpl-9
    expect_json asr_backend chunkformer
    expect_json file_path "$path"
    expect_json size_bytes 300000
    expect_json sha256 "$sha"
    expect_json correlation_id "$rid"
    expect_match "submitted_at" "$(jget submitted_at)" '^[0-9-]{10}T[0-9:.]{15}Z$'

    # the records in Redis, before any worker
    if ! msg=$(pycheck '
tid = argv[0]
if r0.lrange("rq:queue:default", 0, -1) != [tid.encode()]:
    problems.append("queue %r" % r0.lrange("rq:queue:default", 0, -1))
if r0.hget("rq:job:" + tid, "status") != b"queued":
    problems.append("job status %r" % r0.hget("rq:job:" + tid, "status"))
ttl = r1.ttl("task:" + tid)
if not 86300 <= ttl <= 86400:
    problems.append("task TTL %r" % ttl)
if r0.exists("task:" + tid) or r1.exists("rq:job:" + tid):
    problems.append("a record in the wrong database")
' "$id"); then fail "records in Redis: $msg"; fi

    burst_worker
    [ "$BURST_RC" = 0 ] || fail "rq worker --burst exited $BURST_RC: $(tail -n 5 "$RDIR/burst.log")"
    if ! msg=$(pycheck '
tid, path, sock, rid, want_sha = argv
exp = {"task_id": tid, "audio_path": path,
       "features": ["clean_transcript", "summary"], "template_id": "tpl-9",
       "asr_backend": "chunkformer", "enable_diarization": True,
       "enable_vad": False, "vad_threshold": 0.35, "redis_host": sock,
       "redis_port": 0, "redis_db": 1, "correlation_id": rid}
lines = [json.loads(l)
         for l in open(os.environ["RQTEST_RECORD"], encoding="utf-8")]
if len(lines) != 1:
    problems.append("%d calls recorded, want 1" % len(lines))
elif not same(lines[0], exp):
    problems.append("the worker got %r\n    want %r" % (lines[0], exp))
elif sha(lines[0]["audio_path"]) != want_sha:
    problems.append("audio_path does not hold the uploaded bytes")
if r0.hget("rq:job:" + tid, "status") != b"finished":
    problems.append("job status %r" % r0.hget("rq:job:" + tid, "status"))
' "$id" "$path" "$SOCK" "$rid" "$sha"); then fail "the worker's call: $msg"; fi

    req_auth GET "/v1/status/$id"
    expect_status 200
    expect_json status COMPLETE
    expect_json sha256 "$sha"
}

# Queue at the limit (5): 429 with Retry-After before the body is read.
t_queue_full() {
    local src=$STACK_DIR/full.wav rid=rid-full-$RANDOM i
    audio_blob "$src" $((4 * 1024 * 1024))
    rcli del rq:queue:default > /dev/null
    for i in 1 2 3 4 5; do rcli rpush rq:queue:default "dummy-$i" > /dev/null; done
    req GET /health
    expect_json queue_depth 5
    snap
    req_auth POST /v1/process -H "X-Request-ID: $rid" -H 'Expect:' -F "file=@$src"
    expect_error 429 QUEUE_FULL
    expect_match "Retry-After" "$(resp_header Retry-After)" '^[0-9]+$'
    expect_clean
    expect_no_body_read "$rid"
    [ "$(rcli llen rq:queue:default)" = 5 ] || fail "the queue changed"
    # one slot free: accepted again
    rcli lpop rq:queue:default > /dev/null
    req_auth POST /v1/process -F "file=@$FIXTURES/tone.wav"
    expect_status 202
    rcli del rq:queue:default > /dev/null
}

# Redis stopped: 503 before any body byte, nothing on disk; status and
# health say so. Then Redis back: the same handler process takes uploads.
t_redis_down() {
    local rid=rid-down-$RANDOM pids_before id
    pids_before=${STACK_HANDLER_PIDS[*]}
    req_auth POST /v1/process -F "file=@$FIXTURES/tone.wav"
    expect_status 202
    id=$(jget task_id) || id=""
    stop_redis
    snap
    req_auth POST /v1/process -H "X-Request-ID: $rid" -H 'Expect:' \
        -F "file=@$FIXTURES/tone.wav"
    expect_error 503 SERVICE_UNAVAILABLE
    expect_match "Retry-After" "$(resp_header Retry-After)" '^[0-9]+$'
    expect_clean
    expect_no_body_read "$rid"
    req GET /health
    expect_status 503
    expect_json status unavailable
    expect_json redis_connected false
    expect_json worker_active false
    expect_json error_code SERVICE_UNAVAILABLE
    req_auth GET "/v1/status/$id"
    expect_error 503 SERVICE_UNAVAILABLE

    start_redis || { fail "redis-server did not restart"; return; }
    req_auth POST /v1/process -F "file=@$FIXTURES/tone.wav"
    expect_status 202
    id=$(jget task_id) || id=""
    req_auth GET "/v1/status/$id"
    expect_status 200
    expect_json status PENDING
    req GET /health
    expect_status 200
    expect_json redis_connected true
    expect_eq "handler PIDs" "${STACK_HANDLER_PIDS[*]}" "$pids_before"
    local p
    for p in "${STACK_HANDLER_PIDS[@]}"; do alive "$p" || fail "handler $p died"; done
    : > "$RQTEST_RECORD"
    burst_worker
    req_auth GET "/v1/status/$id"
    expect_json status COMPLETE
}

# Redis goes away while the file streams in: after the body, 503, and the
# stored file and its task directory are removed (no file without a task).
t_redis_lost_mid_upload() {
    local src=$STACK_DIR/slow.wav out=$STACK_DIR/slow.out cpid n part=""
    audio_blob "$src" $((12 * 1024 * 1024))
    snap
    curl -sS -o "$out" -w '%{http_code}' --max-time 60 --limit-rate 3M -H 'Expect:' \
        -H "X-API-Key: $STACK_KEY" -F "file=@$src" "$STACK_URL/v1/process" > "$out.code" 2>&1 &
    cpid=$!
    track_pid "$cpid"
    for ((n = 0; n < 100; n++)); do
        part=$(find "$STACK_SPOOL" -name '.*.part' -size +0c 2> /dev/null | head -n 1)
        [ -n "$part" ] && break
        alive "$cpid" || break
        sleep 0.1
    done
    [ -n "$part" ] || fail "no .part file while uploading"
    stop_redis
    wait "$cpid"
    untrack "$cpid"
    # shellcheck disable=SC2034 # read by the expect_* functions
    ST=$(cat "$out.code") BODY=$(cat "$out") CURL_RC=0 LAST_REQ="slow upload, Redis stopped"
    expect_error 503 SERVICE_UNAVAILABLE
    expect_clean
    start_redis || fail "redis-server did not restart"
}

# Redis stops answering in the middle of MULTI/EXEC (CLIENT PAUSE WRITE
# holds the EXEC past the 1 s command timeout): the handler cannot know
# whether EXEC ran, looks for the task hash (reads still work), finds none,
# answers 503 and removes the file. Afterwards neither a task nor a job
# exists: no worker sees a task without its file.
t_exec_timeout() {
    local rid=rid-exec-$RANDOM tasks_before line
    tasks_before=$(rcli -n 1 dbsize)
    snap
    rcli client pause 3000 write > /dev/null
    req_auth POST /v1/process -H "X-Request-ID: $rid" -F "file=@$FIXTURES/tone.wav"
    expect_error 503 SERVICE_UNAVAILABLE
    expect_clean
    sleep 3.2 # the pause is over: anything held would run now
    expect_eq "task hashes" "$(rcli -n 1 dbsize)" "$tasks_before"
    expect_eq "jobs queued" "$(rcli llen rq:queue:default)" 0
    line=$(grep -F "\"request_id\":\"$rid\"" "$STACK_LOG" | grep -F 'was not queued' | head -n 1)
    [ -n "$line" ] || fail "no 'was not queued' log line for $rid"
    req_auth POST /v1/process -F "file=@$FIXTURES/tone.wav"
    expect_status 202
    : > "$RQTEST_RECORD"
    burst_worker
}

# ---- case: three handler processes, two workers, 100 uploads --------------------

t_scale() {
    local dir=$STACK_DIR/answers src=$STACK_DIR/small.wav w1 w2 n bad p
    local -A rchar=()
    # spawn-fcgi writes the PID file after the socket appears: read it again
    for ((n = 0; n < 50; n++)); do
        mapfile -t STACK_HANDLER_PIDS < <(grep -E '^[0-9]+$' "$STACK_DIR/pool.pid" 2> /dev/null)
        [ "${#STACK_HANDLER_PIDS[@]}" -ge 3 ] && break
        sleep 0.1
    done
    [ "${#STACK_HANDLER_PIDS[@]}" = 3 ] ||
        fail "${#STACK_HANDLER_PIDS[@]} handler processes, want 3"
    for p in "${STACK_HANDLER_PIDS[@]}"; do
        rchar[$p]=$(awk '$1 == "rchar:" { print $2 }' "/proc/$p/io")
    done
    mkdir -p "$dir"
    audio_blob "$src" 20000
    : > "$RQTEST_RECORD"
    start_worker rqt-w1
    w1=$WORKER_PID
    start_worker rqt-w2
    w2=$WORKER_PID
    seq 100 | timeout 300 xargs -P 8 -I{} curl -sS --max-time 60 \
        -H "X-API-Key: $STACK_KEY" -H "X-Request-ID: rid-scale-{}" \
        -F "file=@$src" -o "$dir/{}.json" -w '%{http_code}\n' \
        "$STACK_URL/v1/process" >> "$dir/codes" 2>> "$dir/curl.err"
    bad=$(grep -vc '^202$' "$dir/codes")
    n=$(grep -c '^202$' "$dir/codes")
    [ "$n" = 100 ] || fail "$n uploads answered 202 ($bad others: $(sort "$dir/codes" | uniq -c | tr '\n' ' '))"
    wait_records 100 || fail "only $(wc -l < "$RQTEST_RECORD") of 100 jobs ran in ${WAIT_S}s"
    sleep 0.5 # a second run of a job would show up now
    if ! msg=$(pycheck '
import collections, glob
ans = [json.load(open(f)) for f in sorted(glob.glob(argv[0] + "/*.json"))]
ids = [a["task_id"] for a in ans]
recs = [json.loads(l) for l in open(os.environ["RQTEST_RECORD"], encoding="utf-8")]
runs = collections.Counter(r["task_id"] for r in recs)
if len(recs) != 100:
    problems.append("%d records, want 100" % len(recs))
twice = sorted(i for i, c in runs.items() if c != 1)
if twice:
    problems.append("run more than once: %r" % twice)
if sorted(runs) != sorted(ids) or len(set(ids)) != 100:
    problems.append("the tasks run are not the 100 answered (%d distinct ids)"
                    % len(set(ids)))
by_id = {a["task_id"]: a for a in ans}
for r in recs:
    a = by_id.get(r["task_id"])
    if a and sha(r["audio_path"]) != a["sha256"]:
        problems.append("%s: audio_path bytes differ" % r["task_id"])
    if not r["correlation_id"].startswith("rid-scale-"):
        problems.append("%s: correlation_id %r" % (r["task_id"], r["correlation_id"]))
for i in ids:
    if r1.hget("task:" + i, "status") != b"COMPLETE":
        problems.append("task %s: %r" % (i, r1.hget("task:" + i, "status")))
    if r0.hget("rq:job:" + i, "status") != b"finished":
        problems.append("job %s: %r" % (i, r0.hget("rq:job:" + i, "status")))
if r0.llen("rq:queue:default"):
    problems.append("queue not empty")
if r0.zcard("rq:wip:default") or r0.zcard("rq:failed:default"):
    problems.append("jobs left started or failed")
workers = collections.Counter(
    (r0.hget("rq:job:" + i, "worker_name") or b"?").decode() for i in ids)
if len(workers) != 2:
    problems.append("jobs by worker: %r, want both workers" % dict(workers))
print("  jobs by worker: " + ", ".join("%s %d" % kv for kv in sorted(workers.items())))
print("  %d uploads answered 202, %d jobs run, each exactly once" % (
    len(ids), len(recs)))
' "$dir"); then
        fail "exactly once: $msg"
    else
        echo "$msg"
    fi
    stop_worker "$w1"
    stop_worker "$w2"
    # every handler process took a share (bytes read from the front end)
    for p in "${STACK_HANDLER_PIDS[@]}"; do
        alive "$p" || { fail "handler $p died"; continue; }
        n=$(($(awk '$1 == "rchar:" { print $2 }' "/proc/$p/io") - ${rchar[$p]:-0}))
        echo "    handler $p read $n bytes"
        [ "$n" -gt 20000 ] || fail "handler $p served no upload"
    done
}

# ---- the run -----------------------------------------------------------------------

# no_sanitizer_report LABEL LOG: after a stack stopped (LeakSanitizer reports
# at exit), nothing in its handler log
no_sanitizer_report() {
    begin "$1 stack: no sanitizer report in the handler log"
    if grep -qE 'Sanitizer|runtime error:' "$2"; then
        fail "$(grep -m 5 -E 'Sanitizer|runtime error:|SUMMARY' "$2" | tr '\n' ' ')"
    fi
    end_case
}

# section LABEL CASES... -- start_stack args: one stack for the cases
section() {
    local label=$1 cases=() c wanted=() log
    shift
    while [ "$1" != -- ]; do cases+=("$1"); shift; done
    shift
    for c in "${cases[@]}"; do
        if [ -z "${ONLY:-}" ] || [[ ${c%%:*} =~ $ONLY ]]; then wanted+=("$c"); fi
    done
    [ ${#wanted[@]} -gt 0 ] || return 0
    if ! start_stack "$FRONT" APP_REDIS__URL="$URL" "$@"; then
        begin "$label stack"
        fail "the stack did not start"
        end_case
        return 0
    fi
    for c in "${wanted[@]}"; do run_case "${c%%:*}" "${c#*:}"; done
    log=$STACK_LOG
    stop_stack
    no_sanitizer_report "$label" "$log"
}

front_spec "$FRONT" || exit 2
echo "== $FRONT: handler $HANDLER, Redis $(redis-server --version | cut -d' ' -f3), rq $("$PY" -c 'import rq; print(rq.VERSION)')"
start_redis || exit 1

section one \
    redis_health:t_health upload_to_worker:t_upload_to_worker \
    queue_full_429:t_queue_full redis_down_503_then_back:t_redis_down \
    redis_lost_mid_upload_503:t_redis_lost_mid_upload \
    exec_timeout_503:t_exec_timeout -- \
    APP_REDIS__MAX_QUEUE_DEPTH=5 APP_REDIS__COMMAND_TIMEOUT_MS=1000
section scale three_handlers_two_workers_100:t_scale -- \
    FCGI_CHILDREN=3 APP_REDIS__MAX_QUEUE_DEPTH=1000

stop_redis
summary
