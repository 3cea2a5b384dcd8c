#!/bin/sh
# Run every multipart conformance vector through mpdump and check the result.
#
#   tests/conformance.sh BIN        (make conformance: BIN = build/san/mpdump)
#
# The vectors live in $CONFORMANCE_DIR (default tests/fixtures/conformance,
# our copy of the shared set in ../shared/conformance; read its README.md).
# When the shared set sits next to the checkout and differs from the copy,
# a warning says so: refresh the copy with
#   rm -r tests/fixtures/conformance && cp -r ../shared/conformance tests/fixtures/ Each is fed four ways: whole (--chunk 1000000000),
# --bytewise, --chunk 65536, and in the vector's own pieces when
# expected.json has "chunks" or "chunk_size". Every feeding must print the
# same JSON and exit with the same status. Then:
#   valid:true   exit 0 and the parts equal the expected ones (name,
#                filename, content_type, size, sha256; wire_size and
#                wire_sha256 where given, as mpdump does not decode
#                Content-Transfer-Encoding);
#   valid:false  exit 1 with a named parser error.
# Cases tagged peers-disagree, contested or lenient follow instead the
# behaviour chosen in tests/conformance_policy.md, which must list each of
# them (and the tags it has) or the run fails. That file also pins the error
# name of the other invalid vectors.
# Prints one line per vector and a summary; exits 1 on any failure.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 MPDUMP_BINARY" >&2
    exit 2
fi
BIN=$1
DIR=${CONFORMANCE_DIR:-tests/fixtures/conformance}
POLICY=tests/conformance_policy.md
if [ -d ../shared/conformance ] && ! diff -rq ../shared/conformance "$DIR" \
    > /dev/null 2>&1; then
    echo "conformance: WARNING: ../shared/conformance differs from $DIR;" \
        "the copy is what is tested" >&2
fi
if [ ! -d "$DIR" ]; then
    echo "conformance: FAIL: vector directory '$DIR' not found" \
        "(set CONFORMANCE_DIR)" >&2
    exit 1
fi
if [ ! -f "$POLICY" ]; then
    echo "conformance: FAIL: $POLICY not found (run from the repo root)" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/conformance.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# The vector's own feeding, as mpdump options, one "ID OPTION VALUE" line
# per vector that has one.
python3 - "$DIR" >"$tmp/feeds" <<'EOF' || exit 1
import json, os, sys
d = sys.argv[1]
for case in sorted(os.listdir(d)):
    f = os.path.join(d, case, "expected.json")
    if not os.path.isfile(f):
        continue
    exp = json.load(open(f, encoding="utf-8"))
    if exp.get("chunks"):
        print(case, "--chunks", ",".join(str(int(c)) for c in exp["chunks"]))
    elif exp.get("chunk_size"):
        print(case, "--chunk", int(exp["chunk_size"]))
EOF

for vdir in "$DIR"/[0-9][0-9][0-9]-*/; do
    [ -f "$vdir/expected.json" ] || continue
    case=$(basename "$vdir")
    ct=$(cat "$vdir/content_type.txt")
    mkdir "$tmp/$case"
    run() { # NAME OPTION...
        name=$1
        shift
        "$BIN" "$@" "$ct" <"$vdir/body.bin" >"$tmp/$case/$name.out" \
            2>"$tmp/$case/$name.err"
        echo $? >"$tmp/$case/$name.rc"
    }
    run whole --chunk 1000000000
    run bytewise --bytewise
    run chunk65536 --chunk 65536
    own=$(awk -v c="$case" '$1 == c { print $2, $3 }' "$tmp/feeds")
    if [ -n "$own" ]; then
        # shellcheck disable=SC2086
        run own $own
    fi
done

python3 - "$DIR" "$POLICY" "$tmp" <<'EOF'
import json, os, re, sys

vdir, policy_file, tmp = sys.argv[1:4]
POLICY_TAGS = {"peers-disagree", "contested", "lenient"}
fails = 0
lines = []

# Policy rows: | NNN | tags | accept / reject NAME | reason |
policy = {}
row = re.compile(r"^\|\s*(\d{3})\s*\|([^|]*)\|([^|]*)\|(.*)\|\s*$")
for ln, text in enumerate(open(policy_file, encoding="utf-8"), 1):
    m = row.match(text)
    if not m:
        continue
    cid, tags, beh, reason = (g.strip() for g in m.groups())
    tags = set() if tags in ("", "-") else {t.strip() for t in tags.split(",")}
    bm = re.fullmatch(r"accept|reject ([A-Z_]+)", beh)
    if not bm or not reason:
        print(f"FAIL {policy_file}:{ln}: bad row (behaviour must be "
              f"'accept' or 'reject NAME', reason not empty)")
        fails += 1
        continue
    if cid in policy:
        print(f"FAIL {policy_file}:{ln}: case {cid} listed twice")
        fails += 1
    policy[cid] = (tags, beh, reason, ln)

cases = sorted(c for c in os.listdir(vdir)
               if re.match(r"\d{3}-", c)
               and os.path.isfile(os.path.join(vdir, c, "expected.json")))
seen_ids = set()


def load(case, name):
    base = os.path.join(tmp, case, name)
    if not os.path.exists(base + ".rc"):
        return None
    rc = int(open(base + ".rc").read().strip())
    out = open(base + ".out", "rb").read()
    return rc, out


def want_part(p):
    size, sha = p["size"], p["sha256"]
    if "wire_size" in p or "wire_sha256" in p:
        size, sha = p["wire_size"], p["wire_sha256"]
    return {"name": p["name"], "filename": p["filename"],
            "content_type": p["content_type"], "size": size, "sha256": sha}


for case in cases:
    cid = case[:3]
    seen_ids.add(cid)
    exp = json.load(open(os.path.join(vdir, case, "expected.json"),
                         encoding="utf-8"))
    tagged = set(exp.get("tags", [])) & POLICY_TAGS
    problems = []

    feeds = {}
    for name in ("whole", "bytewise", "chunk65536", "own"):
        r = load(case, name)
        if r is not None:
            feeds[name] = r
    ref = feeds.get("whole")
    if ref is None:
        print(f"FAIL {case}: not run")
        fails += 1
        continue
    for name, r in feeds.items():
        if r != ref:
            problems.append(f"feeding '{name}' differs from whole: "
                            f"rc {r[0]} {r[1][:200]!r} vs rc {ref[0]} "
                            f"{ref[1][:200]!r}")
    rc, out = ref
    try:
        got = json.loads(out)
    except ValueError:
        got = None
        problems.append(f"output is not JSON: {out[:200]!r}")

    # What we must do: the policy's choice, else what expected.json says.
    if cid in policy:
        ptags, beh, reason, ln = policy[cid]
        if ptags != tagged:
            problems.append(f"{policy_file}:{ln} lists tags "
                            f"{sorted(ptags) or '-'}, the vector has "
                            f"{sorted(tagged) or '-'}")
    elif tagged:
        beh = None
        problems.append(f"tagged {sorted(tagged)} but not in {policy_file}")
    else:
        beh = "accept" if exp["valid"] else "reject"

    verdict = ""
    if got is not None and beh is not None:
        if beh == "accept":
            want = [want_part(p) for p in exp["parts"]]
            if rc != 0 or "error" in got:
                problems.append(f"rejected with {got.get('error')} at "
                                f"{got.get('offset')}, expected accepted")
            elif got.get("parts") != want:
                problems.append(f"parts differ:\n      got  "
                                f"{json.dumps(got.get('parts'))[:600]}\n"
                                f"      want {json.dumps(want)[:600]}")
            verdict = f"accept, {len(got.get('parts') or [])} part(s)"
        else:
            name = got.get("error")
            if rc != 1 or not name:
                problems.append(f"accepted (rc {rc}), expected rejected")
            elif name in ("UNKNOWN", "OK", "CALLBACK"):
                problems.append(f"error {name} is not a parser error "
                                f"({got.get('detail', '')})")
            elif beh.startswith("reject ") and name != beh[7:]:
                problems.append(f"error {name}, {policy_file} says "
                                f"{beh[7:]}")
            verdict = f"reject {name}@{got.get('offset')}"
    if cid in policy and policy[cid][0]:
        verdict += " (policy)"
    if problems:
        fails += 1
        print(f"FAIL {case}: {verdict}")
        for p in problems:
            print(f"    {p}")
    else:
        print(f"ok   {case}: {verdict} [{', '.join(sorted(feeds))}]")

for cid in sorted(set(policy) - seen_ids):
    print(f"FAIL {policy_file}:{policy[cid][3]}: case {cid} has no vector")
    fails += 1

print(f"conformance: {len(cases)} vectors, {fails} failure(s)")
sys.exit(1 if fails or not cases else 0)
EOF
