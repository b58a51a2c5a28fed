//! Dominator tree and retained sizes of a heap graph, on compact `u32` arrays.
//!
//! Longer than 700 lines: nearly half of it is the unit tests of one algorithm
//! (semi-NCA with its CSR arrays and retained sizes), which read best beside it.
//!
//! Go heap dumps reach 10–100 M objects, and everything here is sized for that:
//! - node ids are `u32`, and graphs are [`Csr`] arrays rather than per-node vectors;
//! - no step recurses, because object graphs contain linked lists millions of nodes long;
//! - [`Dominators::semi_nca`] uses about 6 `u32` per node plus a predecessor array that it frees.
//!
//! [`Dominators::semi_nca`] is the semi-NCA algorithm of Georgiadis, Tarjan and Werneck,
//! "Finding Dominators in Practice" (2006). petgraph's `simple_fast` (Cooper–Harvey–Kennedy on
//! hash maps) was about 10× slower on heap graphs and needs over 100 bytes per node.
//!
//! ```
//! use leakscope::heap::dominators::{Csr, Dominators};
//! // 0 -> 1 -> 3 and 0 -> 2 -> 3: only the root dominates 3.
//! let g = Csr::from_edges(4, &[(0, 1), (0, 2), (1, 3), (2, 3)]);
//! let d = Dominators::semi_nca(&g, 0);
//! assert_eq!(d.idom, [0, 0, 0, 0]);
//! assert_eq!(d.retained(&[1, 10, 100, 1000]), [1111, 10, 100, 1000]);
//! ```

/// Marks a node not reachable from the root.
pub const UNREACHABLE: u32 = u32::MAX;

/// Marks a node that belongs to no group in [`Dominators::group_retained`].
pub const NO_GROUP: u32 = u32::MAX;

/// "No node" in scratch arrays. Node ids and preorder numbers stay below `u32::MAX`, because
/// [`CsrBuilder::new`] refuses `u32::MAX` nodes or more.
const NONE: u32 = u32::MAX;

/// A directed graph in compressed sparse row form: the successors of node v are
/// `targets[offsets[v] as usize..offsets[v + 1] as usize]`. `offsets.len() == n + 1`.
///
/// Two flat `u32` arrays cost 4 bytes per node plus 4 per edge, with no per-node allocation,
/// which is what makes graphs of 100 M objects fit in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Csr {
    /// Where each node's successors start in `targets`; one extra entry holds the edge count.
    pub offsets: Vec<u32>,
    /// Successor node ids, grouped by source node.
    pub targets: Vec<u32>,
}

impl Csr {
    /// The number of nodes, `offsets.len() - 1`.
    pub fn num_nodes(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// The successors of `v`, in the order they were added.
    ///
    /// # Panics
    /// If `v` is not below [`Csr::num_nodes`].
    #[inline]
    pub fn successors(&self, v: u32) -> &[u32] {
        let v = v as usize;
        &self.targets[self.offsets[v] as usize..self.offsets[v + 1] as usize]
    }

    /// Builds from an edge list (counting sort; duplicates kept).
    ///
    /// Duplicates and self loops are kept because heap objects can hold several pointers to the
    /// same object or to themselves; they do not change dominators. Each node's successors keep
    /// their order in `edges`.
    ///
    /// # Panics
    /// If an endpoint is not below `n`, if `n >= u32::MAX`, or if there are more than
    /// `u32::MAX` edges.
    pub fn from_edges(n: usize, edges: &[(u32, u32)]) -> Csr {
        assert!(u32::try_from(edges.len()).is_ok(), "more than u32::MAX edges");
        let mut b = CsrBuilder::new(n);
        for &(s, t) in edges {
            assert!((s as usize) < n && (t as usize) < n, "edge ({s}, {t}) out of range for {n} nodes");
            b.count(s);
        }
        b.start_fill();
        for &(s, t) in edges {
            b.push(s, t);
        }
        b.finish()
    }

    /// The reverse graph (predecessors), by counting sort; O(n + e) time, no per-node allocation.
    ///
    /// Each node's predecessors come out in increasing id order.
    pub fn transpose(&self) -> Csr {
        let n = self.num_nodes();
        let mut b = CsrBuilder::new(n);
        for &t in &self.targets {
            b.count(t);
        }
        b.start_fill();
        for v in 0..n as u32 {
            for &t in self.successors(v) {
                b.push(t, v);
            }
        }
        b.finish()
    }
}

/// Builds a [`Csr`] by counting sort from two passes over the same edge sequence (first
/// [`count`](Self::count) every edge, then [`push`](Self::push) every edge in the same order).
///
/// The offsets double as fill cursors and are shifted back at the end, so building needs no
/// cursor array besides the result.
struct CsrBuilder {
    offsets: Vec<u32>,
    targets: Vec<u32>,
}

impl CsrBuilder {
    fn new(n: usize) -> CsrBuilder {
        assert!(n < u32::MAX as usize, "at most u32::MAX - 1 nodes: u32::MAX marks absent nodes");
        CsrBuilder { offsets: vec![0; n + 1], targets: Vec::new() }
    }

    /// First pass: one edge out of `src`. The count of `src` sits in `offsets[src]`.
    #[inline]
    fn count(&mut self, src: u32) {
        self.offsets[src as usize] += 1;
    }

    /// Turns counts into start positions (`offsets[v]` = start of v) and allocates the targets.
    fn start_fill(&mut self) {
        let mut sum: u32 = 0;
        for o in &mut self.offsets {
            let c = *o;
            *o = sum;
            sum = sum.checked_add(c).expect("more than u32::MAX edges");
        }
        self.targets = vec![0; sum as usize];
    }

    /// Second pass: `offsets[src]` is the next free slot of `src`, and ends as the end of `src`.
    #[inline]
    fn push(&mut self, src: u32, dst: u32) {
        let c = &mut self.offsets[src as usize];
        self.targets[*c as usize] = dst;
        *c += 1;
    }

    /// `offsets[v]` now holds the end of v, which is the start of v + 1: shift by one.
    fn finish(mut self) -> Csr {
        let len = self.offsets.len();
        self.offsets.copy_within(0..len - 1, 1);
        self.offsets[0] = 0;
        Csr { offsets: self.offsets, targets: self.targets }
    }
}

/// The dominator tree of the nodes reachable from a root.
///
/// Node d dominates v if every path from the root to v passes through d; the immediate dominator
/// of v is its closest strict dominator. For a heap, freeing d frees everything d dominates, which
/// is what [`Dominators::retained`] sums.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dominators {
    /// Immediate dominator per node; `idom[root] == root`; UNREACHABLE for nodes not reachable.
    pub idom: Vec<u32>,
    /// Reachable nodes in DFS preorder (`preorder[0] == root`). Every node appears after its idom.
    ///
    /// (The immediate dominator of a node is a proper ancestor in the DFS tree, so it was
    /// visited first.) Walking this backwards visits children before their dominators.
    pub preorder: Vec<u32>,
}

impl Dominators {
    /// Iterative semi-NCA (Georgiadis, Tarjan, Werneck 2006, "Finding Dominators in Practice").
    /// No recursion anywhere: heap graphs have chains of millions of nodes.
    ///
    /// Steps, all on `u32` arrays indexed by preorder number:
    /// 1. DFS with an explicit stack of (node, next edge), numbering nodes in preorder;
    /// 2. predecessor lists of the reachable nodes, in preorder numbers (freed after step 3);
    /// 3. semidominators in reverse preorder, with the link-eval forest kept implicit (a node is
    ///    linked once processed) and path compression done in two passes without a stack;
    /// 4. `idom(w) = NCA(parent(w), sdom(w))` in preorder, walking up the idoms built so far.
    ///
    /// Working memory is 6 `u32` per node (at most 5 at once) plus the predecessor array
    /// (4 bytes per reachable node and per edge), and during the DFS only, a stack of 8 bytes per
    /// level of depth. Time is O(e log n) for steps 1–3. The NCA walk in step 4 is quadratic in
    /// the worst case, but short in the paper's measurements and on the benchmark's heap-like
    /// graph (9.5 M steps in all for 10 M nodes).
    ///
    /// # Panics
    /// If `root` is not a node of `g`, or if `g` has a target not below [`Csr::num_nodes`].
    pub fn semi_nca(g: &Csr, root: u32) -> Dominators {
        let n = g.num_nodes();
        assert!((root as usize) < n, "root {root} out of range for {n} nodes");

        // 1. Preorder numbering. `idom` starts as the DFS parent (in preorder numbers): step 3 only
        // reads it, and step 4 overwrites it in place.
        let (vertex, mut idom, pre) = dfs(g, root);
        let cnt = vertex.len();

        // 2. Predecessors in preorder numbers. Every successor of a reachable node is reachable,
        // so unreachable predecessors drop out for free, and step 3 reads them in order.
        let preds = {
            let mut b = CsrBuilder::new(cnt);
            for &v in &vertex {
                for &t in g.successors(v) {
                    b.count(pre[t as usize]);
                }
            }
            b.start_fill();
            for (i, &v) in vertex.iter().enumerate() {
                for &t in g.successors(v) {
                    b.push(pre[t as usize], i as u32);
                }
            }
            b.finish()
        };
        drop(pre);

        // 3. Semidominators. `forest[v].label` holds the smallest semidominator on v's compressed forest
        // path; semi-NCA needs only that value, not the vertex that has it.
        let mut semi = vec![0u32; cnt];
        let mut forest: Vec<Link> = idom.iter().map(|&p| Link { ancestor: p, label: 0 }).collect();
        for w in (1..cnt as u32).rev() {
            let mut s = idom[w as usize];
            for &v in preds.successors(w) {
                // An unprocessed predecessor (v <= w) is the root of its own forest tree, and its
                // semidominator is still itself.
                let c = if v <= w { v } else { eval(&mut forest, v, w) };
                s = s.min(c);
            }
            semi[w as usize] = s;
            forest[w as usize].label = s;
        }
        drop(preds);
        drop(forest);

        // 4. In preorder, the idoms of all earlier nodes are final; sdom(w) is a DFS-tree
        // ancestor of parent(w), so the NCA is the first node on parent(w)'s idom chain whose
        // number is at most sdom(w).
        for w in 1..cnt {
            let s = semi[w];
            let mut x = idom[w];
            while x > s {
                x = idom[x as usize];
            }
            idom[w] = x;
        }
        drop(semi);

        let mut out = vec![UNREACHABLE; n];
        for (i, &v) in vertex.iter().enumerate() {
            out[v as usize] = vertex[idom[i] as usize];
        }
        Dominators { idom: out, preorder: vertex }
    }

    /// Whether `v` is reachable from the root (false for ids out of range).
    pub fn is_reachable(&self, v: u32) -> bool {
        self.idom.get(v as usize).is_some_and(|&d| d != UNREACHABLE)
    }

    /// Retained size: `shallow[v]` plus the shallow sizes of all nodes v dominates.
    /// Computed in reverse preorder in O(n). Unreachable nodes get 0.
    ///
    /// Reverse preorder finishes every node before its immediate dominator, so one pass that adds
    /// each node's total to its idom suffices, with no tree walk.
    ///
    /// # Panics
    /// If `shallow.len()` differs from the number of nodes.
    pub fn retained(&self, shallow: &[u64]) -> Vec<u64> {
        assert_eq!(shallow.len(), self.idom.len(), "one shallow size per node");
        let mut r = vec![0u64; self.idom.len()];
        for &v in &self.preorder {
            r[v as usize] = shallow[v as usize];
        }
        for &v in self.preorder.iter().skip(1).rev() {
            let add = r[v as usize];
            r[self.idom[v as usize] as usize] += add;
        }
        r
    }

    /// "Group retained" per group (e.g. allocation site): the sum of `retained[v]` over the
    /// reachable members v of the group (`group[v] != NO_GROUP`) that have no proper ancestor
    /// in the dominator tree belonging to the same group. One iterative DFS over the dominator
    /// tree with a per-group active counter; O(n). Returns a Vec of length ngroups.
    ///
    /// Summing `retained` over all members would count nested members twice (a list node
    /// retains the rest of its list); counting only the topmost members gives the memory freed
    /// if every member of the group were gone.
    ///
    /// # Panics
    /// If `retained` or `group` do not have one entry per node, or a group id is neither
    /// below `ngroups` nor `NO_GROUP`.
    pub fn group_retained(&self, retained: &[u64], group: &[u32], ngroups: usize) -> Vec<u64> {
        let n = self.idom.len();
        assert_eq!(retained.len(), n, "one retained size per node");
        assert_eq!(group.len(), n, "one group per node");
        let mut out = vec![0u64; ngroups];
        let Some(&root) = self.preorder.first() else { return out };
        // active[g]: members of g on the path from the root to the current node.
        let mut active = vec![0u32; ngroups];
        let tree = self.tree();
        let mut enter = |v: u32, active: &mut [u32]| {
            let g = group[v as usize];
            if g != NO_GROUP {
                let a = &mut active[g as usize];
                if *a == 0 {
                    out[g as usize] += retained[v as usize];
                }
                *a += 1;
            }
        };
        enter(root, &mut active);
        let mut stack: Vec<(u32, u32)> = vec![(root, tree.offsets[root as usize])];
        while let Some(top) = stack.last_mut() {
            let (v, e) = *top;
            if e < tree.offsets[v as usize + 1] {
                top.1 = e + 1;
                let c = tree.targets[e as usize];
                enter(c, &mut active);
                stack.push((c, tree.offsets[c as usize]));
            } else {
                stack.pop();
                let g = group[v as usize];
                if g != NO_GROUP {
                    active[g as usize] -= 1;
                }
            }
        }
        out
    }

    /// Children lists of the dominator tree as CSR (for reports that walk it).
    ///
    /// Children are listed in preorder. The root is nobody's child, and unreachable nodes have
    /// no children and are nobody's.
    pub fn tree(&self) -> Csr {
        let mut b = CsrBuilder::new(self.idom.len());
        let children = self.preorder.iter().skip(1);
        for &v in children.clone() {
            b.count(self.idom[v as usize]);
        }
        b.start_fill();
        for &v in children {
            b.push(self.idom[v as usize], v);
        }
        b.finish()
    }
}

/// Iterative DFS from `root`, with an explicit stack of (node, next edge index into `targets`).
///
/// Returns `(vertex, parent, pre)`: the reachable nodes in preorder, the preorder number of each
/// one's DFS parent (the root is its own parent), and each node's preorder number
/// (UNREACHABLE if not reached).
fn dfs(g: &Csr, root: u32) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let n = g.num_nodes();
    let mut pre = vec![UNREACHABLE; n];
    let mut vertex = Vec::with_capacity(n);
    let mut parent = Vec::with_capacity(n);
    pre[root as usize] = 0;
    vertex.push(root);
    parent.push(0);
    let mut stack: Vec<(u32, u32)> = vec![(root, g.offsets[root as usize])];
    while let Some(top) = stack.last_mut() {
        let (v, mut e) = *top;
        let end = g.offsets[v as usize + 1];
        let mut next = NONE;
        while e < end {
            let t = g.targets[e as usize];
            e += 1;
            if pre[t as usize] == UNREACHABLE {
                next = t;
                break;
            }
        }
        top.1 = e;
        if next == NONE {
            stack.pop();
            continue;
        }
        parent.push(pre[v as usize]);
        pre[next as usize] = vertex.len() as u32;
        vertex.push(next);
        stack.push((next, g.offsets[next as usize]));
    }
    vertex.shrink_to_fit();
    parent.shrink_to_fit();
    (vertex, parent, pre)
}

/// One node of the link-eval forest. Ancestor and label sit side by side because [`eval`]
/// reads both for every node on a path, at random places: one cache miss instead of two. On the
/// 10 M-node heap-like graph of the benchmark that made [`Dominators::semi_nca`] about 10 % faster
/// (4 runs each on a loaded 2-core machine), as eval's walks dominate its time there.
#[derive(Clone, Copy)]
struct Link {
    /// The forest parent once linked (then moved up by compression); the DFS parent before.
    ancestor: u32,
    /// The smallest semidominator on the compressed path from this node up to `ancestor`.
    label: u32,
}

/// The smallest semidominator (`label`) on the forest path from `v` up to, but excluding, the
/// root of its tree, compressing that path.
///
/// The link-eval forest is implicit: a node is linked to its DFS parent once processed, that is
/// when its preorder number is above `w`, the node being processed. Compression runs in two passes
/// without a stack, because paths can be millions of nodes long: the first walks up and reverses
/// the `ancestor` pointers, the second walks back down, carrying the minimum and pointing every
/// node at the tree root.
fn eval(forest: &mut [Link], v: u32, w: u32) -> u32 {
    debug_assert!(v > w, "eval of an unlinked node");
    let mut below = NONE;
    let mut x = v;
    loop {
        let a = forest[x as usize].ancestor;
        if a <= w {
            break;
        }
        forest[x as usize].ancestor = below;
        below = x;
        x = a;
    }
    // x is the topmost linked node; its ancestor is the tree root, which is not on the path.
    let Link { ancestor: root, label: mut min } = forest[x as usize];
    let mut y = below;
    while y != NONE {
        let l = &mut forest[y as usize];
        let next = l.ancestor;
        min = min.min(l.label);
        l.label = min;
        l.ancestor = root;
        y = next;
    }
    min
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64: deterministic test graphs without a RNG crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: usize) -> u32 {
            (self.next() % n as u64) as u32
        }
    }

    /// Random graphs of three shapes, so that both shallow and deep dominator trees occur:
    /// 0: uniform random edges (many unreachable nodes at low density);
    /// 1: a chain 0 -> 1 -> ... plus random edges (deep DFS, long compression paths);
    /// 2: a random tree (parent below the child) plus random edges.
    fn random_edges(rng: &mut Rng, n: usize, extra: usize, shape: u32) -> Vec<(u32, u32)> {
        let mut e = Vec::new();
        match shape {
            1 => e.extend((1..n as u32).map(|i| (i - 1, i))),
            2 => e.extend((1..n as u32).map(|i| (rng.below(i as usize), i))),
            _ => {}
        }
        for _ in 0..extra {
            e.push((rng.below(n), rng.below(n)));
        }
        e
    }

    /// Nodes reachable from `root` with `removed` deleted (pass NONE to delete nothing).
    fn reachable_without(g: &Csr, root: u32, removed: u32) -> Vec<bool> {
        let mut seen = vec![false; g.num_nodes()];
        if root == removed {
            return seen;
        }
        seen[root as usize] = true;
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            for &t in g.successors(v) {
                if t != removed && !seen[t as usize] {
                    seen[t as usize] = true;
                    stack.push(t);
                }
            }
        }
        seen
    }

    /// `dom[d][v]`, straight from the definition: d dominates a reachable v iff v == d or v
    /// becomes unreachable when d is removed.
    fn brute_dom(g: &Csr, root: u32) -> Vec<Vec<bool>> {
        let n = g.num_nodes();
        let all = reachable_without(g, root, NONE);
        let mut dom = vec![vec![false; n]; n];
        for d in 0..n {
            if !all[d] {
                continue;
            }
            let r = reachable_without(g, root, d as u32);
            for v in 0..n {
                dom[d][v] = all[v] && (v == d || !r[v]);
            }
        }
        dom
    }

    /// The immediate dominator from the dominance relation: the strict dominator that all the
    /// other strict dominators dominate.
    fn brute_idom(dom: &[Vec<bool>], root: u32) -> Vec<u32> {
        let n = dom.len();
        (0..n)
            .map(|v| {
                if !dom[v][v] {
                    return UNREACHABLE;
                }
                if v == root as usize {
                    return root;
                }
                let strict: Vec<usize> = (0..n).filter(|&d| d != v && dom[d][v]).collect();
                let idoms: Vec<usize> = strict.iter().copied().filter(|&d| strict.iter().all(|&e| dom[e][d])).collect();
                assert_eq!(idoms.len(), 1, "brute force: node {v} has idom candidates {idoms:?}");
                idoms[0] as u32
            })
            .collect()
    }

    fn petgraph_idom(n: usize, edges: &[(u32, u32)], root: u32) -> Vec<u32> {
        use petgraph::graph::NodeIndex;
        let mut g = petgraph::Graph::<(), ()>::with_capacity(n, edges.len());
        for _ in 0..n {
            g.add_node(());
        }
        for &(a, b) in edges {
            g.add_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize), ());
        }
        let d = petgraph::algo::dominators::simple_fast(&g, NodeIndex::new(root as usize));
        (0..n)
            .map(|v| match d.immediate_dominator(NodeIndex::new(v)) {
                _ if v == root as usize => root,
                Some(x) => x.index() as u32,
                None => UNREACHABLE,
            })
            .collect()
    }

    /// The structural promises of [`Dominators`]: preorder holds exactly the reachable nodes,
    /// once each, root first, and every node after its idom.
    fn check_invariants(g: &Csr, root: u32, d: &Dominators) {
        let n = g.num_nodes();
        let reach = reachable_without(g, root, NONE);
        assert_eq!(d.idom.len(), n);
        assert_eq!(d.preorder.first(), Some(&root));
        assert_eq!(d.idom[root as usize], root);
        let mut pos = vec![usize::MAX; n];
        for (i, &v) in d.preorder.iter().enumerate() {
            assert_eq!(pos[v as usize], usize::MAX, "node {v} twice in preorder");
            pos[v as usize] = i;
        }
        for v in 0..n {
            assert_eq!(reach[v], pos[v] != usize::MAX, "node {v}: reachable vs in preorder");
            assert_eq!(reach[v], d.is_reachable(v as u32), "node {v}: is_reachable");
            if reach[v] && v != root as usize {
                let p = d.idom[v] as usize;
                assert!(pos[p] < pos[v], "node {v} at {} before its idom {p} at {}", pos[v], pos[p]);
            }
        }
    }

    fn idoms(n: usize, edges: &[(u32, u32)], root: u32) -> Vec<u32> {
        let g = Csr::from_edges(n, edges);
        let d = Dominators::semi_nca(&g, root);
        check_invariants(&g, root, &d);
        assert_eq!(d.idom, brute_idom(&brute_dom(&g, root), root), "brute force disagrees");
        d.idom
    }

    #[test]
    fn csr_from_edges_keeps_order_and_duplicates() {
        let g = Csr::from_edges(4, &[(2, 1), (0, 3), (2, 1), (0, 0), (2, 0)]);
        assert_eq!(g.num_nodes(), 4);
        assert_eq!(g.offsets, [0, 2, 2, 5, 5]);
        assert_eq!(g.successors(0), [3, 0]);
        assert_eq!(g.successors(1), [] as [u32; 0]);
        assert_eq!(g.successors(2), [1, 1, 0]);
        assert_eq!(g.successors(3), [] as [u32; 0]);
        assert_eq!(Csr::from_edges(0, &[]).num_nodes(), 0);
    }

    #[test]
    fn transpose_reverses_every_edge() {
        let mut rng = Rng(7);
        for n in [1, 2, 5, 50, 300] {
            let edges = random_edges(&mut rng, n, 3 * n, 0);
            let g = Csr::from_edges(n, &edges);
            let t = g.transpose();
            let mut rev: Vec<(u32, u32)> = edges.iter().map(|&(a, b)| (b, a)).collect();
            rev.sort_unstable();
            // Predecessors come out sorted by id, so the transpose equals the sorted reversed list.
            assert_eq!(t, Csr::from_edges(n, &rev), "n={n}");
            let mut sorted = edges.clone();
            sorted.sort_unstable();
            assert_eq!(t.transpose(), Csr::from_edges(n, &sorted), "n={n}");
        }
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn from_edges_rejects_out_of_range_source() {
        Csr::from_edges(2, &[(2, 0)]);
    }

    /// Figure 1 of Lengauer and Tarjan, "A fast algorithm for finding dominators in a flowgraph"
    /// (1979), with the immediate dominators of their Figure 2.
    #[test]
    #[allow(non_snake_case)]
    fn lengauer_tarjan_paper_example() {
        let [R, A, B, C, D, E, F, G, H, I, J, K, L]: [u32; 13] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        let edges = [
            (R, A),
            (R, B),
            (R, C),
            (A, D),
            (B, A),
            (B, D),
            (B, E),
            (C, F),
            (C, G),
            (D, L),
            (E, H),
            (F, I),
            (G, I),
            (G, J),
            (H, E),
            (H, K),
            (I, K),
            (J, I),
            (K, I),
            (K, R),
            (L, H),
        ];
        assert_eq!(idoms(13, &edges, R), [R, R, R, R, R, R, C, C, R, R, G, R, D]);
    }

    #[test]
    fn diamond() {
        // 0 -> {1, 2} -> 3 -> 4: 3 is dominated by the root only, and dominates 4.
        assert_eq!(idoms(5, &[(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)], 0), [0, 0, 0, 0, 3]);
    }

    #[test]
    fn cycle_back_to_root() {
        assert_eq!(idoms(4, &[(0, 1), (1, 2), (2, 3), (3, 0)], 0), [0, 0, 1, 2]);
        // The back edge 3 -> 1 makes a loop that does not change the dominators.
        assert_eq!(idoms(4, &[(0, 1), (1, 2), (2, 3), (3, 1), (3, 0)], 0), [0, 0, 1, 2]);
    }

    #[test]
    fn self_loops_and_duplicate_edges() {
        let edges = [(0, 0), (0, 1), (0, 1), (1, 1), (1, 2), (1, 2), (2, 2), (0, 3), (3, 2)];
        assert_eq!(idoms(4, &edges, 0), [0, 0, 0, 0]);
        assert_eq!(idoms(3, &[(0, 0), (0, 1), (1, 1), (1, 2), (1, 2), (2, 2)], 0), [0, 0, 1]);
    }

    #[test]
    fn unreachable_nodes_and_other_root() {
        // 3 and 4 are unreachable from 0; 3's edge into 2 must not change 2's idom.
        let edges = [(0, 1), (1, 2), (3, 2), (3, 4), (4, 3)];
        let u = UNREACHABLE;
        assert_eq!(idoms(5, &edges, 0), [0, 0, 1, u, u]);
        // From 3, node 0 is unreachable and 2 is reached only through 3.
        assert_eq!(idoms(5, &edges, 3), [u, u, 3, 3, 3]);
        assert_eq!(idoms(1, &[], 0), [0]);
        let d = Dominators::semi_nca(&Csr::from_edges(5, &edges), 0);
        assert!(!d.is_reachable(3) && !d.is_reachable(99) && d.is_reachable(2));
        assert_eq!(d.retained(&[1, 2, 4, 8, 16]), [7, 6, 4, 0, 0]);
    }

    /// Dominators, retained and group retained against the definitions, on many small graphs.
    #[test]
    fn random_small_graphs_vs_brute_force() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut nontrivial = 0;
        for round in 0..600 {
            let n = 1 + rng.below(40) as usize;
            let extra = rng.below(3 * n + 1) as usize;
            let edges = random_edges(&mut rng, n, extra, round % 3);
            let root = rng.below(n);
            let g = Csr::from_edges(n, &edges);
            let d = Dominators::semi_nca(&g, root);
            check_invariants(&g, root, &d);
            let dom = brute_dom(&g, root);
            assert_eq!(d.idom, brute_idom(&dom, root), "round {round}: n={n} root={root} edges={edges:?}");
            nontrivial += d.idom.iter().filter(|&&p| p != UNREACHABLE && p != root).count();

            let shallow: Vec<u64> = (0..n).map(|_| rng.next() % 1000).collect();
            let retained = d.retained(&shallow);
            let want: Vec<u64> =
                (0..n).map(|v| (0..n).filter(|&u| dom[v][u]).map(|u| shallow[u]).sum::<u64>()).collect();
            assert_eq!(retained, want, "round {round}: retained");

            let ngroups = 1 + rng.below(4) as usize;
            let group: Vec<u32> =
                (0..n).map(|_| if rng.below(4) == 0 { NO_GROUP } else { rng.below(ngroups) }).collect();
            let mut want = vec![0u64; ngroups];
            for v in 0..n {
                let gv = group[v];
                let top = gv != NO_GROUP && dom[v][v] && !(0..n).any(|a| a != v && dom[a][v] && group[a] == gv);
                if top {
                    want[gv as usize] += retained[v];
                }
            }
            assert_eq!(d.group_retained(&retained, &group, ngroups), want, "round {round}: group_retained");
        }
        assert!(nontrivial > 1000, "random graphs too shallow to test much: {nontrivial}");
    }

    /// Larger graphs against petgraph's Cooper–Harvey–Kennedy implementation.
    #[test]
    fn random_graphs_vs_petgraph() {
        let mut rng = Rng(12345);
        for round in 0..60 {
            let n = [10, 100, 500, 2000][round % 4];
            let density = [0.5, 1.0, 1.5, 3.0, 6.0][round % 5];
            let edges = random_edges(&mut rng, n, (density * n as f64) as usize, (round % 3) as u32);
            let root = if round % 2 == 0 { 0 } else { rng.below(n) };
            let g = Csr::from_edges(n, &edges);
            let d = Dominators::semi_nca(&g, root);
            check_invariants(&g, root, &d);
            assert_eq!(d.idom, petgraph_idom(n, &edges, root), "round {round}: n={n} density={density}");

            // Retained by walking each node's idom chain, independent of the preorder pass.
            let shallow: Vec<u64> = (0..n as u64).map(|v| v * 7 + 1).collect();
            let mut want = vec![0u64; n];
            for v in d.preorder.iter().map(|&v| v as usize) {
                let mut a = v;
                loop {
                    want[a] += shallow[v];
                    if a == root as usize {
                        break;
                    }
                    a = d.idom[a] as usize;
                }
            }
            assert_eq!(d.retained(&shallow), want, "round {round}: retained");
        }
    }

    #[test]
    fn tree_lists_children_in_preorder() {
        let mut rng = Rng(99);
        for _ in 0..20 {
            let n = 200;
            let edges = random_edges(&mut rng, n, 300, 2);
            let d = Dominators::semi_nca(&Csr::from_edges(n, &edges), 0);
            let t = d.tree();
            assert_eq!(t.num_nodes(), n);
            assert_eq!(t.targets.len(), d.preorder.len() - 1);
            let mut pos = vec![0; n];
            for (i, &v) in d.preorder.iter().enumerate() {
                pos[v as usize] = i;
            }
            for p in 0..n as u32 {
                let c = t.successors(p);
                assert!(c.iter().all(|&c| d.idom[c as usize] == p && c != p), "children of {p}: {c:?}");
                assert!(c.windows(2).all(|w| pos[w[0] as usize] < pos[w[1] as usize]));
            }
        }
    }

    #[test]
    fn group_retained_counts_topmost_members_only() {
        // Chain 0 -> 1 -> 2 -> 3 with 1 and 3 in group 0, 2 in group 1: 3 sits under 1.
        let d = Dominators::semi_nca(&Csr::from_edges(4, &[(0, 1), (1, 2), (2, 3)]), 0);
        let r = d.retained(&[1, 10, 100, 1000]);
        assert_eq!(r, [1111, 1110, 1100, 1000]);
        assert_eq!(d.group_retained(&r, &[NO_GROUP, 0, 1, 0], 3), [1110, 1100, 0]);
        // Siblings: both count, as neither dominates the other.
        let d = Dominators::semi_nca(&Csr::from_edges(3, &[(0, 1), (0, 2)]), 0);
        assert_eq!(d.group_retained(&d.retained(&[1, 10, 100]), &[NO_GROUP, 0, 0], 1), [110]);
    }

    /// Chains millions long must not overflow any stack (in the DFS, in eval's compression, in
    /// the tree walk of group_retained). 1 M in debug builds, where 10 M took about 7 s.
    #[test]
    fn long_chain_without_stack_overflow() {
        let n: u32 = if cfg!(debug_assertions) { 1_000_000 } else { 10_000_000 };
        // Chain 0 -> 1 -> ... -> n-1, plus n-1 -> 1 so that eval walks the whole chain once.
        let mut edges: Vec<(u32, u32)> = (1..n).map(|i| (i - 1, i)).collect();
        edges.push((n - 1, 1));
        let g = Csr::from_edges(n as usize, &edges);
        let d = Dominators::semi_nca(&g, 0);
        assert_eq!(d.preorder.len(), n as usize);
        assert!(d.idom.iter().enumerate().all(|(v, &p)| p == (v as u32).saturating_sub(1)));
        let r = d.retained(&vec![1; n as usize]);
        assert!(r.iter().enumerate().all(|(v, &s)| s == (n - v as u32) as u64));
        let group: Vec<u32> = (0..n).map(|v| v % 2).collect();
        // Topmost even member: 0, retaining everything; topmost odd member: 1.
        assert_eq!(d.group_retained(&r, &group, 2), [n as u64, n as u64 - 1]);
    }

    /// A deep handle (chain) holding a wide fan-out whose members all point back into the chain:
    /// many evals over long, already compressed forest paths.
    #[test]
    fn broom_without_stack_overflow() {
        let n: u32 = 2_000_000;
        let handle = n / 2;
        let mut edges: Vec<(u32, u32)> = (1..handle).map(|i| (i - 1, i)).collect();
        for leaf in handle..n {
            edges.push((handle - 1, leaf));
            edges.push((leaf, 1 + leaf % (handle - 1)));
        }
        let g = Csr::from_edges(n as usize, &edges);
        let d = Dominators::semi_nca(&g, 0);
        assert_eq!(d.preorder.len(), n as usize);
        for v in 1..n {
            let want = if v < handle { v - 1 } else { handle - 1 };
            assert_eq!(d.idom[v as usize], want, "node {v}");
        }
        let r = d.retained(&vec![1; n as usize]);
        assert_eq!(r[0], n as u64);
        assert_eq!(r[handle as usize - 1], (n - handle + 1) as u64);
    }
}
