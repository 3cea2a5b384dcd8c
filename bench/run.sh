#!/usr/bin/env bash
# make bench: throughput figures. Each section is a function writing its
# figures under build/bench/; run them all (default) or name some:
#   bash bench/run.sh [parser] [e2e]
# After the sections, bench/report.py merges what is there into
# build/bench/bench.json and prints the tables (also build/bench/bench.md).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=build/bench
mkdir -p "$OUT"

# The multipart parser alone: MB/s on a 512 MiB random file part and on a
# 128 MiB adversarial one (CR/LF and near-miss delimiters), fed in 64 KiB
# execute() calls, next to memchr/memmem over the same buffers.
# Figures: build/bench/parser.json.
bench_parser() {
    echo "== bench: parser"
    make --no-print-directory build/bench_parser
    build/bench_parser "$OUT/parser.json"
}

# ---- e2e: uploads through nginx, next to their ceilings --------------------
#
# One run, everything side by side on this machine, the backends taking
# turns (rotated each repetition) so that a noisy neighbour hurts all alike:
#   ours     build/fcgi_upload behind the shipped nginx config
#            (deploy/nginx/fcgi_upload.conf.in: fastcgi_request_buffering
#            off), started by the integration harness (tests/integration/
#            lib.sh start_stack: deploy/spawn-pool.sh + deploy/nginx/start.sh)
#   write    build/min_responder write DIR: libfcgi, 64 KiB reads, written to
#            a file and fsynced (the write-to-file ceiling)
#   discard  build/min_responder discard: libfcgi, 64 KiB reads, dropped
#   raw      build/min_responder raw-discard: no libfcgi, the records read
#            1 MiB at a time (what lifting libfcgi's 8 KiB reads would give)
#   dd       dd bs=1M conv=fdatasync of the same body file to the same disk
# Each min_responder runs under spawn-fcgi -F CONC behind its own nginx
# rendered from the same template. Upload bodies (one multipart file part)
# come from a tmpfs (/dev/shm) and go through curl -T; the spool, the write
# ceiling's files and dd's target are all in build/bench/run.*.
#
# Scenarios: SIZES x {1 at a time, CONC at once}; then 413 on a 600 MiB body
# (Content-Length and chunked), a profile (perf, strace -c), and nginx
# client_body_buffer_size / fastcgi buffer variants (reload per variant).
# Raw records (JSON lines): build/bench/e2e.jsonl; report.py does the rest.
#
# Settings (environment):
#   BENCH_SIZES="100 500"      file sizes in MiB
#   BENCH_CONC=8               uploads at once
#   BENCH_REPS=3               repetitions of each one-at-a-time figure
#   BENCH_CONC_REPS=2          repetitions of each CONC-at-once figure
#   BENCH_CONCURRENCY=auto     threads | pool | auto: threads
#                              (APP_WORKER__THREADS=CONC in one process)
#                              when the handler has them, else a spawn-fcgi
#                              pool of CONC processes
#   BENCH_TUNE="8k 64k 256k 1m 4m 1m+fcgibuf"   nginx variants ("" skips)
#   BENCH_TUNE_REPS=3          repetitions per variant (500 MiB, 1 at a time)
#   BENCH_PROFILE=1            0 skips perf/strace
bench_e2e() {
    echo "== bench: end-to-end uploads through nginx"
    make --no-print-directory build/min_responder
    # A subshell: the harness installs an EXIT trap that stops every process
    # it recorded (by PID) and removes its temp directories.
    (e2e_main)
}

MIB=1048576
BOUNDARY=----------------------------fcgiBench7MA4YWxkTrZu0gW

e2e_main() {
    local root sizes_max s
    root=$(pwd)
    E2E_SIZES=${BENCH_SIZES:-100 500}
    E2E_CONC=${BENCH_CONC:-8}
    E2E_REPS=${BENCH_REPS:-3}
    E2E_CONC_REPS=${BENCH_CONC_REPS:-2}
    E2E_TUNE=${BENCH_TUNE-8k 64k 256k 1m 4m 1m+fcgibuf}
    E2E_TUNE_REPS=${BENCH_TUNE_REPS:-3}
    E2E_PROFILE=${BENCH_PROFILE:-1}
    RAW=$root/$OUT/e2e.jsonl
    : > "$RAW"
    rm -f "$OUT"/profile_*.txt "$OUT"/strace_*.txt

    # Everything the uploads write lands on the disk of build/ (the spool,
    # the write ceiling, dd); the harness makes its stacks under TMPDIR.
    BENCH_TMP=$(mktemp -d "$root/$OUT/run.XXXXXX")
    export TMPDIR=$BENCH_TMP
    HANDLER=$root/build/fcgi_upload
    # shellcheck source=tests/integration/lib.sh
    source tests/integration/lib.sh
    set -e
    TMP_DIRS+=("$BENCH_TMP")
    if [ $((${#BENCH_TMP} + 40)) -gt 107 ]; then
        echo "bench: $BENCH_TMP is too long a path for the unix sockets" >&2
        return 1
    fi

    sizes_max=600 # the 413 body
    for s in $E2E_SIZES; do [ "$s" -le "$sizes_max" ] || sizes_max=$s; done
    # client files: a tmpfs when there is room for them, else the same disk
    CLIENT_DIR=$BENCH_TMP/client CLIENT_FS=disk
    if [ -d /dev/shm ] && [ -w /dev/shm ] &&
        [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -gt \
            $(((sizes_max * 3 + 100) * 1024)) ]; then
        CLIENT_DIR=$(mktemp -d /dev/shm/fcgi_bench.XXXXXX) CLIENT_FS=tmpfs
        TMP_DIRS+=("$CLIENT_DIR")
    fi
    mkdir -p "$CLIENT_DIR"
    e2e_bodies "$sizes_max"

    e2e_concurrency_mode
    e2e_meta start
    declare -gA B_URL B_NGINX B_PIDS B_RUNDIR B_KIND
    e2e_start_ours
    e2e_start_min write write
    e2e_start_min discard discard
    e2e_start_min raw raw-discard
    e2e_rss start

    # warm-up (not recorded): code and the body files paged in everywhere
    for s in ours write discard raw; do
        e2e_measure "$s" "${E2E_SIZES%% *}" 1 0 warmup > /dev/null
    done

    e2e_matrix
    e2e_413
    [ "$E2E_PROFILE" = 0 ] || e2e_profile
    [ -z "$E2E_TUNE" ] || e2e_tune
    e2e_meta end
    e2e_spool_report
    echo "bench: e2e raw records in $OUT/e2e.jsonl"
}

# e2e_bodies MAX_MIB: the upload bodies in CLIENT_DIR, body_<MiB> for each
# size and 600: one multipart file part, a WAV header (libmagic must say
# audio) then random bytes. One random blob is cut for all of them.
e2e_bodies() {
    local s
    echo "bench: writing the upload bodies to $CLIENT_FS ($CLIENT_DIR)"
    head -c $(($1 * MIB)) /dev/urandom > "$CLIENT_DIR/rand"
    PREFIX_LEN=$(e2e_body_head | wc -c)
    for s in $E2E_SIZES 600; do
        [ -e "$CLIENT_DIR/body_$s" ] && continue
        {
            e2e_body_head
            head -c 44 "$FIXTURES/tone.wav"
            head -c $((s * MIB - 44)) "$CLIENT_DIR/rand"
            printf -- '\r\n--%s--\r\n' "$BOUNDARY"
        } > "$CLIENT_DIR/body_$s"
    done
    rm -f "$CLIENT_DIR/rand"
}

e2e_body_head() {
    printf -- '--%s\r\nContent-Disposition: form-data; name="file"; filename="bench.wav"\r\nContent-Type: audio/wav\r\n\r\n' "$BOUNDARY"
}

# e2e_concurrency_mode: CONC_MODE threads or pool (BENCH_CONCURRENCY).
# Threads count as available when --help lists APP_WORKER__THREADS without
# saying that only one is used.
e2e_concurrency_mode() {
    local help
    help=$("$HANDLER" --help 2>&1 || true)
    THREADS_AVAILABLE=false
    if grep -q APP_WORKER__THREADS <<< "$help" &&
        ! grep -qi 'only 1 is used' <<< "$help"; then
        THREADS_AVAILABLE=true
    fi
    CONC_MODE=${BENCH_CONCURRENCY:-auto}
    if [ "$CONC_MODE" = auto ]; then
        CONC_MODE=pool
        [ "$THREADS_AVAILABLE" = false ] || CONC_MODE=threads
    fi
    case $CONC_MODE in
    threads) echo "bench: $E2E_CONC at once: APP_WORKER__THREADS=$E2E_CONC in one handler process" ;;
    pool) echo "bench: $E2E_CONC at once: a spawn-fcgi pool of $E2E_CONC handler processes (threads available: $THREADS_AVAILABLE)" ;;
    *)
        echo "bench: BENCH_CONCURRENCY='$CONC_MODE' (threads, pool or auto)" >&2
        return 1
        ;;
    esac
}

e2e_meta() {
    local load threads=0
    load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ',')
    if [ "$1" = start ]; then
        printf '{"t":"meta","nproc":%d,"nginx":"%s","curl":"%s","client_fs":"%s","conc":%d,"conc_mode":"%s","reps":%d,"conc_reps":%d,"prefix_len":%d,"chunk_kb":%d,"max_file_mb":%d,"cbb_shipped":"%s","clk_tck":%d,"threads_available":%s,"sha256_gb_s":%s,"loadavg_start":[%s]}\n' \
            "$(nproc)" "$(nginx_bin -v 2>&1 | sed 's/.*nginx\///')" \
            "$(curl --version | awk 'NR == 1 { print $2 }')" "$CLIENT_FS" \
            "$E2E_CONC" "$CONC_MODE" "$E2E_REPS" "$E2E_CONC_REPS" "$PREFIX_LEN" \
            "$(pool_setting APP_API__CHUNK_SIZE_KB 64)" \
            "$(pool_setting APP_API__MAX_FILE_SIZE_MB 500)" \
            "$(shipped_cbb)" "$(getconf CLK_TCK)" "$THREADS_AVAILABLE" "$(sha256_rate)" \
            "$load" >> "$RAW"
    else
        [ -z "${B_PIDS[ours]:-}" ] ||
            threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/${B_PIDS[ours]%% *}/status")
        printf '{"t":"meta_end","loadavg_end":[%s],"ours_threads":%d,"ours_procs":%d}\n' \
            "$load" "$threads" "$(wc -w <<< "${B_PIDS[ours]}")" >> "$RAW"
    fi
}

# sha256_rate: GB/s of OpenSSL's SHA-256 on one core over 64 KiB blocks
# (what the handler hashes each upload with); 0 when openssl is missing
sha256_rate() {
    local k
    k=$(openssl speed -seconds 1 -bytes 65536 -evp sha256 2> /dev/null |
        awk '$1 == "sha256" { sub(/k$/, "", $2); print $2 }' || true)
    awk -v k="${k:-0}" 'BEGIN { printf "%.3f", k * 1000 / 1e9 }'
}

nginx_bin() {
    PATH=$PATH:/usr/sbin:/usr/local/sbin:/sbin command nginx "$@"
}

# pool_setting NAME DEFAULT: NAME's value in the shipped spawn-fcgi.conf
pool_setting() {
    local v
    v=$(sed -n "s/^$1=//p" spawn-fcgi.conf | tail -n 1)
    echo "${v:-$2}"
}

shipped_cbb() {
    sed -n 's/^[[:space:]]*client_body_buffer_size[[:space:]]*\([^;]*\);.*/\1/p' \
        deploy/nginx/fcgi_upload.conf.in | head -n 1
}

e2e_start_ours() {
    local args=(FCGI_CHILDREN="$E2E_CONC")
    [ "$CONC_MODE" = pool ] || args=(FCGI_CHILDREN=1 APP_WORKER__THREADS="$E2E_CONC")
    start_stack nginx "${args[@]}"
    # the harness reads the pool's PID file as soon as the socket appears,
    # which is early for a pool of several children: wait for all of them
    local n want=$E2E_CONC
    [ "$CONC_MODE" = pool ] || want=1
    for ((n = 0; n < 100; n++)); do
        mapfile -t STACK_HANDLER_PIDS < <(grep -E '^[0-9]+$' "$STACK_DIR/pool.pid" 2> /dev/null || true)
        [ ${#STACK_HANDLER_PIDS[@]} -lt "$want" ] || break
        sleep 0.1
    done
    B_URL[ours]=$STACK_URL B_NGINX[ours]=$STACK_FRONT_PID
    B_PIDS[ours]=${STACK_HANDLER_PIDS[*]} B_RUNDIR[ours]=$STACK_DIR/front
    B_KIND[ours]=ours
    if [ "$CONC_MODE" = threads ]; then
        local t
        t=$(awk '$1 == "Threads:" { print $2 }' "/proc/${STACK_HANDLER_PIDS[0]}/status")
        [ "$t" -ge "$E2E_CONC" ] ||
            echo "bench: warning: APP_WORKER__THREADS=$E2E_CONC but the handler runs $t thread(s)" >&2
    fi
}

# e2e_start_min NAME MODE: build/min_responder MODE under spawn-fcgi -F CONC
# behind nginx from the shipped template (deploy/nginx/start.sh).
e2e_start_min() {
    local name=$1 mode=$2 dir=$BENCH_TMP/$1 port p n args
    mkdir -p "$dir/front" "$dir/files"
    args=("$mode")
    [ "$mode" != write ] || args=(write "$dir/files")
    # shellcheck disable=SC2153 # ROOT: the repository, set by lib.sh
    spawn-fcgi -s "$dir/fcgi.sock" -M 0600 -F "$E2E_CONC" -P "$dir/pids" \
        -- "$ROOT/build/min_responder" "${args[@]}" > "$dir/spawn.out" 2>&1
    B_PIDS[$name]=$(grep -E '^[0-9]+$' "$dir/pids" | tr '\n' ' ')
    B_PIDS[$name]=${B_PIDS[$name]% }
    for p in ${B_PIDS[$name]}; do track_pid "$p"; done
    port=$(free_port)
    FRONT_ERROR_LOG=$dir/front/error.log FRONT_ACCESS_LOG=$dir/front/access.log \
        "$ROOT/deploy/nginx/start.sh" "$dir/front" "$port" "$dir/fcgi.sock" \
        > "$dir/front.out" 2>&1 &
    B_NGINX[$name]=$!
    track_pid "${B_NGINX[$name]}"
    B_URL[$name]=http://127.0.0.1:$port B_RUNDIR[$name]=$dir/front B_KIND[$name]=min
    for ((n = 0; n < 100; n++)); do
        [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "${B_URL[$name]}/health")" != 200 ] || return 0
        sleep 0.1
    done
    echo "bench: min_responder $mode behind nginx did not come up" >&2
    cat "$dir/spawn.out" "$dir/front.out" "$dir/front/error.log" >&2 2>/dev/null || true
    return 1
}

# nginx_workers BACKEND: the worker PIDs of BACKEND's nginx. (Not the
# harness's children_of: it reads every /proc/PID/stat in one awk, and mawk
# gives up at the first process that exited meanwhile, missing the rest.)
nginx_workers() {
    ps -o pid= --ppid "${B_NGINX[$1]}" | tr -s ' \n' ' ' || true
}

# io_sum FIELD PID...: the sum of a /proc/PID/io field
io_sum() {
    local f=$1 p t=0 v
    shift
    for p in "$@"; do
        v=$(awk -v f="$f:" '$1 == f { print $2 }' "/proc/$p/io" 2>/dev/null || true)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}

# cpu_ticks PID...: user + system CPU time of the processes, in clock ticks
cpu_ticks() {
    local p t=0 v
    for p in "$@"; do
        v=$(sed 's/^.*) //' "/proc/$p/stat" 2> /dev/null | awk '{ print $12 + $13 }' || true)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}

# e2e_rss AFTER: VmHWM (kB) of every backend process, one record per
# backend, and of the nginx workers in front of ours ("ours_nginx")
e2e_rss() {
    local b p list
    for b in "${!B_PIDS[@]}" ours_nginx; do
        list=""
        if [ "$b" = ours_nginx ]; then
            for p in $(nginx_workers ours); do list="$list${list:+,}$(proc_kb "$p" VmHWM)"; done
        else
            for p in ${B_PIDS[$b]}; do list="$list${list:+,}$(proc_kb "$p" VmHWM)"; done
        fi
        printf '{"t":"rss","backend":"%s","after":"%s","vmhwm_kb":[%s]}\n' "$b" "$1" "$list" >> "$RAW"
    done
}

# e2e_clean BACKEND: remove what an upload left (the handler's tasks, dd's
# files) and flush the filesystem, so that the next figure starts clean.
e2e_clean() {
    case $1 in
    ours)
        find "$STACK_SPOOL" "$STACK_QUEUE/pending" -mindepth 1 -delete
        ;;
    dd) rm -f "$BENCH_TMP"/dd.* ;;
    esac
    sync -f "$BENCH_TMP"
}

# e2e_post BACKEND BODY OUT [curl args]: one upload, "CODE BYTES SECONDS" in
# OUT.w, the answer in OUT.body. The URL may be overridden with URL=.
e2e_post() {
    local b=$1 body=$2 out=$3
    shift 3
    curl -sS -X POST -T "$body" -H 'Expect:' --max-time 300 \
        -H "Content-Type: multipart/form-data; boundary=$BOUNDARY" \
        -H "X-API-Key: $STACK_KEY" "$@" -o "$out.body" \
        -w '%{http_code} %{size_upload} %{time_total}\n' \
        "${B_URL[$b]}/v1/process" > "$out.w" 2> "$out.err" || true
}

# e2e_measure BACKEND MIB CONC REP [TAG]: CONC uploads of the MIB body at
# once (or CONC dd's), appended to RAW as a "run" record (TAG: "tune" and the
# variant). One at a time the time is curl's time_total; CONC at once it is
# the wall time from the first start to the last answer. Prints MB/s.
e2e_measure() {
    local b=$1 size=$2 conc=$3 rep=$4 tag=${5:-} body i t0 t1 secs bytes=0
    local ok=true pids=() w=$BENCH_TMP/w hw0=0 hw1=0 nw0=0 nw1=0 workers=""
    local code up tt fbytes hc0=0 hc1=0 nc0=0 nc1=0
    body=$CLIENT_DIR/body_$size
    fbytes=$((size * MIB))
    rm -f "$w".*
    if [ "$b" != dd ]; then
        workers=$(nginx_workers "$b")
        # shellcheck disable=SC2086 # a list of PIDs
        hw0=$(io_sum write_bytes ${B_PIDS[$b]})
        # shellcheck disable=SC2086 # a list of PIDs
        nw0=$(io_sum write_bytes $workers)
        # shellcheck disable=SC2086 # a list of PIDs
        hc0=$(cpu_ticks ${B_PIDS[$b]})
        # shellcheck disable=SC2086
        nc0=$(cpu_ticks $workers)
    fi
    t0=$(date +%s.%N)
    for ((i = 0; i < conc; i++)); do
        if [ "$b" = dd ]; then
            dd if="$body" of="$BENCH_TMP/dd.$i" bs=1M conv=fdatasync status=none &
        else
            e2e_post "$b" "$body" "$w.$i" &
        fi
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        if ! wait "${pids[i]}"; then ok=false; fi
    done
    t1=$(date +%s.%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
    if [ "$b" = dd ]; then
        bytes=$((conc * $(stat -c %s "$body")))
    else
        # shellcheck disable=SC2086 # a list of PIDs
        hw1=$(io_sum write_bytes ${B_PIDS[$b]})
        # shellcheck disable=SC2086
        nw1=$(io_sum write_bytes $workers)
        # shellcheck disable=SC2086 # a list of PIDs
        hc1=$(cpu_ticks ${B_PIDS[$b]})
        # shellcheck disable=SC2086
        nc1=$(cpu_ticks $workers)
        for ((i = 0; i < conc; i++)); do
            read -r code up tt < "$w.$i.w" || code=000
            bytes=$((bytes + ${up:-0}))
            if ! e2e_answer_ok "$b" "$code" "$w.$i.body" "$fbytes"; then
                ok=false
                echo "bench: $b upload $((i + 1))/$conc of $size MiB: HTTP $code $(head -c 300 "$w.$i.body") $(cat "$w.$i.err")" >&2
            fi
        done
        [ "$conc" != 1 ] || secs=${tt:-$secs}
    fi
    printf '{"t":"run","tag":"%s","backend":"%s","size_mib":%d,"conc":%d,"rep":%d,"bytes":%d,"seconds":%s,"ok":%s,"file_bytes":%d,"handler_write_bytes":%d,"nginx_write_bytes":%d,"handler_cpu_ticks":%d,"nginx_cpu_ticks":%d}\n' \
        "$tag" "$b" "$size" "$conc" "$rep" "$bytes" "$secs" "$ok" \
        $((conc * fbytes)) $((hw1 - hw0)) $((nw1 - nw0)) $((hc1 - hc0)) $((nc1 - nc0)) >> "$RAW"
    e2e_clean "$b"
    awk -v n="$bytes" -v s="$secs" 'BEGIN { printf "%.0f MB/s", (s > 0 ? n / s / 1e6 : 0) }'
}

# e2e_answer_ok BACKEND CODE BODYFILE FILE_BYTES: the answer of a complete
# upload (202 with size_bytes for ours, 200 with the body byte count else)
e2e_answer_ok() {
    case ${B_KIND[$1]} in
    ours) [ "$2" = 202 ] && grep -Eq "\"size_bytes\": *$4[,}]" "$3" ;;
    *) [ "$2" = 200 ] && grep -q '"bytes":' "$3" ;;
    esac
}

# e2e_matrix: every size, one at a time then CONC at once, the backends in
# turn (rotated each repetition)
e2e_matrix() {
    local all=(ours write discard raw dd) size conc reps rep k b order r
    for conc in 1 "$E2E_CONC"; do
        reps=$E2E_REPS
        [ "$conc" = 1 ] || reps=$E2E_CONC_REPS
        for size in $E2E_SIZES; do
            for ((rep = 1; rep <= reps; rep++)); do
                order=()
                for ((k = 0; k < ${#all[@]}; k++)); do
                    order+=("${all[(k + rep - 1) % ${#all[@]}]}")
                done
                for b in "${order[@]}"; do
                    r=$(e2e_measure "$b" "$size" "$conc" "$rep")
                    printf '  %-8s %4d MiB x%-2d rep %d: %s\n' "$b" "$size" "$conc" "$rep" "$r"
                done
            done
            e2e_rss "${size}x$conc"
        done
    done
}

# e2e_413: the 600 MiB body to ours, with Content-Length (expect an answer
# before any body byte is read) and chunked (expect at most one read chunk
# past the limit); bytes_read from the handler's log line of the request.
e2e_413() {
    local mode rid code up tt line n
    for mode in content-length chunked; do
        rid=bench413$(rand_hex 4)$mode
        local extra=(-H "X-Request-ID: $rid")
        [ "$mode" = content-length ] || extra+=(-H 'Transfer-Encoding: chunked')
        e2e_post ours "$CLIENT_DIR/body_600" "$BENCH_TMP/413" "${extra[@]}"
        read -r code up tt < "$BENCH_TMP/413.w" || code=000
        line=""
        for ((n = 0; n < 50; n++)); do
            line=$(grep -F "\"request_id\":\"$rid\"" "$STACK_LOG" | grep -F '"bytes_read"' | tail -n 1 || true)
            [ -z "$line" ] || break
            sleep 0.1
        done
        [ -n "$line" ] || line='{}'
        printf '{"t":"413","mode":"%s","status":"%s","client_sent":%d,"seconds":%s,"body_bytes":%d,"log":%s}\n' \
            "$mode" "$code" "${up:-0}" "${tt:-0}" "$(stat -c %s "$CLIENT_DIR/body_600")" "$line" >> "$RAW"
        printf '  413 %-14s: HTTP %s after %s s, curl sent %s bytes\n' "$mode" "$code" "$tt" "$up"
        e2e_clean ours
    done
}

# e2e_profile: where the time goes on one 500 MiB (or largest) upload.
#  - perf record (cpu-clock: this VM has no hardware counters) on the
#    handler and on the libfcgi discard responder, DWARF call graphs;
#    reports in build/bench/profile_<backend>.txt
#  - strace -c on the same processes for a 100 MiB upload: the number of
#    read(2) calls, hence the bytes per read
e2e_profile() {
    local b size pids pp s_size
    size=${E2E_SIZES##* }
    s_size=${E2E_SIZES%% *}
    for b in ours discard raw; do
        pids=$(tr ' ' ',' <<< "${B_PIDS[$b]}")
        if command -v strace > /dev/null 2>&1; then
            # shellcheck disable=SC2046,SC2086 # one -p per PID
            strace -f -c -e trace=read,write,fsync -o "$OUT/strace_$b.txt" \
                $(printf -- '-p %s ' ${B_PIDS[$b]}) 2> /dev/null &
            pp=$!
            sleep 0.5
            e2e_post "$b" "$CLIENT_DIR/body_$s_size" "$BENCH_TMP/prof"
            kill -INT "$pp" 2> /dev/null || true
            wait "$pp" || true
            printf '{"t":"strace","backend":"%s","body_bytes":%d}\n' "$b" \
                "$(stat -c %s "$CLIENT_DIR/body_$s_size")" >> "$RAW"
            e2e_clean "$b"
        fi
        [ "$b" != raw ] || continue
        if ! perf record -q -e cpu-clock -o "$BENCH_TMP/perf.probe" -- true > /dev/null 2>&1; then
            echo "bench: perf record does not work here: no profile" >&2
            continue
        fi
        perf record -q -e cpu-clock -F 1999 --call-graph dwarf,16384 -p "$pids" \
            -o "$BENCH_TMP/perf.$b" > /dev/null 2>&1 &
        pp=$!
        sleep 0.5
        e2e_post "$b" "$CLIENT_DIR/body_$size" "$BENCH_TMP/prof"
        kill -INT "$pp" 2> /dev/null || true
        wait "$pp" || true
        {
            echo "# perf record -e cpu-clock -F 1999 --call-graph dwarf -p <$b processes>"
            echo "# during one $size MiB upload: $(cat "$BENCH_TMP/prof.w")"
            echo "## self time by shared object"
            perf report -i "$BENCH_TMP/perf.$b" --stdio --no-children --sort dso -g none \
                2> /dev/null | grep -Ev '^(#|$)' | head -n 12 || true
            echo "## inclusive time by symbol (children)"
            perf report -i "$BENCH_TMP/perf.$b" --stdio --children --sort sym -g none \
                --percent-limit 2 2> /dev/null | grep -Ev '^(#|$)' | head -n 60 || true
        } > "$OUT/profile_$b.txt"
        printf '{"t":"profile","backend":"%s","size_mib":%d}\n' "$b" "$size" >> "$RAW"
        rm -f "$BENCH_TMP/perf.$b"
        e2e_clean "$b"
    done
    rm -f "$BENCH_TMP/perf.probe"
}

# nginx_reload BACKEND VARIANT: rewrite the rendered nginx.conf of BACKEND
# from the shipped one with the variant, reload, wait for the new worker.
#   VARIANT  <size> sets client_body_buffer_size; "<size>+fcgibuf" also sets
#            fastcgi_buffer_size 64k and fastcgi_buffers 8 64k
nginx_reload() {
    local b=$1 v=$2 dir=${B_RUNDIR[$1]} cbb fcgibuf="" old p n
    cbb=${v%%+*}
    [ "$v" = "$cbb" ] || fcgibuf='fastcgi_buffer_size 64k; fastcgi_buffers 8 64k;'
    [ -e "$dir/nginx.conf.shipped" ] || cp "$dir/nginx.conf" "$dir/nginx.conf.shipped"
    sed -E "s/^([[:space:]]*client_body_buffer_size)[[:space:]]+[^;]+;/\1 $cbb;/" \
        "$dir/nginx.conf.shipped" |
        sed -E "s/^([[:space:]]*fastcgi_request_buffering off;)/\1 $fcgibuf/" > "$dir/nginx.conf"
    grep -q "client_body_buffer_size $cbb;" "$dir/nginx.conf" || {
        echo "bench: no client_body_buffer_size line in the rendered nginx.conf" >&2
        return 1
    }
    nginx_bin -q -t -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
    old=$(nginx_workers "$b")
    kill -HUP "${B_NGINX[$b]}"
    for ((n = 0; n < 100; n++)); do
        sleep 0.1
        for p in $old; do alive "$p" && continue 2; done
        [ -n "$(nginx_workers "$b")" ] || continue
        [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "${B_URL[$b]}/health")" = 200 ] && return 0
    done
    echo "bench: nginx of $b did not reload" >&2
    return 1
}

# e2e_tune: the largest size, one at a time, for each nginx variant
e2e_tune() {
    local v b rep r size=${E2E_SIZES##* }
    echo "bench: nginx variants, $size MiB one at a time (client_body_buffer_size; +fcgibuf: fastcgi_buffer_size 64k, fastcgi_buffers 8 64k)"
    for v in $E2E_TUNE; do
        for b in ours write discard raw; do nginx_reload "$b" "$v"; done
        for ((rep = 1; rep <= E2E_TUNE_REPS; rep++)); do
            for b in ours write discard raw; do
                r=$(e2e_measure "$b" "$size" 1 "$rep" "tune:$v")
                printf '  %-12s %-8s rep %d: %s\n' "$v" "$b" "$rep" "$r"
            done
        done
    done
}

# e2e_spool_report: did any nginx spool a body? (it logs a warning when it
# buffers a request body to a temporary file); files left in its temp dirs
e2e_spool_report() {
    local b n f
    for b in "${!B_RUNDIR[@]}"; do
        n=$(grep -c 'buffered to a temporary file' "${B_RUNDIR[$b]}/error.log" 2>/dev/null || true)
        f=$(find "${B_RUNDIR[$b]}/client_body" "${B_RUNDIR[$b]}/fastcgi" -type f 2>/dev/null | wc -l)
        printf '{"t":"nginx_spool","backend":"%s","buffered_warnings":%d,"temp_files":%d}\n' \
            "$b" "${n:-0}" "$f" >> "$RAW"
    done
}

sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(parser e2e)
for s in "${sections[@]}"; do
    case $s in
    parser) bench_parser ;;
    e2e) bench_e2e ;;
    *)
        echo "bench/run.sh: unknown section '$s'" >&2
        exit 2
        ;;
    esac
done
python3 bench/report.py "$OUT"
