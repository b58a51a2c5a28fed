#!/usr/bin/env python3
"""Time `leakscope fleet` against `curl` downloading the same merged profiles
from a real Pyroscope server, and its peak RSS against pods and windows.

Usage: benches/fleet.py [--pods 50] [--windows 12] [--scale 0.075] [--live 0.1]
                        [--jobs 4] [--runs 3] [--port PORT] [--no-build]

1. Builds leakscope and examples/synth in release mode (in $CARGO_TARGET_DIR,
   else target/).
2. Starts ../shared/pyroscope/run.sh on a free port (killed -9 and its data
   directory removed at the end, whatever happens).
3. Pushes PODS x WINDOWS synthetic Go heap profiles (leakscope::synth at
   SCALE: 15,000 samples and about 0.7 MB gzipped at 0.075, under Pyroscope's
   default limit of 16,000 samples per profile; LIVE is the share of sites with live
   objects, real heap profiles have 0.01-0.12) as `bench{pod=pod-NNN}`, one
   per 5-minute window, with time_nanos rewritten to recent times. One pod in
   ten leaks (a site in 64 grows every window); the others' in-use values are
   drawn anew each window (churn). Waits until Pyroscope answers for all of them.
4. Times, RUNS times each (median wall, max peak RSS from wait4):
   - `curl --parallel --parallel-max JOBS`: SelectMergeProfile of every
     (pod, window), protobuf, to /dev/null: the download floor;
   - `leakscope fleet --all --jobs JOBS`: the same requests (plus four
     SelectSeries), each profile decoded and reduced as it arrives;
   - `leakscope fleet` without --all (only growing pods' profiles);
   - peak RSS of `fleet --all` over 10, 25, 50 pods and over 3, 6, 12 windows.
Prints Markdown tables for the README.
"""
import argparse
import gzip
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import json
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEP = 300  # seconds per window
APP = "bench"


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_string(field, s):
    b = s.encode()
    return varint(field << 3 | 2) + varint(len(b)) + b


def pb_int(field, v):
    return varint(field << 3) + varint(v)


def merge_request(selector, start_ms, end_ms):
    """A querier.v1.SelectMergeProfileRequest, as leakscope sends it."""
    return (pb_string(1, "memory:inuse_space:bytes:space:bytes") + pb_string(2, selector)
            + pb_int(3, start_ms) + pb_int(4, end_ms))


def free_port():
    def free(p):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
                return True
            except OSError:
                return False
    for p in range(24000 + os.getpid() % 1000, 40000, 13):
        if free(p) and free(p + 5055) and free(p + 3906):
            return p
    sys.exit("no free port")


GNU_TIME = "/usr/bin/time"


def run(cmd):
    """Runs cmd, stdout to /dev/null; returns (seconds, peak RSS bytes, stderr).

    The peak RSS comes from GNU time's -f %M when it is installed: a child
    forked from Python counts Python's own RSS in its ru_maxrss (Linux keeps
    the pre-exec high-water mark), a floor of about 37 MiB here that would
    hide the RSS of small processes."""
    rss_file = None
    if os.path.exists(GNU_TIME):
        fd, rss_file = tempfile.mkstemp(prefix="rss-")
        os.close(fd)
        cmd = [GNU_TIME, "-f", "%M", "-o", rss_file] + cmd
    with open(os.devnull, "wb") as null:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=null, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(proc.pid, 0)
        dt = time.perf_counter() - t0
        err = proc.stderr.read()
        proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1: a gate; fleet has none here, but a leak is no failure
        sys.exit(f"command failed ({code}): {' '.join(cmd)}\n{err.decode(errors='replace')}")
    rss = ru.ru_maxrss * 1024
    if rss_file:
        with open(rss_file) as f:
            rss = int(f.read().split()[-1]) * 1024
        os.unlink(rss_file)
    return dt, rss, err


def measure(cmd, runs):
    return measure_all([cmd], runs)[0]


def measure_all(cmds, runs):
    """Runs the commands in turn, RUNS rounds (so that a change in the
    machine's load falls on all of them); returns (median wall, max peak RSS)
    of each."""
    times = [[] for _ in cmds]
    rss = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            t, r, _ = run(cmd)
            times[i].append(t)
            rss[i].append(r)
    return [(statistics.median(t), max(r)) for t, r in zip(times, rss)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=50)
    ap.add_argument("--windows", type=int, default=12)
    ap.add_argument("--scale", type=float, default=0.075)
    ap.add_argument("--live", type=float, default=0.1)
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--port", type=int, default=None)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--push-only", action="store_true",
                    help="push, print the server's PID URL DATA_DIR and the range, and leave it running")
    a = ap.parse_args()

    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "leakscope", "--example", "synth"],
                       cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    ls = os.path.join(target, "release", "leakscope")
    synth = os.path.join(target, "release", "examples", "synth")
    curl = shutil.which("curl") or sys.exit("curl not found")
    run_sh = os.path.join(ROOT, "..", "shared", "pyroscope", "run.sh")
    if not os.path.exists(run_sh):
        sys.exit(f"{run_sh} not found")

    work = tempfile.mkdtemp(prefix="leakscope-fleet-bench-")
    port = a.port or free_port()
    out = subprocess.run(["bash", run_sh, str(port)], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"pyroscope did not start: {out.stdout}{out.stderr}")
    pid, url, data = out.stdout.split()
    pid = int(pid)
    if a.push_only:
        to = push_fleet(a, synth, url, work)
        print(pid, url, data, f"--from {to - a.windows * STEP} --to {to} --step {STEP}s")
        shutil.rmtree(work, ignore_errors=True)
        return
    try:
        bench(a, ls, synth, curl, url, work)
    except SystemExit:
        log = os.path.join(data, "server.log")
        if os.path.exists(log):
            errs = [l for l in open(log, errors="replace") if "level=error" in l or "level=warn" in l]
            print("".join(errs[-10:]), file=sys.stderr)
        raise
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        time.sleep(0.5)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def push_fleet(a, synth, url, work):
    """Generates and pushes the profiles, waits until Pyroscope answers for
    all of them, and returns the end of the range (Unix seconds)."""
    time.sleep(5)  # run.sh's README: pushes in the first seconds after /ready can be lost
    P, W = a.pods, a.windows
    to = int(time.time()) - 30
    end_ms = [(to - (W - 1 - i) * STEP) * 1000 for i in range(W)]
    pods = [f"pod-{p:03d}" for p in range(P)]
    leaking = {p for i, p in enumerate(pods) if i % 10 == 3}

    # Profiles: the same binary everywhere (same seed, so the same stacks);
    # leaking pods grow one site in 64 a little more every window.
    t0 = time.perf_counter()
    files = {}
    gen = []
    for p_i, p in enumerate(pods):
        for w in range(W):
            # One process per pod: the variant (the snapshot) rises with the
            # window, so alloc_space only grows and the in-use values are
            # drawn anew (churn); a leaker's growing sites also grow.
            variant = p_i * 1000 + w
            growth = 1 + 1.0 * w if p in leaking else 1.0
            f = os.path.join(work, f"{p}-{w:02d}.pb.gz")
            files[(p, w)] = f
            gen.append([synth, f, str(a.scale), str(variant), str(growth), str(a.live)])
    with ThreadPoolExecutor(os.cpu_count() or 2) as ex:
        list(ex.map(lambda c: subprocess.run(c, check=True, stderr=subprocess.DEVNULL), gen))
    sizes = [os.path.getsize(f) for f in files.values()]
    print(f"generated {len(files)} profiles in {time.perf_counter() - t0:.0f} s, "
          f"{statistics.mean(sizes) / 1e6:.2f} MB gzipped on average", file=sys.stderr)

    def push(item):
        (p, w), f = item
        raw = gzip.decompress(open(f, "rb").read())
        raw += varint(9 << 3) + varint((end_ms[w] - STEP * 500) * 1_000_000)
        body = gzip.compress(raw, 1)
        name = urllib.parse.quote(f"{APP}{{pod={p}}}")
        req = urllib.request.Request(f"{url}/ingest?name={name}&format=pprof", data=body, method="POST")
        for attempt in range(600):
            try:
                with urllib.request.urlopen(req, timeout=120) as r:
                    assert r.status == 200
                return
            except urllib.error.HTTPError as e:
                msg = e.read()[:300].decode(errors='replace')
                # Pyroscope's default ingestion limit is 4 MiB/s per tenant: wait and push again.
                if "rate limit" not in msg:
                    sys.exit(f"push {f}: {e.code} {msg}")
                time.sleep(0.5)
        sys.exit(f"push {f}: still rate-limited after 5 minutes")
    t0 = time.perf_counter()
    with ThreadPoolExecutor(4) as ex:
        list(ex.map(push, files.items()))
    print(f"pushed in {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    # Wait until every (pod, window) answers.
    body = json.dumps({"profileTypeID": "memory:inuse_space:bytes:space:bytes",
                       "labelSelector": f'{{service_name="{APP}"}}', "start": end_ms[0] - STEP * 1000,
                       "end": end_ms[-1], "step": STEP, "groupBy": ["pod"]}).encode()
    deadline = time.time() + 300
    while True:
        req = urllib.request.Request(f"{url}/querier.v1.QuerierService/SelectSeries", data=body,
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=60) as r:
            got = json.load(r)
        points = sum(len(s.get("points", [])) for s in got.get("series", []))
        if points >= P * W:
            break
        if time.time() > deadline:
            sys.exit(f"only {points} of {P * W} points after 300 s")
        time.sleep(3)
    time.sleep(8)
    return to


def bench(a, ls, synth, curl, url, work):
    to = push_fleet(a, synth, url, work)
    P, W = a.pods, a.windows
    end_ms = [(to - (W - 1 - i) * STEP) * 1000 for i in range(W)]
    pods = [f"pod-{p:03d}" for p in range(P)]
    leaking = {p for i, p in enumerate(pods) if i % 10 == 3}
    sizes = [os.path.getsize(os.path.join(work, f)) for f in os.listdir(work) if f.endswith(".pb.gz")]

    q = f'{{service_name="{APP}"}}'

    def fleet(query, extra, windows=W):
        r = ["--from", str(to - windows * STEP), "--to", str(to), "--step", f"{STEP}s"]
        return [ls, "fleet", "--pyroscope", url, "--query", query, "--by", "pod", "--format", "json", "--quiet",
                "--jobs", str(a.jobs)] + r + extra

    # curl: the same merged profiles, in parallel.
    cfg = os.path.join(work, "curl.cfg")
    entries = []
    for i, p in enumerate(pods):
        sel = f'{{service_name="{APP}", pod="{p}"}}'
        for w in range(W):
            bf = os.path.join(work, f"req-{i:03d}-{w:02d}.bin")
            with open(bf, "wb") as b:
                b.write(merge_request(sel, end_ms[w] - STEP * 1000 + 1, end_ms[w]))
            # Options in a config file hold for one transfer each (until `next`).
            entries.append(f'url = "{url}/querier.v1.QuerierService/SelectMergeProfile"\n'
                           f'header = "Content-Type: application/proto"\n'
                           f'data-binary = "@{bf}"\noutput = "/dev/null"\nfail\nretry = 3\nretry-all-errors\n')
    with open(cfg, "w") as c:
        c.write("next\n".join(entries))
    # Each transfer retries as leakscope does (Pyroscope answers a 500 now and
    # then under concurrent queries).
    curl_cmd = [curl, "-s", "-S", "--no-progress-meter", "--parallel", "--parallel-max", str(a.jobs), "-K", cfg]
    # Each request once first, to check it works and to warm the server's caches alike.
    def check(bf):
        req = urllib.request.Request(f"{url}/querier.v1.QuerierService/SelectMergeProfile", data=open(bf, "rb").read(),
                                     headers={"Content-Type": "application/proto"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return len(r.read())
        except urllib.error.HTTPError as e:
            sys.exit(f"SelectMergeProfile {bf}: {e.code} {e.read()[:300].decode(errors='replace')}")
    sizes_dl = [check(os.path.join(work, f"req-{i:03d}-{w:02d}.bin")) for i in range(P) for w in range(W)]
    print(f"merged profiles: {statistics.mean(sizes_dl) / 1e6:.2f} MB on average (protobuf, uncompressed)",
          file=sys.stderr)
    run(curl_cmd)
    _, _, err = run(fleet(q, ["--all"]))
    (t_curl, rss_curl), (t_all, rss_all), (t_grow, rss_grow) = measure_all(
        [curl_cmd, fleet(q, ["--all"]), fleet(q, [])], a.runs)
    n = P * W
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"{P} pods x {W} windows of {STEP // 60} min, synth scale {a.scale} (live {a.live}), "
          f"{statistics.mean(sizes) / 1e6:.2f} MB per pushed profile; --jobs {a.jobs}; median of {a.runs} runs, "
          f"taken in turns\n")
    print("| command | requests | median wall | × curl | peak RSS |")
    print("|---|---:|---:|---:|---:|")
    print(f"| `curl --parallel --parallel-max {a.jobs}` (SelectMergeProfile, protobuf, to /dev/null) | {n} "
          f"| {t_curl:.2f} s | 1.00 | {rss_curl / 2**20:.0f} MiB |")
    print(f"| `leakscope fleet --all --jobs {a.jobs}` | {n} + 4 | {t_all:.2f} s | {t_all / t_curl:.2f} "
          f"| {rss_all / 2**20:.0f} MiB |")
    grow = len(leaking) * W
    print(f"| `leakscope fleet --jobs {a.jobs}` (growing pods only) | {grow} + 4 | {t_grow:.2f} s "
          f"| {t_grow / t_curl:.2f} | {rss_grow / 2**20:.0f} MiB |")
    print()

    # Peak RSS against pods and windows.
    print("| pods | windows | profiles reduced | `fleet --all` median wall | peak RSS |")
    print("|---:|---:|---:|---:|---:|")
    subsets = sorted({k for k in (P // 5, P // 2, P) if k > 0})
    for k in subsets:
        sel = f'{{service_name="{APP}", pod=~"{"|".join(pods[:k])}"}}'
        t, r = measure(fleet(sel, ["--all"]), a.runs)
        print(f"| {k} | {W} | {k * W} | {t:.2f} s | {r / 2**20:.0f} MiB |")
    for w in sorted({x for x in (W // 4, W // 2) if x >= 2}):
        t, r = measure(fleet(q, ["--all"], windows=w), a.runs)
        print(f"| {P} | {w} | {P * w} | {t:.2f} s | {r / 2**20:.0f} MiB |")
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
