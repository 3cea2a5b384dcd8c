#!/bin/sh
# Run the libFuzzer target for a while on a copy of the seed corpus.
#
#   tests/fuzz/run.sh BIN SECONDS    (make fuzz, make fuzz-smoke)
#
# The committed corpus (tests/fuzz/corpus) is copied to a temporary
# directory first and never modified; new inputs found on the way are
# dropped at the end. Prints libFuzzer's closing stats. On a crash (or a
# leak, timeout or out-of-memory) the input is kept under build/fuzz/ and the
# script exits non-zero; replay it with build/san/fuzz_replay FILE.
set -u

if [ $# -ne 2 ] || [ ! -x "$1" ]; then
    echo "usage: $0 FUZZ_BINARY SECONDS" >&2
    exit 2
fi
BIN=$1
SECONDS_=$2
case $SECONDS_ in
'' | *[!0-9]*)
    echo "$0: SECONDS must be a whole number, not '$SECONDS_'" >&2
    exit 2
    ;;
esac
HERE=tests/fuzz
ART=build/fuzz
mkdir -p "$ART" || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
mkdir "$tmp/corpus"
cp "$HERE"/corpus/* "$tmp/corpus/" || exit 1

echo "fuzz: $BIN for ${SECONDS_}s on a copy of $(ls "$tmp/corpus" | wc -l)" \
    "seed inputs"
"$BIN" -max_total_time="$SECONDS_" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -dict="$HERE/multipart.dict" -print_final_stats=1 \
    -artifact_prefix="$ART/" "$tmp/corpus" >"$tmp/log" 2>&1
rc=$?

# The last status line ("#N DONE cov: ... exec/s: ...") and the final stats.
grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$tmp/log" |
    tail -n 1
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$tmp/log"
if [ "$rc" -ne 0 ]; then
    echo "fuzz: FAILED (libFuzzer exit $rc); the last 60 lines of its log:"
    tail -n 60 "$tmp/log"
    cp "$tmp/log" "$ART/last-failure.log"
    echo "fuzz: crash input(s), log kept in $ART/:"
    ls -l "$ART" | grep -E 'crash-|leak-|timeout-|oom-|slow-unit-|last-failure' 
    exit 1
fi
echo "fuzz: no crash in ${SECONDS_}s"
