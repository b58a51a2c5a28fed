#!/usr/bin/env python3
"""Time leakscope against `go tool pprof` and plain `gzip -dc`, same file, same run.

Usage: benches/compare.py [--runs N] [--scale K ...]

Builds leakscope in release mode, writes the deterministic synthetic heap
profile (leakscope::synth, 200k samples x SCALE) to benches/data/, then runs
each command N times and reports the median wall time and the peak RSS
(from wait4's rusage, per child). Ratios are against gzip -dc, the floor
any reader of a gzip profile pays. Prints a Markdown table for the README.
"""
import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "benches", "data")


def run(cmd):
    """Runs cmd with stdout to /dev/null; returns (seconds, peak RSS bytes)."""
    with open(os.devnull, "wb") as null:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=null, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(proc.pid, 0)
        dt = time.perf_counter() - t0
        err = proc.stderr.read()
        proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{err.decode(errors='replace')}")
    return dt, ru.ru_maxrss * 1024


def measure(name, cmd, runs):
    run(cmd)  # warm the page cache and any build caches
    times, rss = [], []
    for _ in range(runs):
        t, r = run(cmd)
        times.append(t)
        rss.append(r)
    return {"name": name, "cmd": " ".join(cmd), "median": statistics.median(times), "rss": max(rss)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scale", type=int, nargs="*", default=[1])
    ap.add_argument("--no-pprof", action="store_true", help="skip go tool pprof (slow at large scales)")
    ap.add_argument("--diff", action="store_true", help="also time diff of a pair against pprof -top -base and parallel gzip -dc")
    a = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "leakscope", "--example", "synth"],
                   cwd=ROOT, check=True)
    ls = os.path.join(ROOT, "target", "release", "leakscope")
    synth = os.path.join(ROOT, "target", "release", "examples", "synth")
    go = shutil.which("go") or "/usr/local/go/bin/go"
    os.makedirs(DATA, exist_ok=True)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"runs per command: {a.runs}, medians of wall time; peak RSS is the max over runs\n")
    for k in a.scale:
        f = os.path.join(DATA, f"synth-{k}x.pb.gz")
        if not os.path.exists(f):
            subprocess.run([synth, f, str(k)], check=True)
        size = os.path.getsize(f)
        rows = [
            measure("gzip -dc (floor)", ["gzip", "-dc", f], a.runs),
            measure("leakscope top", [ls, "top", f], a.runs),
            measure("leakscope top --format json --nodecount 0", [ls, "top", "--format", "json", "--nodecount", "0", f], a.runs),
            measure("leakscope info", [ls, "info", f], a.runs),
        ]
        if not a.no_pprof:
            rows.append(measure("go tool pprof -top", [go, "tool", "pprof", "-symbolize=none", "-top", f], a.runs))
        floor = rows[0]["median"]
        pp = next((r for r in rows if r["name"].startswith("go tool pprof")), None)
        print(f"### {os.path.basename(f)} ({size / 1e6:.1f} MB gzipped)\n")
        print("| command | median wall | peak RSS | × gzip -dc | pprof ÷ this |")
        print("|---|---:|---:|---:|---:|")
        for r in rows:
            vs_pp = f"{pp['median'] / r['median']:.1f}×" if pp else "n/a"
            print(f"| `{r['name']}` | {r['median'] * 1000:.0f} ms | {r['rss'] / 2**20:.0f} MiB "
                  f"| {r['median'] / floor:.2f} | {vs_pp} |")
        print()
        if a.diff:
            g = os.path.join(DATA, f"synth-{k}x-later.pb.gz")
            if not os.path.exists(g):
                # same process, another snapshot: same stacks, other values, one site in 64 grown 1.5x
                subprocess.run([synth, g, str(k), "1", "1.5"], check=True)
            both = ["sh", "-c", f"gzip -dc {f} >/dev/null & gzip -dc {g} >/dev/null; wait"]
            rows = [
                measure("gzip -dc A & gzip -dc B (floor)", both, a.runs),
                measure("leakscope diff --format json A B", [ls, "diff", "--format", "json", f, g], a.runs),
                measure("leakscope diff A B (text)", [ls, "diff", "--color", "never", f, g], a.runs),
            ]
            if not a.no_pprof:
                rows.append(measure("go tool pprof -symbolize=none -top -base A B",
                                    [go, "tool", "pprof", "-symbolize=none", "-top", "-base", f, g], a.runs))
            floor = rows[0]["median"]
            pp = next((r for r in rows if r["name"].startswith("go tool pprof")), None)
            print(f"### diff of synth-{k}x pair\n")
            print("| command | median wall | peak RSS | × parallel gzip -dc | pprof ÷ this |")
            print("|---|---:|---:|---:|---:|")
            for r in rows:
                vs_pp = f"{pp['median'] / r['median']:.1f}×" if pp else "n/a"
                rss_pp = f", RSS 1/{pp['rss'] / r['rss']:.0f}" if pp and r is not pp else ""
                print(f"| `{r['name']}` | {r['median'] * 1000:.0f} ms | {r['rss'] / 2**20:.0f} MiB "
                      f"| {r['median'] / floor:.2f} | {vs_pp}{rss_pp} |")
            print()


if __name__ == "__main__":
    main()
