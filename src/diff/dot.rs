//! The growth retention graph's model for `--format dot`
//! ([`crate::report::dot::Graph`]): the functions whose cumulative value
//! grew, the `nodecount` largest by growth (0 = all), and the caller →
//! callee edges between them along which memory grew.

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
    let mut used: Vec<u16> = Vec::new();
    let out_nodes = nodes
        .iter()
        .map(|&(_, f, delta)| {
            let kind = match d.frame_info[f as usize].class {
                FrameClass::Strong(c, _) | FrameClass::Weak(c, _) => {
                    if !used.contains(&c) {
                        used.push(c);
                    }
                    NodeKind::Category(c, rules.category_name(Some(c)).to_string())
                }
                FrameClass::Plumbing => NodeKind::Plumbing,
                FrameClass::Unknown => NodeKind::Unattributed,
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
