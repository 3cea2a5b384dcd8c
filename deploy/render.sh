#!/bin/sh
# Fill the @NAME@ placeholders of a config template.
#
#   deploy/render.sh TEMPLATE OUTPUT NAME=value ...
#
# Every @NAME@ given on the command line is replaced by its value, except on
# comment lines (# first), which keep documenting the placeholders. A
# placeholder left over afterwards is an error (the output is removed), so a
# template and its callers cannot drift apart silently. Values may contain
# any character except a newline. Shared by every front end (nginx now,
# lighttpd and Apache later).
set -eu

[ $# -ge 2 ] || { echo "usage: $0 TEMPLATE OUTPUT NAME=value ..." >&2; exit 2; }
tpl=$1 out=$2
shift 2
[ -r "$tpl" ] || { echo "render: cannot read $tpl" >&2; exit 1; }

script=""
for kv in "$@"; do
    name=${kv%%=*}
    val=${kv#*=}
    case "$name" in
    '' | *[!A-Z0-9_]*) echo "render: bad placeholder name '$name'" >&2; exit 2 ;;
    esac
    # escape what is special in a sed replacement: \ & and the | delimiter
    val=$(printf '%s' "$val" | sed 's/[\\&|]/\\&/g')
    script="${script}/^[[:space:]]*#/!s|@${name}@|${val}|g
"
done

sed "$script" "$tpl" > "$out.tmp"
if left=$(grep -v '^[[:space:]]*#' "$out.tmp" | grep -o '@[A-Z0-9_]*@' | sort -u | tr '\n' ' ') &&
    [ -n "$left" ]; then
    rm -f "$out.tmp"
    echo "render: $tpl: no value for $left" >&2
    exit 1
fi
mv "$out.tmp" "$out"
