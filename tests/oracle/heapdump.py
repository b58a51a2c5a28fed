#!/usr/bin/env python3
"""Reference reader ("oracle") for Go heap dumps (runtime/debug.WriteHeapDump).

    python3 tests/oracle/heapdump.py DUMP[.gz] [--top N]
    python3 tests/oracle/heapdump.py --selftest [SMALL_DUMP...]

Prints ONE JSON object on stdout. Exit status 2 (message on stderr) for a
dump it cannot read: wrong header, truncated record, unknown tag or
fieldlist kind, missing EOF tag, bytes after EOF.

This is a deliberately plain, independent reading of the format (see
/work/shared/research/heapdump.md and go1.26 src/runtime/heapdump.go);
clarity over speed. Stdlib only. The Rust implementation must produce the
same numbers; the semantics are:

Format: header "go1.7 heap dump\\n", then records "uvarint tag, fields";
uvarint = encoding/binary uvarint, bool = uvarint 0/1, string = uvarint
length + bytes, fieldlist = (kind uvarint, offset uvarint)* then uvarint 0.
Only kind 1 (pointer) is accepted.

Graph nodes: a super-root, root nodes and every object record.
  * object -> object: for each fieldlist offset o of the object, the
    pointer word at contents[o:o+ptr_size] (params endianness); if it lies
    in [addr, addr+len(contents)) of an object (interior pointers count)
    that is an edge. Self-edges dropped, duplicates collapsed. Offsets whose
    word does not fit in the contents are skipped (counted in anomalies).
  * super-root -> every root node except frame nodes; a frame node's only
    parent is its goroutine node. Root nodes and their keys:
      "data+0x{off:x}" / "bss+0x{off:x}"  one per pointer word of the
                                        data/bss fieldlist (off = offset)
      "goroutine {goid}"                 -> objects containing g addr and
                                        sched.ctxt, and its frame nodes
      "goroutine {goid} frame {depth}"   -> objects from the frame's
                                        fieldlist words (frames belong to
                                        the preceding goroutine record)
      "finalizer 0x{obj:x}"              -> objects containing obj and fn
      "queued finalizer 0x{obj:x}"       -> same, for tag 11
      "defer 0x{addr:x}"                 -> objects containing addr and fn
      "panic 0x{addr:x}"                 -> objects containing addr and
                                        the arg eface data word
    A root node with no resolved target and no kept child is dropped. Keys
    are unique: a repeated key gets " #2", " #3"... among kept nodes in
    stream order.
  * Dominators: Cooper-Harvey-Kennedy over an iteratively computed reverse
    postorder from the super-root. retained(node) = sum of shallow sizes of
    the nodes it dominates, itself included (object shallow = len(contents),
    synthetic nodes 0).
  * Allocation sites: memprof buckets + allocsample records. A sample
    address resolves with the same interior rule (samples of objects with a
    malloc header are addr+8). An object belongs to the bucket of its FIRST
    sample in stream order; later samples of the same object are ignored.
    Per bucket with >= 1 reachable object: objects, shallow (their sizes),
    retained = sum of retained of the bucket's reachable objects that have
    no proper dominator-tree ancestor in the same bucket (nested buckets
    count the same bytes, so these sum past the heap), and attributed =
    the sizes of the reachable objects whose nearest dominator-tree
    ancestor-or-self with a bucket is one of the bucket's objects (each
    reachable byte in exactly one bucket, or in "unattributed" when no
    such ancestor exists).

Output schema (all sizes in bytes, addresses as lowercase "0x..." strings):
{
  "file": str, "header": "go1.7 heap dump\\n",
  "params": {"ptr_size", "big_endian", "goarch", "build_version", "ncpu",
             "arena_start", "arena_end"},
  "records": {tag name: count, for all 18 names},
  "objects": {"count", "bytes"},
  "edges": int,
  "segments": {"data": {"addr", "size"} | null, "bss": {...} | null},
  "memstats": {24 MemStats fields Alloc..PauseTotalNs, "NumGC"},
  "goroutines": int, "frames": int,
  "reachable": {"objects", "bytes"}, "unreachable": {"objects", "bytes"},
  "roots": [{"key", "kind", "funcname", "retained"}]   kind in data, bss,
            goroutine, frame, finalizer, queued_finalizer, defer, panic;
            funcname set for frames only; retained desc, then key
  "top_objects": [{"addr", "size", "retained"}]        reachable objects,
            retained desc, then addr; at most --top
  "sites": [{"bucket", "stack", "pprof_stack", "objects", "shallow",
             "retained", "attributed"}]
            stack = function names innermost first; pprof_stack = the
            frames Go's own heap profiles show for it (runtime/pprof's
            writeHeapProto: leading frames whose function starts with
            "runtime." or "internal/runtime/" dropped, unless all do);
            retained desc, then bucket address
  "unattributed": int   reachable bytes with no bucket on their
            dominator-tree path: sum(attributed) + unattributed = reachable
  "samples": {"records", "resolved", "interior", "unresolved",
              "duplicate_objects"}
  "anomalies": {"field_out_of_range": int}
}
"""

import bisect
import gzip
import json
import random
import struct
import sys
import time
import zlib

HEADER = b"go1.7 heap dump\n"

TAG_NAMES = [
    "eof", "object", "otherroot", "type", "goroutine", "frame", "params",
    "finalizer", "itab", "osthread", "memstats", "queuedfinalizer", "data",
    "bss", "defer", "panic", "memprof", "allocsample",
]

MEMSTATS_FIELDS = [
    "Alloc", "TotalAlloc", "Sys", "Lookups", "Mallocs", "Frees", "HeapAlloc",
    "HeapSys", "HeapIdle", "HeapInuse", "HeapReleased", "HeapObjects",
    "StackInuse", "StackSys", "MSpanInuse", "MSpanSys", "MCacheInuse",
    "MCacheSys", "BuckHashSys", "GCSys", "OtherSys", "NextGC", "LastGC",
    "PauseTotalNs",
]


class DumpError(Exception):
    pass


# --------------------------------------------------------------------------
# Reading records


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def uvarint(self):
        data, pos = self.data, self.pos
        result = 0
        shift = 0
        while True:
            if pos >= len(data):
                raise DumpError("truncated uvarint at offset %d" % self.pos)
            b = data[pos]
            pos += 1
            if shift == 63 and b > 1:
                raise DumpError("uvarint overflow at offset %d" % self.pos)
            result |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
            if shift > 63:
                raise DumpError("uvarint too long at offset %d" % self.pos)
        self.pos = pos
        return result

    def bool(self):
        v = self.uvarint()
        if v > 1:
            raise DumpError("bad bool %d at offset %d" % (v, self.pos))
        return v == 1

    def bytes(self):
        n = self.uvarint()
        end = self.pos + n
        if end > len(self.data):
            raise DumpError("truncated string of length %d at offset %d" % (n, self.pos))
        s = self.data[self.pos:end]
        self.pos = end
        return s

    def string(self):
        return self.bytes().decode("utf-8", "replace")

    def fieldlist(self):
        offsets = []
        while True:
            kind = self.uvarint()
            if kind == 0:
                return offsets
            if kind != 1:
                raise DumpError("unsupported fieldlist kind %d at offset %d" % (kind, self.pos))
            offsets.append(self.uvarint())


def parse(data):
    """Returns a dict of record lists, in stream order."""
    if data[:len(HEADER)] != HEADER:
        raise DumpError("bad header %r (want %r)" % (bytes(data[:len(HEADER)]), HEADER))
    r = Reader(data)
    r.pos = len(HEADER)
    d = {
        "counts": {name: 0 for name in TAG_NAMES},
        "params": None,
        "objects": [],      # (addr, contents, offsets)
        "goroutines": [],   # dict; "frames": list of frame dicts
        "frames": 0,
        "roots_stream": [], # ("goroutine", g) / ("defer", ...) ... in order
        "data": None, "bss": None,
        "memstats": None,
        "memprof": [],      # (bucket, size, stack[(func, file, line)], allocs, frees)
        "allocsamples": [], # (addr, bucket)
    }
    counts = d["counts"]
    current_g = None
    while True:
        if r.pos >= len(data):
            raise DumpError("missing EOF record (file ends at offset %d)" % r.pos)
        tag = r.uvarint()
        if tag >= len(TAG_NAMES):
            raise DumpError("unknown record tag %d at offset %d" % (tag, r.pos))
        counts[TAG_NAMES[tag]] += 1
        if tag == 0:
            if r.pos != len(data):
                raise DumpError("%d bytes after EOF record" % (len(data) - r.pos))
            break
        elif tag == 1:
            addr = r.uvarint()
            contents = r.bytes()
            offsets = r.fieldlist()
            d["objects"].append((addr, contents, offsets))
        elif tag == 2:
            r.string()
            r.uvarint()
        elif tag == 3:
            r.uvarint(); r.uvarint(); r.string(); r.bool()
        elif tag == 4:
            g = {
                "addr": r.uvarint(), "sp": r.uvarint(), "goid": r.uvarint(),
                "gopc": r.uvarint(), "status": r.uvarint(),
                "is_system": r.bool(), "is_background": r.bool(),
                "waitsince": r.uvarint(), "waitreason": r.string(),
                "ctxt": r.uvarint(), "m": r.uvarint(), "defer": r.uvarint(),
                "panic": r.uvarint(), "frames": [],
            }
            d["goroutines"].append(g)
            d["roots_stream"].append(("goroutine", g))
            current_g = g
        elif tag == 5:
            f = {
                "sp": r.uvarint(), "depth": r.uvarint(), "childsp": r.uvarint(),
                "contents": r.bytes(), "entry": r.uvarint(), "pc": r.uvarint(),
                "continpc": r.uvarint(), "funcname": r.string(),
                "offsets": r.fieldlist(),
            }
            if current_g is None:
                raise DumpError("stack frame record before any goroutine record")
            current_g["frames"].append(f)
            d["frames"] += 1
        elif tag == 6:
            p = {
                "big_endian": r.bool(), "ptr_size": r.uvarint(),
                "arena_start": r.uvarint(), "arena_end": r.uvarint(),
                "goarch": r.string(), "build_version": r.string(),
                "ncpu": r.uvarint(),
            }
            if p["ptr_size"] not in (4, 8):
                raise DumpError("unsupported pointer size %d" % p["ptr_size"])
            d["params"] = p
        elif tag == 7 or tag == 11:
            obj, fn = r.uvarint(), r.uvarint()
            r.uvarint(); r.uvarint(); r.uvarint()  # fn code, fint, ot
            kind = "finalizer" if tag == 7 else "queued_finalizer"
            d["roots_stream"].append((kind, (obj, fn)))
        elif tag == 8:
            r.uvarint(); r.uvarint()
        elif tag == 9:
            r.uvarint(); r.uvarint(); r.uvarint()
        elif tag == 10:
            ms = {name: r.uvarint() for name in MEMSTATS_FIELDS}
            for _ in range(256):
                r.uvarint()
            ms["NumGC"] = r.uvarint()
            d["memstats"] = ms
        elif tag == 12 or tag == 13:
            addr = r.uvarint()
            contents = r.bytes()
            offsets = r.fieldlist()
            kind = "data" if tag == 12 else "bss"
            d[kind] = (addr, contents, offsets)
            d["roots_stream"].append((kind, (addr, contents, offsets)))
        elif tag == 14:
            addr, _g, _sp, _pc, fn, _code, _link = [r.uvarint() for _ in range(7)]
            d["roots_stream"].append(("defer", (addr, fn)))
        elif tag == 15:
            addr, _g, _typ, data_word, _zero, _link = [r.uvarint() for _ in range(6)]
            d["roots_stream"].append(("panic", (addr, data_word)))
        elif tag == 16:
            bucket, size, nstk = r.uvarint(), r.uvarint(), r.uvarint()
            stack = []
            for _ in range(nstk):
                stack.append((r.string(), r.string(), r.uvarint()))
            allocs, frees = r.uvarint(), r.uvarint()
            d["memprof"].append((bucket, size, stack, allocs, frees))
        elif tag == 17:
            d["allocsamples"].append((r.uvarint(), r.uvarint()))
    if d["params"] is None:
        raise DumpError("no params record")
    return d


# --------------------------------------------------------------------------
# Dominators (Cooper, Harvey, Kennedy: "A Simple, Fast Dominance Algorithm")


def reverse_postorder(succ, start):
    """Iterative DFS; returns the reachable nodes in reverse postorder."""
    visited = [False] * len(succ)
    post = []
    visited[start] = True
    stack = [(start, 0)]
    while stack:
        v, i = stack[-1]
        children = succ[v]
        if i < len(children):
            stack[-1] = (v, i + 1)
            w = children[i]
            if not visited[w]:
                visited[w] = True
                stack.append((w, 0))
        else:
            stack.pop()
            post.append(v)
    post.reverse()
    return post


def dominators(succ, start):
    """Returns (idom, rpo). idom[v] is None for unreachable v; idom[start] = start."""
    n = len(succ)
    rpo = reverse_postorder(succ, start)
    order = [-1] * n  # position in rpo
    for i, v in enumerate(rpo):
        order[v] = i
    preds = [[] for _ in range(n)]
    for v in rpo:
        for w in succ[v]:
            preds[w].append(v)
    idom = [None] * n
    idom[start] = start

    def intersect(a, b):
        # Walk up with rpo positions (smaller position = closer to start).
        while a != b:
            while order[a] > order[b]:
                a = idom[a]
            while order[b] > order[a]:
                b = idom[b]
        return a

    changed = True
    while changed:
        changed = False
        for v in rpo[1:]:
            new = None
            for p in preds[v]:
                if idom[p] is None:
                    continue
                new = p if new is None else intersect(p, new)
            if idom[v] != new:
                idom[v] = new
                changed = True
    return idom, rpo


def retained_sizes(idom, rpo, shallow):
    retained = [0] * len(idom)
    for v in rpo:
        retained[v] = shallow[v]
    for v in reversed(rpo[1:]):  # a dominator precedes its nodes in rpo
        retained[idom[v]] += retained[v]
    return retained


def group_retained(idom, rpo, retained, group):
    """group[v] = group id or None. Sum of retained of members with no proper
    dominator-tree ancestor in the same group, per group."""
    children = {}
    for v in rpo[1:]:
        children.setdefault(idom[v], []).append(v)
    active = {}  # group -> number of ancestors on the current path
    out = {}
    start = rpo[0]
    stack = [(start, False)]
    while stack:
        v, leaving = stack.pop()
        gid = group[v]
        if leaving:
            if gid is not None:
                active[gid] -= 1
            continue
        if gid is not None:
            if active.get(gid, 0) == 0:
                out[gid] = out.get(gid, 0) + retained[v]
            active[gid] = active.get(gid, 0) + 1
        stack.append((v, True))
        for c in children.get(v, ()):
            stack.append((c, False))
    return out


def pprof_stack(stack):
    """The frames runtime/pprof writes for an allocation stack (innermost
    first): it hides the leading runtime frames (mallocgc, newobject,
    makeslice, map internals...) so that the leaf is the allocating
    function, and keeps a stack that is all runtime as it is."""
    def runtime(fn):
        return fn.startswith("runtime.") or fn.startswith("internal/runtime/")
    i = 0
    while i < len(stack) and runtime(stack[i]):
        i += 1
    return list(stack) if i == len(stack) else list(stack[i:])


def attributed(idom, rpo, shallow, group):
    """Per group, the shallow sizes of the reachable nodes whose nearest
    dominator-tree ancestor-or-self with a group is in it; key None for
    nodes with none. rpo lists every dominator before the nodes it
    dominates, so one pass in that order sees each node's idom first."""
    owner = {}
    out = {}
    for v in rpo:
        g = group[v]
        if g is None and v != rpo[0]:
            g = owner[idom[v]]
        owner[v] = g
        out[g] = out.get(g, 0) + shallow[v]
    return out


# --------------------------------------------------------------------------
# Building the graph and the report


def analyze(d, name, top, internals=None):
    """The report dict. If internals is a dict, the graph is stored in it
    (succ, start, shallow, group) for the self test."""
    p = d["params"]
    ps = p["ptr_size"]
    fmt = (">" if p["big_endian"] else "<") + ("Q" if ps == 8 else "I")
    unpack = struct.Struct(fmt).unpack_from

    objs = sorted(d["objects"], key=lambda o: o[0])
    starts = [o[0] for o in objs]
    sizes = [len(o[1]) for o in objs]
    nobj = len(objs)
    anomalies = {"field_out_of_range": 0}

    def resolve(v):
        i = bisect.bisect_right(starts, v) - 1
        if i >= 0 and v < starts[i] + sizes[i]:
            return i
        return None

    def words(contents, offsets):
        for o in offsets:
            if o + ps > len(contents):
                anomalies["field_out_of_range"] += 1
                continue
            yield unpack(contents, o)[0]

    # Nodes 0..nobj-1 are objects (sorted by address), then the super-root,
    # then the kept root nodes.
    succ = []
    nedges = 0
    for i, (addr, contents, offsets) in enumerate(objs):
        targets = set()
        for v in words(contents, offsets):
            t = resolve(v)
            if t is not None and t != i:
                targets.add(t)
        succ.append(sorted(targets))
        nedges += len(targets)

    def resolve_all(values):
        out = set()
        for v in values:
            t = resolve(v)
            if t is not None:
                out.add(t)
        return out

    # Root nodes in stream order: (key, kind, funcname, object targets, child roots)
    roots = []

    def add_root(key, kind, funcname, targets, children=()):
        if not targets and not children:
            return None
        roots.append({"key": key, "kind": kind, "funcname": funcname,
                      "targets": sorted(targets), "children": list(children)})
        return len(roots) - 1

    for kind, rec in d["roots_stream"]:
        if kind == "goroutine":
            g = rec
            gtargets = resolve_all([g["addr"], g["ctxt"]])
            frames = []
            for f in g["frames"]:
                targets = resolve_all(words(f["contents"], f["offsets"]))
                if targets:
                    frames.append(("goroutine %d frame %d" % (g["goid"], f["depth"]), f["funcname"], targets))
            if not gtargets and not frames:
                continue
            # The goroutine node precedes its frames in stream order.
            gid = add_root("goroutine %d" % g["goid"], "goroutine", None, gtargets, [None])
            roots[gid]["children"] = [add_root(key, "frame", fn, targets) for key, fn, targets in frames]
        elif kind in ("data", "bss"):
            _addr, contents, offsets = rec
            for o in offsets:
                if o + ps > len(contents):
                    anomalies["field_out_of_range"] += 1
                    continue
                t = resolve(unpack(contents, o)[0])
                if t is not None:
                    add_root("%s+0x%x" % (kind, o), kind, None, {t})
        elif kind == "finalizer":
            obj, fn = rec
            add_root("finalizer 0x%x" % obj, kind, None, resolve_all([obj, fn]))
        elif kind == "queued_finalizer":
            obj, fn = rec
            add_root("queued finalizer 0x%x" % obj, kind, None, resolve_all([obj, fn]))
        elif kind == "defer":
            addr, fn = rec
            add_root("defer 0x%x" % addr, kind, None, resolve_all([addr, fn]))
        elif kind == "panic":
            addr, data_word = rec
            add_root("panic 0x%x" % addr, kind, None, resolve_all([addr, data_word]))

    # Unique keys among kept nodes, stream order.
    seen = {}
    for rt in roots:
        k = rt["key"]
        seen[k] = seen.get(k, 0) + 1
        if seen[k] > 1:
            rt["key"] = "%s #%d" % (k, seen[k])

    sroot = nobj
    first_root = nobj + 1
    # The super-root points to every root node except frame nodes, which
    # hang below their goroutine node (so a goroutine retains its frames).
    succ.append([first_root + i for i, rt in enumerate(roots) if rt["kind"] != "frame"])
    for rt in roots:
        succ.append(rt["targets"] + [first_root + c for c in rt["children"]])
    shallow = sizes + [0] * (1 + len(roots))

    idom, rpo = dominators(succ, sroot)
    retained = retained_sizes(idom, rpo, shallow)

    reach_objs = [i for i in range(nobj) if idom[i] is not None]
    reach_bytes = sum(sizes[i] for i in reach_objs)
    total_bytes = sum(sizes)

    root_out = []
    for i, rt in enumerate(roots):
        root_out.append({"key": rt["key"], "kind": rt["kind"], "funcname": rt["funcname"],
                         "retained": retained[first_root + i]})
    root_out.sort(key=lambda x: (-x["retained"], x["key"]))

    top_objs = sorted(reach_objs, key=lambda i: (-retained[i], starts[i]))[:top]
    top_out = [{"addr": "0x%x" % starts[i], "size": sizes[i], "retained": retained[i]}
               for i in top_objs]

    # Allocation sites.
    buckets = {}
    for bucket, size, stack, allocs, frees in d["memprof"]:
        buckets[bucket] = [fn for fn, _file, _line in stack]
    group = [None] * len(succ)
    samples = {"records": len(d["allocsamples"]), "resolved": 0, "interior": 0,
               "unresolved": 0, "duplicate_objects": 0}
    for addr, bucket in d["allocsamples"]:
        t = resolve(addr)
        if t is None:
            samples["unresolved"] += 1
            continue
        samples["resolved"] += 1
        if addr != starts[t]:
            samples["interior"] += 1
        if group[t] is not None:
            samples["duplicate_objects"] += 1
            continue
        group[t] = bucket
    site_objs = {}
    site_shallow = {}
    for i in reach_objs:
        b = group[i]
        if b is not None:
            site_objs[b] = site_objs.get(b, 0) + 1
            site_shallow[b] = site_shallow.get(b, 0) + sizes[i]
    gret = group_retained(idom, rpo, retained, group)
    attr = attributed(idom, rpo, shallow, group)
    if internals is not None:
        internals.update(succ=succ, start=sroot, shallow=shallow, group=group)
    sites = []
    for b in site_objs:
        sites.append({"bucket": "0x%x" % b, "stack": buckets.get(b, []),
                      "pprof_stack": pprof_stack(buckets.get(b, [])),
                      "objects": site_objs[b], "shallow": site_shallow[b],
                      "retained": gret.get(b, 0), "attributed": attr.get(b, 0), "_b": b})
    sites.sort(key=lambda s: (-s["retained"], s["_b"]))
    for s in sites:
        del s["_b"]

    def seg(x):
        if x is None:
            return None
        return {"addr": "0x%x" % x[0], "size": len(x[1])}

    return {
        "file": name,
        "header": HEADER.decode(),
        "params": {"ptr_size": ps, "big_endian": p["big_endian"], "goarch": p["goarch"],
                   "build_version": p["build_version"], "ncpu": p["ncpu"],
                   "arena_start": "0x%x" % p["arena_start"], "arena_end": "0x%x" % p["arena_end"]},
        "records": d["counts"],
        "objects": {"count": nobj, "bytes": total_bytes},
        "edges": nedges,
        "segments": {"data": seg(d["data"]), "bss": seg(d["bss"])},
        "memstats": d["memstats"],
        "goroutines": len(d["goroutines"]),
        "frames": d["frames"],
        "reachable": {"objects": len(reach_objs), "bytes": reach_bytes},
        "unreachable": {"objects": nobj - len(reach_objs), "bytes": total_bytes - reach_bytes},
        "roots": root_out,
        "top_objects": top_out,
        "sites": sites,
        "unattributed": attr.get(None, 0),
        "samples": samples,
        "anomalies": anomalies,
    }


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data


# --------------------------------------------------------------------------
# Self test: a hand-built dump, and random graphs checked by brute force.


class Writer:
    def __init__(self):
        self.buf = bytearray(HEADER)

    def u(self, v):
        while v >= 0x80:
            self.buf.append((v & 0x7F) | 0x80)
            v >>= 7
        self.buf.append(v)
        return self

    def s(self, b):
        if isinstance(b, str):
            b = b.encode()
        self.u(len(b))
        self.buf += b
        return self

    def fields(self, offsets):
        for o in offsets:
            self.u(1).u(o)
        return self.u(0)


def words_bytes(values):
    return b"".join(struct.pack("<Q", v) for v in values)


def brute_dominated(succ, start, d):
    """Nodes reachable from start, minus those still reachable when d is removed."""
    def reach(skip):
        seen = {start} if start != skip else set()
        stack = list(seen)
        while stack:
            v = stack.pop()
            for w in succ[v]:
                if w != skip and w not in seen:
                    seen.add(w)
                    stack.append(w)
        return seen
    full = reach(None)
    if d not in full:
        return set()
    if d == start:
        return full
    return full - reach(d)


def check_graph(succ, start, shallow, group=None):
    idom, rpo = dominators(succ, start)
    retained = retained_sizes(idom, rpo, shallow)
    reach = set(rpo)
    dom_sets = {d: brute_dominated(succ, start, d) for d in range(len(succ))}
    for v in range(len(succ)):
        if v not in reach:
            assert idom[v] is None, (v, idom[v])
            continue
        # Dominators of v by brute force, and idom = the one dominated by all others.
        doms = {d for d in range(len(succ)) if v in dom_sets[d]}
        assert v in doms and start in doms
        strict = doms - {v}
        if v == start:
            assert idom[v] == start
        else:
            want = [d for d in strict if all(d in dom_sets[x] for x in strict)]
            assert len(want) == 1 and idom[v] == want[0], (v, idom[v], want)
        assert retained[v] == sum(shallow[x] for x in dom_sets[v]), v
    if group is not None:
        got = group_retained(idom, rpo, retained, group)
        want = {}
        for v in rpo:
            gid = group[v]
            if gid is None:
                continue
            shadowed, a = False, v
            while a != start:
                a = idom[a]
                if group[a] == gid:
                    shadowed = True
                    break
            if not shadowed:
                want[gid] = want.get(gid, 0) + retained[v]
        assert got == want, (got, want)
        # attributed: each reachable node's size to the group of the first
        # grouped node on its idom chain (itself first), found by walking it.
        got = attributed(idom, rpo, shallow, group)
        want = {}
        for v in rpo:
            a = v
            while group[a] is None and a != start:
                a = idom[a]
            want[group[a]] = want.get(group[a], 0) + shallow[v]
        assert got == want, (got, want)
        assert sum(got.values()) == sum(shallow[v] for v in rpo)


def selftest(paths=()):
    # 1. Random graphs, including cycles and unreachable parts.
    rng = random.Random(1)
    for trial in range(300):
        n = rng.randint(1, 14)
        succ = []
        for v in range(n):
            k = rng.randint(0, 3)
            succ.append(sorted({rng.randrange(n) for _ in range(k)} - {v}))
        shallow = [rng.randint(0, 100) for _ in range(n)]
        group = [rng.choice([None, 1, 2]) for _ in range(n)]
        check_graph(succ, 0, shallow, group)
    # A long chain: the DFS and the retained pass must not recurse.
    n = 200000
    succ = [[v + 1] for v in range(n - 1)] + [[]]
    idom, rpo = dominators(succ, 0)
    assert retained_sizes(idom, rpo, [1] * n)[0] == n

    # 2. A hand-built dump through the parser and analyze().
    base = 0xc000000000
    A, B, C, D, E, F = (base + 0x100 * i for i in range(6))
    w = Writer()
    w.u(6).u(0).u(8).u(base).u(base + (64 << 20)).s("amd64").s("go1.26.0").u(2)
    # A -> B, A -> C (+ interior pointer into C, duplicate), B -> D, C -> D
    w.u(1).u(A).s(words_bytes([B, C + 8, C, 0])).fields([0, 8, 16])
    w.u(1).u(B).s(words_bytes([D, B])).fields([0, 8])   # B -> self dropped
    w.u(1).u(C).s(words_bytes([D + 16, 0, 0])).fields([0])
    w.u(1).u(D).s(words_bytes([0, 0, 0, 0])).fields([])
    w.u(1).u(E).s(words_bytes([F, 0])).fields([0])        # E held by frame
    w.u(1).u(F).s(words_bytes([0, 0])).fields([])
    gaddr = base + 0x1000
    w.u(1).u(gaddr).s(bytes(64)).fields([])                # the g struct
    junk = base + 0x2000
    w.u(1).u(junk).s(words_bytes([A])).fields([0])         # unreachable
    # goroutine 7 with one frame pointing at E; ctxt 0.
    w.u(4).u(gaddr).u(0x7000).u(7).u(0).u(4).u(0).u(0).u(0).s("chan receive").u(0).u(0).u(0).u(0)
    w.u(5).u(0x7000).u(0).u(0).s(words_bytes([E + 8, 12345])).u(0).u(0).u(0).s("main.hold").fields([0, 8])
    w.u(5).u(0x7100).u(1).u(0x7000).s(words_bytes([0])).u(0).u(0).u(0).s("main.empty").fields([0])
    # data: word 0 -> A, word 1 -> nothing; bss: word 0 -> C (shared with A).
    w.u(12).u(0x500000).s(words_bytes([A, 99])).fields([0, 8])
    w.u(13).u(0x600000).s(words_bytes([C])).fields([0])
    w.u(10)
    for _ in range(24 + 256 + 1):
        w.u(0)
    # Two buckets: 0xb1 samples A (exact) and C (addr+8); 0xb2 samples D and, twice, A.
    w.u(16).u(0xB1).u(32).u(2).s("main.alloc").s("x.go").u(3).s("main.main").s("x.go").u(9).u(2).u(0)
    w.u(16).u(0xB2).u(32).u(1).s("main.other").s("y.go").u(1).u(1).u(0)
    w.u(17).u(A).u(0xB1)
    w.u(17).u(C + 8).u(0xB1)
    w.u(17).u(D).u(0xB2)
    w.u(17).u(A).u(0xB2)
    w.u(0)
    graph = {}
    out = analyze(parse(bytes(w.buf)), "selftest", 50, graph)
    check_graph(graph["succ"], graph["start"], graph["shallow"], graph["group"])
    assert out["objects"] == {"count": 8, "bytes": 32 + 16 + 24 + 32 + 16 + 16 + 64 + 8}, out["objects"]
    # Edges: A->B, A->C, B->D, C->D, E->F, junk->A
    assert out["edges"] == 6, out["edges"]
    assert out["unreachable"] == {"objects": 1, "bytes": 8}, out["unreachable"]
    roots = {r["key"]: r for r in out["roots"]}
    assert set(roots) == {"data+0x0", "bss+0x0", "goroutine 7", "goroutine 7 frame 0"}, roots
    # data+0x0 dominates A, B (C and D are shared with bss+0x0).
    assert roots["data+0x0"]["retained"] == 32 + 16, roots
    assert roots["bss+0x0"]["retained"] == 0
    assert roots["goroutine 7 frame 0"]["retained"] == 16 + 16
    assert roots["goroutine 7 frame 0"]["funcname"] == "main.hold"
    assert roots["goroutine 7"]["retained"] == 16 + 16 + 64, roots
    sites = {s["bucket"]: s for s in out["sites"]}
    # b1 samples A and C; A dominates B (unsampled). b2 samples D, which C
    # and B share. E, F and the g struct have no sampled dominator.
    assert sites["0xb1"] == {"bucket": "0xb1", "stack": ["main.alloc", "main.main"],
                             "pprof_stack": ["main.alloc", "main.main"],
                             "objects": 2, "shallow": 32 + 24, "retained": 48 + 24,
                             "attributed": 32 + 16 + 24}, sites
    assert sites["0xb2"]["objects"] == 1 and sites["0xb2"]["retained"] == 32
    assert sites["0xb2"]["attributed"] == 32
    assert out["unattributed"] == 16 + 16 + 64, out["unattributed"]
    assert out["samples"] == {"records": 4, "resolved": 4, "interior": 1,
                              "unresolved": 0, "duplicate_objects": 1}, out["samples"]

    assert pprof_stack(["runtime.mallocgc", "runtime.newobject", "main.f", "runtime.main"]) == \
        ["main.f", "runtime.main"]
    assert pprof_stack(["runtime.mallocgc", "internal/runtime/maps.newarray", "main.put"]) == ["main.put"]
    assert pprof_stack(["runtime.mallocgc", "runtime.malg", "runtime.systemstack"]) == \
        ["runtime.mallocgc", "runtime.malg", "runtime.systemstack"]
    assert pprof_stack([]) == []

    # 3. Errors: bad header, missing EOF, bytes after EOF.
    for bad in (b"go1.6 heap dump\n\x00", bytes(w.buf[:-1]), bytes(w.buf) + b"\x00"):
        try:
            parse(bad)
        except DumpError:
            continue
        raise AssertionError("accepted a bad dump")

    # 4. Optionally, real (small) dumps: every idom, retained size and
    # site retained checked by brute force. O(N * (N + E)): use small dumps.
    for path in paths:
        graph = {}
        analyze(parse(load(path)), path, 0, graph)
        check_graph(graph["succ"], graph["start"], graph["shallow"], graph["group"])
        print("selftest: %s: %d nodes checked by brute force" % (path, len(graph["succ"])), file=sys.stderr)
    print("selftest ok")


def main(argv):
    args = argv[1:]
    if args[:1] == ["--selftest"]:
        selftest(args[1:])
        return 0
    top = 50
    path = None
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--top" and i + 1 < len(args):
            top = int(args[i + 1])
            i += 2
            continue
        if a.startswith("--top="):
            top = int(a.split("=", 1)[1])
        elif path is None and not a.startswith("--"):
            path = a
        else:
            print("usage: heapdump.py DUMP[.gz] [--top N] | --selftest [DUMP...]", file=sys.stderr)
            return 2
        i += 1
    if path is None:
        print("usage: heapdump.py DUMP[.gz] [--top N] | --selftest [DUMP...]", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    try:
        out = analyze(parse(load(path)), path, top)
    except (DumpError, OSError, EOFError, zlib.error) as e:
        print("heapdump.py: %s: %s" % (path, e), file=sys.stderr)
        return 2
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    print("heapdump.py: %s: %.2fs" % (path, time.monotonic() - t0), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
