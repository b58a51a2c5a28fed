#!/usr/bin/env python3
"""Benchmark `leakscope heap` on a generated ~1 GiB Go heap dump.

    python3 benches/heapdump.py [--heap-mib 1024] [--runs 3] [--regen]

1. Builds the generator in testdata/gen/heapdump (`go build -trimpath -o
   /tmp/hdgen .`) and, unless the dump already exists (or with --regen),
   runs `hdgen -scenario big -heap-mib N -out FILE`. The dump (~1.3 GB for
   N=1024) lives in /tmp and is never committed.
2. Builds leakscope with `cargo build --release` (honours CARGO_TARGET_DIR).
3. Runs, --runs times each, interleaved, and reports medians:
   - `cat FILE >/dev/null` with the file evicted from the page cache
     (cold; posix_fadvise(POSIX_FADV_DONTNEED) on this file only, or the
     global `echo 1 >/proc/sys/vm/drop_caches` with --drop-caches, root
     only) and again with the file cached (warm);
   - an in-process read: `dd if=FILE of=/dev/null bs=1M` and Python
     `readinto` of a 1 MiB buffer, warm;
   - `leakscope info FILE` (parse only), warm;
   - `leakscope heap FILE --format json --timings`, warm, and with --cold
     also once per run after eviction: wall time, the per-stage timings it
     prints on stderr, peak RSS (ru_maxrss from wait4) and peak anonymous /
     file-backed RSS (sampled from /proc/PID/status every 20 ms).
4. Prints a Markdown table: stage, median seconds, × warm read time
   (`cat`), plus file size, objects, edges, peak RSS and RSS bytes per
   object.

Stdlib only. Linux only (/proc, wait4, posix_fadvise).
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEN_DIR = os.path.join(ROOT, "testdata", "gen", "heapdump")
GEN_BIN = "/tmp/hdgen"

TIMING_RE = re.compile(r"^leakscope: timing: (.+?)\s+([0-9.]+) s(?: \((\d+) objects, (\d+) edges\))?$")


def log(msg):
    print(f"[heapdump.py {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, **kw)


def uptime():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---------------------------------------------------------------- generation


def generate(path, mib, regen):
    if os.path.exists(path) and not regen:
        log(f"{path} exists ({os.path.getsize(path)} bytes); --regen rebuilds it")
        return None
    run(["go", "build", "-trimpath", "-o", GEN_BIN, "."], cwd=GEN_DIR)
    t0 = time.monotonic()
    p = subprocess.run(
        [GEN_BIN, "-scenario", "big", "-heap-mib", str(mib), "-out", path],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.monotonic() - t0
    line = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
    log(f"generated in {wall:.1f} s: {line}")
    return {"wall": wall, "line": line}


# ---------------------------------------------------------------- page cache


def evict(path, drop_caches):
    """Drops the file's pages from the page cache."""
    if drop_caches:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1\n")
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def resident_fraction(path):
    """Fraction of the file in the page cache per util-linux fincore, or None."""
    if not shutil.which("fincore"):
        return None
    try:
        out = subprocess.run(
            ["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES,SIZE", path],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        return int(out[0]) / max(1, int(out[1]))
    except (subprocess.CalledProcessError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------- measuring


class Sampler(threading.Thread):
    """Polls /proc/PID/status for the peak RssAnon and RssFile (kB)."""

    def __init__(self, pid, every=0.02):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.anon = self.file = self.rss = 0
        self.stop = threading.Event()

    def run(self):
        path = f"/proc/{self.pid}/status"
        while not self.stop.is_set():
            try:
                with open(path) as f:
                    st = f.read()
            except OSError:
                return
            vals = dict(re.findall(r"^(RssAnon|RssFile|VmRSS):\s+(\d+) kB", st, re.M))
            if "RssAnon" in vals:
                a, fl = int(vals["RssAnon"]), int(vals["RssFile"])
                self.anon, self.file = max(self.anon, a), max(self.file, fl)
                self.rss = max(self.rss, int(vals["VmRSS"]))
            self.stop.wait(self.every)


CPU = {}


def timed(key, cmd, stdout=subprocess.DEVNULL, sample=False):
    """Runs cmd; returns wall seconds, stderr text, ru_maxrss (bytes), sampler.

    The child's user + system CPU seconds are appended to CPU[key]."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    s = None
    if sample:
        s = Sampler(p.pid)
        s.start()
    # Read stderr in a thread so the child never blocks on a full pipe, and
    # reap it with wait4 to get its own rusage.
    err = []
    t = threading.Thread(target=lambda: err.append(p.stderr.read()), daemon=True)
    t.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    t.join()
    if s:
        s.stop.set()
        s.join()
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}\n{err[0].decode(errors='replace')}")
    CPU.setdefault(key, []).append(ru.ru_utime + ru.ru_stime)
    return wall, err[0].decode(errors="replace"), ru.ru_maxrss * 1024, s


def py_read(path):
    buf = bytearray(1 << 20)
    mv = memoryview(buf)
    n = 0
    t0 = time.monotonic()
    with open(path, "rb", buffering=0) as f:
        while True:
            k = f.readinto(mv)
            if not k:
                break
            n += k
    return time.monotonic() - t0


def parse_timings(err):
    stages, objects, edges = {}, None, None
    for line in err.splitlines():
        m = TIMING_RE.match(line.strip())
        if m:
            stages[m.group(1)] = float(m.group(2))
            if m.group(3):
                objects, edges = int(m.group(3)), int(m.group(4))
    return stages, objects, edges


# ---------------------------------------------------------------- environment


def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
    go = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "model": model,
        "mem_gib": mem_kb / (1 << 20),
        "kernel": platform.release(),
        "go": go,
        "rustc": rustc,
    }


def cargo_bin():
    run(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    )
    return os.path.join(meta["target_directory"], "release", "leakscope")


# ---------------------------------------------------------------- main


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heap-mib", type=int, default=1024, help="live heap of the generated dump (default 1024)")
    ap.add_argument("--file", help="dump path (default /tmp/leakscope-big.heapdump, or -N MiB suffix)")
    ap.add_argument("--regen", action="store_true", help="regenerate the dump even if it exists")
    ap.add_argument("--runs", type=int, default=3, help="repetitions per measurement (default 3)")
    ap.add_argument("--no-cold", dest="cold", action="store_false", help="skip the cold-cache measurements")
    ap.add_argument(
        "--drop-caches",
        action="store_true",
        help="evict with the global /proc/sys/vm/drop_caches instead of fadvise on the file",
    )
    ap.add_argument("--json", help="also write every raw measurement here")
    a = ap.parse_args()

    path = a.file or (
        "/tmp/leakscope-big.heapdump" if a.heap_mib == 1024 else f"/tmp/leakscope-big-{a.heap_mib}.heapdump"
    )
    env = machine()
    gen = generate(path, a.heap_mib, a.regen)
    exe = cargo_bin()
    size = os.path.getsize(path)
    log(f"{exe}; {path} {size} bytes; load {uptime()}")

    m = {k: [] for k in ("cat_cold", "cat_warm", "dd_warm", "py_warm", "info", "heap", "heap_cold")}
    stage_runs, heap_cold_stage_runs = [], []
    rss, anon, filerss, res_after_evict = [], [], [], []
    objects = edges = None
    loads = [uptime()]
    report_bytes = None
    for r in range(a.runs):
        log(f"run {r + 1}/{a.runs}, load {uptime()}")
        if a.cold:
            evict(path, a.drop_caches)
            res_after_evict.append(resident_fraction(path))
            m["cat_cold"].append(timed("cat_cold", ["cat", path])[0])
        subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)  # warm up
        m["cat_warm"].append(timed("cat_warm", ["cat", path])[0])
        m["dd_warm"].append(timed("dd_warm", ["dd", f"if={path}", "of=/dev/null", "bs=1M"])[0])
        m["py_warm"].append(py_read(path))
        m["info"].append(timed("info", [exe, "info", path, "--format", "json"])[0])
        out = f"/tmp/leakscope-hdbench-{os.getpid()}.json"
        with open(out, "wb") as fo:
            wall, err, maxrss, s = timed("heap", [exe, "heap", path, "--format", "json", "--timings"], stdout=fo, sample=True)
        report_bytes = os.path.getsize(out)
        os.unlink(out)
        st, objects, edges = parse_timings(err)
        m["heap"].append(wall)
        stage_runs.append(st)
        rss.append(maxrss)
        anon.append(s.anon * 1024)
        filerss.append(s.file * 1024)
        if a.cold:
            evict(path, a.drop_caches)
            wall, err, _, _ = timed("heap_cold", [exe, "heap", path, "--format", "json", "--timings"])
            m["heap_cold"].append(wall)
            heap_cold_stage_runs.append(parse_timings(err)[0])
        loads.append(uptime())

    read_warm = med(m["cat_warm"])
    read_cold = med(m["cat_cold"])
    stages = list(stage_runs[0].keys())

    def row(name, xs, key=None):
        x = med(xs)
        spread = f"{min(xs):.3f}–{max(xs):.3f}" if len(xs) > 1 else ""
        cold = f"{x / read_cold:.2f}" if a.cold else "–"
        cpu = f"{med(CPU[key]):.3f}" if key in CPU else ""
        return f"| {name} | {x:.3f} | {spread} | {cpu} | {x / read_warm:.2f} | {cold} |"

    lines = []
    lines.append(
        f"Dump: `{path}`, {size:,} bytes ({size / (1 << 30):.2f} GiB), "
        f"{objects:,} objects, {edges:,} object edges "
        f"({edges / objects:.2f} per object)."
    )
    lines.append("")
    lines.append(f"Medians of {a.runs} runs (warm page cache unless marked cold).")
    lines.append("")
    lines.append("| stage | median wall s | min–max s | CPU s (user+sys) | × read (warm cat) | × read (cold cat) |")
    lines.append("|---|---:|---:|---:|---:|---:|")
    if a.cold:
        lines.append(row("`cat FILE >/dev/null`, cold cache", m["cat_cold"], "cat_cold"))
    lines.append(row("`cat FILE >/dev/null`, warm cache", m["cat_warm"], "cat_warm"))
    lines.append(row("`dd bs=1M of=/dev/null`, warm", m["dd_warm"], "dd_warm"))
    lines.append(row("Python `readinto` 1 MiB, warm", m["py_warm"]))
    lines.append(row("`leakscope info` (parse only, whole process)", m["info"], "info"))
    for name in stages:
        xs = [s[name] for s in stage_runs if name in s]
        label = f"`heap` total (in-process)" if name == "total" else f"`heap` stage: {name}"
        lines.append(row(label, xs))
    lines.append(row("`heap --format json --timings`, whole process", m["heap"], "heap"))
    if a.cold:
        lines.append(row("`heap` whole process, cold cache", m["heap_cold"], "heap_cold"))
        xs = [s["read and parse"] for s in heap_cold_stage_runs if "read and parse" in s]
        lines.append(row("`heap` stage: read and parse, cold cache", xs))
    lines.append("")
    prss, panon, pfile = med(rss), med(anon), med(filerss)
    lines.append(
        f"Peak RSS of `heap` (ru_maxrss): {prss / 1e9:.2f} GB = {prss / objects:.0f} B/object; "
        f"sampled peaks: anonymous {panon / 1e9:.2f} GB = {panon / objects:.0f} B/object, "
        f"file-backed (the mmap) {pfile / 1e9:.2f} GB. JSON report {report_bytes:,} bytes."
    )
    lines.append("")
    lines.append(f"Load average (1/5/15 min) before and after each run: {'; '.join(loads)}.")
    if a.cold and any(x is not None for x in res_after_evict):
        fr = ", ".join(f"{x * 100:.1f}%" for x in res_after_evict if x is not None)
        how = "drop_caches" if a.drop_caches else "posix_fadvise(DONTNEED)"
        lines.append(f"Cold runs: file resident in the page cache after {how}: {fr} (fincore).")
    lines.append("")
    lines.append(
        f"Machine: {env['nproc']} CPUs, {env['model']}, {env['mem_gib']:.1f} GiB RAM, "
        f"Linux {env['kernel']}; {env['go']}; {env['rustc']}."
    )
    if gen:
        lines.append(f"Generator: {gen['wall']:.1f} s wall; {gen['line']}")
    print("\n".join(lines))

    if a.json:
        with open(a.json, "w") as f:
            json.dump(
                {
                    "file": path,
                    "size": size,
                    "objects": objects,
                    "edges": edges,
                    "measurements": m,
                    "cpu": CPU,
                    "stages": stage_runs,
                    "heap_cold_stages": heap_cold_stage_runs,
                    "ru_maxrss": rss,
                    "rss_anon_peak": anon,
                    "rss_file_peak": filerss,
                    "loads": loads,
                    "resident_after_evict": res_after_evict,
                    "machine": env,
                    "generator": gen,
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
