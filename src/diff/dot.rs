//! The growth retention graph's model for `--format dot`
//! ([`crate::report::dot::Graph`]): the functions whose cumulative value
//! grew, the `nodecount` largest by growth (0 = all), and the caller →
//! callee edges between them along which memory grew. Each node is
//! coloured by the category the report gives the growth through it.

use petgraph::visit::EdgeRef;

use super::retention::RetentionGraph;
use super::Diff;
use crate::attribute::{FrameClass, RuleSet};
use crate::report::dot::{Graph, Node, NodeKind};

/// Builds the growth graph of sample type `t`.
pub fn growth_graph(d: &Diff, t: usize, rules: &RuleSet, nodecount: usize, title: String) -> Graph {
    // Only deltas are drawn: the graph of the stacks that changed has
    // every node and edge of non-zero delta, with the same delta. Nodes are
    // ordered by delta and name, which no numbering changes; the edges are
    // put back in the full graph's order below.
    match RetentionGraph::of_changed(d, t) {
        Some(g) => from_graph(d, t, rules, nodecount, title, g, false),
        None => from_graph(d, t, rules, nodecount, title, RetentionGraph::build(d, t, |_| true), true),
    }
}

/// [`growth_graph`] from `g`: the full graph (`full`), whose edges are in
/// the order drawn, or the graph of the stacks that changed.
fn from_graph(
    d: &Diff,
    t: usize,
    rules: &RuleSet,
    nodecount: usize,
    title: String,
    g: RetentionGraph,
    full: bool,
) -> Graph {
    let mut nodes: Vec<_> = g
        .graph
        .node_indices()
        .filter_map(|n| {
            let (f, w) = g.graph[n];
            let f = f?;
            (w.delta() > 0).then_some((n, f, w.delta()))
        })
        .collect();
    let growing = nodes.len();
    nodes.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| d.frames[a.1 as usize].cmp(&d.frames[b.1 as usize])));
    if nodecount > 0 {
        nodes.truncate(nodecount);
    }
    let mut id = vec![usize::MAX; g.graph.node_count()];
    for (i, n) in nodes.iter().enumerate() {
        id[n.0.index()] = i;
    }
    // A node's category is the report's: the category that most of the
    // growth through it is attributed to (its growing stacks, each counted
    // once), so that a user function the report files under http-request
    // is drawn as http-request, not as unattributed. Plumbing stays grey.
    let ncat = rules.file.categories.len() + 1;
    let mut shown = vec![usize::MAX; d.frames.len()];
    for (i, n) in nodes.iter().enumerate() {
        shown[n.1 as usize] = i;
    }
    let mut through = vec![0i64; nodes.len() * ncat];
    let mut seen = vec![usize::MAX; nodes.len()];
    for s in 0..d.stacks.len() {
        let delta = d.stack_delta(s, t);
        if delta <= 0 {
            continue;
        }
        let c = d.attributions[s].category.map_or(ncat - 1, usize::from);
        for &f in d.stacks.get(s) {
            let i = shown[f as usize];
            if i != usize::MAX && seen[i] != s {
                seen[i] = s;
                through[i * ncat + c] = through[i * ncat + c].saturating_add(delta);
            }
        }
    }
    let mut used: Vec<u16> = Vec::new();
    let out_nodes =
        nodes
            .iter()
            .enumerate()
            .map(|(i, &(_, f, delta))| {
                let row = &through[i * ncat..(i + 1) * ncat];
                // The largest; ties go to the lower category index.
                let top = row.iter().enumerate().fold(None, |b: Option<(usize, i64)>, (c, &v)| {
                    if v > 0 && b.is_none_or(|b| v > b.1) {
                        Some((c, v))
                    } else {
                        b
                    }
                });
                let kind = match (d.frame_info[f as usize].class, top) {
                    (FrameClass::Plumbing, _) => NodeKind::Plumbing,
                    (_, Some((c, _))) if c < ncat - 1 => {
                        let c = c as u16;
                        if !used.contains(&c) {
                            used.push(c);
                        }
                        NodeKind::Category(c, rules.category_name(Some(c)).to_string())
                    }
                    _ => NodeKind::Unattributed,
                };
                Node { name: d.frames[f as usize].clone(), delta, kind }
            })
            .collect();
    let mut edges = Vec::new();
    let mut pairs = Vec::new();
    for e in g.graph.edge_references() {
        let (a, b) = (id[e.source().index()], id[e.target().index()]);
        let delta = e.weight().delta();
        if a == usize::MAX || b == usize::MAX || delta <= 0 {
            continue;
        }
        edges.push((a, b, delta));
        pairs.push((nodes[a].1, nodes[b].1));
    }
    if !full {
        // The full graph numbers its edges by first appearance.
        let firsts = RetentionGraph::edge_first_appearances(d, t, &pairs);
        let mut order: Vec<usize> = (0..edges.len()).collect();
        order.sort_by_key(|&i| firsts[i]);
        edges = order.into_iter().map(|i| edges[i]).collect();
    }
    used.sort_unstable();
    let legend = used.iter().map(|&c| (c, rules.category_name(Some(c)).to_string())).collect();
    Graph { title, unit: d.types[t].1.clone(), growing, nodes: out_nodes, edges, legend }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::{Attribution, FrameInfo};

    /// The graph of the changed stacks draws what the full graph draws,
    /// edges in the same order, on random diffs with unchanged stacks.
    #[test]
    fn growth_graph_of_the_changed_stacks_equals_the_full_graphs() {
        let rules = RuleSet::load(None).expect("built-in rules");
        let mut drawn = 0;
        for (seed, nstacks, nframes) in [(11, 3000, 20), (12, 8000, 200), (13, 20_000, 2000)] {
            let mut d = super::super::retention::tests::random_diff(seed, nstacks, nframes, 2);
            d.frame_info = (0..nframes)
                .map(|f| FrameInfo {
                    class: if f % 5 == 0 { FrameClass::Plumbing } else { FrameClass::Unknown },
                    sig_bits: 0,
                })
                .collect();
            // Node colours come from the stacks' categories.
            d.attributions = (0..d.stacks.len())
                .map(|s| Attribution {
                    category: (s % 4 != 0).then_some((s % 3) as u16),
                    frame: 0,
                    signature: None,
                    rule: None,
                })
                .collect();
            for s in (0..d.stacks.len()).filter(|s| s % 3 != 0) {
                d.new[s * 2] = d.base[s * 2];
            }
            for nodecount in [0, 10, 80] {
                let full =
                    from_graph(&d, 0, &rules, nodecount, "t".into(), RetentionGraph::build(&d, 0, |_| true), true);
                let got = growth_graph(&d, 0, &rules, nodecount, "t".into());
                assert_eq!(format!("{got:?}"), format!("{full:?}"), "seed {seed} nodecount {nodecount}");
                drawn += full.edges.len();
            }
        }
        assert!(drawn > 1000, "only {drawn} edges drawn");
    }
}
