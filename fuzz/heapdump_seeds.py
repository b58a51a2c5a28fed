#!/usr/bin/env python3
"""Writes small, valid Go heap dumps into corpus/heapdump/ as fuzz seeds.

The committed fixtures (testdata/heapdumps) are 0.7-2 MB once gunzipped,
over the heapdump target's 64 KiB cap, so the seeds are built here instead:
a params record, objects that point at each other (interior pointers too),
data and bss segments, goroutines with frames, finalizers, a defer and a
panic, memprof buckets with allocation samples, and the EOF record. Both
pointer sizes and both byte orders.
"""
import os
import struct
import sys


def uv(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def s(b):
    if isinstance(b, str):
        b = b.encode()
    return uv(len(b)) + b


def fields(offs):
    return b"".join(uv(1) + uv(o) for o in offs) + uv(0)


def dump(ps=8, be=False, nobj=8, base=0xC000000000, frames=3, buckets=2):
    fmt = (">" if be else "<") + ("Q" if ps == 8 else "I")
    if ps == 4:
        base = 0x10000000
    word = lambda v: struct.pack(fmt, v)
    out = bytearray(b"go1.7 heap dump\n")
    out += uv(6) + uv(int(be)) + uv(ps) + uv(base) + uv(base + (64 << 20)) + s("amd64") + s("go1.26.6") + uv(2)
    out += uv(3) + uv(0x500000) + uv(16) + s("main.T") + uv(1)
    out += uv(8) + uv(0x600000) + uv(0x500000)
    size = 4 * ps
    addrs = [base + i * size for i in range(nobj)]
    for i, a in enumerate(addrs):
        nxt = addrs[(i + 1) % nobj]
        # word 0: next object; word 1: interior pointer into the one after; word 2: junk.
        body = word(nxt) + word(addrs[(i + 2) % nobj] + ps) + word(0x1234) + word(0)
        out += uv(1) + uv(a) + s(body) + fields([0, ps] if i % 3 else [0])
    # one big object spanning pages
    big = base + (1 << 16)
    out += uv(1) + uv(big) + s(word(addrs[0]) + bytes(9000 - ps)) + fields([0])
    g = 0xC000100000
    out += uv(4) + uv(g) + uv(0x7000) + uv(1) + uv(0x401000) + uv(4) + uv(0) + uv(0) + uv(5) + s("chan receive")
    out += uv(addrs[1]) + uv(0) + uv(0) + uv(0)
    for d in range(frames):
        contents = word(addrs[d % nobj]) + word(big + 16)
        out += uv(5) + uv(0x7000 + d * 64) + uv(d) + uv(0) + s(contents) + uv(0x401000) + uv(0x401010 + d)
        out += uv(0) + s("main.worker" if d else "runtime.gopark") + fields([0, ps])
    out += uv(14) + uv(0x7100) + uv(g) + uv(0x7000) + uv(0x401000) + uv(addrs[3]) + uv(0) + uv(0)
    out += uv(15) + uv(0x7200) + uv(g) + uv(0x500000) + uv(addrs[4]) + uv(0) + uv(0)
    out += uv(9) + uv(0x800000) + uv(1) + uv(99)
    out += uv(12) + uv(0x900000) + s(word(addrs[0]) + word(0)) + fields([0])
    out += uv(13) + uv(0xA00000) + s(word(big) + word(addrs[5])) + fields([0, ps])
    out += uv(7) + uv(addrs[6]) + uv(addrs[7]) + uv(0x402000) + uv(0) + uv(0)
    out += uv(11) + uv(addrs[2]) + uv(0) + uv(0x402000) + uv(0) + uv(0)
    out += uv(10) + b"".join(uv(i * 1000) for i in range(24)) + uv(0) * 256 + uv(7)
    for b in range(buckets):
        stk = [("runtime.mallocgc", "malloc.go", 1), ("main.leak%d" % b, "main.go", 10 + b), ("main.main", "main.go", 5)]
        out += uv(16) + uv(0xB000 + b) + uv(size) + uv(len(stk))
        for f, fl, ln in stk:
            out += s(f) + s(fl) + uv(ln)
        out += uv(10) + uv(2)
    for i, a in enumerate(addrs[: nobj if buckets else 0]):
        out += uv(17) + uv(a) + uv(0xB000 + i % buckets)
    out += uv(17) + uv(big) + uv(0xB000)
    out += uv(0)
    return bytes(out)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "corpus/heapdump"
    os.makedirs(d, exist_ok=True)
    seeds = {
        "seed-le64": dump(),
        "seed-be64": dump(be=True),
        "seed-le32": dump(ps=4),
        "seed-be32-deep": dump(ps=4, be=True, frames=40, nobj=30),
        "seed-many": dump(nobj=200, buckets=6),
        "seed-min": dump(nobj=8, frames=0, buckets=0),
    }
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
