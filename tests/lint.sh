#!/bin/sh
# make lint: the banned-function check, then clang-tidy on every C file.
# Banned (in the spirit of curl's checksrc): unbounded or state-hiding calls
# that have a bounded or reentrant replacement.
set -eu
cd "$(dirname "$0")/.."

files=$(ls common/*.c common/*.h fcgi_upload/*.c fcgi_upload/*.h \
    tests/unit/*.c tests/unit/support/*.c tests/unit/support/*.h \
    tests/tools/*.c tests/fuzz/*.c bench/*.c 2>/dev/null || true)

banned='\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|gets|strncpy|tmpnam|mktemp)[[:space:]]*\('
bad=$(grep -nE "$banned" $files || true)
if [ -n "$bad" ]; then
    echo "lint: banned functions (use snprintf, memcpy with a bound, strtol, strtok_r):"
    echo "$bad"
    exit 1
fi
echo "lint: no banned functions in $(echo "$files" | wc -w) files"

if ! command -v clang-tidy >/dev/null 2>&1; then
    echo "lint: clang-tidy missing (deploy/ensure-deps.sh test installs it)" >&2
    exit 1
fi
src=$(echo "$files" | tr ' ' '\n' | grep '\.c$')
# One file per run: clang-tidy 14 carries analyzer state from one file to the
# next and then reports a false va_list warning in common/bbuf.c.
mkdir -p build
: > build/clang-tidy.txt
echo "$src" | xargs -P "$(nproc)" -I{} sh -c \
    'clang-tidy --quiet "$1" -- -std=c11 -D_GNU_SOURCE -Icommon -Ifcgi_upload 2>/dev/null || true' _ {} \
    >> build/clang-tidy.txt
if grep -qE '(warning|error):' build/clang-tidy.txt; then
    grep -E -A3 '(warning|error):' build/clang-tidy.txt
    echo "lint: clang-tidy reported the findings above"
    exit 1
fi
echo "lint: clang-tidy clean"
