//! The retention graph: the call graph of live memory.
//!
//! Nodes are functions; an edge goes from caller to callee and carries the
//! bytes (or objects) of every stack that passes along it, once per stack
//! even when recursion repeats the edge. Each edge keeps its BASE and NEW
//! weight, so one graph serves both snapshots and their delta. A virtual
//! root node sits above every outermost frame.

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use rayon::prelude::*;

use super::Diff;
use crate::attribute::FrameClass;

/// Edge weights on both sides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Weight {
    /// Value along the edge in BASE.
    pub base: i64,
    /// Value along the edge in NEW.
    pub new: i64,
}

impl Weight {
    /// NEW − BASE.
    pub fn delta(&self) -> i64 {
        self.new.saturating_sub(self.base)
    }
}

/// A frame id, or the virtual root.
pub type Frame = Option<u32>;

/// The graph for one sample type.
#[derive(Debug)]
pub struct RetentionGraph {
    /// Nodes carry their frame id (None for the root) and cum weights.
    pub graph: DiGraph<(Frame, Weight), Weight>,
    /// The virtual root.
    pub root: NodeIndex,
}

/// One path from the root toward a leaf.
#[derive(Debug, Clone)]
pub struct GrowthPath {
    /// Frame ids from the outermost caller to the deepest frame reached.
    pub frames: Vec<u32>,
    /// Delta carried into each frame along the path.
    pub deltas: Vec<i64>,
}

/// The parent id of outermost frames in edge keys.
const ROOT: u32 = u32::MAX;

/// The key of no edge: a child is a frame id, never `u32::MAX`.
const EMPTY: u64 = u64::MAX;

/// One slot of an [`EdgeTable`]: an edge keyed `parent << 32 | child`, the
/// last stack that added to it, and its weights. 32 bytes, so a probe
/// reads one cache line.
#[derive(Debug, Clone, Copy)]
struct Slot {
    key: u64,
    stamp: u32,
    w: Weight,
}

/// Open-addressing (linear probing) table of one part's edges, at most half
/// full. Each slot holds everything a frame updates, so a frame costs one
/// cache miss where a map of keys to separate accumulators costs two.
struct EdgeTable {
    slots: Vec<Slot>,
    /// 64 − log2(slots.len()): the home slot is the top bits of the hash.
    shift: u32,
    /// Occupied slots in the order their edges first appeared, with the
    /// first appearance as `stack << 32 | position in the walk`.
    order: Vec<(u64, u32)>,
}

impl EdgeTable {
    fn with_bits(bits: u32) -> EdgeTable {
        let empty = Slot { key: EMPTY, stamp: 0, w: Weight::default() };
        EdgeTable { slots: vec![empty; 1 << bits], shift: 64 - bits, order: Vec::new() }
    }

    /// Fibonacci hashing: the top bits of the key times 2^64/φ.
    #[inline]
    fn home(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// The slot of `key`, inserting it (first seen at `first`) if absent.
    #[inline]
    fn slot(&mut self, key: u64, mut i: usize, first: u64) -> usize {
        let mask = self.slots.len() - 1;
        loop {
            let k = self.slots[i].key;
            if k == key {
                return i;
            }
            if k == EMPTY {
                self.slots[i].key = key;
                self.order.push((first, i as u32));
                if self.order.len() * 2 > self.slots.len() {
                    self.grow();
                    return self.order.last().expect("just pushed").1 as usize;
                }
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// Doubles the table, keeping the order of first appearance.
    fn grow(&mut self) {
        let old = std::mem::replace(self, EdgeTable::with_bits(65 - self.shift));
        let mask = self.slots.len() - 1;
        self.order.reserve(old.order.len());
        for &(first, o) in &old.order {
            let slot = old.slots[o as usize];
            let mut i = self.home(slot.key);
            while self.slots[i].key != EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
            self.order.push((first, i as u32));
        }
    }
}

/// The retention graph of one partition of the frames: the nodes it owns
/// and the edges into them, each with its first appearance
/// (`stack << 32 | position`), in that order.
struct Part {
    nodes: Vec<(u64, u32)>,
    node_w: Vec<Weight>,
    /// (first appearance, key, weights).
    edges: Vec<(u64, u64, Weight)>,
}

impl Part {
    /// Walks every kept stack, root first, and counts the nodes and edges
    /// whose child frame `f` has `f % parts == part`. Every part reads all
    /// the stacks but probes only its own edges, so no two parts share an
    /// edge and their tables need no merging of weights.
    ///
    /// A stack is walked twice: first to compute the keys of its frames of
    /// this part and to load each key's home slot, with no branch on what
    /// the loads return, so that the cache misses of a whole stack overlap;
    /// then to probe and add.
    fn walk(d: &Diff, t: usize, keep: &impl Fn(usize) -> bool, part: u32, parts: u32) -> Part {
        let n = d.ntypes();
        let nframes = d.frames.len();
        let mut nodes = Vec::new();
        let mut node_w = vec![Weight::default(); nframes];
        // Stamp of the last stack that counted each node (0 = never).
        let mut node_stamp = vec![0u32; nframes];
        // Room for two edges into each frame of this part before the table
        // first grows.
        let bits = ((nframes as u64 * 4 / parts as u64).max(1024).next_power_of_two().trailing_zeros()).min(40);
        let mut edges = EdgeTable::with_bits(bits);
        // (key, position) of this stack's frames of this part.
        let mut todo: Vec<(u64, u32)> = Vec::with_capacity(64);
        for s in 0..d.stacks.len() {
            let w = Weight { base: d.base[s * n + t], new: d.new[s * n + t] };
            if (w.base == 0 && w.new == 0) || !keep(s) {
                continue;
            }
            let stamp = s as u32 + 1;
            // Each frame is written, and kept (the length advanced) only if
            // it is of this part: no branch, whose misprediction would cost
            // more than the write.
            let frames = d.stacks.get(s);
            todo.resize(frames.len(), (0, 0));
            let mut len = 0;
            let mut parent = ROOT;
            for (pos, &f) in frames.iter().rev().enumerate() {
                todo[len] = (((parent as u64) << 32) | f as u64, pos as u32);
                len += (f % parts == part) as usize;
                parent = f;
            }
            let todo = &todo[..len];
            let mut touched = 0u64;
            for &(key, _) in todo {
                touched ^= edges.slots[edges.home(key)].key;
            }
            std::hint::black_box(touched);
            // Homes are computed again: an insertion may grow the table.
            for &(key, pos) in todo {
                let f = key as u32;
                let first = ((s as u64) << 32) | pos as u64;
                let st = &mut node_stamp[f as usize];
                if *st != stamp {
                    if *st == 0 {
                        nodes.push((first, f));
                    }
                    *st = stamp;
                    let nw = &mut node_w[f as usize];
                    nw.base = nw.base.saturating_add(w.base);
                    nw.new = nw.new.saturating_add(w.new);
                }
                if f != (key >> 32) as u32 {
                    let i = edges.slot(key, edges.home(key), first);
                    let e = &mut edges.slots[i];
                    if e.stamp != stamp {
                        e.stamp = stamp;
                        e.w.base = e.w.base.saturating_add(w.base);
                        e.w.new = e.w.new.saturating_add(w.new);
                    }
                }
            }
        }
        // Read out of the table here, on this part's thread, rather than
        // slot by slot when the graph is assembled on one thread; the
        // table is freed before the graph is built.
        let edges = edges
            .order
            .iter()
            .map(|&(first, i)| (first, edges.slots[i as usize].key, edges.slots[i as usize].w))
            .collect();
        Part { nodes, node_w, edges }
    }
}

/// Whether no sum of values of type `t` can saturate: the sum of their
/// absolute values is below i64::MAX. Then dropping the stacks whose two
/// values are equal changes no delta.
pub(super) fn sums_fit(d: &Diff, t: usize) -> bool {
    let n = d.ntypes();
    let bound: i128 = (0..d.stacks.len())
        .map(|s| d.base[s * n + t].unsigned_abs() as i128 + d.new[s * n + t].unsigned_abs() as i128)
        .sum();
    bound < i64::MAX as i128
}

/// Merges lists, each sorted by `first`, into one sorted list of (list
/// index, element).
fn merge_sorted<T: Copy>(lists: &[&[T]], first: impl Fn(&T) -> u64) -> Vec<(usize, T)> {
    let mut out = Vec::with_capacity(lists.iter().map(|l| l.len()).sum());
    let mut at = vec![0usize; lists.len()];
    while let Some(i) = (0..lists.len()).filter(|&i| at[i] < lists[i].len()).min_by_key(|&i| first(&lists[i][at[i]])) {
        out.push((i, lists[i][at[i]]));
        at[i] += 1;
    }
    out
}

impl RetentionGraph {
    /// Builds the graph of type `t` from the stacks for which `keep` holds.
    ///
    /// The frames are partitioned by id among the threads. Each thread
    /// walks all the stacks and counts the nodes of its frames and the
    /// edges into them, so the threads share no edge and none waits for
    /// another. Nodes and edges are then numbered in the order they first
    /// appear in one sequential walk (each records its first appearance),
    /// and every weight counts each stack once, so the graph is the same
    /// on any number of threads.
    pub fn build(d: &Diff, t: usize, keep: impl Fn(usize) -> bool + Sync) -> RetentionGraph {
        // Splitting pays only when there is enough to walk.
        let nparts = if d.stacks.frames_len() < 1 << 16 { 1 } else { rayon::current_num_threads().clamp(1, 8) };
        RetentionGraph::build_in(d, t, keep, nparts)
    }

    /// [`RetentionGraph::build`] in `nparts` partitions.
    fn build_in(d: &Diff, t: usize, keep: impl Fn(usize) -> bool + Sync, nparts: usize) -> RetentionGraph {
        let parts: Vec<Part> =
            (0..nparts as u32).into_par_iter().map(|p| Part::walk(d, t, &keep, p, nparts as u32)).collect();

        let lists: Vec<&[(u64, u32)]> = parts.iter().map(|p| p.nodes.as_slice()).collect();
        let node_order = merge_sorted(&lists, |n| n.0);
        let lists: Vec<&[(u64, u64, Weight)]> = parts.iter().map(|p| p.edges.as_slice()).collect();
        let edge_order = merge_sorted(&lists, |e| e.0);
        let mut graph: DiGraph<(Frame, Weight), Weight> =
            DiGraph::with_capacity(node_order.len() + 1, edge_order.len());
        let root = graph.add_node((None, Weight::default()));
        let mut node_of = vec![root; d.frames.len()];
        for (p, (_, f)) in node_order {
            node_of[f as usize] = graph.add_node((Some(f), parts[p].node_w[f as usize]));
        }
        for (_, (_, key, w)) in edge_order {
            let (parent, child) = ((key >> 32) as u32, key as u32);
            let from = if parent == ROOT { root } else { node_of[parent as usize] };
            graph.add_edge(from, node_of[child as usize], w);
        }
        RetentionGraph { graph, root }
    }

    /// The heaviest growth paths: for each of the `k` root edges with the
    /// largest positive delta, follow the callee edge with the largest
    /// positive delta until none is left.
    pub fn growth_paths(&self, k: usize) -> Vec<GrowthPath> {
        // Equal deltas: the root edge added last first (`edges` lists a
        // node's edges newest first, and the sort is stable); the callee
        // of lowest index.
        let mut firsts: Vec<_> = self.graph.edges(self.root).filter(|e| e.weight().delta() > 0).collect();
        firsts.sort_by_key(|&e| (std::cmp::Reverse(e.weight().delta()), std::cmp::Reverse(e.id().index())));
        firsts
            .into_iter()
            .take(k)
            .map(|e| {
                let mut frames = Vec::new();
                let mut deltas = Vec::new();
                let mut seen = vec![false; self.graph.node_count()];
                let mut cur = e.target();
                let mut carried = e.weight().delta();
                loop {
                    seen[cur.index()] = true;
                    if let Some(f) = self.graph[cur].0 {
                        frames.push(f);
                        deltas.push(carried);
                    }
                    let best = self
                        .graph
                        .edges(cur)
                        .filter(|e| e.weight().delta() > 0 && !seen[e.target().index()])
                        .map(|e| e.weight().delta())
                        .max();
                    let Some(best) = best else { break };
                    let next = self
                        .graph
                        .edges(cur)
                        .filter(|e| e.weight().delta() == best && !seen[e.target().index()])
                        .map(|e| e.target())
                        .min()
                        .expect("the best edge is tied with itself");
                    carried = best;
                    cur = next;
                }
                GrowthPath { frames, deltas }
            })
            .collect()
    }

    /// The graph of type `t` over the stacks whose BASE and NEW values
    /// differ: every node and edge of the full graph (`build(d, t, |_|
    /// true)`) whose delta is not zero, with that delta, numbered in their
    /// own order. `None` when the values are so large that a sum could
    /// saturate (the sum of their absolute values reaches i64::MAX), where
    /// dropping the unchanged stacks' terms could change a delta.
    pub fn of_changed(d: &Diff, t: usize) -> Option<RetentionGraph> {
        let n = d.ntypes();
        sums_fit(d, t).then(|| RetentionGraph::build(d, t, |s| d.base[s * n + t] != d.new[s * n + t]))
    }

    /// For each caller → callee frame pair of `edges`, its first
    /// appearance (`stack << 32 | position`, root first) in the walk of
    /// the full graph of type `t`, whose edges are numbered in that order;
    /// `u64::MAX` for a pair it does not have. One pass over the frames,
    /// reading a table per frame and hashing only frames of which both
    /// the caller and the callee are in `edges`; it stops when all are
    /// found.
    pub fn edge_first_appearances(d: &Diff, t: usize, edges: &[(u32, u32)]) -> Vec<u64> {
        let n = d.ntypes();
        let mut firsts = vec![u64::MAX; edges.len()];
        let mut is_caller = vec![false; d.frames.len()];
        let mut is_callee = vec![false; d.frames.len()];
        let mut index: rustc_hash::FxHashMap<(u32, u32), usize> = Default::default();
        for (i, &(a, b)) in edges.iter().enumerate() {
            is_caller[a as usize] = true;
            is_callee[b as usize] = true;
            index.insert((a, b), i);
        }
        let mut left = index.len();
        for s in 0..d.stacks.len() {
            if left == 0 {
                break;
            }
            if d.base[s * n + t] == 0 && d.new[s * n + t] == 0 {
                continue;
            }
            let mut parent = ROOT;
            for (pos, &f) in d.stacks.get(s).iter().rev().enumerate() {
                if parent != ROOT && is_caller[parent as usize] && is_callee[f as usize] {
                    if let Some(&i) = index.get(&(parent, f)) {
                        if firsts[i] == u64::MAX {
                            firsts[i] = ((s as u64) << 32) | pos as u64;
                            left -= 1;
                        }
                    }
                }
                parent = f;
            }
        }
        firsts
    }

    /// The deepest non-plumbing frame through which at least `share` of the
    /// graph's positive growth flows: descend from the root along the
    /// heaviest edge while it still carries that much. Returns the frame
    /// and the delta through it.
    pub fn dominating_frame(&self, d: &Diff, share: f64) -> Option<(u32, i64)> {
        let total: i64 =
            self.graph.edges(self.root).map(|e| e.weight().delta()).filter(|&x| x > 0).fold(0, i64::saturating_add);
        if total <= 0 {
            return None;
        }
        let need = (total as f64 * share).ceil() as i64;
        let mut best = None;
        let mut seen = vec![false; self.graph.node_count()];
        let mut cur = self.root;
        loop {
            seen[cur.index()] = true;
            let next = self
                .graph
                .edges(cur)
                .filter(|e| !seen[e.target().index()])
                .max_by_key(|e| (e.weight().delta(), std::cmp::Reverse(e.target().index())));
            match next {
                Some(e) if e.weight().delta() >= need => {
                    cur = e.target();
                    if let Some(f) = self.graph[cur].0 {
                        if d.frame_info[f as usize].class != FrameClass::Plumbing {
                            best = Some((f, e.weight().delta()));
                        }
                    }
                }
                _ => break,
            }
        }
        best
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::diff::StackTable;
    use petgraph::graph::EdgeIndex;
    use rustc_hash::FxHashMap;

    /// The sequential build this module had before the chunked one: the
    /// reference the parallel build must equal, index for index.
    fn reference(d: &Diff, t: usize, keep: impl Fn(usize) -> bool) -> RetentionGraph {
        let mut graph: DiGraph<(Frame, Weight), Weight> = DiGraph::new();
        let root = graph.add_node((None, Weight::default()));
        let mut node_of: Vec<Option<NodeIndex>> = vec![None; d.frames.len()];
        let mut node_stamp: Vec<u32> = vec![0; 1];
        let mut edge_of: FxHashMap<(NodeIndex, NodeIndex), EdgeIndex> = FxHashMap::default();
        let mut edge_stamp: Vec<u32> = Vec::new();
        let n = d.ntypes();
        for s in 0..d.stacks.len() {
            let w = Weight { base: d.base[s * n + t], new: d.new[s * n + t] };
            if (w.base == 0 && w.new == 0) || !keep(s) {
                continue;
            }
            let stamp = s as u32 + 1;
            let mut parent = root;
            for &f in d.stacks.get(s).iter().rev() {
                let node = *node_of[f as usize].get_or_insert_with(|| {
                    node_stamp.push(0);
                    graph.add_node((Some(f), Weight::default()))
                });
                if node_stamp[node.index()] != stamp {
                    node_stamp[node.index()] = stamp;
                    let nw = &mut graph[node].1;
                    nw.base = nw.base.saturating_add(w.base);
                    nw.new = nw.new.saturating_add(w.new);
                }
                if node != parent {
                    let e = *edge_of.entry((parent, node)).or_insert_with(|| {
                        edge_stamp.push(0);
                        graph.add_edge(parent, node, Weight::default())
                    });
                    if edge_stamp[e.index()] != stamp {
                        edge_stamp[e.index()] = stamp;
                        let ew = &mut graph[e];
                        ew.base = ew.base.saturating_add(w.base);
                        ew.new = ew.new.saturating_add(w.new);
                    }
                }
                parent = node;
            }
        }
        RetentionGraph { graph, root }
    }

    /// A diff over `nstacks` random stacks of a few frames, with recursion,
    /// self-calls and zero weights; only the fields the graph reads are set.
    pub(in crate::diff) fn random_diff(seed: u64, nstacks: usize, nframes: u32, nt: usize) -> Diff {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut stacks = StackTable::new();
        let (mut base, mut new) = (Vec::new(), Vec::new());
        let mut buf = Vec::new();
        while stacks.len() < nstacks {
            buf.clear();
            for _ in 0..1 + next(12) {
                buf.push(next(nframes as u64) as u32);
            }
            if stacks.intern(&buf).1 {
                for _ in 0..nt {
                    base.push(if next(4) == 0 { 0 } else { next(1000) as i64 });
                    new.push(if next(4) == 0 { 0 } else { next(1500) as i64 });
                }
            }
        }
        Diff {
            types: vec![("inuse_space".into(), "bytes".into()); nt],
            base_totals: vec![0; nt],
            new_totals: vec![0; nt],
            base_time: 0,
            new_time: 0,
            period: 0,
            frames: (0..nframes).map(|f| format!("f{f}")).collect(),
            frame_info: Vec::new(),
            frame_files: Vec::new(),
            frame_file_ids: Vec::new(),
            stacks,
            base,
            new,
            attributions: Vec::new(),
            allocating: Vec::new(),
            cat_base: Vec::new(),
            cat_new: Vec::new(),
            nodes: Vec::new(),
            new_memstats: None,
            node_flat: [Vec::new(), Vec::new()],
            node_cum: [Vec::new(), Vec::new()],
        }
    }

    /// Nodes, then edges as (source, target, weight), in index order.
    type Flat = (Vec<(Frame, Weight)>, Vec<(usize, usize, Weight)>);

    fn flatten(g: &RetentionGraph) -> Flat {
        let nodes = g.graph.node_indices().map(|n| g.graph[n]).collect();
        let edges = g.graph.edge_references().map(|e| (e.source().index(), e.target().index(), *e.weight())).collect();
        (nodes, edges)
    }

    /// Paths as comparable data.
    fn paths(p: &[GrowthPath]) -> Vec<(Vec<u32>, Vec<i64>)> {
        p.iter().map(|p| (p.frames.clone(), p.deltas.clone())).collect()
    }

    #[test]
    fn growth_paths_of_the_changed_stacks_equal_the_full_graphs() {
        // Few frames and small values, so that deltas tie often, at the
        // root and below it; half the stacks unchanged, some zero.
        let mut checked = 0;
        for (seed, nstacks, nframes, vmax) in [(5, 3000, 6, 3), (6, 5000, 40, 4), (7, 20_000, 300, 5), (8, 500, 9, 2)] {
            let mut d = random_diff(seed, nstacks, nframes, 2);
            let mut x = seed | 1;
            for i in 0..d.base.len() {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                let r = x >> 33;
                d.base[i] = (r % vmax) as i64;
                d.new[i] = if r & (1 << 20) == 0 { d.base[i] } else { ((r >> 8) % vmax) as i64 };
            }
            for t in 0..2 {
                for k in [1, 3, 50] {
                    let want = RetentionGraph::build(&d, t, |_| true).growth_paths(k);
                    assert_eq!(
                        paths(&RetentionGraph::growth_paths_of(&d, t, k)),
                        paths(&want),
                        "seed {seed} t {t} k {k}"
                    );
                    checked += want.iter().map(|p| p.frames.len()).sum::<usize>();
                }
            }
        }
        assert!(checked > 200, "only {checked} path frames compared");
    }

    /// Values whose sums saturate take the full graph, which sums every
    /// stack: the paths still equal its paths.
    #[test]
    fn growth_paths_of_saturating_values_equal_the_full_graphs() {
        let mut d = random_diff(9, 2000, 30, 1);
        for (i, (b, n)) in d.base.iter_mut().zip(d.new.iter_mut()).enumerate() {
            if i % 3 == 0 {
                (*b, *n) = (i64::MAX / 2, i64::MAX / 2);
            }
        }
        let want = RetentionGraph::build(&d, 0, |_| true).growth_paths(3);
        assert_eq!(paths(&RetentionGraph::growth_paths_of(&d, 0, 3)), paths(&want));
    }

    #[test]
    fn partitioned_build_equals_the_sequential_walk() {
        // 7 frames give deep recursion; 400 make the edge tables grow.
        for (seed, nstacks, nframes) in [(1, 40_000, 7), (2, 50_000, 400), (3, 300, 5), (4, 0, 3)] {
            let d = random_diff(seed, nstacks, nframes, 2);
            for t in 0..2 {
                let want = reference(&d, t, |_| true);
                assert_eq!(flatten(&RetentionGraph::build(&d, t, |_| true)), flatten(&want), "seed {seed} type {t}");
                let keep = |s: usize| s % 3 != 0 && d.stack_delta(s, t) > 0;
                let want_kept = reference(&d, t, keep);
                assert_eq!(flatten(&RetentionGraph::build(&d, t, keep)), flatten(&want_kept));
                for parts in [1, 2, 3, 5] {
                    let got = RetentionGraph::build_in(&d, t, |_| true, parts);
                    assert_eq!(flatten(&got), flatten(&want), "seed {seed} type {t} parts {parts}");
                    let got = RetentionGraph::build_in(&d, t, keep, parts);
                    assert_eq!(flatten(&got), flatten(&want_kept), "seed {seed} type {t} parts {parts}, kept");
                }
            }
        }
    }
}
