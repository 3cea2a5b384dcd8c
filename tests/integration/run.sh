#!/usr/bin/env bash
# `make integration`: the HTTP suite (test_process.sh) against each front end.
#
#   FRONTS="nginx lighttpd apache-proxy apache-fcgid apache-cgi"
#                                      front ends to test (space or comma
#                                      list; the default is all five)
#   HANDLER=build/san/fcgi_upload      binary for the correctness cases
#   REL_HANDLER=build/fcgi_upload      binary for the memory (VmHWM) case
#   ONLY=regex                         run only the matching cases
#   SUITE_TIMEOUT=1800                 seconds per front end, then it is stopped
#   KEEP_TMP=1                         keep the temp directories (logs, spool)
#
# Exits non-zero if any case failed on any front end.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
FRONTS=${FRONTS:-nginx lighttpd apache-proxy apache-fcgid apache-cgi}
export HANDLER=${HANDLER:-build/san/fcgi_upload}
export REL_HANDLER=${REL_HANDLER:-build/fcgi_upload}

missing=""
for tool in curl python3 spawn-fcgi file sha256sum truncate timeout setpriv; do
    command -v "$tool" > /dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    echo "integration: missing tools:$missing (make deps-test)" >&2
    exit 1
fi

rc=0
failed=()
for front in ${FRONTS//,/ }; do
    # bounded: the suite's own traps stop its stacks on SIGTERM
    if ! FRONT=$front timeout --kill-after=30 "${SUITE_TIMEOUT:-1800}" \
        bash tests/integration/test_process.sh; then
        rc=1
        failed+=("$front")
    fi
done
if [ "$rc" = 0 ]; then
    echo "integration: all passed (${FRONTS})"
else
    echo "integration: FAILED on: ${failed[*]}"
fi
exit "$rc"
