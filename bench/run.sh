#!/usr/bin/env bash
# make bench: throughput figures. Each section is a function writing its
# figures under build/bench/; run them all (default) or name some:
#   bash bench/run.sh [parser ...]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=build/bench
mkdir -p "$OUT"

# The multipart parser alone: MB/s on a 512 MiB random file part and on a
# 128 MiB adversarial one (CR/LF and near-miss delimiters), fed in 64 KiB
# execute() calls, next to memchr/memmem over the same buffers.
# Figures: build/bench/parser.json.
bench_parser() {
    echo "== bench: parser"
    make --no-print-directory build/bench_parser
    build/bench_parser "$OUT/parser.json"
}

sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(parser)
for s in "${sections[@]}"; do
    case $s in
    parser) bench_parser ;;
    *)
        echo "bench/run.sh: unknown section '$s'" >&2
        exit 2
        ;;
    esac
done
