#!/usr/bin/env bash
# Many uploads at once (issue 5), through the real front end, to ONE
# handler process with several threads:
#
#   FRONT=nginx HANDLER=build/san/fcgi_upload REL_HANDLER=build/fcgi_upload \
#       bash tests/integration/test_concurrency.sh
#
#   slow_64   (release build, SLOW_THREADS threads) 64 uploads slowed by
#             curl --limit-rate at once, and a fast one started while they
#             run: all 202 with the right hashes, the fast one done before
#             any slow one; the process's RSS sampled during the run and
#             held under a ceiling of threads x chunk size + 64 MB
#   load_300  (sanitizer build, 16 threads) 300 uploads of log-uniform
#             random sizes from 1 KB to 50 MB, 16 at a time: every one 202,
#             stored SHA-256 == sent == task record's, one queue entry each,
#             no temp file left
# ONLY=regex runs the matching cases; SEED fixes the random sizes. Every
# process is stopped by PID in the EXIT trap (lib.sh).

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REL_HANDLER=${REL_HANDLER:-build/fcgi_upload}
case "$REL_HANDLER" in /*) ;; *) REL_HANDLER=$ROOT/$REL_HANDLER ;; esac
SEED=${SEED:-$RANDOM}
SLOW_N=64
SLOW_BYTES=$((1536 * 1024)) # 1.5 MB each at 256 KB/s: about 6 s
SLOW_RATE=256K
# Threads must exceed the slow uploads for the fast one to be served at
# once: with fewer, the 65th connection waits in the socket's backlog
# until a slow upload ends (that is queueing, not blocking, but it is not
# what this case shows).
SLOW_THREADS=72
CHUNK_KB=64
LOAD_N=300
LOAD_PAR=16

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
now() { date +%s.%N; }

# alive_count PID...: how many of the PIDs still run (no fork per PID)
alive_count() {
    local p s n=0
    for p in "$@"; do
        { read -r s < "/proc/$p/stat"; } 2> /dev/null || continue
        s=${s##*) }
        [ "${s:0:1}" = Z ] || n=$((n + 1))
    done
    echo "$n"
}

# ---- slow_64 -------------------------------------------------------------------

t_slow_64() {
    local d=$STACK_DIR/slow pid i n t0 rss max_rss=0 max_thr=0 max_parts=0 parts
    local fast=$STACK_DIR/fast.wav fast_start fast_pid ceiling_kb pids=()
    pid=${STACK_HANDLER_PIDS[0]}
    mkdir -p "$d"
    for ((i = 0; i < SLOW_N; i++)); do audio_blob "$d/$i.wav" "$SLOW_BYTES"; done
    audio_blob "$fast" $((1024 * 1024))
    # warm up (libmagic's first use), then the baseline
    req_auth POST /v1/process -F "file=@$FIXTURES/tone.wav"
    expect_status 202
    echo "    handler $pid before: VmRSS $(proc_kb "$pid" VmRSS) kB," \
        "$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status") threads"

    t0=$(now)
    for ((i = 0; i < SLOW_N; i++)); do
        now > "$d/$i.start"
        curl -sS -o "$d/$i.body" -w '%{http_code} %{time_total}\n' --max-time 120 \
            --limit-rate "$SLOW_RATE" -H 'Expect:' -H "X-API-Key: $STACK_KEY" \
            -F "file=@$d/$i.wav" "$STACK_URL/v1/process" > "$d/$i.res" 2> "$d/$i.err" &
        pids+=("$!")
        track_pid $!
    done
    # sample while they run; start the fast one once every slow upload is
    # streaming into its temp file
    fast_pid=""
    for ((n = 0; n < 600; n++)); do
        rss=$(proc_kb "$pid" VmRSS)
        [ -z "$rss" ] || [ "$rss" -le "$max_rss" ] || max_rss=$rss
        i=$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status" 2> /dev/null)
        [ -z "$i" ] || [ "$i" -le "$max_thr" ] || max_thr=$i
        parts=$(find "$STACK_SPOOL" -name '.*.part' 2> /dev/null | wc -l)
        [ "$parts" -le "$max_parts" ] || max_parts=$parts
        if [ -z "$fast_pid" ] && [ "$parts" -ge "$SLOW_N" ]; then
            fast_start=$(now)
            curl -sS -o "$STACK_DIR/fast.body" -w '%{http_code} %{time_total}\n' \
                --max-time 120 -H 'Expect:' -H "X-API-Key: $STACK_KEY" \
                -F "file=@$fast" "$STACK_URL/v1/process" > "$STACK_DIR/fast.res" 2>&1 &
            fast_pid=$!
            pids+=("$fast_pid")
            track_pid "$fast_pid"
        fi
        [ "$(alive_count "${pids[@]}")" -gt 0 ] || break
        sleep 0.2
    done
    wait "${pids[@]}"
    echo "    $SLOW_N uploads of $SLOW_BYTES bytes at $SLOW_RATE/s in" \
        "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')s;" \
        "at most $max_parts temp files at once"
    [ -n "$fast_pid" ] || { fail "the slow uploads never all streamed at once (max $max_parts)"; return; }

    # every slow one: 202 and the right hash; the end times
    local bad=0 slow_end_min="" end code t
    for ((i = 0; i < SLOW_N; i++)); do
        read -r code t < "$d/$i.res"
        if [ "$code" != 202 ]; then
            bad=$((bad + 1))
            [ "$bad" -gt 3 ] || fail "slow upload $i: $code $(cat "$d/$i.body" "$d/$i.err")"
            continue
        fi
        check_answer "$d/$i.body" "$d/$i.wav" || bad=$((bad + 1))
        end=$(awk -v a="$(cat "$d/$i.start")" -v b="$t" 'BEGIN { printf "%.3f", a + b }')
        if [ -z "$slow_end_min" ] || awk -v a="$end" -v b="$slow_end_min" 'BEGIN { exit !(a < b) }'; then
            slow_end_min=$end
        fi
    done
    [ "$bad" = 0 ] || fail "$bad of $SLOW_N slow uploads failed"
    read -r code t < "$STACK_DIR/fast.res"
    [ "$code" = 202 ] || { fail "the fast upload: $code $(cat "$STACK_DIR/fast.body")"; return; }
    check_answer "$STACK_DIR/fast.body" "$fast"
    end=$(awk -v a="$fast_start" -v b="$t" 'BEGIN { printf "%.3f", a + b }')
    echo "    fast upload (1 MB, unthrottled) started with $SLOW_N slow ones in progress:" \
        "${t}s; it ended $(awk -v a="$slow_end_min" -v b="$end" 'BEGIN { printf "%.1f", a - b }')s" \
        "before the first slow one"
    awk -v a="$end" -v b="$slow_end_min" 'BEGIN { exit !(a < b) }' ||
        fail "the fast upload ended at $end, after a slow one ($slow_end_min)"

    ceiling_kb=$((SLOW_THREADS * CHUNK_KB + 65536))
    echo "    handler RSS during the run: max VmRSS $max_rss kB (ceiling $ceiling_kb kB =" \
        "$SLOW_THREADS threads x $CHUNK_KB kB + 64 MB), VmHWM $(proc_kb "$pid" VmHWM) kB," \
        "max $max_thr threads"
    [ "$max_rss" -gt 0 ] || fail "no RSS sample"
    [ "$max_rss" -le "$ceiling_kb" ] || fail "RSS $max_rss kB above the ceiling $ceiling_kb kB"
    [ -z "$(find "$STACK_SPOOL" -name '.*.part')" ] || fail "temp files left"
    rm -rf "$d"
}

# check_answer BODY_FILE SOURCE: a 202 answer whose sha256 is the source's,
# and the stored file and record agree.
check_answer() {
    local body id sha dir
    body=$(cat "$1")
    sha=$(sha_of "$2")
    id=$(jget task_id "$body") || { fail "no task_id in '$body'"; return 1; }
    dir=$STACK_SPOOL/$id
    if [ "$(jget sha256 "$body")" != "$sha" ] || [ "$(jfile sha256 "$dir/task.json")" != "$sha" ] ||
        [ "$(sha_of "$dir"/raw.*)" != "$sha" ]; then
        fail "task $id: answer, record or stored file differ from the source ($sha)"
        return 1
    fi
}

# ---- load_300 -----------------------------------------------------------------------

t_load_300() {
    local d=$STACK_DIR/load i code t0 t1 total ok=0 failed=0 running=() all=() p
    mkdir -p "$d"
    # sizes: log-uniform in [1 KB, 50 MB] (SEED), each a WAV header and
    # random bytes; the sources' hashes for the checks
    total=$("$PYTHON" -S - "$SEED" "$LOAD_N" "$d" "$FIXTURES/tone.wav" << 'EOF'
import hashlib, math, os, random, sys
seed, n, d, wav = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = random.Random(seed)
head = open(wav, "rb").read(44)
lo, hi, total = math.log(1024), math.log(50 * 1024 * 1024), 0
with open(d + "/sums", "w") as sums:
    for i in range(n):
        size = int(math.exp(rng.uniform(lo, hi)))
        data = head + os.urandom(size - len(head))
        open("%s/%d.wav" % (d, i), "wb").write(data)
        sums.write("%d %s\n" % (i, hashlib.sha256(data).hexdigest()))
        total += size
print(total)
EOF
    )
    echo "    $LOAD_N files, $((total / 1024 / 1024)) MB in all (SEED=$SEED), $LOAD_PAR at a time"
    t0=$(now)
    for ((i = 0; i < LOAD_N; i++)); do
        while [ "${#running[@]}" -ge "$LOAD_PAR" ]; do
            wait -n "${running[@]}" 2> /dev/null || true
            local still=()
            for p in "${running[@]}"; do
                [ "$(alive_count "$p")" = 0 ] || still+=("$p")
            done
            running=("${still[@]}")
        done
        curl -sS -o "$d/$i.body" -w '%{http_code}' --max-time 300 -H 'Expect:' \
            -H "X-API-Key: $STACK_KEY" -F "file=@$d/$i.wav" "$STACK_URL/v1/process" \
            > "$d/$i.res" 2> "$d/$i.err" &
        running+=("$!")
        all+=("$!")
        track_pid $!
    done
    wait "${all[@]}"
    t1=$(now)
    echo "    all answered in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s" \
        "($(awk -v a="$t0" -v b="$t1" -v t="$total" 'BEGIN { printf "%.0f", t / (b - a) / 1048576 }') MB/s)"

    # the checks, in one pass: answer, record, stored file, queue entry
    ok=$("$PYTHON" -S - "$d" "$STACK_SPOOL" "$STACK_QUEUE" << 'EOF'
import glob, hashlib, json, os, sys
d, spool, queue = sys.argv[1:4]
ok = bad = 0
def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
for line in open(d + "/sums"):
    i, want = line.split()
    why = ""
    code = open("%s/%s.res" % (d, i)).read().strip()
    if code != "202":
        why = "status %s: %s" % (code, open("%s/%s.body" % (d, i)).read()[:200])
    else:
        ans = json.load(open("%s/%s.body" % (d, i)))
        tdir = os.path.join(spool, ans["task_id"])
        rec = json.load(open(tdir + "/task.json"))
        raw = glob.glob(tdir + "/raw.*")
        if ans["sha256"] != want:
            why = "answered sha256 differs"
        elif rec["sha256"] != want:
            why = "task.json sha256 differs"
        elif len(raw) != 1 or sha(raw[0]) != want:
            why = "stored file differs"
        elif not os.path.exists("%s/pending/%s.json" % (queue, ans["task_id"])):
            why = "no queue entry"
    if why:
        bad += 1
        if bad <= 5:
            print("    upload %s (%d bytes): %s" % (i, os.path.getsize("%s/%s.wav" % (d, i)), why), file=sys.stderr)
    else:
        ok += 1
print(ok)
EOF
    )
    ok=${ok:-0} failed=$((LOAD_N - ${ok:-0}))
    echo "    $ok of $LOAD_N stored with matching SHA-256 (sent, answered, task.json, file)"
    [ "$ok" = "$LOAD_N" ] || fail "$failed uploads failed"
    expect_eq "queue entries" "$(pending_count)" "$LOAD_N"
    expect_eq "task directories" "$(find "$STACK_SPOOL" -mindepth 1 -maxdepth 1 -type d | wc -l)" "$LOAD_N"
    [ -z "$(find "$STACK_SPOOL" -name '.*.part')" ] || fail "temp files left in the spool"
    [ -z "$(ls -A "$STACK_QUEUE/tmp")" ] || fail "temp files left in the queue"
    echo "    handler VmHWM $(proc_kb "${STACK_HANDLER_PIDS[0]}" VmHWM) kB (sanitizer build)"
    rm -rf "$d" "${STACK_SPOOL:?}"/*
}

# ---- the run ---------------------------------------------------------------------------

# run_section (lib.sh) LABEL CASES... -- start_stack args: one stack each

front_spec "$FRONT" || exit 2
echo "== $FRONT: concurrency, handler $HANDLER (release: $REL_HANDLER), SEED=$SEED"

if [ -x "$REL_HANDLER" ]; then
    HANDLER=$REL_HANDLER run_section slow slow_64:t_slow_64 -- \
        APP_WORKER__THREADS=$SLOW_THREADS APP_API__CHUNK_SIZE_KB=$CHUNK_KB \
        APP_REDIS__MAX_QUEUE_DEPTH=1000
else
    begin slow_64
    fail "$REL_HANDLER is not built"
    end_case
fi
run_section load load_300:t_load_300 -- APP_WORKER__THREADS=$LOAD_PAR \
    APP_REDIS__MAX_QUEUE_DEPTH=1000

summary
