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
    let g = RetentionGraph::build(d, t, |_| true);
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
    for e in g.graph.edge_references() {
        let (a, b) = (id[e.source().index()], id[e.target().index()]);
        let delta = e.weight().delta();
        if a == usize::MAX || b == usize::MAX || delta <= 0 {
            continue;
        }
        edges.push((a, b, delta));
    }
    used.sort_unstable();
    let legend = used.iter().map(|&c| (c, rules.category_name(Some(c)).to_string())).collect();
    Graph { title, unit: d.types[t].1.clone(), growing, nodes: out_nodes, edges, legend }
}
