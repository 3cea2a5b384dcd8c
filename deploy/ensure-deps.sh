#!/bin/sh
# Make sure the Debian packages a make target needs are installed.
#
#   deploy/ensure-deps.sh build|test|run|bench
#
# As root, missing packages are installed with apt-get. Otherwise the exact
# apt-get line is printed and the script exits 1, so `make` stops before a
# confusing compiler or linker error. One list per purpose lives here and
# nowhere else.
set -eu

build="build-essential pkg-config libfcgi-dev libfcgi-bin uuid-dev libmagic-dev libmagic-mgc libjansson-dev libssl-dev libhiredis-dev zlib1g-dev"
# what the test suite drives: sanitizers and the fuzzer (clang), unit tests
# (cmocka), the real front end and process pool (nginx, spawn-fcgi), clients
# and fixture tools (curl, sox, python3 for small JSON checks), lint.
test="$build libcmocka-dev clang clang-tidy libclang-rt-dev nginx-light spawn-fcgi curl sox python3 procps file python3-rq redis-server redis-tools"
# the upload page's browser test (tests/browser): Debian's Chromium, driven
# by playwright-core from npm (which downloads no browser of its own)
test="$test chromium"
# make test-faults runs the handler under valgrind memcheck
test="$test valgrind"
# the other front ends the suite runs against and `make run FRONT=...`
# starts: lighttpd, Apache httpd with mod_proxy_fcgi (in apache2), mod_fcgid
# and mod_cgid (in apache2)
fronts="lighttpd apache2 libapache2-mod-fcgid"
test="$test $fronts"
run="$build nginx-light spawn-fcgi curl procps $fronts"
bench="$test"

case "${1:-}" in
build) want=$build ;;
test) want=$test ;;
run) want=$run ;;
bench) want=$bench ;;
*) echo "usage: $0 build|test|run|bench" >&2; exit 2 ;;
esac

missing=""
# Node.js and npm (the browser test) are checked as commands, not packages:
# they often come from outside Debian (nodesource's nodejs bundles npm, and
# then Debian's npm package would conflict with it). Debian's are installed
# only when a command is missing. tests/browser/run.sh checks node >= 20.
case "${1:-}" in
test | bench)
    command -v node > /dev/null 2>&1 || missing="$missing nodejs"
    command -v npm > /dev/null 2>&1 || missing="$missing npm"
    ;;
esac
for p in $want; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
    echo "ensure-deps: installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >&2
    exit 0
fi

echo "ensure-deps: missing Debian packages. Run as root:" >&2
echo "  apt-get install -y$missing" >&2
exit 1
