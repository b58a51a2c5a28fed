//! Structured heap dumps: the fuzz input drives a small writer that emits
//! valid records (both pointer sizes and byte orders; objects packed in a
//! few arenas or spread over many, with pointers, interior pointers and junk
//! words; goroutines with frames; data and bss; finalizers, defers, panics;
//! memprof buckets and allocation samples), with an occasional corrupted
//! byte, so the fuzzer spends its time in the graph, the dominators and the
//! report rather than in the parser's error paths. A dump that parses must
//! also satisfy:
//!
//! - the address index agrees with a linear search over the objects;
//! - the super-root retains exactly the reachable objects' bytes, and no
//!   node retains less than its own size or more than the super-root.
//!
//! With `LEAKSCOPE_FUZZ_DUMP=FILE` the generated dump is written to FILE
//! (to save a crash as a plain dump under testdata/fuzz-regressions/heapdump).
#![no_main]

use leakscope::heap::graph::AddrIndex;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

mod heapdump_exercise;
mod heapdump_writer;

use heapdump_writer::Writer;

const NAMES: &[&[u8]] = &[
    b"runtime.gopark",
    b"runtime.mallocgc",
    b"main.leak",
    b"main.main",
    b"net/http.(*conn).serve",
    b"sync.(*Mutex).Lock",
    b"google.golang.org/grpc.(*Server).serveStreams",
    b"",
    "é(ü".as_bytes(),
    b"main.(*T).m",
];

fn gen(u: &mut Unstructured<'_>) -> Result<(Vec<u8>, Vec<(u64, u32)>)> {
    let ps: u64 = if u.arbitrary()? { 8 } else { 4 };
    let mut w = Writer::new(ps, u.arbitrary()?);
    let base: u64 = if ps == 8 { 0xc000000000 } else { 0x1000_0000 };
    let spread: u32 = u.int_in_range(0..=3)?; // 0: packed; 3: one arena each
    let nobj = u.int_in_range(0..=64usize)?;
    let mut objs: Vec<(u64, u32)> = Vec::new();
    let mut at = base;
    for _ in 0..nobj {
        let words = u.int_in_range(1..=8u32)?;
        let size = match u.int_in_range(0..=9)? {
            0 => u.int_in_range(1..=7u32)?,
            1 => 8192 + u.int_in_range(0..=64u32)?,
            _ => words * ps as u32,
        };
        let gap = match spread {
            0 => 0,
            1 => u.int_in_range(0..=4u64)? * ps,
            2 => u.int_in_range(0..=4u64)? << 13,
            _ => 1 << 26,
        };
        at += gap;
        objs.push((at, size));
        at += size as u64;
        if ps == 4 && at > u32::MAX as u64 - (1 << 27) {
            break;
        }
    }
    let target = |u: &mut Unstructured<'_>, objs: &[(u64, u32)]| -> Result<u64> {
        if objs.is_empty() || u.ratio(1, 6)? {
            return u.arbitrary();
        }
        let (a, s) = objs[u.choose_index(objs.len())?];
        Ok(a + u.int_in_range(0..=s as u64)?)
    };
    let words_of =
        |u: &mut Unstructured<'_>, w: &Writer, len: u64, objs: &[(u64, u32)]| -> Result<(Vec<u8>, Vec<u64>)> {
            let mut body = Vec::new();
            let mut ptrs = Vec::new();
            let n = len / ps;
            for k in 0..n {
                if u.ratio(2, 3)? {
                    ptrs.push(k * ps);
                }
                body.extend(w.word(target(u, objs)?));
            }
            body.resize(len as usize, 0);
            Ok((body, ptrs))
        };
    let mut order: Vec<usize> = (0..objs.len()).collect();
    if u.ratio(1, 4)? {
        order.reverse();
    }
    for &i in &order {
        let (a, s) = objs[i];
        let (body, ptrs) = words_of(u, &w, s as u64, &objs)?;
        w.object(a, &body, &ptrs);
    }
    for gi in 0..u.int_in_range(0..=4u64)? {
        let g = target(u, &objs)?;
        let ctxt = target(u, &objs)?;
        w.goroutine(g, gi + 1, ctxt, u.choose(&[&b""[..], b"chan receive", b"select"])?);
        for d in 0..u.int_in_range(0..=12u64)? {
            let len = u.int_in_range(0..=4u64)? * ps;
            let (body, mut ptrs) = words_of(u, &w, len, &objs)?;
            if u.ratio(1, 10)? {
                ptrs.push(len + ps); // callee arguments: past the frame
            }
            w.frame(d, &body, u.choose(NAMES)?, &ptrs);
        }
        if u.ratio(1, 4)? {
            let (a, p) = (target(u, &objs)?, target(u, &objs)?);
            w.defer(a, g, p);
        }
        if u.ratio(1, 6)? {
            let (a, p) = (target(u, &objs)?, target(u, &objs)?);
            w.panic(a, g, p);
        }
    }
    for tag in [12u64, 13] {
        if u.ratio(3, 4)? {
            let len = u.int_in_range(0..=8u64)? * ps;
            let (body, ptrs) = words_of(u, &w, len, &objs)?;
            w.segment(tag, 0x900000 + tag * 0x10000, &body, &ptrs);
        }
    }
    for _ in 0..u.int_in_range(0..=3)? {
        let (o, f) = (target(u, &objs)?, target(u, &objs)?);
        w.finalizer(u.arbitrary()?, o, f);
    }
    let nb = u.int_in_range(0..=4u64)?;
    for b in 0..nb {
        let mut frames: Vec<(&[u8], &[u8], u64)> = Vec::new();
        for _ in 0..u.int_in_range(0..=5)? {
            frames.push((u.choose(NAMES)?, b"x.go", u.int_in_range(0..=100)?));
        }
        w.memprof(0xb000 + b, u.arbitrary()?, &frames);
    }
    for _ in 0..u.int_in_range(0..=16)? {
        let a = target(u, &objs)?;
        let b = 0xb000 + u.int_in_range(0..=nb)?;
        w.alloc_sample(a, b);
    }
    let mut d = w.finish();
    if u.ratio(1, 16)? && d.len() > 16 {
        let i = 16 + u.choose_index(d.len() - 16)?;
        d[i] = u.arbitrary()?;
    }
    Ok((d, objs))
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok((dump_bytes, _)) = gen(&mut u) else { return };
    if let Some(p) = std::env::var_os("LEAKSCOPE_FUZZ_DUMP") {
        std::fs::write(p, &dump_bytes).unwrap();
    }
    let Ok(dump) = heapdump_exercise::exercise(&dump_bytes) else { return };
    let o = &dump.objects;
    let index = AddrIndex::new(&o.addr, &o.size);
    let linear = |v: u64| (0..o.len()).find(|&i| o.addr[i] <= v && v - o.addr[i] < o.size[i] as u64);
    for i in 0..o.len() {
        for v in [o.addr[i], o.addr[i] + o.size[i] as u64 - 1, o.addr[i] + o.size[i] as u64, o.addr[i].wrapping_sub(1)]
        {
            assert_eq!(index.find(v).map(|x| x as usize), linear(v), "find({v:#x})");
        }
    }
    let a = leakscope::heap::analysis::Analysis::new(&dump, None, heapdump_exercise::rules());
    let (_, live, _) = a.totals();
    let sr = a.graph.super_root() as usize;
    assert_eq!(a.retained[sr], live.bytes, "super-root retains the reachable heap");
    for v in 0..a.graph.num_nodes() {
        assert!(a.retained[v] <= a.retained[sr]);
        if v < o.len() && a.reachable(v as u32) {
            assert!(a.retained[v] >= o.size[v] as u64);
        }
    }
});
