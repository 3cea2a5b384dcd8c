#!/usr/bin/env bash
# tests/integration/test_rq.sh - fcgi_upload/rq_store against the real thing:
# a private redis-server and stock RQ workers from Debian's python3-rq.
#
#   bash tests/integration/test_rq.sh [RQ_SUBMIT]   (default build/san/rq_submit)
#
#   RQ_TEST_PYTHON=/usr/bin/python3   the Python that has rq (Debian's)
#   KEEP_TMP=1                        keep the temp directory (logs, records)
#
# Redis listens on a unix socket in a mktemp directory only (--port 0), keeps
# nothing on disk (--save '' --appendonly no), and is stopped by its PID, as
# is every other process this script starts (EXIT trap); nothing is killed
# by name. tests/tools/rq_submit drives one struct rq_store, the way one
# worker thread of the handler does; the workers import
# src.worker.pipeline.process_audio_task from tests/integration/rqpkg, which
# records its argument and marks the task COMPLETE.
#
# Ends with "N passed, N failed"; exit 1 if any case failed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$PWD
TOOL=${1:-build/san/rq_submit}
case "$TOOL" in /*) ;; *) TOOL=$ROOT/$TOOL ;; esac
PY=${RQ_TEST_PYTHON:-/usr/bin/python3}
RQPKG=$ROOT/tests/integration/rqpkg
FUNC=src.worker.pipeline.process_audio_task
STEP_TIMEOUT=60 # seconds for any one tool run, worker run or wait

for t in redis-server redis-cli timeout sha256sum; do
    command -v "$t" > /dev/null 2>&1 || {
        echo "test_rq: $t missing (make deps-test)" >&2
        exit 1
    }
done
[ -x "$TOOL" ] || {
    echo "test_rq: $TOOL not built" >&2
    exit 1
}
"$PY" -c 'import rq, redis' 2> /dev/null || {
    echo "test_rq: $PY lacks rq (Debian's python3-rq)" >&2
    exit 1
}

T=$(mktemp -d "${TMPDIR:-/tmp}/rq_it.XXXXXX")
SOCK=$T/redis.sock
URL=unix://$SOCK
REDIS_PID=""
PIDS=() # other background processes, by PID
export RQTEST_RECORD=$T/record.jsonl RQTEST_REDIS_SOCKET=$SOCK
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree

# stop PID: SIGTERM, up to 10 s, then SIGKILL; reaps it
stop_pid() {
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2> /dev/null || {
        wait "$pid" 2> /dev/null
        return 0
    }
    for i in $(seq 100); do
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2> /dev/null
    wait "$pid" 2> /dev/null
    return 0
}

cleanup() {
    local p
    stop_pid "$KEEPER_PID"
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    stop_pid "$REDIS_PID"
    if [ "${KEEP_TMP:-}" = 1 ]; then
        echo "test_rq: kept $T"
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_redis() {
    local i
    rm -f "$SOCK"
    redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 \
        --save '' --appendonly no --dir "$T" --pidfile "$T/redis.pid" \
        --logfile "$T/redis.log" --enable-debug-command local &
    REDIS_PID=$!
    for i in $(seq 100); do
        [ "$(redis-cli -s "$SOCK" ping 2> /dev/null)" = PONG ] && return 0
        sleep 0.1
    done
    echo "test_rq: redis-server did not start" >&2
    return 1
}

stop_redis() {
    stop_pid "$REDIS_PID"
    REDIS_PID=""
}

rcli() { redis-cli -s "$SOCK" "$@"; }

# ---- results ---------------------------------------------------------------

PASS=0
FAIL=0
pass() {
    echo "PASS $1"
    PASS=$((PASS + 1))
}
fail() {
    echo "FAIL $1: $2"
    FAIL=$((FAIL + 1))
}

# ---- the tool --------------------------------------------------------------

# once ARGS... <<< JSON-LINES: a fresh store per run; prints the answers
once() { timeout "$STEP_TIMEOUT" "$TOOL" --url "$URL" "$@" 2>> "$T/tool.err"; }

# a long-lived store (one struct across Redis restarts): start_keeper ARGS
KEEPER_PID=""
start_keeper() {
    coproc TOOLP { exec "$TOOL" "$@" 2>> "$T/tool.err"; }
    KEEPER_PID=$TOOLP_PID # bash unsets TOOLP_PID when the coprocess ends
    KEEPER_IN=${TOOLP[1]}
    KEEPER_OUT=${TOOLP[0]}
}
# keep JSON: one command to the long-lived store; the answer in $ANSWER
keep() {
    ANSWER='{"rc":"NO_ANSWER"}'
    kill -0 "$KEEPER_PID" 2> /dev/null || return 0
    printf '%s\n' "$1" 1>&"$KEEPER_IN" 2> /dev/null || return 0
    IFS= read -r -t "$STEP_TIMEOUT" ANSWER <&"$KEEPER_OUT" ||
        ANSWER='{"rc":"NO_ANSWER"}'
}

# jfield JSON KEY: one top-level value of a JSON object
jfield() {
    "$PY" -c 'import json, sys; v = json.loads(sys.argv[1]).get(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1" "$2"
}

newid() { cat /proc/sys/kernel/random/uuid; }

# job ID [PATH]: a submit command; the stored file is made with some bytes
job() {
    local id=$1 path=${2:-$T/audio/$1/raw.wav}
    mkdir -p "$(dirname "$path")"
    head -c 4096 /dev/urandom > "$path"
    "$PY" - "$id" "$path" << 'EOF'
import hashlib, json, os, sys
i, p = sys.argv[1], sys.argv[2]
print(json.dumps({"cmd": "submit", "task_id": i, "file_path": p,
    "features": ["clean_transcript", "summary"], "template_id": "tmpl-1",
    "asr_backend": "whisper", "enable_diarization": True,
    "enable_vad": False, "vad_threshold": 0.35,
    "correlation_id": "req-" + i[:8], "size_bytes": os.path.getsize(p),
    "sha256": hashlib.sha256(open(p, "rb").read()).hexdigest(),
    "mime_type": "audio/x-wav"}))
EOF
}

# The dict the worker must get for job ID [PATH] [DB]; Python literal
expected_args() {
    local id=$1 path=${2:-$T/audio/$1/raw.wav} db=${3:-1}
    printf '{"task_id": "%s", "audio_path": "%s", "features": ["clean_transcript", "summary"], "template_id": "tmpl-1", "asr_backend": "whisper", "enable_diarization": True, "enable_vad": False, "vad_threshold": 0.35, "redis_host": "%s", "redis_port": 0, "redis_db": %s, "correlation_id": "req-%s"}' \
        "$id" "$path" "$SOCK" "$db" "${id:0:8}"
}

# python VERIFY-SCRIPT ARGS...: runs with r0 .. r3 (clients for databases
# 0-3 on the socket), `same` (type-exact equality) and `problems` (a list:
# non-empty makes it exit 1, printing them)
pycheck() {
    local script=$1
    shift
    "$PY" - "$SOCK" "$@" 2>&1 << EOF
import hashlib, json, re, struct, sys, zlib
import redis
from rq import Queue
from rq.job import Job
from rq.utils import get_call_string
sock = sys.argv[1]
argv = sys.argv[2:]
r0, r1, r2, r3 = (redis.Redis(unix_socket_path=sock, db=d) for d in range(4))
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
problems = []
$script
for p in problems:
    print("  " + p)
sys.exit(1 if problems else 0)
EOF
}

# ---- cases -----------------------------------------------------------------

start_redis || exit 1
mkdir -p "$T/audio"
: > "$RQTEST_RECORD"

# 1. Both records, each in its database, exactly as RQ writes a job
ID1=$(newid)
out=$(job "$ID1" | once)
if [ "$(jfield "$out" rc)" != OK ]; then
    fail "submit writes task and job" "$out"
else
    if msg=$(pycheck '
tid = argv[0]
exp = '"$(expected_args "$ID1")"'
t = {k.decode(): v.decode() for k, v in r1.hgetall("task:" + tid).items()}
sub = t.pop("submitted_at", "")
if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", sub):
    problems.append("submitted_at %r" % sub)
p = exp["audio_path"]
want = {"task_id": tid, "status": "PENDING",
        "features": "[\"clean_transcript\", \"summary\"]",
        "template_id": "tmpl-1", "file_path": p, "asr_backend": "whisper",
        "correlation_id": exp["correlation_id"],
        "size_bytes": "4096",
        "sha256": hashlib.sha256(open(p, "rb").read()).hexdigest(),
        "mime_type": "audio/x-wav"}
if t != want:
    problems.append("task hash %r != %r" % (t, want))
if json.loads(want["features"]) != exp["features"]:
    problems.append("features is not the JSON of the list")
ttl = r1.ttl("task:" + tid)
if not 86390 <= ttl <= 86400:
    problems.append("task TTL %r" % ttl)
if r0.exists("task:" + tid) or r1.exists("rq:job:" + tid):
    problems.append("a record landed in the wrong database")
if r0.lrange("rq:queue:default", 0, -1) != [tid.encode()]:
    problems.append("queue %r" % r0.lrange("rq:queue:default", 0, -1))
if b"rq:queue:default" not in r0.smembers("rq:queues"):
    problems.append("rq:queues lacks the queue")

# what RQ itself makes of our job
job = Job.fetch(tid, connection=r0)
for what, got, w in (("func_name", job.func_name, "'"$FUNC"'"),
                     ("instance", job.instance, None),
                     ("args", job.args, (exp,)), ("kwargs", job.kwargs, {}),
                     ("timeout", job.timeout, 600),
                     ("result_ttl", job.result_ttl, 86400),
                     ("origin", job.origin, "default"),
                     ("status", job.get_status(), "queued"),
                     ("description", job.description,
                      get_call_string(job.func_name, (exp,), {}, 75))):
    if not same(got, w):
        problems.append("job.%s = %r, want %r" % (what, got, w))

# and the hash RQ 1.13 writes for the same call, field by field
ref = Queue("rqtest-ref", connection=r0).enqueue(
    "'"$FUNC"'", exp, job_id="ref-" + tid, job_timeout=600,
    result_ttl=86400)
mine = {k.decode(): v for k, v in r0.hgetall("rq:job:" + tid).items()}
theirs = {k.decode(): v for k, v in r0.hgetall("rq:job:ref-" + tid).items()}
if set(mine) != set(theirs):
    problems.append("fields %s vs RQ %s" % (sorted(mine), sorted(theirs)))
for k in sorted(set(mine) & set(theirs)):
    a, b = mine[k], theirs[k]
    if k in ("created_at", "enqueued_at"):
        ok = re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", a)
    elif k == "data":
        import pickle
        ok = same(pickle.loads(zlib.decompress(a)),
                  pickle.loads(zlib.decompress(b)))
    elif k == "origin":
        ok = (a, b) == (b"default", b"rqtest-ref")
    else:
        ok = a == b
    if not ok:
        problems.append("field %s: %r, RQ writes %r" % (k, a, b))
ref.delete()
r0.delete("rq:queue:rqtest-ref")
r0.srem("rq:queues", "rq:queue:rqtest-ref")
print("  rq:job fields, as RQ 1.13 writes them: " + " ".join(sorted(mine)))
' "$ID1"); then
        echo "$msg"
        pass "submit writes task (db 1) and job (db 0) as RQ's enqueue does"
    else
        fail "submit writes task and job" "$msg"
    fi
fi

# 2. SELECT inside MULTI: MONITOR shows each command with its database
redis-cli -s "$SOCK" monitor > "$T/monitor.log" &
MON=$!
PIDS+=("$MON")
sleep 0.3
ID2=$(newid)
out=$(job "$ID2" | once --queue monq)
sleep 0.3
stop_pid "$MON"
if msg=$(pycheck '
lines = [l for l in open(argv[1], encoding="utf-8", errors="replace")
         if "\"" in l]
cmds = [(re.search(r"\[(\d+) ", l).group(1), re.findall(r"\"([^\"]*)\"", l))
        for l in lines]
names = [c[1][0] + ((" " + c[1][1]) if c[1][0] in ("HSET", "SELECT") else "")
         for c in cmds]
print("  MONITOR: " + ", ".join("[%s] %s" % (d, n.split(":")[0])
                                for (d, _), n in zip(cmds, names)))
want = [("0", "MULTI"), ("1", "SELECT 1"), ("1", "HSET task"),
        ("1", "EXPIRE"), ("0", "SELECT 0"), ("0", "SADD"),
        ("0", "HSET rq"), ("0", "HSET rq"), ("0", "RPUSH"), ("0", "EXEC")]
got = [(d, n.split(":")[0]) for (d, _), n in zip(cmds, names)]
if got != want:
    problems.append("MONITOR saw %r" % got)
r0.delete("rq:queue:monq", "rq:job:" + argv[0])
r0.srem("rq:queues", "rq:queue:monq")
r1.delete("task:" + argv[0])
' "$ID2" "$T/monitor.log"); then
    echo "$msg"
    pass "MULTI/EXEC with SELECT inside: task ran in db 1, job in db 0"
else
    fail "SELECT inside MULTI" "$out $msg"
fi

# 3. Atomic for a reader that snapshots both databases (its own MULTI)
N=300
"$PY" - "$SOCK" "$N" > "$T/reader.out" 2>&1 << 'EOF' &
import sys, time
import redis
r = redis.Redis(unix_socket_path=sys.argv[1])
n, seen, bad, mid, t0 = int(sys.argv[2]), 0, 0, 0, time.monotonic()
while time.monotonic() - t0 < 60:
    p = r.pipeline(transaction=True)
    p.execute_command("SELECT", 0)
    p.llen("rq:queue:atomic")
    p.execute_command("SELECT", 3)
    p.dbsize()
    _, jobs, _, tasks = p.execute()
    seen += 1
    bad += jobs != tasks
    mid += 0 < jobs < n
    if jobs >= n and tasks >= n:
        break
print(seen, bad, mid)
EOF
READER=$!
PIDS+=("$READER")
sleep 0.3
for i in $(seq "$N"); do
    printf '{"cmd":"submit","task_id":"atomic-%d","file_path":"/x","features":[],"asr_backend":"whisper","sha256":"0","mime_type":"m","vad_threshold":0.5}\n' "$i"
done | once --queue atomic --results-db 3 | grep -vc '"rc":"OK"' > "$T/atomic.failed"
wait "$READER"
read -r seen bad mid < "$T/reader.out"
if [ "$(cat "$T/atomic.failed")" = 0 ] && [ "${bad:-x}" = 0 ] &&
    [ "${mid:-0}" -gt 0 ]; then
    echo "  reader: $seen snapshots, $mid mid-way, $bad with jobs != tasks"
    pass "a reader of both databases never sees a task without its job"
else
    fail "atomic submit" "failed submits $(cat "$T/atomic.failed"), reader: $(cat "$T/reader.out")"
fi
rcli -n 3 flushdb > /dev/null
rcli eval "for _, k in ipairs(redis.call('keys', 'rq:job:atomic-*')) do redis.call('del', k) end" 0 > /dev/null
rcli del rq:queue:atomic > /dev/null
rcli srem rq:queues rq:queue:atomic > /dev/null

# 4. Same database for both; queue database from the URL
ID4=$(newid)
ID5=$(newid)
out4=$(job "$ID4" | once --queue other --results-db 0)
out5=$(job "$ID5" | timeout "$STEP_TIMEOUT" "$TOOL" --url "$URL?db=2" \
    --queue other 2>> "$T/tool.err")
if msg=$(pycheck '
a, b = argv
if not (r0.exists("task:" + a) and r0.exists("rq:job:" + a)):
    problems.append("results db 0: both records belong in db 0")
if not (r1.exists("task:" + b) and r2.exists("rq:job:" + b)
        and r2.lrange("rq:queue:other", 0, -1) == [b.encode()]):
    problems.append("URL ?db=2: job in db 2, task in db 1")
if Job.fetch(b, connection=r2).args[0]["redis_db"] != 1:
    problems.append("redis_db is not the results database")
for c in (r0, r2):
    c.delete("rq:queue:other", "rq:job:" + a, "rq:job:" + b)
    c.srem("rq:queues", "rq:queue:other")
r0.delete("task:" + a)
r1.delete("task:" + b)
' "$ID4" "$ID5"); then
    pass "results db = queue db, and the queue db from unix://...?db=2"
else
    fail "database choice" "$out4 $out5 $msg"
fi

# 5. A stock rq worker runs the job: the exact dict, once, task COMPLETE
(cd "$T" && PYTHONPATH=$RQPKG timeout "$STEP_TIMEOUT" "$PY" -m rq.cli worker \
    --burst --url "$URL" default > "$T/worker1.log" 2>&1)
wrc=$?
if msg=$(pycheck '
tid, rec = argv
exp = '"$(expected_args "$ID1")"'
lines = [json.loads(l) for l in open(rec, encoding="utf-8")]
if len(lines) != 1:
    problems.append("%d calls recorded, want 1" % len(lines))
elif not same(lines[0], exp):
    problems.append("worker got %r\n  want %r" % (lines[0], exp))
st = r1.hget("task:" + tid, "status")
if st != b"COMPLETE":
    problems.append("task status %r" % st)
h = r1.hgetall("task:" + tid)
if hashlib.sha256(open(exp["audio_path"], "rb").read()).hexdigest() != \
        h[b"sha256"].decode():
    problems.append("audio_path does not hold the file of the task hash")
if Job.fetch(tid, connection=r0).get_status() != "finished":
    problems.append("job status %r" % Job.fetch(tid, connection=r0).get_status())
if r0.llen("rq:queue:default"):
    problems.append("queue not empty")
' "$ID1" "$RQTEST_RECORD") && [ "$wrc" = 0 ]; then
    pass "rq worker runs it: exact argument dict, once, task COMPLETE"
else
    fail "rq worker" "worker exit $wrc: $msg; $(tail -5 "$T/worker1.log")"
fi

# 6. Two workers, 20 jobs: each runs exactly once
: > "$RQTEST_RECORD"
IDS=()
for i in $(seq 20); do IDS+=("$(newid)"); done
for id in "${IDS[@]}"; do job "$id"; done | once --queue many > "$T/many.out"
W=()
for w in 1 2; do
    (cd "$T" && PYTHONPATH=$RQPKG timeout "$STEP_TIMEOUT" "$PY" -m rq.cli \
        worker --burst --url "$URL" many > "$T/many$w.log" 2>&1) &
    W+=($!)
    PIDS+=("$!")
done
for p in "${W[@]}"; do wait "$p"; done
if msg=$(pycheck '
rec, ids = argv[0], argv[1:]
got = [json.loads(l)["task_id"] for l in open(rec, encoding="utf-8")]
if sorted(got) != sorted(ids):
    problems.append("ran %d calls for %d jobs; repeats %r" % (
        len(got), len(ids), sorted({i for i in got if got.count(i) > 1})))
for i in ids:
    if r1.hget("task:" + i, "status") != b"COMPLETE":
        problems.append("task %s not COMPLETE" % i)
' "$RQTEST_RECORD" "${IDS[@]}") && [ "$(grep -c '"rc":"OK"' "$T/many.out")" = 20 ]; then
    pass "two workers, 20 jobs: each ran exactly once, all COMPLETE"
else
    fail "two workers" "$msg"
fi

# 6b. Unusual text, None and every field type reach the worker unchanged
: > "$RQTEST_RECORD"
IDX=$(newid)
mkdir -p "$T/audio/é ü"
printf 'x' > "$T/audio/é ü/raw 'q\".wav"
"$PY" - "$IDX" "$T/audio/é ü/raw 'q\".wav" "$SOCK" > "$T/text.json" << 'EOF'
import json, sys
i, p, sock = sys.argv[1:]
feats = ["raw_transcript", "é\"\\\n\t\x01\x7f\u2028😀", ""]
sub = {"cmd": "submit", "task_id": i, "file_path": p, "features": feats,
       "template_id": None, "asr_backend": "chunkformer",
       "enable_diarization": False, "enable_vad": True,
       "vad_threshold": 1e-7, "correlation_id": None, "size_bytes": 1,
       "sha256": "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
       "mime_type": "audio/x-wav", "submitted_at": "2024-05-01T12:00:00+00:00"}
exp = {"task_id": i, "audio_path": p, "features": feats,
       "template_id": None, "asr_backend": "chunkformer",
       "enable_diarization": False, "enable_vad": True,
       "vad_threshold": 1e-7, "redis_host": sock, "redis_port": 0,
       "redis_db": 1, "correlation_id": None}
print(json.dumps(sub))
print(json.dumps(exp))
EOF
outx=$(head -1 "$T/text.json" | once --queue textq)
(cd "$T" && PYTHONPATH=$RQPKG timeout "$STEP_TIMEOUT" "$PY" -m rq.cli worker \
    --burst --url "$URL" textq > "$T/text.log" 2>&1)
if msg=$(pycheck '
tid, rec, expf = argv
exp = json.loads(open(expf, encoding="utf-8").read().splitlines()[1])
lines = [json.loads(l) for l in open(rec, encoding="utf-8")]
if len(lines) != 1 or not same(lines[0], exp):
    problems.append("worker got %r\n  want %r" % (lines, exp))
h = {k.decode(): v.decode() for k, v in r1.hgetall("task:" + tid).items()}
if h.get("features") != json.dumps(exp["features"]):
    problems.append("features %r != json.dumps %r" % (
        h.get("features"), json.dumps(exp["features"])))
for k, v in (("template_id", ""), ("correlation_id", ""), ("status", "COMPLETE"),
             ("submitted_at", "2024-05-01T12:00:00+00:00")):
    if h.get(k) != v:
        problems.append("task %s = %r, want %r" % (k, h.get(k), v))
' "$IDX" "$RQTEST_RECORD" "$T/text.json") && [ "$(jfield "$outx" rc)" = OK ]; then
    pass "non-ASCII, quotes, control characters, None, 1e-07 reach the worker exactly"
else
    fail "unusual text" "$outx $msg $(tail -3 "$T/text.log")"
fi

# 7. Queue depth is LLEN rq:queue:<name>
d0=$(printf '{"cmd":"depth"}\n' | once --queue depthq)
for i in 1 2 3; do job "$(newid)"; done | once --queue depthq > /dev/null
d3=$(printf '{"cmd":"depth"}\n' | once --queue depthq)
llen=$(rcli llen rq:queue:depthq)
if [ "$(jfield "$d0" depth)" = 0 ] && [ "$(jfield "$d3" depth)" = 3 ] &&
    [ "$llen" = 3 ]; then
    pass "queue depth = LLEN rq:queue:<name> (0, then 3)"
else
    fail "queue depth" "$d0 $d3 LLEN=$llen"
fi

# 8. Health: live workers of the queue from RQ's registry
h0=$(printf '{"cmd":"health"}\n' | once --queue depthq)
rcli sadd rq:workers:depthq rq:worker:ghost > /dev/null # died, key gone
hg=$(printf '{"cmd":"health"}\n' | once --queue depthq)
(cd "$T" && PYTHONPATH=$RQPKG exec "$PY" -m rq.cli worker --url "$URL" \
    --name rqtest-live emptyq > "$T/live.log" 2>&1) &
LIVE=$!
PIDS+=("$LIVE")
for i in $(seq 100); do
    [ "$(rcli sismember rq:workers:emptyq rq:worker:rqtest-live)" = 1 ] && break
    sleep 0.1
done
hl=$(printf '{"cmd":"health"}\n' | once --queue emptyq)
stop_pid "$LIVE"
hs=$(printf '{"cmd":"health"}\n' | once --queue emptyq)
if [ "$(jfield "$h0" workers)" = 0 ] && [ "$(jfield "$hg" workers)" = 0 ] &&
    [ "$(jfield "$hg" queue_depth)" = 3 ] &&
    [ "$(jfield "$hg" connected)" = True ] &&
    [ "$(jfield "$hl" workers)" = 1 ] && [ "$(jfield "$hs" workers)" = 0 ]; then
    pass "health: depth, and workers 0 / ghost 0 / live 1 / stopped 0"
else
    fail "health" "$h0 | $hg | $hl | $hs"
fi
rcli del rq:workers:depthq rq:queue:depthq > /dev/null

# 9. AUTH: none, wrong, right
rcli config set requirepass 's3cr%t' > /dev/null
a0=$(printf '{"cmd":"depth"}\n' | once)
a1=$(printf '{"cmd":"depth"}\n' | timeout "$STEP_TIMEOUT" "$TOOL" \
    --url "unix://:wrong@$SOCK" 2>> "$T/tool.err")
a2=$(printf '{"cmd":"depth"}\n' | timeout "$STEP_TIMEOUT" "$TOOL" \
    --url "unix://:s3cr%25t@$SOCK" 2>> "$T/tool.err")
redis-cli -s "$SOCK" -a 's3cr%t' --no-auth-warning config set requirepass '' > /dev/null
if [ "$(jfield "$a0" rc)" = AUTH ] && [ "$(jfield "$a1" rc)" = AUTH ] &&
    [ "$(jfield "$a2" rc)" = OK ]; then
    pass "AUTH: no password and wrong password refused, right one works"
else
    fail "AUTH" "$a0 | $a1 | $a2"
fi

# 10. A server that does not answer: the command timeout, not a hang
rcli debug sleep 3 > /dev/null &
SLEEPER=$!
PIDS+=("$SLEEPER")
sleep 0.3
t0=$(date +%s%N)
to=$(printf '{"cmd":"depth"}\n' | once --command-ms 400)
ms=$((($(date +%s%N) - t0) / 1000000))
wait "$SLEEPER"
if [ "$(jfield "$to" rc)" = UNAVAILABLE ] && [ "$ms" -lt 2500 ]; then
    pass "unanswered command: UNAVAILABLE after the timeout (${ms} ms)"
else
    fail "command timeout" "$to after $ms ms"
fi

# 11. No server at all: UNAVAILABLE, naming the step
nc=$(printf '{"cmd":"depth"}\n' | timeout "$STEP_TIMEOUT" "$TOOL" \
    --url "unix://$T/nothing.sock" 2>> "$T/tool.err")
case "$(jfield "$nc" rc) $(jfield "$nc" error)" in
"UNAVAILABLE connect"*) pass "no server: UNAVAILABLE ($(jfield "$nc" error))" ;;
*) fail "no server" "$nc" ;;
esac

# 12. Redis stopped, then restarted: one store struct throughout
start_keeper --url "$URL" --queue restartq
IDA=$(newid)
IDB=$(newid)
IDC=$(newid)
IDD=$(newid)
keep "$(job "$IDA")"
ra=$ANSWER
stop_redis
t0=$(date +%s%N)
keep "$(job "$IDB")"
rb=$ANSWER
ms=$((($(date +%s%N) - t0) / 1000000))
keep '{"cmd":"depth"}'
rd=$ANSWER
keep '{"cmd":"health"}'
rh=$ANSWER
start_redis || exit 1
keep "$(job "$IDC")"
rc_=$ANSWER
keep "{\"cmd\":\"status\",\"task_id\":\"$IDC\"}"
rs=$ANSWER
# restart with no call in between: the kept connection is stale
stop_redis
start_redis || exit 1
keep "$(job "$IDD")"
rdd=$ANSWER
eval "exec $KEEPER_IN>&-" 2> /dev/null # end of input: the tool exits
wait "$KEEPER_PID" 2> /dev/null
keeper_rc=$?
KEEPER_PID=""
if [ "$(jfield "$ra" rc)" = OK ] && [ "$(jfield "$rb" rc)" = UNAVAILABLE ] &&
    [ "$ms" -lt 2000 ] &&
    [ "$(jfield "$rd" rc)" = UNAVAILABLE ] &&
    [ "$(jfield "$rh" connected)" = False ] &&
    [ "$(jfield "$rc_" rc)" = OK ] &&
    [ "$(jfield "$(jfield "$rs" fields)" status)" = PENDING ] &&
    [ "$(jfield "$rdd" rc)" = OK ] &&
    [ "$(rcli lrange rq:queue:restartq 0 -1)" = "$IDD" ] &&
    [ "$(rcli -n 1 hget "task:$IDD" status)" = PENDING ] &&
    [ "$keeper_rc" = 0 ]; then
    pass "Redis down: UNAVAILABLE (${ms} ms); back up: the same store reconnects"
else
    fail "restart" "A=$ra B=$rb depth=$rd health=$rh C=$rc_ status=$rs D=$rdd exit=$keeper_rc"
fi

if grep -q 'ERROR: AddressSanitizer\|runtime error' "$T/tool.err" 2> /dev/null; then
    fail "sanitizers" "$(grep -m3 'AddressSanitizer\|runtime error' "$T/tool.err")"
fi

echo "test_rq: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
