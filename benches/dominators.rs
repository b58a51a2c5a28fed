//! Dominators and retained sizes on a heap-like graph generated in process: 1 M objects,
//! about 1.4 pointers per object, made of many small structs, some linked lists up to 20 k long,
//! a map-like hub holding many of them, cross pointers that share objects, and 5 % garbage.
//!
//! `cargo bench --bench dominators`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leakscope::heap::dominators::{Csr, Dominators};

/// xorshift64, so the graph is the same on every run without a RNG crate.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x % n as u64) as u32
    }
}

/// A heap-like graph of `n` nodes with node 0 as the super-root, and the shallow sizes.
///
/// - node 0 points to 1000 roots (globals, frames) and to the hub;
/// - objects come in runs: mostly structs of 1–8 linked nodes, one run in ten a linked list of
///   up to 20 000 nodes; each run is owned by the hub (a big map), a root or an earlier object;
/// - the last 5 % are garbage pointing into live objects and each other;
/// - random cross pointers between live objects bring the total to 1.4 edges per node.
fn heap_like(n: usize) -> (Csr, Vec<u64>) {
    const ROOTS: u32 = 1000;
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let hub = ROOTS + 1;
    let first = hub + 1;
    let garbage = (n - n / 20) as u32;
    let mut edges: Vec<(u32, u32)> = Vec::with_capacity(n * 14 / 10 + 1);
    edges.extend((1..=hub).map(|r| (0, r)));
    let mut v = first;
    while v < garbage {
        let len = if rng.below(10) == 0 { 1 + rng.below(20_000) } else { 1 + rng.below(8) };
        let len = len.min(garbage - v);
        let owner = match rng.below(10) {
            0..=2 => hub,
            3..=6 => 1 + rng.below(ROOTS as usize),
            _ => first + rng.below((v - first).max(1) as usize),
        };
        edges.push((owner, v));
        edges.extend((v + 1..v + len).map(|i| (i - 1, i)));
        v += len;
    }
    for g in garbage..n as u32 {
        edges.push((g, first + rng.below(n - first as usize)));
    }
    let live = (garbage - first) as usize;
    while edges.len() < n * 14 / 10 {
        edges.push((first + rng.below(live), first + rng.below(live)));
    }
    let sizes = [8, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024, 4096];
    let shallow = (0..n).map(|_| sizes[rng.below(sizes.len()) as usize]).collect();
    (Csr::from_edges(n, &edges), shallow)
}

fn benches(c: &mut Criterion) {
    let n = 1_000_000;
    let (g, shallow) = heap_like(n);
    let d = Dominators::semi_nca(&g, 0);
    let retained = d.retained(&shallow);
    let groups = 1000;
    let group: Vec<u32> = (0..n as u32).map(|v| v % groups).collect();
    eprintln!(
        "graph: {n} nodes, {} edges, {} reachable, {} nodes with a non-root idom",
        g.targets.len(),
        d.preorder.len(),
        d.idom.iter().filter(|&&p| p != 0 && p != u32::MAX).count()
    );

    let mut b = c.benchmark_group("heap-like-1M");
    b.sample_size(10);
    b.throughput(Throughput::Elements(n as u64));
    b.bench_function("transpose", |b| b.iter(|| black_box(&g).transpose()));
    b.bench_function("semi_nca", |b| b.iter(|| Dominators::semi_nca(black_box(&g), 0)));
    b.bench_function("retained", |b| b.iter(|| d.retained(black_box(&shallow))));
    b.bench_function("group_retained (1000 groups)", |b| {
        b.iter(|| d.group_retained(black_box(&retained), &group, groups as usize))
    });
    b.finish();
}

criterion_group!(dominators, benches);
criterion_main!(dominators);
