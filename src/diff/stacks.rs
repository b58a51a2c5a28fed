//! Distinct stacks as sequences of frame ids, in one flat arena.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};

use crate::graph::Aggregate;
use crate::profile::{Profile, NONE};

/// Interned stacks: each distinct frame sequence stored once.
#[derive(Debug, Default)]
pub struct StackTable {
    arena: Vec<u32>,
    offsets: Vec<u32>,
    /// Hash of a stack → first stack with that hash.
    heads: FxHashMap<u64, u32>,
    /// Next stack with the same hash, or NONE.
    chain: Vec<u32>,
    /// Hash of each stack, kept so that merging two tables rehashes nothing.
    hashes: Vec<u64>,
}

fn hash(frames: &[u32]) -> u64 {
    let mut h = FxHasher::default();
    frames.hash(&mut h);
    h.finish()
}

impl StackTable {
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        StackTable::with_capacity(0, 0)
    }

    /// A table sized for `stacks` stacks of `frames` frames in all: its
    /// hash index never rehashes and its arrays never move while filled.
    pub(crate) fn with_capacity(stacks: usize, frames: usize) -> Self {
        let mut offsets = Vec::with_capacity(stacks + 1);
        offsets.push(0);
        StackTable {
            arena: Vec::with_capacity(frames),
            offsets,
            heads: FxHashMap::with_capacity_and_hasher(stacks, Default::default()),
            chain: Vec::with_capacity(stacks),
            hashes: Vec::with_capacity(stacks),
        }
    }

    /// Number of distinct stacks.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of frames of all stacks together.
    pub fn frames_len(&self) -> usize {
        self.arena.len()
    }

    /// Frames of stack `i`, leaf first.
    #[inline]
    pub fn get(&self, i: usize) -> &[u32] {
        &self.arena[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// The id of `frames`, adding it if new. Returns (id, was_new).
    pub fn intern(&mut self, frames: &[u32]) -> (usize, bool) {
        self.intern_hashed(frames, hash(frames))
    }

    /// [`StackTable::intern`] with the stack's hash already known.
    fn intern_hashed(&mut self, frames: &[u32], h: u64) -> (usize, bool) {
        let mut cur = self.heads.get(&h).copied().unwrap_or(NONE);
        let mut last = NONE;
        while cur != NONE {
            if self.get(cur as usize) == frames {
                return (cur as usize, false);
            }
            last = cur;
            cur = self.chain[cur as usize];
        }
        let id = self.len() as u32;
        self.arena.extend_from_slice(frames);
        self.offsets.push(self.arena.len() as u32);
        self.chain.push(NONE);
        self.hashes.push(h);
        if last == NONE {
            self.heads.insert(h, id);
        } else {
            self.chain[last as usize] = id;
        }
        (id as usize, true)
    }
}

/// Asks the CPU to bring the cache line of `slice[i]` in, without waiting
/// for it: where the elements a loop will read are known a little ahead
/// (the next stack's), their cache misses then overlap instead of
/// following one another. An `i` out of bounds is harmless (a prefetch
/// never faults); elsewhere than x86-64 this does nothing.
#[inline(always)]
pub(crate) fn prefetch<T>(slice: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing into the program and cannot fault,
    // whatever the address; SSE is in every x86-64 CPU.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(slice.as_ptr().wrapping_add(i).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (slice, i);
}

/// One side's pass over its samples: its distinct stacks with their
/// summed values and, when asked, the flat and cum values of the
/// aggregate's nodes (the same numbers [`crate::graph::aggregate`] gives).
pub struct Collected {
    /// Distinct stacks as global frame ids.
    pub table: StackTable,
    /// `vals[stack * ntypes + t]`.
    pub vals: Vec<i64>,
    /// `flat[node * ntypes + t]`, empty unless node values were asked for.
    pub flat: Vec<i64>,
    /// `cum[node * ntypes + t]`, empty unless node values were asked for.
    pub cum: Vec<i64>,
}

/// Distinct stacks of one profile with their summed values. `map` turns
/// the aggregate's node ids into global frame ids. With `node_values`, the
/// same walk over each stack also sums the aggregate's flat and cum per
/// node (each node once per sample, as pprof counts cum), so the samples
/// are walked once instead of twice. One reused frame buffer; nothing is
/// allocated per sample.
pub fn collect(p: &Profile, agg: &Aggregate, map: &[u32], node_values: bool) -> Collected {
    // `leakscope diff` keeps two sample types (bytes and objects): with the
    // count known at compile time, the per-frame additions are two adds
    // instead of a loop.
    // Sums saturate rather than wrap, but only a profile whose values of
    // some type add up past i64 (its saturated total) can reach the limit:
    // every other one takes the plain adds, which vectorize.
    let sat = p.totals().contains(&i64::MAX);
    match (p.sample_types.len(), sat) {
        (1, false) => collect_n::<1, false>(p, agg, map, node_values),
        (2, false) => collect_n::<2, false>(p, agg, map, node_values),
        (_, false) => collect_n::<0, false>(p, agg, map, node_values),
        (_, true) => collect_n::<0, true>(p, agg, map, node_values),
    }
}

/// `acc += v & mask`, element-wise, with `mask` all ones (`-1`: add) or
/// zero (add nothing); `N` is their length, or 0 when only known at run
/// time. Saturating with `SAT`; otherwise wrapping, which is the same
/// when no sum can pass i64.
#[inline(always)]
fn add_masked<const N: usize, const SAT: bool>(acc: &mut [i64], v: &[i64], mask: i64) {
    let add = |a: i64, b: i64| if SAT { a.saturating_add(b) } else { a.wrapping_add(b) };
    if N > 0 {
        for i in 0..N {
            acc[i] = add(acc[i], v[i] & mask);
        }
    } else {
        for (a, x) in acc.iter_mut().zip(v) {
            *a = add(*a, *x & mask);
        }
    }
}

/// In [`collect`], a location's first (innermost) line's node and frame,
/// and where the pairs of its further lines (inlined calls), if any, are:
/// everything the walk needs of a location in one 16-byte read.
#[derive(Clone, Copy)]
struct Loc {
    node: u32,
    frame: u32,
    /// `pairs[rest..end]`: the further lines; empty for most locations.
    rest: u32,
    end: u32,
}

/// [`collect`] for `N` sample types (0: any number).
fn collect_n<const N: usize, const SAT: bool>(
    p: &Profile,
    agg: &Aggregate,
    map: &[u32],
    node_values: bool,
) -> Collected {
    let nt = if N > 0 { N } else { p.sample_types.len() };
    let nn = agg.nodes.len();
    // (node, frame) of every line of every location, innermost first, so
    // that a frame costs one array read rather than three.
    let pairs: Vec<(u32, u32)> = agg.loc_nodes.iter().map(|&n| (n, map[n as usize])).collect();
    let offs = &agg.loc_node_offsets;
    // Each location's first pair, and where the rest of its pairs are, at
    // the location's own index: a frame costs one load, instead of a load
    // of its offset and then of its pair. On the random-shape pair at 16x,
    // where the 480,000 locations' offsets and pairs no longer fit in the
    // cache, that dependent second load was most of this walk's time
    // (`perf annotate`); on the tree pair at 16x, whose inlined locations
    // were still read through their offsets, nearly half. It also lets the
    // walk request the next samples' records, pairs and node values ahead
    // (below). Possible when every location has a node (`graph::build_nodes`
    // gives each at least one); otherwise every location is read through
    // the offsets.
    let first: Vec<Loc> = if offs.windows(2).all(|w| w[0] < w[1]) {
        offs.windows(2)
            .map(|w| {
                let (node, frame) = pairs[w[0] as usize];
                Loc { node, frame, rest: w[0] + 1, end: w[1] }
            })
            .collect()
    } else {
        Vec::new()
    };
    let inline = !first.is_empty();
    // Each node's cum and flat side by side, `acc[node * 2nt ..]` = cum
    // then flat: a sample's leaf node was just read for its cum, so its
    // flat is in the same cache line. Apart, the flat of a random leaf
    // missed the cache on every sample (a quarter of this walk on the
    // random-shape pair, `perf annotate`). Split in two at the end.
    let stride = 2 * nt;
    let mut acc = vec![0i64; if node_values { nn * stride } else { 0 }];
    // seen[n] == stamp means node n already got this sample's cum.
    let mut seen = vec![0u32; if node_values { nn } else { 0 }];
    // Sized for every non-zero sample a distinct stack, as in a heap
    // profile (Go writes one sample per stack), at the profile's mean lines
    // per location and mean locations per sample (capped: only a hint).
    // Sized for all samples, the hash index of a real heap profile, most of
    // whose samples are zero, would spread its few stacks over pages
    // meant for ten times as many.
    let live = p.values.chunks_exact(nt.max(1)).filter(|v| v.iter().any(|&x| x != 0)).count();
    let locs = p.stacks.len() as u64 * live as u64 / p.num_samples().max(1) as u64;
    let lines = pairs.len() as u64 * locs / p.locations.len().max(1) as u64;
    let frames = (lines as usize).clamp(locs as usize, (locs as usize).saturating_mul(4));
    let mut table = StackTable::with_capacity(live, frames);
    let mut vals: Vec<i64> = Vec::with_capacity(live * nt);
    let mut buf: Vec<u32> = Vec::with_capacity(64);
    let mut nbuf: Vec<u32> = Vec::with_capacity(64);
    for s in 0..p.num_samples() {
        let sv = &p.values[s * nt..(s + 1) * nt];
        // A sample that is zero in every diffed type adds nothing to any
        // sum, and every reader of the table skips stacks that are zero
        // on both sides: most samples of a real heap profile are sites
        // whose objects were all freed (88-99% of the corpus's heap
        // profiles, in inuse_space and inuse_objects).
        if sv.iter().all(|&v| v == 0) {
            continue;
        }
        let stack = p.stack(s);
        // Two samples ahead, the locations' records are requested; one
        // sample ahead (records requested a sample ago), the node values
        // and further pairs they name. Their misses then overlap this
        // sample's walk (the random-shape and tree pairs at 4x and 16x).
        if inline {
            if s + 2 < p.num_samples() {
                for &loc in p.stack(s + 2) {
                    prefetch(&first, loc as usize);
                }
            }
            if s + 1 < p.num_samples() {
                for &loc in p.stack(s + 1) {
                    if let Some(l) = first.get(loc as usize) {
                        if node_values {
                            prefetch(&acc, l.node as usize * stride);
                            prefetch(&seen, l.node as usize);
                        }
                        if l.rest < l.end {
                            prefetch(&pairs, l.rest as usize);
                        }
                    }
                }
            }
        }
        buf.clear();
        if node_values {
            let stamp = s as u32 + 1;
            nbuf.clear();
            if inline {
                for &loc in stack {
                    let l = first[loc as usize];
                    buf.push(l.frame);
                    nbuf.push(l.node);
                    for &(n, f) in &pairs[l.rest as usize..l.end as usize] {
                        buf.push(f);
                        nbuf.push(n);
                    }
                }
            } else {
                for &loc in stack {
                    let loc = loc as usize;
                    for &(n, f) in &pairs[offs[loc] as usize..offs[loc + 1] as usize] {
                        buf.push(f);
                        nbuf.push(n);
                    }
                }
            }
            // Every node of the stack is known before any is summed: their
            // lines are requested at once, so that the misses overlap (the
            // random-shape pair: `collect` 10% less CPU, `perf record`).
            // Most were requested a sample ago (all but an inlined
            // location's further nodes, and after a sample skipped as zero).
            for &n in &nbuf {
                prefetch(&acc, n as usize * stride);
                prefetch(&seen, n as usize);
            }
            // Without a branch on the stamp, whose mispredictions would
            // make the cache misses of a stack's nodes wait for each other:
            // a node already counted for this sample adds zero.
            for &n in &nbuf {
                let n = n as usize;
                let mask = -i64::from(seen[n] != stamp);
                seen[n] = stamp;
                add_masked::<N, SAT>(&mut acc[n * stride..n * stride + nt], sv, mask);
            }
            // The leaf location's first node is the stack's first node:
            // `graph::build_nodes` gives every location at least one (an
            // address node when it has no lines).
            if let Some(&n) = nbuf.first() {
                let n = n as usize;
                add_masked::<N, SAT>(&mut acc[n * stride + nt..(n + 1) * stride], sv, -1);
            }
        } else if inline {
            for &loc in stack {
                let l = first[loc as usize];
                buf.push(l.frame);
                buf.extend(pairs[l.rest as usize..l.end as usize].iter().map(|&(_, f)| f));
            }
        } else {
            for &loc in stack {
                let loc = loc as usize;
                buf.extend(pairs[offs[loc] as usize..offs[loc + 1] as usize].iter().map(|&(_, f)| f));
            }
        }
        let (id, fresh) = table.intern(&buf);
        if fresh {
            vals.extend(std::iter::repeat_n(0, nt));
        }
        // Saturating, as every sum of values.
        for (acc, v) in vals[id * nt..(id + 1) * nt].iter_mut().zip(sv) {
            *acc = acc.saturating_add(*v);
        }
    }
    let (mut flat, mut cum) = (Vec::with_capacity(acc.len() / 2), Vec::with_capacity(acc.len() / 2));
    for node in acc.chunks_exact(stride.max(1)) {
        let (c, f) = node.split_at(nt);
        cum.extend_from_slice(c);
        flat.extend_from_slice(f);
    }
    Collected { table, vals, flat, cum }
}

/// Merges NEW's stacks into BASE's table; returns the table and both
/// sides' values over it.
pub fn merge(
    mut table: StackTable,
    mut base: Vec<i64>,
    new_table: StackTable,
    new_vals: Vec<i64>,
    nt: usize,
) -> (StackTable, Vec<i64>, Vec<i64>) {
    let mut new = vec![0i64; base.len()];
    for s in 0..new_table.len() {
        let (id, fresh) = table.intern_hashed(new_table.get(s), new_table.hashes[s]);
        if fresh {
            base.extend(std::iter::repeat_n(0, nt));
            new.extend(std::iter::repeat_n(0, nt));
        }
        for t in 0..nt {
            new[id * nt + t] = new[id * nt + t].saturating_add(new_vals[s * nt + t]);
        }
    }
    (table, base, new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::select_types;
    use crate::graph::{aggregate, aggregate_types, Granularity};

    /// A real heap profile, written by testdata/gen.
    fn gen_heap() -> Profile {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/profiles/gen-heap.pb.gz");
        crate::pprof::parse(&std::fs::read(path).expect("fixture")).expect("parse")
    }

    /// gen-heap with every third stack made recursive: its leaf location
    /// repeated as the outermost caller, so that a node occurs twice in one
    /// sample and must count once in cum.
    fn recursive_profile() -> Profile {
        let mut p = gen_heap();
        let (mut stacks, mut offsets) = (Vec::new(), vec![0u32]);
        for s in 0..p.num_samples() {
            let st = p.stack(s);
            stacks.extend_from_slice(st);
            if s % 3 == 0 && st.len() >= 2 {
                stacks.push(st[0]);
            }
            offsets.push(stacks.len() as u32);
        }
        (p.stacks, p.stack_offsets) = (stacks, offsets);
        p
    }

    /// The three ways of reading a location's frames give the aggregate's
    /// flat and cum and the same distinct stacks, with and without node
    /// values: each location's record alone (one node per location), the
    /// record and its further pairs (inlined frames), and everything
    /// through the offsets (when some location has no node,
    /// which `graph::build_nodes` never makes: forced here by adding one
    /// that no sample uses).
    #[test]
    fn the_three_walks_agree() {
        let inlined = recursive_profile();
        let lines = |p: &Profile| p.locations.iter().map(|l| l.lines_len).max().unwrap_or(0);
        assert!(lines(&inlined) > 1, "gen-heap has inlined frames");
        // Every location cut to its innermost line: one node each.
        let mut single = inlined.clone();
        for l in &mut single.locations {
            l.lines_len = l.lines_len.min(1);
        }
        let mut kinds = Vec::new();
        for (p, empty_location) in [(&inlined, false), (&single, false), (&inlined, true)] {
            let want = aggregate(p, Granularity::Functions);
            let mut nodes = aggregate_types(p, Granularity::Functions, &[]);
            let one_each = nodes.loc_nodes.len() == p.locations.len();
            if empty_location {
                let end = *nodes.loc_node_offsets.last().expect("offsets");
                nodes.loc_node_offsets.push(end);
            }
            let how = format!("one node per location: {one_each}, a location without: {empty_location}");
            kinds.push((one_each, empty_location));
            let map: Vec<u32> = (0..nodes.nodes.len() as u32).collect();
            let got = collect(p, &nodes, &map, true);
            assert_eq!((got.flat, got.cum), (want.flat, want.cum), "{how}");
            let mut table = StackTable::new();
            for s in (0..p.num_samples()).filter(|&s| p.sample_values(s).iter().any(|&v| v != 0)) {
                let frames: Vec<u32> =
                    p.stack(s).iter().flat_map(|&l| nodes.location_nodes(l as usize)).copied().collect();
                table.intern(&frames);
            }
            let frames = |t: &StackTable| (0..t.len()).map(|i| t.get(i).to_vec()).collect::<Vec<_>>();
            assert_eq!(frames(&got.table), frames(&table), "{how}");
            let without = collect(p, &nodes, &map, false);
            assert_eq!(frames(&without.table), frames(&table), "no node values, {how}");
        }
        assert_eq!(kinds, [(false, false), (true, false), (false, true)], "every walk is tested");
    }

    /// `select_types` keeps the asked types in the asked order, in place
    /// when the rows shrink and into a new column when a type is asked for
    /// twice and they grow; each row as the slow way builds it.
    #[test]
    fn select_types_keeps_reorders_and_repeats() {
        let full = gen_heap();
        let n = full.sample_types.len();
        assert_eq!(n, 4, "gen-heap has four sample types");
        for keep in [vec![3, 1], vec![1], vec![0, 1, 2, 3], vec![3, 2, 1, 0], vec![2, 2, 0, 1, 3], vec![]] {
            let mut p = full.clone();
            select_types(&mut p, &keep);
            let want: Vec<i64> = full.values.chunks_exact(n).flat_map(|row| keep.iter().map(|&k| row[k])).collect();
            assert_eq!(p.values, want, "keep {keep:?}");
            let names: Vec<&str> = (0..p.sample_types.len()).map(|i| p.sample_type_name(i)).collect();
            let want_names: Vec<&str> = keep.iter().map(|&k| full.sample_type_name(k)).collect();
            assert_eq!(names, want_names, "keep {keep:?}");
        }
    }

    /// Samples that are zero in every type are left out of the table: in
    /// gen-heap (a real Go heap profile) most sites' objects were freed,
    /// so in the inuse types most samples are zero.
    #[test]
    fn zero_samples_are_left_out() {
        let mut p = gen_heap();
        let inuse: Vec<usize> =
            ["inuse_space", "inuse_objects"].iter().map(|t| p.sample_type_index(t).expect("heap profile")).collect();
        select_types(&mut p, &inuse);
        let zero = (0..p.num_samples()).filter(|&s| p.sample_values(s).iter().all(|&v| v == 0)).count();
        assert!(zero * 2 > p.num_samples(), "{zero} of {} samples are zero", p.num_samples());
        let nodes = aggregate_types(&p, Granularity::Functions, &[]);
        let map: Vec<u32> = (0..nodes.nodes.len() as u32).collect();
        let got = collect(&p, &nodes, &map, true);
        assert!(got.vals.chunks_exact(2).all(|r| r != [0, 0]), "a zero stack was kept");
        // Every non-zero sample has its stack in the table (they may share).
        let mut want = StackTable::new();
        for s in (0..p.num_samples()).filter(|&s| p.sample_values(s) != [0, 0]) {
            let frames: Vec<u32> = p.stack(s).iter().flat_map(|&l| nodes.location_nodes(l as usize)).copied().collect();
            want.intern(&frames);
        }
        assert_eq!(got.table.len(), want.len());
        let want_values = aggregate(&p, Granularity::Functions);
        assert_eq!(got.flat, want_values.flat);
        assert_eq!(got.cum, want_values.cum);
    }

    /// The walk's flat and cum equal `graph::aggregate`'s for one, two,
    /// three and four sample types: the const-generic paths for 1 and 2 and
    /// the general one.
    #[test]
    fn node_values_equal_the_aggregate() {
        let full = recursive_profile();
        assert_eq!(full.sample_types.len(), 4, "gen-heap has four sample types");
        // The recursion is there: some sample holds a location twice.
        let recursive = (0..full.num_samples()).any(|s| {
            let st = full.stack(s);
            (1..st.len()).any(|i| st[..i].contains(&st[i]))
        });
        assert!(recursive, "no recursive stack in the fixture");
        for nt in 1..=4 {
            let mut p = full.clone();
            select_types(&mut p, &(0..nt).collect::<Vec<_>>());
            let want = aggregate(&p, Granularity::Functions);
            let nodes = aggregate_types(&p, Granularity::Functions, &[]);
            let map: Vec<u32> = (0..nodes.nodes.len() as u32).collect();
            let got = collect(&p, &nodes, &map, true);
            assert_eq!(got.flat, want.flat, "flat, {nt} types");
            assert_eq!(got.cum, want.cum, "cum, {nt} types");
        }
    }
}
