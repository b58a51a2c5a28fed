#!/usr/bin/env python3
"""Same-run comparison of two leakscope binaries (before and after a change).

    python3 benches/ab.py --before OLD/leakscope --after NEW/leakscope [--runs 3]

Runs each case with the two binaries alternately (one warm-up round, then
--runs rounds), so that both see the same machine load, and prints the
median wall time, the median CPU time (user + system, from wait4) and the
peak RSS of each as a Markdown table. On a shared machine the CPU time
varies less than the wall time: other tenants delay a run more than they
slow it.
Cases: the 1x and 4x synthetic diff pairs, the 1x pair with 10% of its
sites live (as real heap profiles, where most sites' objects were freed),
the 1x random-shape pair (issue #22: unstructured stacks, 5% grown)
and trend over 250 snapshots,
from benches/data/ (benches/compare.py writes them; cases whose inputs
are missing are skipped); --only SUBSTRING keeps the cases whose name
contains it.
"""

import argparse
import os
import statistics
import subprocess
import time

from compare import cpu_times, steal_share  # benches/compare.py, beside this script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "benches", "data")


def run(cmd):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}")
    return time.perf_counter() - t, ru.ru_maxrss * 1024, ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="leakscope binary before the change")
    ap.add_argument("--after", required=True, help="leakscope binary after the change")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="", help="run only the cases whose name contains this")
    a = ap.parse_args()
    d = DATA
    cases = [
        ("1x diff --format json", ["diff", "--format", "json", f"{d}/synth-1x.pb.gz", f"{d}/synth-1x-later.pb.gz"]),
        ("4x diff --format json", ["diff", "--format", "json", f"{d}/synth-4x.pb.gz", f"{d}/synth-4x-later.pb.gz"]),
        (
            "1x live-10% diff --format json",
            ["diff", "--format", "json", f"{d}/synth-1x-live.pb.gz", f"{d}/synth-1x-live-later.pb.gz"],
        ),
        (
            "1x random-shape diff --format json",
            ["diff", "--format", "json", f"{d}/synth-1x-random.pb.gz", f"{d}/synth-1x-random-later.pb.gz"],
        ),
        ("trend over 250 snapshots", ["trend", "--format", "json", f"{d}/trend250"]),
    ]
    print("| case | before: wall, CPU, RSS | after: wall, CPU, RSS | after ÷ before: wall, CPU |")
    print("|---|---:|---:|---:|")
    for name, args in cases:
        if a.only not in name or not all(os.path.exists(x) for x in args if x.startswith(d)):
            continue
        res = {"before": [], "after": []}
        for r in range(a.runs + 1):
            for side in ("before", "after"):
                m = run([getattr(a, side)] + args)
                if r > 0:
                    res[side].append(m)
        (tb, rb, cb), (ta, ra, ca) = [
            (
                statistics.median(x[0] for x in res[s]),
                max(x[1] for x in res[s]),
                statistics.median(x[2] for x in res[s]),
            )
            for s in ("before", "after")
        ]
        print(
            f"| {name} | {tb * 1000:,.0f} ms, {cb * 1000:,.0f} ms, {rb / 2**20:.0f} MiB "
            f"| {ta * 1000:,.0f} ms, {ca * 1000:,.0f} ms, {ra / 2**20:.0f} MiB | {ta / tb:.2f}, {ca / cb:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    start = cpu_times()
    main()
    steal = steal_share(start, cpu_times())
    if steal is not None:
        print(f"\nCPU steal during the run: {steal:.1%}")
