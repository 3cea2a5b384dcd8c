#!/bin/sh
# Render the nginx config and run nginx in the foreground (exec: the caller's
# $! is the nginx master, which it stops by PID with SIGTERM).
#
#   deploy/nginx/start.sh RUNDIR PORT SOCKET
#
# RUNDIR   absolute directory for nginx.conf, pid, temp paths and logs
# PORT     listen on 127.0.0.1:PORT
# SOCKET   absolute path of the handler pool's unix socket
#
# Environment (optional):
#   FRONT_ERROR_LOG   default RUNDIR/error.log ("stderr" for the terminal)
#   FRONT_ACCESS_LOG  default RUNDIR/access.log ("/dev/stdout" for the terminal)
#   NGINX             the nginx binary (default: nginx in PATH or sbin dirs)
#   NGINX_CONF_DIR    where fastcgi_params and mime.types are (default: the
#                     directory of nginx's compiled-in conf path)
#
# Used by deploy/run.sh (make run) and tests/integration/lib.sh, so both run
# exactly the config that ships.
set -eu

[ $# -eq 3 ] || { echo "usage: $0 RUNDIR PORT SOCKET" >&2; exit 2; }
rundir=$1 port=$2 socket=$3
here=$(cd "$(dirname "$0")" && pwd)
deploy=$(dirname "$here")

case "$rundir" in /*) ;; *) echo "nginx/start.sh: RUNDIR must be absolute" >&2; exit 2 ;; esac
case "$socket" in /*) ;; *) echo "nginx/start.sh: SOCKET must be absolute" >&2; exit 2 ;; esac

PATH=$PATH:/usr/sbin:/usr/local/sbin:/sbin
nginx=${NGINX:-$(command -v nginx || true)}
if [ -z "$nginx" ] || [ ! -x "$nginx" ]; then
    echo "nginx/start.sh: nginx not found (Debian: apt-get install nginx-light)" >&2
    exit 1
fi

confdir=${NGINX_CONF_DIR:-}
if [ -z "$confdir" ]; then
    compiled=$("$nginx" -V 2>&1 | tr ' ' '\n' | sed -n 's/^--conf-path=//p')
    for d in "${compiled%/*}" /etc/nginx /usr/local/etc/nginx /usr/local/nginx/conf; do
        if [ -n "$d" ] && [ -r "$d/fastcgi_params" ] && [ -r "$d/mime.types" ]; then
            confdir=$d
            break
        fi
    done
fi
[ -n "$confdir" ] || {
    echo "nginx/start.sh: no fastcgi_params/mime.types found; set NGINX_CONF_DIR" >&2
    exit 1
}

if [ "$(id -u)" = 0 ]; then
    # Running as root: without this line the workers would run as nobody and
    # could not reach a socket made by and for this user.
    user_line="user $(id -un) $(id -gn);  # master runs as root: workers as the same user"
else
    user_line="# not root: the workers run as $(id -un), like the master"
fi

mkdir -p "$rundir"
"$deploy/render.sh" "$here/fcgi_upload.conf.in" "$rundir/nginx.conf" \
    RUNDIR="$rundir" \
    ERROR_LOG="${FRONT_ERROR_LOG:-$rundir/error.log}" \
    ACCESS_LOG="${FRONT_ACCESS_LOG:-$rundir/access.log}" \
    PORT="$port" \
    SOCKET="$socket" \
    WWW="$deploy/www" \
    NGINX_CONF_DIR="$confdir" \
    USER_LINE="$user_line"

# -e: the log for messages before the config is read (and for -t).
"$nginx" -q -t -p "$rundir" -c "$rundir/nginx.conf" -e "${FRONT_ERROR_LOG:-$rundir/error.log}"
exec "$nginx" -p "$rundir" -c "$rundir/nginx.conf" -e "${FRONT_ERROR_LOG:-$rundir/error.log}"
