#!/usr/bin/env python3
"""bench/report.py OUTDIR - the tables of `make bench`.

Reads what the sections of bench/run.sh left in OUTDIR (parser.json,
e2e.jsonl, profile_*.txt, strace_*.txt), writes OUTDIR/bench.json (all
figures) and OUTDIR/bench.md (the tables, markdown) and prints the tables.
MB/s are 10^6 bytes per second; one-at-a-time figures are the median of the
repetitions, with min-max in the JSON.
"""
import json
import os
import re
import statistics
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "build/bench"
MIB = 1048576
BACKENDS = ["ours", "write", "discard", "raw", "dd"]
LABEL = {
    "ours": "fcgi_upload",
    "write": "min libfcgi, write+fsync",
    "discard": "min libfcgi, discard",
    "raw": "min no-libfcgi, discard",
    "dd": "dd fdatasync",
}
CLK_TCK = [100]  # set from the meta record
GOAL_RATIO = 0.90  # of the write-to-file ceiling
GOAL_BYTES_PER_BYTE = 1.0


def load_jsonl(path):
    recs = []
    if not os.path.exists(path):
        return recs
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                recs.append(json.loads(line))
    return recs


def mbs(bytes_, secs):
    return bytes_ / secs / 1e6 if secs > 0 else 0.0


def summarize_runs(runs):
    """{(tag, backend, size, conc): {median, min, max, n, ok, ...}}"""
    groups = {}
    for r in runs:
        key = (r["tag"], r["backend"], r["size_mib"], r["conc"])
        groups.setdefault(key, []).append(r)
    out = {}
    for key, rs in groups.items():
        rates = [mbs(r["bytes"], float(r["seconds"])) for r in rs]
        tck = CLK_TCK[0]
        out[key] = {
            # CPU seconds per GB moved, and the share of the wall time the
            # processes were on a CPU (1.0 = one core busy all along)
            "handler_cpu_s_per_gb": round(statistics.median(
                r.get("handler_cpu_ticks", 0) / tck / (r["bytes"] / 1e9) for r in rs), 3),
            "handler_busy": round(statistics.median(
                r.get("handler_cpu_ticks", 0) / tck / float(r["seconds"]) for r in rs), 2),
            "nginx_cpu_s_per_gb": round(statistics.median(
                r.get("nginx_cpu_ticks", 0) / tck / (r["bytes"] / 1e9) for r in rs), 3),
            "nginx_busy": round(statistics.median(
                r.get("nginx_cpu_ticks", 0) / tck / float(r["seconds"]) for r in rs), 2),
            "median_mb_s": round(statistics.median(rates), 1),
            "min_mb_s": round(min(rates), 1),
            "max_mb_s": round(max(rates), 1),
            "runs": len(rs),
            "all_ok": all(r["ok"] for r in rs),
            "seconds": [float(r["seconds"]) for r in rs],
        }
    return out


def parse_strace(path):
    """read(2) calls from an strace -c table."""
    if not os.path.exists(path):
        return None
    calls = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
            if m:
                calls[m.group(2)] = int(m.group(1))
    return calls


def parse_profile(path):
    """The dso table and the inclusive symbol lines of a profile file."""
    if not os.path.exists(path):
        return None
    dso, syms, section = [], [], None
    with open(path) as f:
        for line in f:
            if line.startswith("## self"):
                section = "dso"
                continue
            if line.startswith("## inclusive"):
                section = "sym"
                continue
            if line.startswith("#"):
                continue
            if section == "dso":
                m = re.match(r"\s*([\d.]+)%\s+(\S+)", line)
                if m:
                    dso.append((m.group(2), float(m.group(1))))
            elif section == "sym":
                m = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[(.)\]\s+(.+?)\s*$", line)
                if m:
                    syms.append((m.group(4), float(m.group(1)), float(m.group(2)), m.group(3)))
    return {"self_by_dso": dso, "inclusive_by_symbol": syms}


# inclusive symbols worth naming in the table, by what they stand for
PROFILE_KEYS = [
    ("FCGX_GetStr", r"^FCGX_GetStr$", "libfcgi: FCGX_GetStr (its 8 KiB read(2)s and copies)"),
    ("sys_read", r"^(__x64_sys_read|ksys_read)$", "kernel: read(2) from the FastCGI socket"),
    ("sys_write", r"^(__x64_sys_write|ksys_write)$", "kernel: write(2) to the file"),
    ("sys_fsync", r"^(__x64_sys_fsync|__x64_sys_fdatasync|do_fsync)$", "kernel: fsync"),
    ("sha256", r"^(EVP_DigestUpdate|SHA256_Update|sha256_block_data_order\S*)$", "SHA-256"),
    ("parser", r"^mp_parser_execute$", "multipart parser (inclusive of its callbacks)"),
    ("memcpy", r"^__mem(move|cpy)\S*$", "libc memcpy/memmove (self+children)"),
]


def key_shares(prof):
    res = {}
    if not prof:
        return res
    for key, pat, _ in PROFILE_KEYS:
        best = None
        for name, children, self_, _k in prof["inclusive_by_symbol"]:
            if re.match(pat, name) and (best is None or children > best):
                best = children
        if best is not None:
            res[key] = best
    return res


def main():
    parser = None
    ppath = os.path.join(OUT, "parser.json")
    if os.path.exists(ppath):
        with open(ppath) as f:
            parser = json.load(f)
    recs = load_jsonl(os.path.join(OUT, "e2e.jsonl"))
    report = {"units": "MB/s = 1e6 bytes/s; sizes in MiB", "parser": parser}
    md = []

    if parser:
        md.append("### Parser alone (64 KiB execute() calls)\n")
        md.append("| body | parser MB/s | memchr MB/s | memmem MB/s |")
        md.append("|---|---:|---:|---:|")
        for k in ("random", "adversarial"):
            p = parser.get(k, {})
            md.append("| %s %.0f MiB | %.0f | %.0f | %.0f |" % (
                k, p.get("bytes", 0) / MIB, p.get("parser_mb_s", 0),
                p.get("memchr_mb_s", 0), p.get("memmem_mb_s", 0)))
        md.append("")

    if recs:
        e2e = build_e2e(recs, md)
        report["e2e"] = e2e

    with open(os.path.join(OUT, "bench.json"), "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    text = "\n".join(md) + "\n"
    with open(os.path.join(OUT, "bench.md"), "w") as f:
        f.write(text)
    print(text)
    print("bench: figures in %s/bench.json, tables in %s/bench.md" % (OUT, OUT))
    failed = report.get("e2e", {}).get("failed_runs", 0)
    return 1 if failed else 0


def build_e2e(recs, md):
    meta = next((r for r in recs if r["t"] == "meta"), {})
    meta_end = next((r for r in recs if r["t"] == "meta_end"), {})
    CLK_TCK[0] = meta.get("clk_tck", 100) or 100
    runs = [r for r in recs if r["t"] == "run" and r["tag"] != "warmup"]
    summ = summarize_runs(runs)
    conc = meta.get("conc", 8)
    sizes = sorted({r["size_mib"] for r in runs if r["tag"] == ""})
    e2e = {"meta": meta, "meta_end": meta_end, "throughput": [], "ratios": [],
           "failed_runs": sum(1 for r in runs if not r["ok"])}

    mode = meta.get("conc_mode", "?")
    if mode == "threads":
        conc_note = "%d threads in one handler process (APP_WORKER__THREADS=%d)" % (conc, conc)
    else:
        conc_note = "a spawn-fcgi pool of %d handler processes (spawn-fcgi -F %d)" % (conc, conc)
        conc_note += (": BENCH_CONCURRENCY=pool" if meta.get("threads_available")
                      else ": APP_WORKER__THREADS is not available in this build")
    md.append("### Uploads through nginx (fastcgi_request_buffering off), same run, same machine\n")
    md.append("%d CPUs, nginx %s, client curl %s reading from %s; load average %s at start, %s at end. "
              "%d at once: %s. Throughput in MB/s (10^6 B/s): one at a time the median of %d "
              "(curl time_total), %d at once the aggregate (all bytes / wall time), median of %d.\n" % (
                  meta.get("nproc", 0), meta.get("nginx", "?"), meta.get("curl", "?"),
                  meta.get("client_fs", "?"),
                  "/".join(str(x) for x in meta.get("loadavg_start", [])),
                  "/".join(str(x) for x in meta_end.get("loadavg_end", [])),
                  conc, conc_note, meta.get("reps", 0), conc, meta.get("conc_reps", 0)))
    md.append("| upload | " + " | ".join(LABEL[b] for b in BACKENDS) +
              " | ours / write | ours / discard | ours / dd |")
    md.append("|---|" + "---:|" * (len(BACKENDS) + 3))
    for c in (1, conc):
        for s in sizes:
            row, vals = [], {}
            for b in BACKENDS:
                v = summ.get(("", b, s, c))
                vals[b] = v["median_mb_s"] if v else None
                cell = cell_mb(v)
                if v and not v["all_ok"]:
                    cell += " (FAILED)"
                row.append(cell)
                if v:
                    e2e["throughput"].append(dict(backend=b, size_mib=s, conc=c, **v))
            rat = {}
            for ceil in ("write", "discard", "raw", "dd"):
                if vals.get("ours") and vals.get(ceil):
                    rat[ceil] = round(vals["ours"] / vals[ceil], 3)
            e2e["ratios"].append({"size_mib": s, "conc": c, "ours_vs": rat})
            md.append("| %d MiB x %d | %s | %s | %s | %s |" % (
                s, c, " | ".join(row),
                "%.0f%%" % (100 * rat["write"]) if "write" in rat else "-",
                "%.0f%%" % (100 * rat["discard"]) if "discard" in rat else "-",
                "%.0f%%" % (100 * rat["dd"]) if "dd" in rat else "-"))
    md.append("")

    # bytes written per byte uploaded, from /proc/PID/io write_bytes
    io = {}
    for r in runs:
        if r["tag"] or r["backend"] not in ("ours", "write"):
            continue
        k = "%s %dx%d" % (r["backend"], r["size_mib"], r["conc"])
        io.setdefault(k, []).append({
            "uploads": r["conc"], "size_mib": r["size_mib"],
            "handler_per_file_byte": r["handler_write_bytes"] / r["file_bytes"],
            "handler_extra_per_upload": (r["handler_write_bytes"] - r["file_bytes"]) / r["conc"],
            "nginx_per_upload": r["nginx_write_bytes"] / r["conc"],
            "handler_write_bytes": r["handler_write_bytes"],
            "nginx_write_bytes": r["nginx_write_bytes"],
            "file_bytes": r["file_bytes"], "body_bytes": r["bytes"]})
    e2e["disk_writes"] = io
    spool = [r for r in recs if r["t"] == "nginx_spool"]
    e2e["nginx_spool"] = spool

    # peak RSS per worker
    rss = {}
    for r in recs:
        if r["t"] == "rss":
            rss.setdefault(r["backend"], {})[r["after"]] = r["vmhwm_kb"]
    e2e["vmhwm_kb"] = rss

    # 413
    r413 = {}
    for r in recs:
        if r["t"] != "413":
            continue
        log = r.get("log", {})
        br = log.get("bytes_read")
        d = {"status": r["status"], "handler_status": log.get("status"),
             "bytes_read": br, "client_sent": r["client_sent"],
             "seconds": r["seconds"], "body_bytes": r["body_bytes"],
             "error_code": log.get("error_code")}
        if r["mode"] == "chunked" and br is not None:
            limit_at = meta.get("prefix_len", 0) + meta.get("max_file_mb", 500) * MIB
            d["file_limit_reached_at_body_byte"] = limit_at
            d["read_past_limit"] = br - limit_at
            d["chunk_bytes"] = meta.get("chunk_kb", 64) * 1024
        r413[r["mode"]] = d
    e2e["413"] = r413

    # profile and syscall counts
    prof = {}
    for b in ("ours", "discard", "raw"):
        p = parse_profile(os.path.join(OUT, "profile_%s.txt" % b))
        st = parse_strace(os.path.join(OUT, "strace_%s.txt" % b))
        body = next((r["body_bytes"] for r in recs
                     if r["t"] == "strace" and r["backend"] == b), 0)
        entry = {}
        if p:
            entry["self_by_dso"] = p["self_by_dso"]
            entry["key_inclusive_pct"] = key_shares(p)
        if st:
            entry["syscalls"] = st
            if st.get("read"):
                entry["body_bytes"] = body
                entry["bytes_per_read"] = round(body / st["read"])
        if entry:
            prof[b] = entry
    e2e["profile"] = prof

    # tuning
    tune = {}
    for (tag, b, s, c), v in summ.items():
        if tag.startswith("tune:"):
            tune.setdefault(tag[5:], {})[b] = v
    e2e["nginx_variants"] = tune

    cpu_md(summ, sizes, conc, md)
    goals_md(e2e, meta, sizes, conc, md)
    tune_md(tune, meta, md)
    profile_md(prof, md)
    e2e["cpu_finding"] = finding_md(summ, sizes, meta, prof, md)
    return e2e


def cell_mb(v):
    """median MB/s, with (min-max) when there were several runs"""
    if not v:
        return "-"
    if v["runs"] > 1:
        return "%.0f (%.0f-%.0f)" % (v["median_mb_s"], v["min_mb_s"], v["max_mb_s"])
    return "%.0f" % v["median_mb_s"]


def fmt_mb(kb):
    return "%.1f MB" % (kb * 1024 / 1e6)


def goals_md(e2e, meta, sizes, conc, md):
    md.append("### Goals\n")
    md.append("| goal | measured | met |")
    md.append("|---|---|---|")
    # ratio to the write-to-file ceiling
    worst = None
    parts = []
    for r in e2e["ratios"]:
        w = r["ours_vs"].get("write")
        if w is None:
            continue
        parts.append("%d MiB x %d: %.0f%%" % (r["size_mib"], r["conc"], 100 * w))
        worst = w if worst is None else min(worst, w)
    e2e["goal_ratio_min"] = worst
    md.append("| >= 90%% of the write-to-file ceiling | %s | %s |" % (
        ", ".join(parts) or "-",
        "-" if worst is None else ("yes" if worst >= GOAL_RATIO else "no (worst %.0f%%)" % (100 * worst))))
    # bytes written per byte uploaded
    ours = {k: v for k, v in e2e["disk_writes"].items() if k.startswith("ours ")}
    xs = [x for v in ours.values() for x in v]
    spool = e2e["nginx_spool"]
    spooled = sum(s["buffered_warnings"] + s["temp_files"] for s in spool)
    if xs:
        big = max(x["size_mib"] for x in xs)
        per_big = [x["handler_per_file_byte"] for x in xs if x["size_mib"] == big]
        extra = [x["handler_extra_per_upload"] for x in xs]
        ng = [x["nginx_per_upload"] for x in xs]
        # the file once, plus a per-upload constant (task record, queue
        # entry, log line, counted by the page); nginx stores no body
        ok = (min(x["handler_per_file_byte"] for x in xs) >= 1.0
              and max(extra) < 256 * 1024 and max(ng) < 64 * 1024 and spooled == 0)
        e2e["goal_bytes_per_byte"] = {
            "handler_per_file_byte_%dmib" % big: [min(per_big), max(per_big)],
            "handler_extra_bytes_per_upload": [min(extra), max(extra)],
            "nginx_bytes_per_upload": [min(ng), max(ng)], "nginx_spooled": spooled, "met": ok}
        md.append("| one byte written per byte uploaded (/proc/PID/io write_bytes) | "
                  "handler: %.4f-%.4f B per file byte at %d MiB, i.e. the file once plus %.0f-%.0f KiB "
                  "per upload (task record, queue entry, log line; counted by the page); "
                  "nginx workers: %.0f-%.0f KiB per upload (access log), %d bodies spooled | %s |" % (
                      min(per_big), max(per_big), big, min(extra) / 1024, max(extra) / 1024,
                      min(ng) / 1024, max(ng) / 1024, spooled, "yes" if ok else "no"))
    # memory
    rss = e2e["vmhwm_kb"].get("ours", {})
    if rss:
        steps = [k for k in rss]
        vals = {k: max(v) if v else 0 for k, v in rss.items()}
        base = vals.get("start", 0)
        peak = max(vals.values())
        first = next((vals[k] for k in steps if k != "start"), peak)
        flat = peak - first < 4096  # kB: no growth with size or count
        unit = "per process (%d threads)" % conc if meta.get("conc_mode") == "threads" else "per worker process"
        md.append("| flat memory (VmHWM %s) | %s | %s |" % (
            unit, ", ".join("%s: %s" % (k, fmt_mb(vals[k])) for k in steps),
            "yes" if flat else "no (grows %s)" % fmt_mb(peak - first)))
        e2e["goal_memory"] = {"start_kb": base, "first_kb": first, "peak_kb": peak, "flat": flat}
        ng = e2e["vmhwm_kb"].get("ours_nginx", {})
        if ng:
            md.append("| (nginx worker in front, VmHWM) | %s | |" % ", ".join(
                "%s: %s" % (k, fmt_mb(max(v) if v else 0)) for k, v in ng.items()))
    # 413
    r = e2e["413"]
    cl = r.get("content-length")
    if cl:
        ok = cl["bytes_read"] == 0 and str(cl["status"]) == "413"
        md.append("| 413 with Content-Length reads nothing | HTTP %s after %.3f s, handler bytes_read %s, "
                  "curl sent %.1f MB of %.1f MB | %s |" % (
                      cl["status"], float(cl["seconds"]), cl["bytes_read"], cl["client_sent"] / 1e6,
                      cl["body_bytes"] / 1e6, "yes" if ok else "no"))
    ch = r.get("chunked")
    if ch and ch.get("bytes_read") is not None:
        ok = str(ch["status"]) == "413" and ch["read_past_limit"] <= ch["chunk_bytes"]
        md.append("| 413 chunked: at most one chunk past the limit | HTTP %s after %.3f s, bytes_read %d = "
                  "the limit's byte (%d) + %d (chunk %d) | %s |" % (
                      ch["status"], float(ch["seconds"]), ch["bytes_read"],
                      ch["file_limit_reached_at_body_byte"], ch["read_past_limit"], ch["chunk_bytes"],
                      "yes" if ok else "no"))
    md.append("")


def cpu_md(summ, sizes, conc, md):
    md.append("### CPU per upload (/proc/PID/stat utime+stime; median)\n")
    md.append("CPU seconds per GB uploaded, and busy = CPU time / wall time (1.00 = one core "
              "all along). Responder: all its processes; nginx: its worker.\n")
    md.append("| upload | backend | MB/s | responder CPU s/GB | responder busy | nginx CPU s/GB | nginx busy |")
    md.append("|---|---|---:|---:|---:|---:|---:|")
    for c in (1, conc):
        for sz in sizes:
            for b in ("ours", "write", "discard", "raw"):
                v = summ.get(("", b, sz, c))
                if not v:
                    continue
                md.append("| %d MiB x %d | %s | %.0f | %.2f | %.2f | %.2f | %.2f |" % (
                    sz, c, LABEL[b], v["median_mb_s"], v["handler_cpu_s_per_gb"], v["handler_busy"],
                    v["nginx_cpu_s_per_gb"], v["nginx_busy"]))
    md.append("")


def tune_md(tune, meta, md):
    if not tune:
        return
    md.append("### nginx variants (largest size, one at a time, median MB/s; "
              "shipped client_body_buffer_size: %s)\n" % meta.get("cbb_shipped", "?"))
    bs = ["ours", "write", "discard", "raw"]
    md.append("| variant | " + " | ".join(LABEL[b] for b in bs) +
              " | ours / write | nginx CPU s/GB (ours, raw) |")
    md.append("|---|" + "---:|" * (len(bs) + 2))
    for v, d in tune.items():
        cells = [cell_mb(d.get(b)) for b in bs]
        rat = ("%.0f%%" % (100 * d["ours"]["median_mb_s"] / d["write"]["median_mb_s"])
               if "ours" in d and "write" in d and d["write"]["median_mb_s"] else "-")
        ncpu = "/".join("%.2f" % d[b]["nginx_cpu_s_per_gb"] if b in d else "-" for b in ("ours", "raw"))
        md.append("| %s | %s | %s | %s |" % (v, " | ".join(cells), rat, ncpu))
    md.append("")


def profile_md(prof, md):
    if not prof:
        return
    md.append("### Where the time goes\n")
    for b in ("ours", "discard", "raw"):
        p = prof.get(b)
        if not p:
            continue
        parts = []
        if "bytes_per_read" in p:
            parts.append("%d read(2) calls for a %.0f MB body = %d bytes per read (strace -c)" % (
                p["syscalls"]["read"], p["body_bytes"] / 1e6, p["bytes_per_read"]))
        if p.get("self_by_dso"):
            parts.append("CPU by object: " + ", ".join(
                "%s %.0f%%" % (d, v) for d, v in p["self_by_dso"][:5]))
        k = p.get("key_inclusive_pct", {})
        if k:
            names = {key: desc for key, _, desc in PROFILE_KEYS}
            parts.append("inclusive: " + ", ".join("%s %.0f%%" % (names[x], k[x]) for x in k))
        md.append("- **%s**: %s." % (LABEL[b], "; ".join(parts)))
    md.append("")


def finding_md(summ, sizes, meta, prof, md):
    """What the CPU figures say, for the largest single upload."""
    if not sizes:
        return None
    big = sizes[-1]
    g = {b: summ.get(("", b, big, 1)) for b in ("ours", "write", "discard", "raw")}
    if not g["ours"] or not g["write"]:
        return None
    f = {"size_mib": big}
    ours, wr = g["ours"]["handler_cpu_s_per_gb"], g["write"]["handler_cpu_s_per_gb"]
    f["ours_cpu_s_per_gb"], f["write_cpu_s_per_gb"] = ours, wr
    rate = meta.get("sha256_gb_s") or 0
    lines = ["%d MiB, one at a time: fcgi_upload spends %.2f s of CPU per GB, the write-to-file "
             "ceiling %.2f s/GB (+%.2f)." % (big, ours, wr, ours - wr)]
    if rate:
        f["sha256_gb_s"] = rate
        f["sha256_s_per_gb"] = round(1 / rate, 3)
        lines.append("SHA-256 alone (openssl speed -evp sha256, 64 KiB blocks, one core) runs at "
                     "%.2f GB/s = %.2f s/GB, which the ceiling does not pay." % (rate, 1 / rate))
    k = prof.get("ours", {}).get("key_inclusive_pct", {})
    if "FCGX_GetStr" in k:
        f["libfcgi_share_of_handler_cpu_pct"] = k["FCGX_GetStr"]
        lines.append("libfcgi (FCGX_GetStr, its 8 KiB read(2)s included) is %.0f%% of the handler's "
                     "CPU = %.2f s/GB." % (k["FCGX_GetStr"], ours * k["FCGX_GetStr"] / 100))
    if g["discard"] and g["raw"]:
        d, r = g["discard"]["handler_cpu_s_per_gb"], g["raw"]["handler_cpu_s_per_gb"]
        f["read_cpu_libfcgi_s_per_gb"], f["read_cpu_raw_s_per_gb"] = d, r
        lines.append("Reading the socket without libfcgi (1 MiB reads) costs %.2f s/GB against "
                     "%.2f s/GB through libfcgi (discard responders)." % (r, d))
    md.append("**Finding.** " + " ".join(lines) + "\n")
    return f


if __name__ == "__main__":
    sys.exit(main())
