# shellcheck shell=sh
# pool_conf_load FILE - read spawn-fcgi.conf into the environment.
#
# Sourced by deploy/spawn-pool.sh, deploy/run.sh and the integration harness
# so all of them see the same effective settings. The format is described at
# the top of spawn-fcgi.conf. After the call every FCGI_* and APP_* name of
# the file is exported: the environment's value if it was set (even empty),
# the file's otherwise. Relative paths (FCGI_HANDLER, FCGI_SOCKET,
# FCGI_PIDFILE, FCGI_LOG, APP_PATHS__*) are made absolute against the file's
# directory. Returns non-zero, with a message, on a malformed line.

pool_conf_load() {
    _pc_file=$1
    [ -r "$_pc_file" ] || { echo "pool-conf: cannot read $_pc_file" >&2; return 1; }
    _pc_base=$(cd "$(dirname "$_pc_file")" && pwd) || return 1
    _pc_n=0
    while IFS= read -r _pc_line || [ -n "$_pc_line" ]; do
        _pc_n=$((_pc_n + 1))
        # leading blanks are allowed; comments and blank lines are skipped
        _pc_line=${_pc_line#"${_pc_line%%[! 	]*}"}
        case $_pc_line in '' | '#'*) continue ;; esac
        case $_pc_line in
        *=*) ;;
        *) echo "pool-conf: $_pc_file:$_pc_n: expected NAME=value" >&2; return 1 ;;
        esac
        _pc_key=${_pc_line%%=*}
        _pc_val=${_pc_line#*=}
        case $_pc_key in
        FCGI_* | APP_*) ;;
        *) echo "pool-conf: $_pc_file:$_pc_n: '$_pc_key' is neither FCGI_* nor APP_*" >&2; return 1 ;;
        esac
        case $_pc_key in
        *[!A-Z0-9_]*) echo "pool-conf: $_pc_file:$_pc_n: bad name '$_pc_key'" >&2; return 1 ;;
        esac
        # the environment wins, even when set to empty
        if eval "[ -n \"\${$_pc_key+set}\" ]"; then
            # shellcheck disable=SC2163 # exports the variable named by _pc_key
            export "$_pc_key"
            continue
        fi
        export "$_pc_key=$_pc_val"
    done < "$_pc_file"

    # defaults for what the file may leave out
    : "${FCGI_HANDLER:=build/fcgi_upload}" "${FCGI_SOCKET:=var/run/fcgi_upload.sock}"
    : "${FCGI_SOCKET_MODE:=0660}" "${FCGI_CHILDREN:=1}" "${FCGI_BACKLOG:=1024}"
    : "${FCGI_PIDFILE:=var/run/fcgi_upload.pid}"
    export FCGI_HANDLER FCGI_SOCKET FCGI_SOCKET_MODE FCGI_CHILDREN FCGI_BACKLOG FCGI_PIDFILE

    for _pc_key in FCGI_HANDLER FCGI_SOCKET FCGI_PIDFILE FCGI_LOG \
        $(env | sed -n 's/^\(APP_PATHS__[A-Z0-9_]*\)=.*/\1/p'); do
        eval "_pc_val=\${$_pc_key:-}"
        case $_pc_val in
        '' | /*) ;;
        *) export "$_pc_key=$_pc_base/$_pc_val" ;;
        esac
    done
    unset _pc_file _pc_base _pc_n _pc_line _pc_key _pc_val
}
