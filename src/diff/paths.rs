//! The growth paths of a diff, computed without building its retention
//! graph: what `leakscope diff` reports of the graph (issue #22).
//!
//! A path reads only the edges out of the few dozen nodes it visits, so
//! building every edge of a profile whose stacks share no prefixes (as
//! many edges as frames) is work the report never reads. Here the changed
//! stacks are indexed by caller instead; the result equals
//! [`RetentionGraph::growth_paths`] on the full graph, ties included.

use rayon::prelude::*;

use super::retention::{sums_fit, GrowthPath, RetentionGraph};
use super::Diff;

impl RetentionGraph {
    /// The growth paths of type `t` as [`RetentionGraph::growth_paths`]
    /// gives them on the graph of every stack (`build(d, t, |_| true)`),
    /// computed without building a graph.
    ///
    /// A growth path reads only edge deltas, and a stack whose two values
    /// are equal adds nothing to any delta; and a path visits a few dozen
    /// of the graph's nodes, reading only the edges out of each. So the
    /// changed stacks are indexed by caller (for each frame, the stacks in
    /// which it calls another and the callee: two passes over their
    /// frames, no hashing), and each step of a path sums the deltas of its
    /// node's callees from that node's entries alone. A path visits a node
    /// at most once, so the steps of one path read each entry at most
    /// once: the cost is linear in the changed stacks' frames, and a
    /// fraction of what building the graph of them costs (its edge table
    /// is probed once per frame).
    ///
    /// Equal deltas are ordered as in the full graph, by its numbering:
    /// root edges by the first stack through them (one read per stack),
    /// callee edges by the first appearance of their target in the full
    /// walk (one pass over the frames, reading a table, no hashing),
    /// computed only when two tie. When the values are so large that a sum
    /// of them could saturate, where dropping terms would change the
    /// result, the full graph is built instead.
    pub fn growth_paths_of(d: &Diff, t: usize, k: usize) -> Vec<GrowthPath> {
        let n = d.ntypes();
        if !sums_fit(d, t) {
            return RetentionGraph::build(d, t, |_| true).growth_paths(k);
        }
        let live = |s: usize| d.base[s * n + t] != 0 || d.new[s * n + t] != 0;
        let changed = |s: usize| d.base[s * n + t] != d.new[s * n + t];
        // No sum of these saturates (`sums_fit`), so the delta of a sum is
        // the sum of the deltas.
        let delta = |s: usize| d.new[s * n + t] - d.base[s * n + t];
        let nf = d.frames.len();
        // Each root edge's delta, and its first stack (of those the full
        // graph walks), by outermost frame.
        let mut root_delta = vec![0i64; nf];
        let mut root_first = vec![u32::MAX; nf];
        for s in (0..d.stacks.len()).filter(|&s| live(s)) {
            if let Some(&f) = d.stacks.get(s).last() {
                let r = &mut root_first[f as usize];
                *r = (*r).min(s as u32);
                if changed(s) {
                    root_delta[f as usize] += delta(s);
                }
            }
        }
        // Among equals, the root edge the full graph added last (whose
        // first stack is latest) comes first.
        let mut firsts: Vec<u32> = (0..nf as u32).filter(|&f| root_delta[f as usize] > 0).collect();
        firsts.sort_by_key(|&f| (std::cmp::Reverse(root_delta[f as usize]), std::cmp::Reverse(root_first[f as usize])));
        firsts.truncate(k);
        if firsts.is_empty() {
            return Vec::new();
        }

        // The changed stacks by caller: `calls[start[x]..start[x + 1]]` are
        // (stack, callee) of every place where frame x calls another
        // frame, in stack order. A self-call is no edge.
        let mut start = vec![0u32; nf + 1];
        for s in (0..d.stacks.len()).filter(|&s| changed(s)) {
            for w in d.stacks.get(s).windows(2) {
                if w[0] != w[1] {
                    start[w[1] as usize + 1] += 1;
                }
            }
        }
        for f in 0..nf {
            start[f + 1] += start[f];
        }
        let mut calls = vec![(0u32, 0u32); start[nf] as usize];
        let mut at = start.clone();
        for s in (0..d.stacks.len()).filter(|&s| changed(s)) {
            for w in d.stacks.get(s).windows(2) {
                if w[0] != w[1] {
                    let i = &mut at[w[1] as usize];
                    calls[*i as usize] = (s as u32, w[0]);
                    *i += 1;
                }
            }
        }
        drop(at);

        // The first appearance of each frame in the full walk, root first,
        // computed by the first path that meets a tie.
        let rank: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();
        let rank_of = |f: u32| -> u32 {
            let rank = rank.get_or_init(|| {
                let mut rank = vec![u32::MAX; nf];
                let mut next = 0;
                for s in (0..d.stacks.len()).filter(|&s| live(s)) {
                    for &f in d.stacks.get(s).iter().rev() {
                        if rank[f as usize] == u32::MAX {
                            rank[f as usize] = next;
                            next += 1;
                        }
                    }
                }
                rank
            });
            rank[f as usize]
        };
        // The paths are independent: each is found on its own thread.
        firsts
            .into_par_iter()
            .map(|root| {
                // Per step: each callee's delta, the last stack that added to
                // it (an edge counts a stack once), and the callees touched.
                let mut sum = vec![0i64; nf];
                let mut last = vec![u32::MAX; nf];
                let mut touched: Vec<u32> = Vec::new();
                let mut frames = Vec::new();
                let mut deltas = Vec::new();
                let mut seen = vec![false; nf];
                let mut cur = root;
                let mut carried = root_delta[root as usize];
                loop {
                    seen[cur as usize] = true;
                    frames.push(cur);
                    deltas.push(carried);
                    let (a, b) = (start[cur as usize] as usize, start[cur as usize + 1] as usize);
                    for &(s, y) in &calls[a..b] {
                        let y = y as usize;
                        if seen[y] || last[y] == s {
                            continue;
                        }
                        if last[y] == u32::MAX {
                            touched.push(y as u32);
                        }
                        last[y] = s;
                        sum[y] += delta(s as usize);
                    }
                    let best = touched.iter().map(|&y| sum[y as usize]).filter(|&x| x > 0).max();
                    let next = best.map(|best| {
                        let mut tied = touched.iter().copied().filter(|&y| sum[y as usize] == best);
                        let first = tied.next().expect("the best callee ties with itself");
                        match tied.next() {
                            None => first,
                            Some(second) => {
                                [first, second].into_iter().chain(tied).min_by_key(|&y| rank_of(y)).expect("two tie")
                            }
                        }
                    });
                    for &y in &touched {
                        (sum[y as usize], last[y as usize]) = (0, u32::MAX);
                    }
                    touched.clear();
                    let (Some(best), Some(next)) = (best, next) else { break };
                    carried = best;
                    cur = next;
                }
                GrowthPath { frames, deltas }
            })
            .collect()
    }
}
