#!/bin/sh
# Cheap CLI-level split check: every tests/fixtures/multipart fixture through
# mpdump whole, one byte at a time and in 7-byte pieces must print the same
# JSON and exit the same way. (tests/unit/test_splits.c does the thorough
# version: every one- and two-cut position, on callback transcripts.)
#
#   tests/splits.sh BIN        (make splits: BIN = build/san/mpdump)
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 MPDUMP_BINARY" >&2
    exit 2
fi
BIN=$1
FIX=tests/fixtures/multipart
tmp=$(mktemp -d "${TMPDIR:-/tmp}/splits.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

n=0
fails=0
for body in "$FIX"/*.body; do
    [ -f "$body" ] || continue
    name=$(basename "$body" .body)
    ct=$(cat "$FIX/$name.ct") || {
        echo "FAIL $name: no $name.ct"
        fails=$((fails + 1))
        continue
    }
    for mode in whole bytewise chunk7; do
        case $mode in
        whole) set -- --chunk 1000000000 ;;
        bytewise) set -- --bytewise ;;
        chunk7) set -- --chunk 7 ;;
        esac
        "$BIN" "$@" "$ct" <"$body" >"$tmp/$mode.out" 2>"$tmp/$mode.err"
        echo "rc=$?" >>"$tmp/$mode.out"
    done
    rc=$(tail -n 1 "$tmp/whole.out")
    if [ "$rc" != "rc=0" ] && [ "$rc" != "rc=1" ]; then
        echo "FAIL $name: mpdump $rc: $(head -c 300 "$tmp/whole.err")"
        fails=$((fails + 1))
    elif ! cmp -s "$tmp/whole.out" "$tmp/bytewise.out" ||
        ! cmp -s "$tmp/whole.out" "$tmp/chunk7.out"; then
        echo "FAIL $name: feedings differ"
        for mode in whole bytewise chunk7; do
            echo "    $mode: $(head -c 300 "$tmp/$mode.out" | tr '\n' ' ')"
        done
        fails=$((fails + 1))
    else
        echo "ok   $name: $(head -n 1 "$tmp/whole.out" | cut -c 1-100)"
    fi
    n=$((n + 1))
done
echo "splits: $n fixtures, $fails failure(s)"
[ "$n" -gt 0 ] && [ "$fails" -eq 0 ]
