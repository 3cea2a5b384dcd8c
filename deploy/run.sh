#!/usr/bin/env bash
# `make run`: the handler pool behind a front end on 127.0.0.1:$PORT, in the
# foreground. Builds nothing (make did).
#
#   FRONT=nginx PORT=8080 bash deploy/run.sh
#   FRONT=lighttpd ...
#   FRONT=apache APACHE_MODE=proxy|fcgid|cgi ...   (proxy by default)
#
# nginx, lighttpd and Apache's mod_proxy_fcgi talk to the spawn-fcgi pool;
# with APACHE_MODE=fcgid or cgi Apache starts the handler itself (no pool),
# and the handler's log is Apache's error log (this terminal).
#
# Settings: spawn-fcgi.conf, overridden by the environment (see the top of
# that file), e.g. APP_PATHS__AUDIO_DIR=/srv/audio APP_API__MAX_FILE_SIZE_MB=100.
# Without APP_API__SECRET_KEY (and with auth on) a key is generated for this
# run and printed. Runtime files live in var/ (git-ignored; RUN_DIR moves the
# front end's, FCGI_SOCKET/FCGI_PIDFILE/FCGI_LOG the pool's). Ctrl-C or
# SIGTERM stops what this script started, by PID, and nothing else.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
FRONT=${FRONT:-nginx}
PORT=${PORT:-8080}

# One case per front end; each has a start script under deploy/<front>/
# with the interface of deploy/nginx/start.sh (RUNDIR PORT SOCKET, exec in
# the foreground).
pool=yes
front_env=()
case "$FRONT" in
nginx) front_start=deploy/nginx/start.sh ;;
lighttpd) front_start=deploy/lighttpd/start.sh ;;
apache)
    front_start=deploy/apache/start.sh
    APACHE_MODE=${APACHE_MODE:-proxy}
    case "$APACHE_MODE" in
    proxy) ;;
    fcgid | cgi) pool=no ;;
    *) echo "run.sh: APACHE_MODE='$APACHE_MODE' (known: proxy, fcgid, cgi)" >&2; exit 2 ;;
    esac
    front_env=(APACHE_MODE="$APACHE_MODE")
    # Started as root, Apache's children run as www-data: they must be able
    # to connect to the pool's socket.
    if [ "$(id -u)" = 0 ] && [ "$APACHE_MODE" = proxy ] && [ -z "${FCGI_SOCKET_GROUP+set}" ]; then
        export FCGI_SOCKET_GROUP=${APACHE_RUN_GROUP:-www-data} FCGI_SOCKET_MODE=0660
    fi
    ;;
*)
    echo "run.sh: unknown FRONT='$FRONT' (known: nginx, lighttpd, apache)" >&2
    exit 2
    ;;
esac
case "$PORT" in '' | *[!0-9]*) echo "run.sh: PORT='$PORT' is not a number" >&2; exit 2 ;; esac

# shellcheck source=pool-conf.sh
. deploy/pool-conf.sh
pool_conf_load spawn-fcgi.conf

auth=on
case "${APP_API__AUTH_ENABLED:-}" in false | 0 | no | off) auth=off ;; esac
key_note=""
if [ "$auth" = on ] && [ -z "${APP_API__SECRET_KEY:-}" ]; then
    if command -v openssl >/dev/null 2>&1; then
        APP_API__SECRET_KEY=$(openssl rand -hex 32)
    else
        APP_API__SECRET_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
    fi
    export APP_API__SECRET_KEY
    key_note=" (generated for this run; set APP_API__SECRET_KEY to choose one)"
fi

if (exec 3<> "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "run.sh: 127.0.0.1:$PORT is already in use (PORT=... make run)" >&2
    exit 1
fi

# RUN_DIR: where the front end's rendered config, pid and temp files go
rundir=${RUN_DIR:-$root/var/run/$FRONT}
mkdir -p "$rundir"
upload_dir=""

pids=()       # everything started here, stopped in reverse order
# The pool and the front end run in their own sessions, so a Ctrl-C reaches
# only this script, which then stops them by PID in order (and does not
# mistake a front end that died of the same SIGINT for a crash).
detach=()
if command -v setsid > /dev/null 2>&1; then detach=(setsid); fi
stop_all() {
    trap - EXIT INT TERM
    local i p n
    [ -z "${sleep_pid:-}" ] || kill -TERM "$sleep_pid" 2>/dev/null || true
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        # our children: `wait` reaps them; bounded by the pool's stop timeout
        for ((n = 0; n < 150; n++)); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$p" 2>/dev/null; then
            echo "run.sh: PID $p did not stop: SIGKILL" >&2
            kill -KILL "$p" 2>/dev/null || true
        fi
        wait "$p" 2>/dev/null || true
    done
    pids=()
    # lighttpd's request-body temp directory (empty once lighttpd stopped)
    [ -z "$upload_dir" ] || rm -rf "$upload_dir"
}
trap stop_all EXIT
trap 'echo; echo "run.sh: stopping" >&2; exit 130' INT
trap 'echo "run.sh: stopping" >&2; exit 143' TERM

# The handler's log (spawn-fcgi.conf FCGI_LOG) on this terminal.
if [ "$pool" = yes ] && [ -n "${FCGI_LOG:-}" ]; then
    mkdir -p "$(dirname "$FCGI_LOG")"
    touch "$FCGI_LOG"
    tail -n 0 -F "$FCGI_LOG" >&2 &
    pids+=($!)
fi

# The pool: `spawn-pool.sh run` stays in the foreground and stops its
# children on SIGTERM (or is the single handler itself).
pool_pid=""
if [ "$pool" = yes ]; then
    "${detach[@]}" deploy/spawn-pool.sh run &
    pool_pid=$!
    pids+=("$pool_pid")
    for ((n = 0; n < 100; n++)); do
        [ -S "$FCGI_SOCKET" ] && break
        kill -0 "$pool_pid" 2>/dev/null || { echo "run.sh: the handler pool did not start" >&2; exit 1; }
        sleep 0.1
    done
    [ -S "$FCGI_SOCKET" ] || { echo "run.sh: no socket at $FCGI_SOCKET after 10 s" >&2; exit 1; }
fi

# lighttpd copies each upload through temp files on its way to the handler
# (see deploy/lighttpd/fcgi_upload.conf.in): on tmpfs, in a directory of
# this run's own
if [ "$FRONT" = lighttpd ] && [ -z "${LIGHTTPD_UPLOAD_DIR:-}" ] && [ -w /dev/shm ]; then
    upload_dir=$(mktemp -d /dev/shm/fcgi_upload-lighttpd.XXXXXX)
    front_env+=(LIGHTTPD_UPLOAD_DIR="$upload_dir")
fi

env "${front_env[@]}" FRONT_ERROR_LOG=stderr FRONT_ACCESS_LOG=/dev/stdout \
    "${detach[@]}" "$front_start" "$rundir" "$PORT" "$FCGI_SOCKET" &
front_pid=$!
pids+=("$front_pid")
url=http://127.0.0.1:$PORT
for ((n = 0; n < 100; n++)); do
    curl -fsS --max-time 2 -o /dev/null "$url/health" 2>/dev/null && break
    kill -0 "$front_pid" 2>/dev/null || { echo "run.sh: $FRONT did not start" >&2; exit 1; }
    sleep 0.1
done
curl -fsS --max-time 2 -o /dev/null "$url/health" ||
    { echo "run.sh: $url/health does not answer" >&2; exit 1; }

rel() { case "$1" in "$root"/*) echo "${1#"$root"/}" ;; *) echo "$1" ;; esac; }
echo
case "$FRONT:${APACHE_MODE:-}" in
apache:fcgid) how="Apache + mod_fcgid, which starts the handler processes itself" ;;
apache:cgi) how="Apache CGI, one handler process per request" ;;
apache:*) how="Apache + mod_proxy_fcgi, $FCGI_CHILDREN handler process(es)" ;;
*) how="$FRONT, $FCGI_CHILDREN handler process(es)" ;;
esac
echo "fcgi_upload is running at $url/ ($how)"
if [ "$auth" = on ]; then
    echo "  API key: $APP_API__SECRET_KEY$key_note"
    echo "  try:     curl -H \"X-API-Key: $APP_API__SECRET_KEY\" -F file=@tests/fixtures/audio/tone.wav $url/v1/process"
else
    echo "  auth is off (APP_API__AUTH_ENABLED=$APP_API__AUTH_ENABLED)"
    echo "  try:     curl -F file=@tests/fixtures/audio/tone.wav $url/v1/process"
fi
echo "  status:  curl -H \"X-API-Key: ...\" $url/v1/status/<task_id>    health: curl $url/health"
handler_log=$(rel "${FCGI_LOG:-(none)}")
[ "$pool" = yes ] || handler_log="Apache's error log (this terminal)"
echo "  spool:   $(rel "${APP_PATHS__AUDIO_DIR:-?}")   queue: $(rel "${APP_PATHS__QUEUE_DIR:-$(dirname "${APP_PATHS__AUDIO_DIR:-var/audio}")/queue}")   handler log: $handler_log"
echo "Ctrl-C stops everything."
echo

# Stay in the foreground until a signal, or until a part dies.
while :; do
    if ! kill -0 "$front_pid" 2>/dev/null; then
        echo "run.sh: $FRONT exited" >&2
        exit 1
    fi
    if [ -n "$pool_pid" ] && ! kill -0 "$pool_pid" 2>/dev/null; then
        echo "run.sh: the handler pool exited" >&2
        exit 1
    fi
    sleep 1 &
    sleep_pid=$!
    wait "$sleep_pid" || true
done
