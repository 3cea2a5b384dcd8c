#!/bin/sh
# Render the lighttpd config and run lighttpd in the foreground (exec: the
# caller's $! is lighttpd, which it stops by PID with SIGTERM).
#
#   deploy/lighttpd/start.sh RUNDIR PORT SOCKET
#
# RUNDIR   absolute directory for lighttpd.conf, pid file and logs
# PORT     listen on 127.0.0.1:PORT
# SOCKET   absolute path of the handler pool's unix socket
#
# Environment (optional):
#   FRONT_ERROR_LOG       default RUNDIR/error.log ("stderr" for the terminal)
#   FRONT_ACCESS_LOG      default RUNDIR/access.log ("/dev/stdout" for the
#                         terminal)
#   LIGHTTPD_UPLOAD_DIR   server.upload-dirs (request-body temp files, see the
#                         config); default a per-RUNDIR directory on /dev/shm
#                         (tmpfs) when it is writable, else RUNDIR/upload
#   LIGHTTPD              the lighttpd binary (default: lighttpd in PATH)
#   APP_API__MAX_FILE_SIZE_MB  the handler's limit, for server.max-request-size
#                         (default: from spawn-fcgi.conf, like the pool)
#
# Used by deploy/run.sh (make run FRONT=lighttpd) and tests/integration/lib.sh,
# so both run exactly the config that ships.
set -eu

[ $# -eq 3 ] || { echo "usage: $0 RUNDIR PORT SOCKET" >&2; exit 2; }
rundir=$1 port=$2 socket=$3
here=$(cd "$(dirname "$0")" && pwd)
deploy=$(dirname "$here")

case "$rundir" in /*) ;; *) echo "lighttpd/start.sh: RUNDIR must be absolute" >&2; exit 2 ;; esac
case "$socket" in /*) ;; *) echo "lighttpd/start.sh: SOCKET must be absolute" >&2; exit 2 ;; esac

PATH=$PATH:/usr/sbin:/usr/local/sbin:/sbin
lighttpd=${LIGHTTPD:-$(command -v lighttpd || true)}
if [ -z "$lighttpd" ] || [ ! -x "$lighttpd" ]; then
    echo "lighttpd/start.sh: lighttpd not found (Debian: apt-get install lighttpd)" >&2
    exit 1
fi

# the handler's limit, as the pool sees it (the environment wins over the file)
# shellcheck source=../pool-conf.sh
. "$deploy/pool-conf.sh"
pool_conf_load "${SPAWN_FCGI_CONF:-$deploy/../spawn-fcgi.conf}"
mb=${APP_API__MAX_FILE_SIZE_MB:-500}
case "$mb" in '' | *[!0-9]*) echo "lighttpd/start.sh: APP_API__MAX_FILE_SIZE_MB='$mb' is not a number" >&2; exit 2 ;; esac
max_kb=$(((mb + 1) * 1024))

mkdir -p "$rundir"
upload=${LIGHTTPD_UPLOAD_DIR:-}
if [ -z "$upload" ]; then
    # tmpfs: the body's round trip through lighttpd's temp files costs
    # memory copies only, no file-system work (see the config)
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then
        sum=$(printf '%s' "$rundir" | cksum | cut -d' ' -f1)
        upload=/dev/shm/fcgi_upload-lighttpd.$(id -u).$sum
    else
        upload=$rundir/upload
    fi
fi
mkdir -p "$upload"
chmod 0700 "$upload"

# lighttpd's own 413 (server.max-request-size) in the handler's JSON
mkdir -p "$rundir/errors"
printf '{"detail":"File exceeds maximum size of %sMB","error_code":"FILE_TOO_LARGE"}\n' \
    "$mb" > "$rundir/errors/status-413.html"

errlog=${FRONT_ERROR_LOG:-$rundir/error.log}
if [ "$errlog" = stderr ]; then
    errorlog_line="# server.errorlog unset: lighttpd -D logs to stderr"
else
    errorlog_line="server.errorlog = \"$errlog\""
fi

"$deploy/render.sh" "$here/fcgi_upload.conf.in" "$rundir/lighttpd.conf" \
    RUNDIR="$rundir" \
    UPLOAD_DIR="$upload" \
    ERRORLOG_LINE="$errorlog_line" \
    ACCESS_LOG="${FRONT_ACCESS_LOG:-$rundir/access.log}" \
    PORT="$port" \
    SOCKET="$socket" \
    WWW="$deploy/www" \
    MAX_REQUEST_KB="$max_kb"

"$lighttpd" -tt -f "$rundir/lighttpd.conf" > /dev/null
exec "$lighttpd" -D -f "$rundir/lighttpd.conf"
