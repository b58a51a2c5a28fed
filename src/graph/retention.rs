//! The retention graph: the call graph of live memory.
//!
//! Nodes are functions; an edge goes from caller to callee and carries the
//! bytes (or objects) of every stack that passes along it, once per stack
//! even when recursion repeats the edge. Each edge keeps its BASE and NEW
//! weight, so one graph serves both snapshots and their delta. A virtual
//! root node sits above every outermost frame.

use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::attribute::FrameClass;
use crate::diff::Diff;

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
        self.new - self.base
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

/// One edge of a [`Part`]: when it first appeared, the last stack that
/// added to it, and its weights.
#[derive(Debug, Clone, Copy)]
struct Acc {
    order: u32,
    stamp: u32,
    w: Weight,
}

/// The retention graph of one chunk of stacks: nodes in first-appearance
/// order with their weights, and edges keyed `parent << 32 | child` by
/// frame id.
struct Part {
    nodes: Vec<u32>,
    node_w: Vec<Weight>,
    edges: FxHashMap<u64, Acc>,
}

impl Part {
    fn walk(d: &Diff, t: usize, keep: &impl Fn(usize) -> bool, stacks: std::ops::Range<usize>, nframes: usize) -> Part {
        let n = d.ntypes();
        let mut nodes = Vec::new();
        let mut node_w = vec![Weight::default(); nframes];
        // Stamp of the last stack that counted each node (0 = never).
        let mut node_stamp = vec![0u32; nframes];
        let mut edges: FxHashMap<u64, Acc> = FxHashMap::default();
        for s in stacks {
            let w = Weight { base: d.base[s * n + t], new: d.new[s * n + t] };
            if (w.base == 0 && w.new == 0) || !keep(s) {
                continue;
            }
            let stamp = s as u32 + 1;
            let mut parent = ROOT;
            for &f in d.stacks.get(s).iter().rev() {
                let st = &mut node_stamp[f as usize];
                if *st != stamp {
                    if *st == 0 {
                        nodes.push(f);
                    }
                    *st = stamp;
                    let nw = &mut node_w[f as usize];
                    nw.base += w.base;
                    nw.new += w.new;
                }
                if f != parent {
                    let next = edges.len() as u32;
                    let e = edges.entry(((parent as u64) << 32) | f as u64).or_insert(Acc {
                        order: next,
                        stamp: 0,
                        w: Weight::default(),
                    });
                    if e.stamp != stamp {
                        e.stamp = stamp;
                        e.w.base += w.base;
                        e.w.new += w.new;
                    }
                }
                parent = f;
            }
        }
        Part { nodes, node_w, edges }
    }
}

impl RetentionGraph {
    /// Builds the graph of type `t` from the stacks for which `keep` holds.
    ///
    /// The stacks are cut into chunks that are walked in parallel, each into
    /// its own edge table, and the tables are then merged in chunk order.
    /// Chunk order makes the result identical to one sequential walk: nodes
    /// and edges are numbered in the order they first appear, and every
    /// weight counts each stack once. An edge's table entry holds its
    /// order, its "last stack" stamp and both weights, so a frame costs one
    /// hash probe (the old build kept a petgraph edge and a hash entry per
    /// edge, and touched both for every frame).
    pub fn build(d: &Diff, t: usize, keep: impl Fn(usize) -> bool + Sync) -> RetentionGraph {
        let nframes = d.frames.len();
        let nstacks = d.stacks.len();
        // One chunk per thread: each chunk's edge table costs a merge.
        let chunk = nstacks.div_ceil(rayon::current_num_threads().max(1)).max(1 << 14);
        let parts: Vec<Part> = (0..nstacks.div_ceil(chunk).max(1))
            .into_par_iter()
            .map(|c| Part::walk(d, t, &keep, c * chunk..((c + 1) * chunk).min(nstacks), nframes))
            .collect();

        // Merge in chunk order: first appearances keep their order. Nodes
        // first, so that edges go straight into the graph.
        let mut node_w = vec![Weight::default(); nframes];
        let mut node_order: Vec<u32> = Vec::new();
        let mut placed = vec![false; nframes];
        for part in &parts {
            for &f in &part.nodes {
                if !std::mem::replace(&mut placed[f as usize], true) {
                    node_order.push(f);
                }
                let (w, pw) = (&mut node_w[f as usize], part.node_w[f as usize]);
                w.base += pw.base;
                w.new += pw.new;
            }
        }
        drop(placed);
        let edge_hint = parts.iter().map(|p| p.edges.len()).max().unwrap_or(0);
        let mut graph: DiGraph<(Frame, Weight), Weight> = DiGraph::with_capacity(node_order.len() + 1, edge_hint);
        let root = graph.add_node((None, Weight::default()));
        let mut node_of = vec![root; nframes];
        for &f in &node_order {
            node_of[f as usize] = graph.add_node((Some(f), node_w[f as usize]));
        }
        // Edge key to its index in the graph, for the chunks after the first.
        let mut index: FxHashMap<u64, EdgeIndex> = FxHashMap::default();
        let nparts = parts.len();
        for (i, part) in parts.into_iter().enumerate() {
            let mut local: Vec<(u64, Acc)> = part.edges.into_iter().collect();
            local.sort_unstable_by_key(|e| e.1.order);
            for (key, a) in local {
                let found = if i == 0 { None } else { index.get(&key).copied() };
                match found {
                    Some(e) => {
                        let w = &mut graph[e];
                        w.base += a.w.base;
                        w.new += a.w.new;
                    }
                    None => {
                        let (p, c) = ((key >> 32) as u32, key as u32);
                        let from = if p == ROOT { root } else { node_of[p as usize] };
                        let e = graph.add_edge(from, node_of[c as usize], a.w);
                        if i + 1 < nparts {
                            index.insert(key, e);
                        }
                    }
                }
            }
        }
        RetentionGraph { graph, root }
    }

    /// The heaviest growth paths: for each of the `k` root edges with the
    /// largest positive delta, follow the callee edge with the largest
    /// positive delta until none is left.
    pub fn growth_paths(&self, k: usize) -> Vec<GrowthPath> {
        let mut firsts: Vec<_> = self.graph.edges(self.root).filter(|e| e.weight().delta() > 0).collect();
        firsts.sort_by_key(|e| std::cmp::Reverse(e.weight().delta()));
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
                    let next = self
                        .graph
                        .edges(cur)
                        .filter(|e| e.weight().delta() > 0 && !seen[e.target().index()])
                        .max_by_key(|e| (e.weight().delta(), std::cmp::Reverse(e.target().index())));
                    match next {
                        Some(n) => {
                            carried = n.weight().delta();
                            cur = n.target();
                        }
                        None => break,
                    }
                }
                GrowthPath { frames, deltas }
            })
            .collect()
    }

    /// The deepest non-plumbing frame through which at least `share` of the
    /// graph's positive growth flows: descend from the root along the
    /// heaviest edge while it still carries that much. Returns the frame
    /// and the delta through it.
    pub fn dominating_frame(&self, d: &Diff, share: f64) -> Option<(u32, i64)> {
        let total: i64 = self.graph.edges(self.root).map(|e| e.weight().delta()).filter(|&x| x > 0).sum();
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
mod tests {
    use super::*;
    use crate::diff::StackTable;

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
                    nw.base += w.base;
                    nw.new += w.new;
                }
                if node != parent {
                    let e = *edge_of.entry((parent, node)).or_insert_with(|| {
                        edge_stamp.push(0);
                        graph.add_edge(parent, node, Weight::default())
                    });
                    if edge_stamp[e.index()] != stamp {
                        edge_stamp[e.index()] = stamp;
                        let ew = &mut graph[e];
                        ew.base += w.base;
                        ew.new += w.new;
                    }
                }
                parent = node;
            }
        }
        RetentionGraph { graph, root }
    }

    /// A diff over `nstacks` random stacks of a few frames, with recursion,
    /// self-calls and zero weights; only the fields the graph reads are set.
    fn random_diff(seed: u64, nstacks: usize, nframes: u32, nt: usize) -> Diff {
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
            stacks,
            base,
            new,
            attributions: Vec::new(),
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

    #[test]
    fn chunked_build_equals_the_sequential_walk() {
        // 40k stacks make several chunks; 7 frames give deep recursion.
        for (seed, nstacks, nframes) in [(1, 40_000, 7), (2, 50_000, 400), (3, 300, 5), (4, 0, 3)] {
            let d = random_diff(seed, nstacks, nframes, 2);
            for t in 0..2 {
                let got = RetentionGraph::build(&d, t, |_| true);
                let want = reference(&d, t, |_| true);
                assert_eq!(flatten(&got), flatten(&want), "seed {seed} type {t}");
                let keep = |s: usize| s % 3 != 0 && d.stack_delta(s, t) > 0;
                assert_eq!(flatten(&RetentionGraph::build(&d, t, keep)), flatten(&reference(&d, t, keep)));
            }
        }
    }
}
