//! The retention graph: the call graph of live memory.
//!
//! Nodes are functions; an edge goes from caller to callee and carries the
//! bytes (or objects) of every stack that passes along it, once per stack
//! even when recursion repeats the edge. Each edge keeps its BASE and NEW
//! weight, so one graph serves both snapshots and their delta. A virtual
//! root node sits above every outermost frame.

use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
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

impl RetentionGraph {
    /// Builds the graph of type `t` from the stacks for which `keep` holds.
    pub fn build(d: &Diff, t: usize, keep: impl Fn(usize) -> bool) -> RetentionGraph {
        let mut graph: DiGraph<(Frame, Weight), Weight> = DiGraph::new();
        let root = graph.add_node((None, Weight::default()));
        // Dense maps and "last stack that touched it" stamps: no per-stack
        // sorting or allocation to count each node and edge once per stack.
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
