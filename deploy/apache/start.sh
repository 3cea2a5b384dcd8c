#!/bin/sh
# Render the Apache config for one of the three ways and run Apache httpd in
# the foreground (exec: the caller's $! is the httpd parent, which it stops
# by PID with SIGTERM; the parent stops its children, mod_fcgid's handler
# processes and any CGI still running).
#
#   APACHE_MODE=proxy|fcgid|cgi deploy/apache/start.sh RUNDIR PORT SOCKET
#
# RUNDIR   absolute directory for the rendered files, pid, logs, sockets
# PORT     listen on 127.0.0.1:PORT
# SOCKET   absolute path of the spawn-fcgi pool's socket (proxy mode; the
#          other modes start the handler themselves and ignore it)
#
# Environment (optional):
#   APACHE_MODE       proxy (default: mod_proxy_fcgi to the pool), fcgid
#                     (mod_fcgid spawns the handler), cgi (mod_cgid, one
#                     handler process per request, settings in .htaccess)
#   FRONT_ERROR_LOG   default RUNDIR/error.log ("stderr" for the terminal).
#                     In fcgid and cgi modes the handler's own log (its
#                     stderr) goes here too.
#   FRONT_ACCESS_LOG  default RUNDIR/access.log ("/dev/stdout" for the terminal)
#   APACHE            the httpd binary (default: apache2 or httpd in PATH)
#   APACHE_MODULES    module directory (default /usr/lib/apache2/modules)
#   APACHE_RUN_USER, APACHE_RUN_GROUP   the user Apache's children run as
#                     when started as root (default www-data)
#   FCGI_HANDLER, APP_*  the handler and its settings for fcgid/cgi modes,
#                     and APP_API__MAX_FILE_SIZE_MB for LimitRequestBody
#                     (default: spawn-fcgi.conf, the environment winning,
#                     exactly as for the pool)
#
# Started as root, Apache's children run as APACHE_RUN_USER: in proxy mode
# that user must be able to connect to SOCKET; in fcgid and cgi modes the
# handler runs as that user, so it is given the spool and queue directories
# (chown) and must be able to reach them.
#
# Used by deploy/run.sh (make run FRONT=apache) and tests/integration/lib.sh.
set -eu

[ $# -eq 3 ] || { echo "usage: $0 RUNDIR PORT SOCKET" >&2; exit 2; }
rundir=$1 port=$2 socket=$3
here=$(cd "$(dirname "$0")" && pwd)
deploy=$(dirname "$here")
mode=${APACHE_MODE:-proxy}

die() { echo "apache/start.sh: $*" >&2; exit 1; }
case "$rundir" in /*) ;; *) die "RUNDIR must be absolute" ;; esac
case "$mode" in
proxy) case "$socket" in /*) ;; *) die "SOCKET must be absolute" ;; esac ;;
fcgid | cgi) ;;
*) die "APACHE_MODE='$mode': expected proxy, fcgid or cgi" ;;
esac

PATH=$PATH:/usr/sbin:/usr/local/sbin:/sbin
httpd=${APACHE:-$(command -v apache2 || command -v httpd || true)}
if [ -z "$httpd" ] || [ ! -x "$httpd" ]; then
    die "apache2 not found (Debian: apt-get install apache2 libapache2-mod-fcgid)"
fi
modules=${APACHE_MODULES:-/usr/lib/apache2/modules}
need="mod_mpm_event.so mod_proxy_fcgi.so"
[ "$mode" != fcgid ] || need="$need mod_fcgid.so"
[ "$mode" != cgi ] || need="$need mod_cgid.so mod_rewrite.so"
for m in $need; do
    [ -r "$modules/$m" ] || die "$modules/$m is missing (APACHE_MODULES?)"
done

# The handler's settings, as the pool sees them (the environment wins over
# spawn-fcgi.conf, relative paths resolved against it).
# shellcheck source=../pool-conf.sh
. "$deploy/pool-conf.sh"
pool_conf_load "${SPAWN_FCGI_CONF:-$deploy/../spawn-fcgi.conf}"
mb=${APP_API__MAX_FILE_SIZE_MB:-500}
case "$mb" in '' | *[!0-9]*) die "APP_API__MAX_FILE_SIZE_MB='$mb' is not a number" ;; esac
max_body=$(((mb + 1) * 1048576))

mkdir -p "$rundir/errors"
rm -f "$rundir/httpd.pid"

user_line="# not root: Apache runs as $(id -un), like this script"
group_line="#"
run_user=$(id -un)
if [ "$(id -u)" = 0 ]; then
    run_user=${APACHE_RUN_USER:-www-data}
    run_group=${APACHE_RUN_GROUP:-www-data}
    id "$run_user" > /dev/null 2>&1 || die "user '$run_user' does not exist (APACHE_RUN_USER)"
    user_line="User $run_user"
    group_line="Group $run_group"
fi
# as_user CMD...: run CMD as the user of Apache's children
as_user() {
    if [ "$(id -u)" = 0 ]; then
        setpriv --reuid="$run_user" --regid="$run_group" --init-groups -- "$@"
    else
        "$@"
    fi
}

# The 413 answered by Apache itself (LimitRequestBody), in the handler's
# JSON shape and words.
printf '{"detail":"File exceeds maximum size of %sMB","error_code":"FILE_TOO_LARGE"}\n' \
    "$mb" > "$rundir/errors/413.json"

errlog=${FRONT_ERROR_LOG:-$rundir/error.log}
[ "$errlog" != stderr ] || errlog=/dev/stderr
acclog=${FRONT_ACCESS_LOG:-$rundir/access.log}
docroot=$deploy/www

# Every APP_* setting of the handler, for the modes where Apache starts it:
# by name only, the values stay in the environment (${NAME} is expanded by
# Apache when it reads the config), so no key is written to a file.
app_names=$(env | sed -n 's/^\(APP_[A-Z0-9_]*\|[AUL]SAN_OPTIONS\)=.*/\1/p' | sort)

case "$mode" in
proxy)
    [ -S "$socket" ] || die "no socket at $socket (start the pool first)"
    as_user test -w "$socket" ||
        die "$run_user cannot connect to $socket (FCGI_SOCKET_GROUP=$run_user, FCGI_SOCKET_MODE=0660, and search permission on its directories)"
    "$deploy/render.sh" "$here/proxy_fcgi.conf.in" "$rundir/mode.conf" \
        MODULES="$modules" SOCKET="$socket"
    ;;
fcgid | cgi)
    handler=${FCGI_HANDLER:-$deploy/../build/fcgi_upload}
    [ -x "$handler" ] || die "$handler is not executable (make?)"
    # The handler runs as Apache's user: give it its spool and queue (the
    # queue defaults to a directory named queue next to the spool).
    audio=${APP_PATHS__AUDIO_DIR:-$deploy/../var/audio}
    queue=${APP_PATHS__QUEUE_DIR:-$(dirname "$audio")/queue}
    for d in "$audio" "$queue"; do
        mkdir -p "$d"
        [ "$(id -u)" != 0 ] || chown -R "$run_user:$run_group" "$d"
        as_user test -w "$d" -a -x "$d" ||
            die "$run_user cannot write to $d (the handler runs as that user here)"
    done
    as_user test -x "$handler" || die "$run_user cannot run $handler"
    if ! as_user "$handler" --check-config < /dev/null > "$rundir/check-config.out" 2>&1; then
        cat "$rundir/check-config.out" >&2
        die "$handler --check-config failed as $run_user"
    fi
    ;;
esac

case "$mode" in
fcgid)
    : > "$rundir/handler-env.conf"
    for n in $app_names; do
        echo "FcgidInitialEnv $n \"\${$n}\"" >> "$rundir/handler-env.conf"
    done
    mkdir -p "$rundir/fcgid"
    [ "$(id -u)" != 0 ] || chown "$run_user:$run_group" "$rundir/fcgid"
    "$deploy/render.sh" "$here/fcgid.conf.in" "$rundir/mode.conf" \
        MODULES="$modules" RUNDIR="$rundir" HANDLER="$handler" MAX_BODY="$max_body" \
        HANDLER_ENV="$rundir/handler-env.conf"
    ;;
cgi)
    # A document root as on a shared host: the page, the program and its
    # .htaccess side by side. The settings .htaccess does not set come from
    # Apache's environment (PassEnv), by name.
    docroot=$rundir/htdocs
    rm -rf "$docroot"
    mkdir -p "$docroot"
    cp -R "$deploy/www/." "$docroot/"
    cp "$handler" "$docroot/fcgi_upload.cgi"
    "$deploy/render.sh" "$here/htaccess.example" "$docroot/.htaccess" \
        AUDIO_DIR="${APP_PATHS__AUDIO_DIR:-}" QUEUE_DIR="${APP_PATHS__QUEUE_DIR:-}" \
        MAX_FILE_SIZE_MB="$mb"
    : > "$rundir/handler-env.conf"
    for n in $app_names; do
        case "$n" in
        APP_PATHS__AUDIO_DIR | APP_PATHS__QUEUE_DIR | APP_API__MAX_FILE_SIZE_MB | APP_API__SECRET_KEY) ;;
        *) echo "PassEnv $n" >> "$rundir/handler-env.conf" ;;
        esac
    done
    chmod -R a+rX "$docroot"
    "$deploy/render.sh" "$here/cgi.conf.in" "$rundir/mode.conf" \
        MODULES="$modules" RUNDIR="$rundir" DOCROOT="$docroot" \
        HANDLER_ENV="$rundir/handler-env.conf"
    ;;
esac

"$deploy/render.sh" "$here/httpd.conf.in" "$rundir/httpd.conf" \
    RUNDIR="$rundir" MODULES="$modules" ERROR_LOG="$errlog" ACCESS_LOG="$acclog" \
    PORT="$port" USER_LINE="$user_line" GROUP_LINE="$group_line" DOCROOT="$docroot" MAX_BODY="$max_body" \
    MODE_CONF="$rundir/mode.conf"

"$httpd" -t -f "$rundir/httpd.conf" > "$rundir/configtest.out" 2>&1 || {
    cat "$rundir/configtest.out" >&2
    die "the rendered config does not pass apache2 -t"
}
exec "$httpd" -DFOREGROUND -f "$rundir/httpd.conf"
