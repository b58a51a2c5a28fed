#!/usr/bin/env python3
"""Time leakscope against `go tool pprof` and plain `gzip -dc`, same file, same run.

Usage: benches/compare.py [--runs N] [--scale K ...] [--diff] [--no-top]
                          [--pprof-runs N] [--trend N ...] [--live FRACTION] [--random]

Builds leakscope in release mode (in $CARGO_TARGET_DIR, else target/),
writes the deterministic synthetic heap profile (leakscope::synth, 200k
samples x SCALE) to benches/data/, then runs each command N times and
reports the median wall time and the peak RSS (from wait4's rusage, per
child). Ratios are against gzip -dc, the floor any reader of a gzip profile
pays. Prints Markdown tables for the README.

With --diff and several scales (e.g. --scale 1 4 16) it ends with one
table of the diff at every scale, per MB of input, to show whether cost
grows linearly. --trend N times `leakscope trend` over N ~1 MB snapshots
of one process whose sites grow slowly (synth scale 0.1, variant i,
growth 1 + i/1000), with its peak RSS; give several N to see whether
memory grows with the number of snapshots. --live F adds, at each scale, the
diff of a pair in which only the share F of sites holds live objects (the
rest are zero in inuse_*, as in real heap profiles; the corpus's have
F = 0.01-0.12). --random adds, at each scale, the diff of issue #22's
unstructured pair (synth --shape random: each stack a random walk of 4-32
frames over the functions, one location per function, no inlining, one
numeric label per sample; the later profile has the same stacks, 5% of
them grown 1.5x), with its own scaling table.

The issue's exact measurement (1x, 4x, 16x diff and a 1,000-snapshot
trend, pprof timed once per scale at 16x because it takes minutes):
    benches/compare.py --runs 5 --scale 1 4 16 --diff --no-top --pprof-runs 3 --trend 250 1000
and issue #22's, which adds the realistic and the random-shape pairs to every table:
    benches/compare.py --runs 3 --scale 1 4 16 --diff --no-top --pprof-runs 1 --trend 250 1000 --live 0.1 --random
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


def cpu_times():
    """The machine's CPU time counters (/proc/stat's first line), or None off Linux."""
    try:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None


def steal_share(before, after):
    """Share of the CPU time between two cpu_times() the hypervisor gave to other machines (steal,
    the 8th counter): on a shared VM, the figure that says how far to trust a run's wall times."""
    if not before or not after or len(before) < 8:
        return None
    d = [b - a for a, b in zip(before, after)]
    return d[7] / sum(d) if sum(d) > 0 else None


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


def measure(name, cmd, runs, warm=True):
    if warm:
        run(cmd)  # warm the page cache and any build caches
    times, rss = [], []
    for _ in range(runs):
        t, r = run(cmd)
        times.append(t)
        rss.append(r)
    return {"name": name, "cmd": " ".join(cmd), "median": statistics.median(times), "rss": max(rss)}


def print_rows(title, floor_name, rows, rss_ratio):
    """Prints one table: each row's time against the first row (the floor) and against pprof's row,
    if timed; with rss_ratio, also pprof's peak RSS over the row's. Returns pprof's row or None."""
    floor = rows[0]["median"]
    pp = next((r for r in rows if r["name"].startswith("go tool pprof")), None)
    print(f"### {title}\n")
    print(f"| command | median wall | peak RSS | × {floor_name} | pprof ÷ this |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        vs_pp = f"{pp['median'] / r['median']:.1f}×" if pp else "n/a"
        rss_pp = f", RSS 1/{pp['rss'] / r['rss']:.0f}" if rss_ratio and pp and r is not pp else ""
        print(f"| `{r['name']}` | {r['median'] * 1000:.0f} ms | {r['rss'] / 2**20:.0f} MiB "
              f"| {r['median'] / floor:.2f} | {vs_pp}{rss_pp} |")
    print(flush=True)
    return pp


def diff_table(label, f, g, ls, go, a, pprof_runs, scaling, k):
    """Times the diff of f and g against parallel gzip -dc (and pprof); prints its table and
    appends its row to scaling."""
    both = ["sh", "-c", f"gzip -dc {f} >/dev/null & gzip -dc {g} >/dev/null; wait"]
    rows = [
        measure("gzip -dc A & gzip -dc B (floor)", both, a.runs),
        measure("leakscope diff --format json A B", [ls, "diff", "--format", "json", f, g], a.runs),
        measure("leakscope diff A B (text)", [ls, "diff", "--color", "never", f, g], a.runs),
    ]
    if not a.no_pprof:
        rows.append(measure("go tool pprof -symbolize=none -top -base A B",
                            [go, "tool", "pprof", "-symbolize=none", "-top", "-base", f, g], pprof_runs,
                            warm=False))
    pp = print_rows(f"diff of {label}", "parallel gzip -dc", rows, rss_ratio=True)
    scaling.append((k, (os.path.getsize(f) + os.path.getsize(g)) / 1e6, rows[0], rows[1], pp))


def scaling_table(title, rows):
    print(f"### diff at every scale{title} (A and B, gzipped)\n")
    print("| scale | input MB | parallel gzip -dc | leakscope diff --format json | ms per MB | × gzip | peak RSS "
          "| go tool pprof -top -base | pprof RSS | pprof ÷ leakscope | RSS ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for k, mb, gz, ls_row, pp in rows:
        ppt = f"{pp['median']:.1f} s" if pp else "n/a"
        pprss = f"{pp['rss'] / 2**20:.0f} MiB" if pp else "n/a"
        ratio = f"{pp['median'] / ls_row['median']:.1f}×" if pp else "n/a"
        rss_ratio = f"1/{pp['rss'] / ls_row['rss']:.1f}" if pp else "n/a"
        print(f"| {k}× | {mb:.0f} | {gz['median'] * 1000:.0f} ms | {ls_row['median'] * 1000:.0f} ms "
              f"| {ls_row['median'] * 1000 / mb:.1f} | {ls_row['median'] / gz['median']:.2f} "
              f"| {ls_row['rss'] / 2**20:.0f} MiB | {ppt} | {pprss} | {ratio} | {rss_ratio} |")
    print(flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scale", type=int, nargs="*", default=[1])
    ap.add_argument("--no-pprof", action="store_true", help="skip go tool pprof (slow at large scales)")
    ap.add_argument("--diff", action="store_true", help="also time diff of a pair against pprof -top -base and parallel gzip -dc")
    ap.add_argument("--no-top", action="store_true", help="skip the single-file rows (top, info)")
    ap.add_argument("--pprof-runs", type=int, default=None,
                    help="runs of go tool pprof (default: --runs; pprof takes minutes at 16x)")
    ap.add_argument("--trend", type=int, nargs="*", default=[],
                    help="time leakscope trend over N ~1 MB snapshots (several N: memory vs N)")
    ap.add_argument("--no-build", action="store_true", help="use the release binaries already built")
    ap.add_argument("--live", type=float, default=None,
                    help="with --diff, also diff a pair in which only this share of sites has live objects "
                         "(synth LIVE; real heap profiles: 0.01-0.12)")
    ap.add_argument("--random", action="store_true",
                    help="with --diff, also diff the random-shape pair (synth --shape random) at every scale")
    a = ap.parse_args()
    pprof_runs = a.pprof_runs or a.runs

    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "leakscope", "--example", "synth"],
                       cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    ls = os.path.join(target, "release", "leakscope")
    synth = os.path.join(target, "release", "examples", "synth")
    go = shutil.which("go") or "/usr/local/go/bin/go"
    os.makedirs(DATA, exist_ok=True)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, "
          f"load average at start {os.getloadavg()[0]:.1f}")
    print(f"runs per command: {a.runs} (go tool pprof: {pprof_runs}), medians of wall time; "
          f"peak RSS is the max over runs\n")
    scaling, live_scaling, random_scaling = [], [], []
    for k in a.scale:
        f = os.path.join(DATA, f"synth-{k}x.pb.gz")
        if not os.path.exists(f):
            subprocess.run([synth, f, str(k)], check=True)
        size = os.path.getsize(f)
        if not a.no_top:
            rows = [
                measure("gzip -dc (floor)", ["gzip", "-dc", f], a.runs),
                measure("leakscope top", [ls, "top", f], a.runs),
                measure("leakscope top --format json --nodecount 0", [ls, "top", "--format", "json", "--nodecount", "0", f], a.runs),
                measure("leakscope info", [ls, "info", f], a.runs),
            ]
            if not a.no_pprof:
                rows.append(measure("go tool pprof -top", [go, "tool", "pprof", "-symbolize=none", "-top", f], pprof_runs, warm=False))
            print_rows(f"{os.path.basename(f)} ({size / 1e6:.1f} MB gzipped)", "gzip -dc", rows, rss_ratio=False)
        if a.diff:
            g = os.path.join(DATA, f"synth-{k}x-later.pb.gz")
            if not os.path.exists(g):
                # same process, another snapshot: same stacks, other values, one site in 64 grown 1.5x
                subprocess.run([synth, g, str(k), "1", "1.5"], check=True)
            diff_table(f"synth-{k}x pair", f, g, ls, go, a, pprof_runs, scaling, k)
            if a.live is not None:
                fl = os.path.join(DATA, f"synth-{k}x-live.pb.gz")
                gl = os.path.join(DATA, f"synth-{k}x-live-later.pb.gz")
                # regenerated every run: the file names do not carry LIVE
                subprocess.run([synth, fl, str(k), "0", "1", str(a.live)], check=True, stderr=subprocess.DEVNULL)
                subprocess.run([synth, gl, str(k), "1", "1.5", str(a.live)], check=True, stderr=subprocess.DEVNULL)
                diff_table(f"synth-{k}x pair, {a.live:.0%} of sites live", fl, gl, ls, go, a, pprof_runs,
                           live_scaling, k)
            if a.random:
                fr = os.path.join(DATA, f"synth-{k}x-random.pb.gz")
                gr = os.path.join(DATA, f"synth-{k}x-random-later.pb.gz")
                if not os.path.exists(fr):
                    subprocess.run([synth, "--shape", "random", fr, str(k)], check=True)
                if not os.path.exists(gr):
                    subprocess.run([synth, "--shape", "random", gr, str(k), "1", "1.5"], check=True)
                diff_table(f"synth-{k}x random-shape pair", fr, gr, ls, go, a, pprof_runs, random_scaling, k)

    # The random shape's table also at one scale: it is the only table of that pair's ratios.
    for title, rows, least in (("", scaling, 2),
                               (f", {a.live:.0%} of sites live" if a.live is not None else "", live_scaling, 2),
                               (", random shape", random_scaling, 1)):
        if len(rows) >= least:
            scaling_table(title, rows)

    trend_rows = []
    for n in a.trend:
        d = os.path.join(DATA, f"trend{n}")
        os.makedirs(d, exist_ok=True)
        for i in range(n):
            out = os.path.join(d, f"heap-{i:04d}.pb.gz")
            if not os.path.exists(out):
                subprocess.run([synth, out, "0.1", str(i), str(1 + i / 1000)], check=True, stderr=subprocess.DEVNULL)
        mb = sum(os.path.getsize(os.path.join(d, x)) for x in os.listdir(d)) / 1e6
        r = measure(f"leakscope trend ({n} snapshots)", [ls, "trend", "--format", "json", d], a.runs)
        trend_rows.append((n, mb, r))
    if trend_rows:
        print("### trend over N ~1 MB snapshots\n")
        print("| snapshots | input MB | leakscope trend --format json | ms per snapshot | peak RSS |")
        print("|---:|---:|---:|---:|---:|")
        for n, mb, r in trend_rows:
            print(f"| {n} | {mb:.0f} | {r['median']:.2f} s | {r['median'] * 1000 / n:.1f} | {r['rss'] / 2**20:.0f} MiB |")
        print()


if __name__ == "__main__":
    start = cpu_times()
    main()
    steal = steal_share(start, cpu_times())
    print(f"load average at end {os.getloadavg()[0]:.1f}"
          + (f"; CPU steal during the run {steal:.1%}" if steal is not None else ""))
