#!/bin/sh
# Start, supervise and stop the fcgi_upload pool from spawn-fcgi.conf.
#
#   deploy/spawn-pool.sh start    fork the children, write their PIDs to
#                                 FCGI_PIDFILE, return once they are up
#   deploy/spawn-pool.sh run      stay in the foreground. One child
#                                 (FCGI_CHILDREN=1): exec `spawn-fcgi -n`, so
#                                 this PID becomes the handler's. More: fork
#                                 them, then on SIGTERM/SIGINT stop them; if
#                                 one dies, stop the rest and exit 1
#                                 (spawn-fcgi never restarts a child: let a
#                                 supervisor such as systemd restart the pool)
#   deploy/spawn-pool.sh stop     stop the children listed in FCGI_PIDFILE
#   deploy/spawn-pool.sh pids     print the live children's PIDs
#   deploy/spawn-pool.sh config   print the effective settings (keys masked)
#
# Settings come from spawn-fcgi.conf at the repository top (another file with
# SPAWN_FCGI_CONF=path); a variable set in the environment wins over the file.
# Children are stopped by the PIDs spawn-fcgi recorded, and only after
# checking /proc that the PID still runs FCGI_HANDLER.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/pool-conf.sh"
conf=${SPAWN_FCGI_CONF:-$here/../spawn-fcgi.conf}
pool_conf_load "$conf"
base=$(cd "$(dirname "$conf")" && pwd)
# SIGTERM to SIGKILL: a handler lets uploads in progress finish for up to
# APP_WORKER__GRACE_S (default 30), then cuts the rest and cleans up (up to
# 10 s more; fcgi_upload/pool.h): wait for that, and a little longer.
grace=${APP_WORKER__GRACE_S:-30}
case $grace in '' | *[!0-9]*) grace=30 ;; esac
grace=${grace#"${grace%%[!0]*}"} # no leading zeros: $((...)) reads octal
stop_timeout=${FCGI_STOP_TIMEOUT:-$((grace + 15))}

log() { echo "spawn-pool: $*" >&2; }

# alive PID: the process exists and is not a zombie (PID 1 of a container
# may never reap the children spawn-fcgi leaves behind).
alive() {
    if [ -r "/proc/$1/stat" ]; then
        st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
        [ -n "$st" ] && [ "$st" != Z ]
    else
        kill -0 "$1" 2>/dev/null
    fi
}

# ours PID: alive, and running FCGI_HANDLER (not a recycled PID).
ours() {
    alive "$1" || return 1
    [ -r "/proc/$1/cmdline" ] || return 0
    argv0=$(tr '\0' '\n' < "/proc/$1/cmdline" 2>/dev/null | head -n 1)
    [ "$argv0" = "$FCGI_HANDLER" ]
}

listed_pids() {
    [ -r "$FCGI_PIDFILE" ] || return 0
    grep -E '^[0-9]+$' "$FCGI_PIDFILE" || true
}

live_pids() {
    for p in $(listed_pids); do
        if ours "$p"; then echo "$p"; fi
    done
}

do_stop() {
    pids=$(live_pids)
    if [ -n "$pids" ]; then
        log "stopping $(echo "$pids" | tr '\n' ' ')"
        for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
        i=0
        while [ $i -lt $((stop_timeout * 10)) ]; do
            left=""
            for p in $pids; do if alive "$p"; then left="$left $p"; fi; done
            [ -z "$left" ] && break
            sleep 0.1
            i=$((i + 1))
        done
        for p in $left; do
            log "PID $p ignored SIGTERM for ${stop_timeout}s: SIGKILL"
            kill -KILL "$p" 2>/dev/null || true
        done
    fi
    rm -f "$FCGI_PIDFILE"
    # the socket is ours only if no live process of the pool holds it
    rm -f "$FCGI_SOCKET"
}

# spawn MODE: MODE "fork" forks FCGI_CHILDREN children and returns once they
# are up; "exec" (one child) replaces this process with `spawn-fcgi -n`,
# which execs the handler: the caller's PID becomes the handler's, and the
# caller can reap it. Either way FCGI_PIDFILE lists the handler PIDs.
spawn() {
    mode=$1
    command -v spawn-fcgi >/dev/null 2>&1 || {
        log "spawn-fcgi not found (Debian: apt-get install spawn-fcgi)"
        exit 1
    }
    [ -x "$FCGI_HANDLER" ] || { log "$FCGI_HANDLER is not executable (make?)"; exit 1; }
    case $FCGI_CHILDREN in '' | *[!0-9]* | 0) log "FCGI_CHILDREN='$FCGI_CHILDREN' is not a positive number"; exit 1 ;; esac
    if [ -n "$(live_pids)" ]; then
        log "a pool is already running: $(live_pids | tr '\n' ' ')(from $FCGI_PIDFILE)"
        exit 1
    fi

    mkdir -p "$(dirname "$FCGI_SOCKET")" "$(dirname "$FCGI_PIDFILE")"
    [ -z "${FCGI_LOG:-}" ] || mkdir -p "$(dirname "$FCGI_LOG")"
    [ -z "${APP_PATHS__AUDIO_DIR:-}" ] || mkdir -p "$APP_PATHS__AUDIO_DIR"
    [ -z "${APP_PATHS__QUEUE_DIR:-}" ] ||
        mkdir -p "$APP_PATHS__QUEUE_DIR/pending" "$APP_PATHS__QUEUE_DIR/claimed"

    # Fail here, with the handler's own message, rather than as children that
    # die one by one. The effective configuration goes to the log.
    out=${FCGI_LOG:-/dev/null}
    if ! timeout 10 "$FCGI_HANDLER" --check-config < /dev/null >> "$out"; then
        log "$FCGI_HANDLER --check-config failed: the pool was not started"
        exit 1
    fi

    set -- -s "$FCGI_SOCKET" -M "$FCGI_SOCKET_MODE" -b "$FCGI_BACKLOG" -d "$base"
    if [ "$(id -u)" = 0 ]; then
        [ -z "${FCGI_USER:-}" ] || set -- "$@" -u "$FCGI_USER"
        [ -z "${FCGI_GROUP:-}" ] || set -- "$@" -g "$FCGI_GROUP"
        [ -z "${FCGI_SOCKET_USER:-}" ] || set -- "$@" -U "$FCGI_SOCKET_USER"
        [ -z "${FCGI_SOCKET_GROUP:-}" ] || set -- "$@" -G "$FCGI_SOCKET_GROUP"
    fi

    rm -f "$FCGI_PIDFILE"
    if [ "$mode" = exec ]; then
        echo $$ > "$FCGI_PIDFILE"
        log "1 child on $FCGI_SOCKET: $$"
        [ -z "${FCGI_LOG:-}" ] || exec 2>>"$FCGI_LOG"
        exec spawn-fcgi -n "$@" -- "$FCGI_HANDLER"
    fi

    set -- "$@" -F "$FCGI_CHILDREN" -P "$FCGI_PIDFILE"
    if [ -n "${FCGI_LOG:-}" ]; then
        # spawn-fcgi points forked children's stderr at /dev/null; a shell in
        # between reopens it on the log and execs the handler (same PID).
        # shellcheck disable=SC2016 # expanded by that shell
        set -- "$@" -- /bin/sh -c 'exec "$@" 2>>"$FCGI_LOG"' fcgi_upload "$FCGI_HANDLER"
    else
        set -- "$@" -- "$FCGI_HANDLER"
    fi
    if ! msg=$(spawn-fcgi "$@" 2>&1); then
        printf '%s\n' "$msg" >&2
        log "spawn-fcgi failed"
        exit 1
    fi
    # a child that dies at once (bad environment) shows up here
    sleep 0.2
    pids=$(listed_pids)
    n=0
    for p in $pids; do
        if alive "$p"; then n=$((n + 1)); else log "child $p died at start"; fi
    done
    if [ "$n" -ne "$FCGI_CHILDREN" ]; then
        printf '%s\n' "$msg" >&2
        [ -z "${FCGI_LOG:-}" ] || tail -n 20 "$FCGI_LOG" >&2
        do_stop
        exit 1
    fi
    log "$n children on $FCGI_SOCKET: $(echo "$pids" | tr '\n' ' ')"
}

do_run() {
    # One child: no supervisor needed, this process becomes the handler.
    [ "$FCGI_CHILDREN" != 1 ] || spawn exec
    # A stop request while the children are being forked is acted on as
    # soon as their PIDs are known.
    stop_requested=0
    trap 'stop_requested=1' TERM INT HUP
    spawn fork
    trap 'do_stop; exit 0' TERM INT HUP
    [ "$stop_requested" = 0 ] || { do_stop; exit 0; }
    while :; do
        for p in $(listed_pids); do
            if ! alive "$p"; then
                log "child $p exited; spawn-fcgi does not restart children: stopping the pool"
                trap - TERM INT HUP
                do_stop
                exit 1
            fi
        done
        # sleep in the background so a signal is handled at once
        sleep 1 &
        wait $! || true
    done
}

do_config() {
    env | grep -E '^(FCGI|APP)_' | sort |
        sed -E 's/^(APP_API__(SECRET_KEY|FALLBACK_KEYS)=).+/\1****/'
}

case "${1:-}" in
start) spawn fork ;;
run) do_run ;;
stop) do_stop ;;
pids) live_pids ;;
config) do_config ;;
*) echo "usage: $0 start|run|stop|pids|config" >&2; exit 2 ;;
esac
