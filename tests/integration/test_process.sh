#!/usr/bin/env bash
# The HTTP cases of the upload endpoint (issue 3) against one front end.
#
#   FRONT=nginx HANDLER=build/san/fcgi_upload REL_HANDLER=build/fcgi_upload \
#       bash tests/integration/test_process.sh
#
# HANDLER runs the correctness cases (the sanitizer build by default);
# REL_HANDLER the memory case (ASan inflates RSS). ONLY=regex runs the cases
# whose names match. One PASS/FAIL/SKIP line per case; exit 1 on any FAIL.
#
# Three stacks, one after the other: "main" (the shipped settings), "small"
# (1 MB file limit, queue depth 1, 4 KB reads) and "rss" (a fresh
# release-build worker).
# Every error case checks that the spool and queue are as before the request
# and that the worker is still the same live process.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REL_HANDLER=${REL_HANDLER:-build/fcgi_upload}
case "$REL_HANDLER" in /*) ;; *) REL_HANDLER=$ROOT/$REL_HANDLER ;; esac
BIG_BYTES=$((500 * 1024 * 1024))          # "a 500 MB upload": 500 MiB exactly
HUGE_BYTES=$((600 * 1024 * 1024))         # over the limit
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
ISO_UTC_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|\+00:00)$'
B=xYzBoUnDaRy42
# the handler's body limit with the shipped 500 MB: file + 1 MiB of form
# (lighttpd's server.max-request-size, Apache's LimitRequestBody)
BODY_LIMIT=$(((500 + 1) * 1024 * 1024))

# ---- helpers -------------------------------------------------------------------

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
size_of() { stat -c %s "$1"; }

# drain_queue: what a worker does: claim every pending entry by rename(2).
# Successful uploads are drained so the shipped queue limit (50) is not
# reached by the suite itself.
drain_queue() {
    local f
    for f in "$STACK_QUEUE"/pending/*; do
        [ -e "$f" ] || continue
        mv "$f" "$STACK_QUEUE/claimed/" 2>/dev/null || true
    done
}

# upload_fixture FILE [curl args...]: POST FILE as the `file` part.
upload_fixture() {
    local f=$1
    shift
    req_auth POST /v1/process -F "file=@$f" "$@"
}

# expect_accepted SOURCE [MIME]: the last response is a 202 for SOURCE, and
# the spool holds exactly SOURCE's bytes with a matching task.json and queue
# entry. Sets TASK_ID and TASK_JSON (path). MIME defaults to libmagic's
# verdict on SOURCE (the handler uses libmagic too).
expect_accepted() {
    local src=$1 mime=${2:-} id dir raw sha size ext
    [ -n "$mime" ] || mime=$(file -b --mime-type "$src")
    TASK_ID="" TASK_JSON=""
    expect_status 202
    [ "$ST" = 202 ] || return 1
    id=$(jget task_id) || id=""
    expect_match "task_id" "$id" "$UUID_RE"
    [[ $id =~ $UUID_RE ]] || return 1
    TASK_ID=$id
    sha=$(sha_of "$src") size=$(size_of "$src")
    expect_json status PENDING
    expect_json size_bytes "$size"
    expect_json sha256 "$sha"
    expect_json mime_type "$mime"

    dir=$STACK_SPOOL/$id
    TASK_JSON=$dir/task.json
    [ -d "$dir" ] || { fail "no task directory $dir"; return 1; }
    mapfile -t raw < <(cd "$dir" && ls -A)
    # exactly raw.<ext> and task.json, no temp file left
    if [ "${#raw[@]}" != 2 ] || [ "${raw[1]}" != task.json ] || [[ ${raw[0]} != raw.* ]]; then
        fail "task directory holds '${raw[*]}', expected raw.<ext> and task.json"
        return 1
    fi
    ext=${raw[0]#raw.}
    case "$mime:$ext" in
    audio/x-wav:wav | audio/wav:wav | audio/mpeg:mp3 | audio/flac:flac | audio/x-flac:flac) ;;
    audio/ogg:ogg | audio/ogg:opus | audio/opus:opus | audio/x-m4a:m4a | audio/mp4:m4a) ;;
    *) fail "stored as raw.$ext for $mime" ;;
    esac
    expect_eq "stored file sha256" "$(sha_of "$dir/raw.$ext")" "$sha"
    expect_eq "stored file size" "$(size_of "$dir/raw.$ext")" "$size"

    local j
    j=$(cat "$TASK_JSON")
    expect_eq "task.json task_id" "$(jget task_id "$j")" "$id"
    expect_eq "task.json status" "$(jget status "$j")" PENDING
    expect_match "task.json submitted_at" "$(jget submitted_at "$j")" "$ISO_UTC_RE"
    expect_eq "task.json file_path" "$(realpath -m -- "$(jget file_path "$j")" 2>/dev/null)" \
        "$(realpath "$dir/raw.$ext")"
    expect_eq "task.json size_bytes" "$(jget size_bytes "$j")" "$size"
    expect_eq "task.json sha256" "$(jget sha256 "$j")" "$sha"
    expect_eq "task.json mime_type" "$(jget mime_type "$j")" "$mime"
    local k
    for k in features template_id asr_backend enable_diarization enable_vad \
        vad_threshold correlation_id original_filename; do
        jget "$k" "$j" > /dev/null || fail "task.json has no '$k': $j"
    done
    [ -e "$STACK_QUEUE/pending/$id.json" ] || fail "no queue entry pending/$id.json"
}

# tj FIELD: a field of the last accepted task's task.json
tj() { jfile "$1" "$TASK_JSON"; }

# early_post BYTES PREAMBLE_FILE [curl args...]: a POST of a BYTES-byte body
# that starts with PREAMBLE_FILE (the rest: zeros of a sparse file, nothing
# on disk), sent at 64 KB/s: an answer within 10 s, with the client having
# sent less than 1 MB, shows the handler decided without waiting for the
# body; its log line (bytes_read) must say it read none of it. (Not a pipe
# that stalls: curl blocks reading its stdin and would not see the answer.
# curl sends a first 64 KB and then sleeps ~1 s to keep its rate, so the
# answer shows up after about a second even when it came at once.)
# Front ends that pass the answer on only after the whole body (front_can
# early: mod_fcgid, Apache CGI) get the body at full speed instead, and the
# case checks that the answer is right and came after all of it; the handler
# still decides without reading a body byte. A front end with a size cap
# (front_can cl_cap) answers a Content-Length over it itself, at once.
early_post() {
    local declared=$1 pre=$2 f=$STACK_DIR/early.body early=yes
    shift 2
    cp "$pre" "$f"
    truncate -s "$declared" "$f"
    if ! front_can early && ! { front_can cl_cap && [ "$declared" -gt "$BODY_LIMIT" ]; }; then
        early=no
    fi
    if [ $early = yes ]; then
        req POST /v1/process -T "$f" --limit-rate 64K --max-time 10 -H 'Expect:' \
            -H "Content-Type: multipart/form-data; boundary=$B" "$@"
    else
        req POST /v1/process -T "$f" --max-time 120 -H 'Expect:' \
            -H "Content-Type: multipart/form-data; boundary=$B" "$@"
    fi
    rm -f "$f"
    echo "    answer $ST after ${ELAPSED}s; the client sent $UPLOADED of $declared bytes"
    # the handler's own count, from its log line for this request
    local rid line
    rid=$(resp_header X-Request-ID)
    if [ -z "$rid" ] && front_can cl_cap && [ "$declared" -gt "$BODY_LIMIT" ]; then
        echo "    $FRONT answered itself (Content-Length over its limit of $BODY_LIMIT bytes)"
    elif [ -n "$rid" ]; then
        sleep 0.2
        line=$(grep -F "\"$rid\"" "$STACK_LOG" | tail -n 1)
        if [[ $line =~ \"bytes_read\":([0-9]+) ]]; then
            echo "    the handler read ${BASH_REMATCH[1]} body bytes"
            [ "${BASH_REMATCH[1]}" = 0 ] || fail "the handler read ${BASH_REMATCH[1]} body bytes before answering"
        fi
    fi
    if [ $early = yes ]; then
        [ "$UPLOADED" -lt $((1024 * 1024)) ] ||
            fail "the client sent $UPLOADED bytes before the answer"
    else
        echo "    $FRONT passes the answer on only after the whole body (not early, by design)"
        [ "$UPLOADED" = "$declared" ] ||
            fail "$FRONT answered after $UPLOADED of $declared bytes; expected after all of them"
    fi
}

# preamble OUT [filename]: the start of a body: one file part's headers
# and the WAV header, no end.
preamble() {
    printf -- '--%s\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\nContent-Type: audio/wav\r\n\r\n' \
        "$B" "${2:-big.wav}" > "$1"
    head -c 44 "$FIXTURES/tone.wav" >> "$1"
}

# pipe_post KIND BYTES cl|chunked [curl args...]: POST a multipart body
# with one file part of BYTES bytes generated on the fly (never on disk):
# KIND wav = a WAV header then zeros; png = a PNG image then zeros; txt =
# lines of text. With cl the Content-Length is exact; with chunked there is
# none.
pipe_post() {
    local kind=$1 n=$2 mode=$3 pre=$STACK_DIR/pipe.pre post=$'\r\n--'$B$'--\r\n' total hdr=()
    shift 3
    printf -- '--%s\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n' \
        "$B" > "$pre"
    total=$(($(size_of "$pre") + n + ${#post}))
    if [ "$mode" = cl ]; then hdr=(-H "Content-Length: $total" -H 'Transfer-Encoding:'); fi
    req POST /v1/process -T - -H 'Expect:' --max-time 120 \
        -H "Content-Type: multipart/form-data; boundary=$B" "${hdr[@]}" "$@" \
        < <(
            cat "$pre"
            case $kind in
            wav) head -c 44 "$FIXTURES/tone.wav"; head -c $((n - 44)) /dev/zero ;;
            png) cat "$FIXTURES/not-audio.png"; head -c $((n - 70)) /dev/zero ;;
            txt) yes 'This is a line of text, not audio.' | head -c "$n" ;;
            esac
            printf '%s' "$post"
        )
    PIPE_TOTAL=$total
}

# big_file: the 500 MiB source (WAV header + random), made once per run.
big_file() {
    BIG=$SUITE_TMP/big.wav
    if [ ! -s "$BIG" ]; then
        audio_blob "$BIG" "$BIG_BYTES"
    fi
}

# expect_length_required WHAT: the last request, a chunked body, was refused
# by the front end itself with 411 Length Required (lighttpd when it
# streams: FastCGI needs a CONTENT_LENGTH up front), before the handler and
# before the body was sent; nothing reached the spool.
expect_length_required() {
    echo "    $1: $FRONT answers chunked bodies 411 Length Required (got $ST after ${ELAPSED}s," \
        "client sent $UPLOADED bytes)"
    expect_status 411
    [ -z "$(resp_header X-Request-ID)" ] || fail_req "the 411 came from the handler, not $FRONT"
    expect_clean
}

# ---- cases: main stack -----------------------------------------------------------

t_health() {
    req GET /health
    expect_status 200
    expect_match "health status" "$(jget status)" '.'
    expect_match "health version" "$(jget version)" '.'
    expect_match "health queue_depth" "$(jget queue_depth)" '^[0-9]+$'
    expect_match "health spool_free_bytes" "$(jget spool_free_bytes)" '^[0-9]+$'
    expect_match "Content-Type" "$(resp_header Content-Type)" '^application/json'
}

t_static_page() {
    req GET /
    expect_status 200
    expect_match "Content-Type" "$(resp_header Content-Type)" '^text/html'
}

t_routes() {
    # every error is {"detail","error_code"}, these two included
    req_auth GET /v1/nothing-here
    expect_error 404 NOT_FOUND
    req_auth GET /v1/process
    expect_error 405 METHOD_NOT_ALLOWED
    expect_match "Allow on GET /v1/process" "$(resp_header Allow)" 'POST'
    # the query string is not part of the route
    req_auth POST '/v1/process?x=1' -F "file=@$FIXTURES/tone.wav"
    expect_accepted "$FIXTURES/tone.wav"
    drain_queue
}

t_auth() {
    local what key
    for what in missing short wrong; do
        snap
        case $what in
        missing) req POST /v1/process -F "file=@$FIXTURES/tone.wav" ;;
        short) req POST /v1/process -H "X-API-Key: ${STACK_KEY:0:31}" -F "file=@$FIXTURES/tone.wav" ;;
        wrong)
            key=$(rand_hex 32)
            req POST /v1/process -H "X-API-Key: $key" -F "file=@$FIXTURES/tone.wav"
            ;;
        esac
        expect_error 401 UNAUTHORIZED
        expect_clean
    done
    # the key alone, nothing else of the body needed (600 MB declared; 100 MB
    # where the front end refuses a Content-Length over the limit itself)
    local declared=$HUGE_BYTES
    if front_can cl_cap; then
        declared=$((100 * 1024 * 1024))
        echo "    $FRONT answers 413 itself above $BODY_LIMIT bytes: 100 MB declared"
    fi
    preamble "$STACK_DIR/pre"
    snap
    early_post "$declared" "$STACK_DIR/pre"
    expect_error 401 UNAUTHORIZED
    expect_clean
}

t_fallback_key() {
    req POST /v1/process -H "X-API-Key: $FALLBACK_KEY" -F "file=@$FIXTURES/tone.wav"
    expect_accepted "$FIXTURES/tone.wav"
    drain_queue
}

t_not_multipart() {
    local ct
    for ct in application/json text/plain application/x-www-form-urlencoded ''; do
        snap
        req_auth POST /v1/process -H "Content-Type: $ct" --data-binary '{"file":"x"}'
        expect_error 400 INVALID_MULTIPART
        expect_clean
    done
}

t_bad_boundary() {
    local ct long
    long=$(printf 'b%.0s' {1..71})
    mkbody "$STACK_DIR/body" "$B" "file@$FIXTURES/tone.wav"
    for ct in 'multipart/form-data' 'multipart/form-data; boundary=' \
        "multipart/form-data; boundary=$long" 'multipart/form-data; boundary=a{b}c' \
        "multipart/form-data; boundary=$B; boundary=other"; do
        snap
        req_auth POST /v1/process -H "Content-Type: $ct" --data-binary "@$STACK_DIR/body"
        expect_error 400 INVALID_MULTIPART
        expect_clean
    done
}

t_malformed_body() {
    local i
    printf 'no delimiter anywhere in this body\r\n' > "$STACK_DIR/m1"
    printf -- '--%s\r\nContent-Disposition form-data name="file"\r\n\r\nxx\r\n--%s--\r\n' "$B" "$B" > "$STACK_DIR/m2"
    printf -- '--%s\r\nContent-Disposition: attachment; name="file"\r\n\r\nxx\r\n--%s--\r\n' "$B" "$B" > "$STACK_DIR/m3"
    printf -- '--%s\r\nContent-Disposition: form-data\r\n\r\nxx\r\n--%s--\r\n' "$B" "$B" > "$STACK_DIR/m4"
    printf -- '--%sjunk\r\n' "$B" > "$STACK_DIR/m5"
    for i in 1 2 3 4 5; do
        snap
        req_auth POST /v1/process -H "Content-Type: multipart/form-data; boundary=$B" \
            --data-binary "@$STACK_DIR/m$i"
        expect_error 400 INVALID_MULTIPART
        expect_clean
    done
}

t_truncated_body() {
    local n
    mkbody "$STACK_DIR/body" "$B" features=raw_transcript "file@$FIXTURES/tone.wav"
    n=$(size_of "$STACK_DIR/body")
    # cut in the file data, and just before the close delimiter's "--"
    for cut in 4000 $((n - 4)); do
        head -c "$cut" "$STACK_DIR/body" > "$STACK_DIR/cut"
        snap
        req_auth POST /v1/process -H "Content-Type: multipart/form-data; boundary=$B" \
            --data-binary "@$STACK_DIR/cut"
        expect_error 400 INVALID_MULTIPART
        expect_clean
    done
}

t_missing_file() {
    snap
    req_auth POST /v1/process -F features=raw_transcript
    expect_error 422 MISSING_FILE
    expect_clean
    snap
    req_auth POST /v1/process -F "audio=@$FIXTURES/tone.wav"
    expect_error 422 MISSING_FILE
    expect_clean
}

t_multiple_files() {
    snap
    req_auth POST /v1/process -F "file=@$FIXTURES/tone.wav" -F "file=@$FIXTURES/tone.flac"
    expect_error 422 MULTIPLE_FILES
    expect_clean
}

t_empty_file() {
    : > "$STACK_DIR/empty.wav"
    snap
    req_auth POST /v1/process -F "file=@$STACK_DIR/empty.wav"
    expect_error 422 EMPTY_FILE
    expect_clean
}

# One bad value per field, sent before and after the file part; the detail
# must name the field. After the file part, the stored file must go again.
t_validation_errors() {
    local spec field value order
    local bad=(
        "features|bogus"
        'features|["raw_transcript","nope"]'
        'features|["raw_transcript",1]'
        "features|raw_transcript,,summary"
        "template_id|features=summary"
        "asr_backend|kaldi"
        "enable_diarization|maybe"
        "enable_vad|2"
        "vad_threshold|1.5"
        "vad_threshold|-0.1"
        "vad_threshold|abc"
    )
    for spec in "${bad[@]}"; do
        field=${spec%%|*} value=${spec#*|}
        for order in before after; do
            local form=()
            if [ "$field" = template_id ]; then
                form=(-F "${value%%=*}=${value#*=}") # summary without template_id
            else
                form=(-F "$field=$value")
            fi
            snap
            if [ $order = before ]; then
                req_auth POST /v1/process "${form[@]}" -F "file=@$FIXTURES/tone.wav"
            else
                req_auth POST /v1/process -F "file=@$FIXTURES/tone.wav" "${form[@]}"
            fi
            expect_error 422 VALIDATION_ERROR
            [[ $(jget detail) == *"$field"* ]] ||
                fail_req "detail does not name '$field' ($field=$value, fields $order the file)"
            expect_clean
        done
    done
}

t_unsupported_type() {
    local spec
    for spec in "$FIXTURES/not-audio.png" "$FIXTURES/not-audio.png;type=audio/wav;filename=x.wav" \
        "$FIXTURES/not-audio.wav;type=audio/wav"; do
        snap
        req_auth POST /v1/process -F "file=@$spec"
        expect_error 415 INVALID_FILE_FORMAT
        expect_clean
    done
}

# 413 before reading: Content-Length over the limit; only the preamble is
# ever sent.
t_too_large_content_length() {
    preamble "$STACK_DIR/pre"
    snap
    early_post "$HUGE_BYTES" "$STACK_DIR/pre" -H "X-API-Key: $STACK_KEY"
    expect_error 413 FILE_TOO_LARGE
    expect_json detail "File exceeds maximum size of 500MB"
    expect_clean
}

t_fixtures_accepted() {
    local f rid
    for f in tone.wav tone.flac tone.ogg tone.opus tone.mp3 tone-id3.mp3 tone.m4a; do
        rid=fixture-$f-$RANDOM
        upload_fixture "$FIXTURES/$f" -H "X-Request-ID: $rid"
        expect_accepted "$FIXTURES/$f" || continue
        expect_eq "$f: original_filename" "$(tj original_filename)" "$f"
        expect_eq "$f: features (default)" "$(tj features)" '["clean_transcript"]'
        expect_eq "$f: template_id (default)" "$(tj template_id)" null
        expect_match "$f: asr_backend (default)" "$(tj asr_backend)" '^(whisper|chunkformer)$'
        expect_match "$f: enable_diarization" "$(tj enable_diarization)" '^(true|false)$'
        expect_match "$f: enable_vad" "$(tj enable_vad)" '^(true|false)$'
        expect_match "$f: vad_threshold" "$(tj vad_threshold)" '^(0(\.[0-9]+)?|1(\.0+)?)$'
        expect_eq "$f: X-Request-ID echoed" "$(resp_header X-Request-ID)" "$rid"
        expect_eq "$f: correlation_id" "$(tj correlation_id)" "$rid"
    done
    drain_queue
}

# curl -F keeps the order of the options: fields after the file, then
# fields before and after it.
t_fields_around_file() {
    upload_fixture "$FIXTURES/tone.flac" -F features=raw_transcript -F features=summary \
        -F template_id=tpl-1 -F asr_backend=ChunkFormer -F enable_diarization=yes
    if expect_accepted "$FIXTURES/tone.flac"; then
        expect_eq features "$(tj features)" '["raw_transcript", "summary"]'
        expect_eq template_id "$(tj template_id)" tpl-1
        expect_eq asr_backend "$(tj asr_backend)" chunkformer
        expect_eq enable_diarization "$(tj enable_diarization)" true
    fi
    req_auth POST /v1/process -F features=summary -F template_id=tpl-2 \
        -F "file=@$FIXTURES/tone.wav" -F asr_backend=CHUNKFORMER -F enable_diarization=yes \
        -F enable_vad=off -F vad_threshold=0.25
    expect_accepted "$FIXTURES/tone.wav" || return
    expect_eq features "$(tj features)" '["summary"]'
    expect_eq template_id "$(tj template_id)" tpl-2
    expect_eq asr_backend "$(tj asr_backend)" chunkformer
    expect_eq enable_diarization "$(tj enable_diarization)" true
    expect_eq enable_vad "$(tj enable_vad)" false
    expect_eq vad_threshold "$(tj vad_threshold)" 0.25
    drain_queue
}

# Exact bytes (--data-binary): all fields after the file, then all before.
t_fields_raw_body() {
    mkbody "$STACK_DIR/body" "$B" "file@$FIXTURES/tone.ogg;filename=my tone.ogg;type=audio/ogg" \
        features=enhancement_metrics,raw_transcript template_id=t-after asr_backend=whisper \
        enable_diarization=on enable_vad=1 vad_threshold=1
    req_auth POST /v1/process -H "Content-Type: multipart/form-data; boundary=$B" \
        --data-binary "@$STACK_DIR/body"
    if expect_accepted "$FIXTURES/tone.ogg"; then
        expect_eq features "$(tj features)" '["enhancement_metrics", "raw_transcript"]'
        expect_eq template_id "$(tj template_id)" t-after
        expect_eq asr_backend "$(tj asr_backend)" whisper
        expect_eq enable_diarization "$(tj enable_diarization)" true
        expect_eq enable_vad "$(tj enable_vad)" true
        expect_match vad_threshold "$(tj vad_threshold)" '^1(\.0+)?$'
        expect_eq original_filename "$(tj original_filename)" "my tone.ogg"
    fi
    mkbody "$STACK_DIR/body" "$B" 'features=["summary"]' template_id=t-before \
        enable_diarization=false enable_vad=no vad_threshold=0 "file@$FIXTURES/tone.mp3"
    req_auth POST /v1/process -H "Content-Type: multipart/form-data; boundary=$B" \
        --data-binary "@$STACK_DIR/body"
    if expect_accepted "$FIXTURES/tone.mp3"; then
        expect_eq features "$(tj features)" '["summary"]'
        expect_eq template_id "$(tj template_id)" t-before
        expect_eq enable_diarization "$(tj enable_diarization)" false
        expect_eq enable_vad "$(tj enable_vad)" false
        expect_match vad_threshold "$(tj vad_threshold)" '^0(\.0+)?$'
    fi
    drain_queue
}

t_features_forms() {
    upload_fixture "$FIXTURES/tone.wav" -F features=raw_transcript -F features=enhancement_metrics
    expect_accepted "$FIXTURES/tone.wav" &&
        expect_eq "repeated fields" "$(tj features)" '["raw_transcript", "enhancement_metrics"]'
    upload_fixture "$FIXTURES/tone.wav" -F 'features=["raw_transcript","clean_transcript"]'
    expect_accepted "$FIXTURES/tone.wav" &&
        expect_eq "JSON array string" "$(tj features)" '["raw_transcript", "clean_transcript"]'
    upload_fixture "$FIXTURES/tone.wav" -F 'features=raw_transcript, summary' -F template_id=t
    expect_accepted "$FIXTURES/tone.wav" &&
        expect_eq "comma list" "$(tj features)" '["raw_transcript", "summary"]'
    drain_queue
}

t_booleans() {
    local v want
    for v in true false 1 0 yes no on off TRUE Off; do
        case $v in true | 1 | yes | on | TRUE) want=true ;; *) want=false ;; esac
        upload_fixture "$FIXTURES/tone.wav" -F "enable_vad=$v" -F "enable_diarization=$v"
        expect_accepted "$FIXTURES/tone.wav" || continue
        expect_eq "enable_vad=$v" "$(tj enable_vad)" "$want"
        expect_eq "enable_diarization=$v" "$(tj enable_diarization)" "$want"
    done
    drain_queue
}

t_declared_type_not_trusted() {
    req_auth POST /v1/process -F "file=@$FIXTURES/tone.wav;type=image/png;filename=pic.png"
    expect_accepted "$FIXTURES/tone.wav" audio/x-wav
    drain_queue
}

t_filename_sanitised() {
    req_auth POST /v1/process -F "file=@$FIXTURES/tone.wav;filename=../../../evil.wav"
    expect_accepted "$FIXTURES/tone.wav" || return
    [[ $(tj original_filename) != */* ]] ||
        fail "original_filename keeps a path: $(tj original_filename)"
    # ../../../ from a task directory is the parent of STACK_DIR
    if { find "$STACK_DIR" -name 'evil.wav*'
        find "$(dirname "$STACK_DIR")" -maxdepth 1 -name 'evil.wav*'; } | grep -q .; then
        fail "evil.wav was created outside the task directory"
    fi
    drain_queue
}

t_status() {
    local id
    upload_fixture "$FIXTURES/tone.wav" -H "X-Request-ID: status-test"
    expect_accepted "$FIXTURES/tone.wav" || return
    id=$TASK_ID
    req_auth GET "/v1/status/$id"
    expect_status 200
    expect_json task_id "$id"
    expect_json status PENDING
    expect_json sha256 "$(sha_of "$FIXTURES/tone.wav")"
    req GET "/v1/status/$id"
    expect_error 401 UNAUTHORIZED
    id=$(cat /proc/sys/kernel/random/uuid)
    req_auth GET "/v1/status/$id"
    expect_error 404 NOT_FOUND
    expect_json detail "Task $id not found"
    req_auth GET /v1/status/not-a-uuid
    expect_error 404 NOT_FOUND
    expect_json detail "Not Found"
    drain_queue
}

t_request_id() {
    local rid long
    rid=rid-health-$RANDOM
    req GET /health -H "X-Request-ID: $rid"
    expect_eq "X-Request-ID on /health" "$(resp_header X-Request-ID)" "$rid"
    rid=rid-error-$RANDOM
    req POST /v1/process -H "X-Request-ID: $rid" -F "file=@$FIXTURES/tone.wav"
    expect_eq "X-Request-ID on a 401" "$(resp_header X-Request-ID)" "$rid"
    # it appears in the handler's log
    sleep 0.2
    grep -qF "$rid" "$STACK_LOG" || fail "request id $rid is not in the handler log"
    req_auth GET /v1/status/not-a-uuid
    expect_match "generated X-Request-ID" "$(resp_header X-Request-ID)" '.'
    # longer than the handler keeps: replaced by a generated one, not cut
    long=$(printf 'r%.0s' {1..100})
    req GET /health -H "X-Request-ID: $long"
    rid=$(resp_header X-Request-ID)
    expect_match "X-Request-ID for a 100-byte one" "$rid" '.'
    [ "$rid" != "$long" ] || fail "a 100-byte X-Request-ID was echoed"
}

# The queue: depth = entries in pending/; a worker's rename into claimed/
# frees a slot.
t_queue_full_prefilled() {
    local depth=50 i n
    drain_queue
    for ((i = 0; i < depth; i++)); do
        echo '{}' > "$STACK_QUEUE/pending/$(cat /proc/sys/kernel/random/uuid).json"
    done
    req GET /health
    expect_json queue_depth "$depth"
    snap
    upload_fixture "$FIXTURES/tone.wav"
    expect_error 429 QUEUE_FULL
    expect_match "Retry-After" "$(resp_header Retry-After)" '^[0-9]+$'
    expect_clean
    # refused before the body (a size within the limit: the size check
    # comes first)
    preamble "$STACK_DIR/pre"
    snap
    early_post $((100 * 1024 * 1024)) "$STACK_DIR/pre" -H "X-API-Key: $STACK_KEY"
    expect_error 429 QUEUE_FULL
    expect_clean
    # one claim frees one slot
    n=$(find "$STACK_QUEUE/pending" -mindepth 1 -maxdepth 1 | head -n 1)
    mv "$n" "$STACK_QUEUE/claimed/"
    upload_fixture "$FIXTURES/tone.wav"
    expect_accepted "$FIXTURES/tone.wav"
    drain_queue
}

# The temp file fills while the client is still sending (curl --limit-rate).
# A front end that buffers the body (front_can streaming fails: mod_fcgid)
# must show the opposite: no .part file at all until the client is done.
t_streaming() {
    local src=$STACK_DIR/stream.wav cpid part="" n size=0 out=$STACK_DIR/stream.out
    audio_blob "$src" $((20 * 1024 * 1024))
    if ! front_can streaming; then
        t_buffered "$src"
        return
    fi
    curl -sS -o "$out" -w '%{http_code}' --max-time 60 --limit-rate 2M -H 'Expect:' \
        -H "X-API-Key: $STACK_KEY" -F "file=@$src" "$STACK_URL/v1/process" > "$out.code" 2>&1 &
    cpid=$!
    track_pid "$cpid"
    for ((n = 0; n < 100; n++)); do
        part=$(find "$STACK_SPOOL" -name '.*.part' -size +0c 2>/dev/null | head -n 1)
        if [ -n "$part" ]; then
            size=$(size_of "$part" 2>/dev/null || echo 0)
            break
        fi
        alive "$cpid" || break
        sleep 0.1
    done
    if [ -z "$part" ]; then
        fail "no non-empty .part file in the spool while uploading"
    elif ! alive "$cpid"; then
        fail "curl had already finished when the .part file was seen"
    else
        echo "    ${part#"$STACK_SPOOL"/} held $size bytes while curl was still sending"
    fi
    wait "$cpid"
    # shellcheck disable=SC2034 # read by the expect_* functions
    ST=$(cat "$out.code") BODY=$(cat "$out") CURL_RC=0 LAST_REQ="streaming upload"
    expect_accepted "$src"
    drain_queue
}

# t_buffered SRC: the streaming case for a front end that buffers the body:
# SRC is sent at ~5 MB/s by a writer that marks when it has handed curl the
# last byte; the handler must not have started the file before that mark.
t_buffered() {
    local src=$1 body=$STACK_DIR/stream.body sent=$STACK_DIR/stream.sent total i n
    local out=$STACK_DIR/stream.out cpid part="" t0 t1
    echo "    $FRONT buffers the whole body before the handler sees it: expecting no"
    echo "    .part file until the client has sent the last byte"
    mkbody "$body" "$B" "file@$src;type=audio/wav"
    total=$(size_of "$body")
    rm -f "$sent"
    {
        for ((i = 0; i * 1048576 < total; i++)); do
            [ "$i" = 0 ] || sleep 0.2
            dd if="$body" bs=1048576 skip="$i" count=1 status=none
        done
        touch "$sent"
    } | curl -sS -o "$out" -w '%{http_code}' --max-time 60 -T - -X POST -H 'Expect:' \
        -H "Content-Length: $total" -H 'Transfer-Encoding:' -H "X-API-Key: $STACK_KEY" \
        -H "Content-Type: multipart/form-data; boundary=$B" "$STACK_URL/v1/process" \
        > "$out.code" 2>&1 &
    cpid=$!
    track_pid "$cpid"
    t0=$(date +%s.%N)
    for ((n = 0; n < 600; n++)); do
        [ ! -e "$sent" ] || break
        part=$(find "$STACK_SPOOL" -name '.*.part' 2>/dev/null | head -n 1)
        if [ -n "$part" ] && [ ! -e "$sent" ]; then
            fail "the handler was writing ${part#"$STACK_SPOOL"/} before the client had sent everything"
            break
        fi
        sleep 0.1
    done
    t1=$(date +%s.%N)
    wait "$cpid"
    echo "    nothing in the spool during the $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s" \
        "the client took to send $total bytes; then the handler got them all"
    # shellcheck disable=SC2034 # read by the expect_* functions
    ST=$(cat "$out.code") BODY=$(cat "$out") CURL_RC=0 LAST_REQ="buffered upload"
    expect_accepted "$src"
    drain_queue
}

# The client goes away mid-upload: nothing may stay in the spool, and the
# same worker serves the next request.
t_client_abort() {
    local src=$STACK_DIR/abort.wav cpid n
    audio_blob "$src" $((20 * 1024 * 1024))
    drain_queue
    snap
    curl -sS -o /dev/null --max-time 60 --limit-rate 1M -H 'Expect:' \
        -H "X-API-Key: $STACK_KEY" -F "file=@$src" "$STACK_URL/v1/process" 2> /dev/null &
    cpid=$!
    track_pid "$cpid"
    for ((n = 0; n < 50; n++)); do
        find "$STACK_SPOOL" -name '.*.part' 2>/dev/null | grep -q . && break
        sleep 0.1
    done
    if [ "$n" -ge 50 ]; then
        if front_can streaming; then
            fail "the upload never reached the spool (no .part file in 5 s)"
        else
            echo "    $FRONT buffers the body: the handler never saw this upload"
        fi
    fi
    sleep 1
    kill "$cpid" 2>/dev/null
    wait "$cpid" 2>/dev/null
    expect_clean 10
    upload_fixture "$FIXTURES/tone.wav"
    expect_accepted "$FIXTURES/tone.wav"
    drain_queue
}

t_upload_500mb() {
    big_file
    req_auth POST /v1/process -H 'Expect:' -F "file=@$BIG" --max-time 600
    echo "    $BIG_BYTES bytes in ${ELAPSED}s"
    expect_accepted "$BIG" audio/x-wav
    [ -z "$TASK_ID" ] || rm -rf "${STACK_SPOOL:?}/$TASK_ID"
    drain_queue
}

# Early answers through the front end are proper HTTP responses (curl exit
# 0 with the JSON), before the whole body has been sent: 600 MB over the
# limit with and without Content-Length, and 400 MB (within the limit: the
# size check comes first) of a PNG or of text sent as a .wav. Front ends
# that pass an answer on only after the whole body (front_can early fails)
# must still give the right answer, after all of it; a Content-Length over
# a front end's own cap (front_can cl_cap) is answered at once by it.
t_early_answers() {
    local kind mb mode code err
    for spec in wav:600:cl:413:FILE_TOO_LARGE wav:600:chunked:413:FILE_TOO_LARGE \
        png:400:cl:415:INVALID_FILE_FORMAT png:400:chunked:415:INVALID_FILE_FORMAT \
        txt:400:cl:415:INVALID_FILE_FORMAT txt:400:chunked:415:INVALID_FILE_FORMAT; do
        IFS=: read -r kind mb mode code err <<< "$spec"
        snap
        pipe_post "$kind" $((mb * 1024 * 1024)) "$mode" -H "X-API-Key: $STACK_KEY"
        if [ "$mode" = chunked ] && ! front_can chunked; then
            expect_length_required "$kind ${mb}MB chunked"
            continue
        fi
        echo "    $kind ${mb}MB $mode: $ST after ${ELAPSED}s, client sent $UPLOADED of $PIPE_TOTAL bytes"
        if [ "$mode" = chunked ] && [ "$code" = 413 ] && front_can chunked_limit_500; then
            echo "    $FRONT: mod_fcgid buffers the chunked body up to LimitRequestBody" \
                "($BODY_LIMIT bytes), then answers 500 itself; the handler never runs"
            expect_status 500
            [ -z "$(resp_header X-Request-ID)" ] || fail_req "the 500 came from the handler"
            [ "$UPLOADED" -ge "$BODY_LIMIT" ] ||
                fail "$FRONT answered after $UPLOADED bytes, before its limit of $BODY_LIMIT"
            expect_clean
            continue
        fi
        expect_error "$code" "$err"
        if front_can early || { [ "$mode" = cl ] && front_can cl_cap && [ "$PIPE_TOTAL" -gt "$BODY_LIMIT" ]; }; then
            [ "$UPLOADED" -lt "$PIPE_TOTAL" ] ||
                fail "$kind/$mode: the client had to send the whole body before the answer"
        else
            echo "    $FRONT passes the answer on only after the whole body (not early, by design)"
        fi
        expect_clean
    done
}

# ---- cases: small stack (1 MB limit, queue depth 1) --------------------------------

t_size_boundary() {
    local one=$((1024 * 1024))
    audio_blob "$STACK_DIR/exact.wav" "$one"
    audio_blob "$STACK_DIR/over.wav" $((one + 1))
    upload_fixture "$STACK_DIR/exact.wav"
    expect_accepted "$STACK_DIR/exact.wav" audio/x-wav
    drain_queue
    snap
    upload_fixture "$STACK_DIR/over.wav"
    expect_error 413 FILE_TOO_LARGE
    expect_json detail "File exceeds maximum size of 1MB"
    expect_clean
    if front_can chunked; then
        snap
        upload_fixture "$STACK_DIR/over.wav" -H 'Transfer-Encoding: chunked'
        expect_error 413 FILE_TOO_LARGE
        expect_clean
        upload_fixture "$STACK_DIR/exact.wav" -H 'Transfer-Encoding: chunked'
        expect_accepted "$STACK_DIR/exact.wav" audio/x-wav
        drain_queue
    else
        snap
        upload_fixture "$STACK_DIR/over.wav" -H 'Transfer-Encoding: chunked'
        expect_length_required "chunked 1 MB + 1"
        upload_fixture "$STACK_DIR/exact.wav" -H 'Transfer-Encoding: chunked'
        expect_length_required "chunked 1 MB"
    fi
}

t_queue_full() {
    drain_queue
    upload_fixture "$FIXTURES/tone.wav"
    expect_accepted "$FIXTURES/tone.wav"
    snap
    upload_fixture "$FIXTURES/tone.flac"
    expect_error 429 QUEUE_FULL
    expect_match "Retry-After" "$(resp_header Retry-After)" '^[0-9]+$'
    expect_clean
    drain_queue
    upload_fixture "$FIXTURES/tone.flac"
    expect_accepted "$FIXTURES/tone.flac"
    drain_queue
}

# ---- cases: release build, fresh worker ----------------------------------------------

t_rss() {
    local pid small=$STACK_DIR/one.wav hwm1 hwm2 rss1 rss2
    if front_can per_request; then
        t_rss_per_request
        return
    fi
    # the pool's worker; mod_fcgid starts its own on the first request
    pid=${STACK_HANDLER_PIDS[0]:-}
    audio_blob "$small" $((1024 * 1024))
    upload_fixture "$small"
    expect_accepted "$small" audio/x-wav
    if [ -z "$pid" ] && [ "$FRONT_POOL" = no ]; then
        pid=$(front_handler_pids | head -n 1)
        echo "    $FRONT started handler process ${pid:-?} for the first request"
    fi
    [ -n "$pid" ] || { fail "no handler PID"; return; }
    expect_eq "worker executable" "$(readlink "/proc/$pid/exe")" "$(realpath "$REL_HANDLER")"
    hwm1=$(proc_kb "$pid" VmHWM) rss1=$(proc_kb "$pid" VmRSS)
    drain_queue
    big_file
    req_auth POST /v1/process -H 'Expect:' -F "file=@$BIG" --max-time 600
    expect_status 202
    hwm2=$(proc_kb "$pid" VmHWM) rss2=$(proc_kb "$pid" VmRSS)
    echo "    worker $pid: VmHWM ${hwm1} kB after 1 MB, ${hwm2} kB after 500 MB" \
        "(VmRSS $rss1 -> $rss2 kB; 500 MB in ${ELAPSED}s)"
    if [ -z "$hwm1" ] || [ -z "$hwm2" ]; then
        fail "no VmHWM for PID $pid (did another process serve the 500 MB?)"
    elif [ $((hwm2 - hwm1)) -gt 2048 ]; then
        fail "VmHWM grew by $((hwm2 - hwm1)) kB (limit 2048 kB)"
    fi
    drain_queue
}

# hwm_sampler EXE OUT: until stopped, keep in OUT the largest VmHWM (kB)
# seen among the front end's descendants running EXE.
hwm_sampler() {
    local exe=$1 out=$2 max=0 p v
    echo 0 > "$out"
    while :; do
        for p in $(front_handler_pids "$exe"); do
            v=$(proc_kb "$p" VmHWM 2> /dev/null) || continue
            if [ -n "$v" ] && [ "$v" -gt "$max" ]; then
                max=$v
                echo "$max" > "$out"
            fi
        done
        sleep 0.05
    done
}

# CGI: a process per request, so nothing can build up across requests. The
# same question, asked of each request's own process: the peak RSS while it
# takes 500 MB must be that of a 1 MB upload (sampled from /proc while the
# request runs; VmHWM only grows, so the last sample is a lower bound).
t_rss_per_request() {
    local exe=$STACK_DIR/front/htdocs/fcgi_upload.cgi small=$STACK_DIR/one.wav spid hwm1 hwm2
    echo "    $FRONT runs one handler process per request: nothing carries over between"
    echo "    requests; measuring the peak RSS of each upload's own process instead"
    audio_blob "$small" $((1024 * 1024))
    hwm_sampler "$exe" "$STACK_DIR/hwm1" &
    spid=$!
    track_pid "$spid"
    # slowed down so that the short-lived process is seen by the sampler
    upload_fixture "$small" --limit-rate 1M
    kill "$spid" 2> /dev/null
    wait "$spid" 2> /dev/null
    expect_accepted "$small" audio/x-wav
    hwm1=$(cat "$STACK_DIR/hwm1")
    drain_queue
    big_file
    hwm_sampler "$exe" "$STACK_DIR/hwm2" &
    spid=$!
    track_pid "$spid"
    req_auth POST /v1/process -H 'Expect:' -F "file=@$BIG" --max-time 600
    kill "$spid" 2> /dev/null
    wait "$spid" 2> /dev/null
    expect_status 202
    hwm2=$(cat "$STACK_DIR/hwm2")
    echo "    per-request process VmHWM: ${hwm1} kB for 1 MB, ${hwm2} kB for 500 MB" \
        "(500 MB in ${ELAPSED}s)"
    if [ "$hwm1" = 0 ] || [ "$hwm2" = 0 ]; then
        fail "no handler process of $exe was seen"
    elif [ $((hwm2 - hwm1)) -gt 2048 ]; then
        fail "VmHWM of a 500 MB request exceeds a 1 MB one by $((hwm2 - hwm1)) kB (limit 2048 kB)"
    fi
    drain_queue
}

# ---- the run ---------------------------------------------------------------------------

MAIN_CASES=(
    health:t_health static_page:t_static_page routes:t_routes auth_401:t_auth
    fallback_key:t_fallback_key not_multipart_400:t_not_multipart
    bad_boundary_400:t_bad_boundary malformed_body_400:t_malformed_body
    truncated_body_400:t_truncated_body missing_file_422:t_missing_file
    multiple_files_422:t_multiple_files empty_file_422:t_empty_file
    validation_422:t_validation_errors unsupported_type_415:t_unsupported_type
    too_large_content_length_413:t_too_large_content_length
    fixtures_accepted:t_fixtures_accepted fields_around_file:t_fields_around_file
    fields_raw_body:t_fields_raw_body features_forms:t_features_forms
    booleans:t_booleans declared_type_not_trusted:t_declared_type_not_trusted
    filename_sanitised:t_filename_sanitised status:t_status request_id:t_request_id
    queue_full_prefilled_429:t_queue_full_prefilled streaming:t_streaming
    client_abort:t_client_abort upload_500mb:t_upload_500mb
    early_answers_600mb:t_early_answers
)
SMALL_CASES=(size_boundary_413:t_size_boundary queue_full_429:t_queue_full)
RSS_CASES=(rss_500mb_vs_1mb:t_rss)

# run_section (lib.sh) LABEL CASES... -- [start_stack args...]: one stack
# for the section's cases (not started when ONLY selects none of them).

front_spec "$FRONT" || exit 2
echo "== $FRONT: handler $HANDLER"
FALLBACK_KEY=$(rand_hex 24)
run_section main "${MAIN_CASES[@]}" -- APP_API__FALLBACK_KEYS="$FALLBACK_KEY"
# (and the smallest read buffer, so bodies arrive in many 4 KB pieces)
run_section small "${SMALL_CASES[@]}" -- APP_API__MAX_FILE_SIZE_MB=1 \
    APP_REDIS__MAX_QUEUE_DEPTH=1 APP_API__CHUNK_SIZE_KB=4
if [ -x "$REL_HANDLER" ]; then
    HANDLER=$REL_HANDLER run_section rss "${RSS_CASES[@]}" --
elif [ -z "${ONLY:-}" ] || [[ rss_500mb_vs_1mb =~ $ONLY ]]; then
    begin rss_500mb_vs_1mb
    fail "$REL_HANDLER is not built"
    end_case
fi

rm -f "$SUITE_TMP/big.wav"
summary
