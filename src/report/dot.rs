//! The growth retention graph in Graphviz DOT (`--format dot`).
//!
//! Nodes are the functions whose cumulative value grew, the `nodecount`
//! largest by growth (0 = all); edges join them caller → callee where the
//! memory flowing along the edge grew, labelled with that growth. Nodes
//! are coloured by the category their frame decides (grey for plumbing,
//! white for code no rule knows), and edges are drawn thicker the more
//! growth they carry. Render with `dot -Tsvg growth.dot > growth.svg`.

use std::io::{self, Write};

use petgraph::visit::EdgeRef;

use super::render::signed;
use crate::attribute::{FrameClass, RuleSet, UNATTRIBUTED};
use crate::diff::Diff;
use crate::graph::retention::RetentionGraph;

/// Escapes a string for a double-quoted DOT ID.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

const PALETTE: [&str; 12] = [
    "#ef9a9a", "#90caf9", "#a5d6a7", "#ffcc80", "#ce93d8", "#80cbc4", "#fff59d", "#bcaaa4", "#f48fb1", "#b0bec5",
    "#9fa8da", "#c5e1a5",
];

fn category_colour(c: u16) -> &'static str {
    PALETTE[c as usize % PALETTE.len()]
}

/// Options of the DOT output.
#[derive(Debug, Clone)]
pub struct Options {
    /// Nodes to keep (0 = all growing ones).
    pub nodecount: usize,
    /// Graph title, e.g. `base.pb.gz → new.pb.gz (inuse_space)`.
    pub title: String,
}

/// Writes the growth retention graph of sample type `t`.
pub fn write(d: &Diff, t: usize, rules: &RuleSet, o: &Options, out: &mut dyn Write) -> io::Result<()> {
    let unit = d.types[t].1.as_str();
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
    if o.nodecount > 0 {
        nodes.truncate(o.nodecount);
    }
    let max = nodes.first().map_or(1, |n| n.2).max(1) as f64;
    let mut id = vec![usize::MAX; g.graph.node_count()];
    for (i, n) in nodes.iter().enumerate() {
        id[n.0.index()] = i;
    }

    writeln!(out, "digraph leakscope {{")?;
    writeln!(
        out,
        "  graph [label=\"{}\\lgrowth retention graph: {} of {} growing functions; edges carry the growth along them\\l\", labelloc=t, labeljust=l, fontname=\"Helvetica\", rankdir=TB];",
        escape(&o.title),
        nodes.len(),
        growing
    )?;
    writeln!(out, "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];")?;
    writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#c62828\"];")?;
    let mut used: Vec<u16> = Vec::new();
    for (i, &(_, f, delta)) in nodes.iter().enumerate() {
        let name = &d.frames[f as usize];
        let (fill, cat) = match d.frame_info[f as usize].class {
            FrameClass::Strong(c, _) | FrameClass::Weak(c, _) => {
                if !used.contains(&c) {
                    used.push(c);
                }
                (category_colour(c), rules.category_name(Some(c)).to_string())
            }
            FrameClass::Plumbing => ("#eeeeee", "plumbing".to_string()),
            FrameClass::Unknown => ("#ffffff", UNATTRIBUTED.to_string()),
        };
        let fontsize = 9.0 + 9.0 * (delta as f64 / max).sqrt();
        writeln!(
            out,
            "  n{i} [label=\"{}\\n{} cum\", tooltip=\"{} ({})\", fillcolor=\"{fill}\", fontsize={fontsize:.1}];",
            escape(name),
            escape(&signed(delta, unit)),
            escape(name),
            escape(&cat)
        )?;
    }
    for e in g.graph.edge_references() {
        let (a, b) = (id[e.source().index()], id[e.target().index()]);
        let delta = e.weight().delta();
        if a == usize::MAX || b == usize::MAX || delta <= 0 {
            continue;
        }
        let pen = 1.0 + 5.0 * (delta as f64 / max);
        writeln!(out, "  n{a} -> n{b} [label=\"{}\", penwidth={pen:.2}];", escape(&signed(delta, unit)))?;
    }
    if !used.is_empty() {
        used.sort_unstable();
        writeln!(out, "  subgraph cluster_legend {{")?;
        writeln!(out, "    label=\"categories\"; fontname=\"Helvetica\"; fontsize=10; style=dashed;")?;
        for c in &used {
            writeln!(
                out,
                "    legend_{c} [label=\"{}\", fillcolor=\"{}\", fontsize=9];",
                escape(rules.category_name(Some(*c))),
                category_colour(*c)
            )?;
        }
        writeln!(out, "  }}")?;
    }
    writeln!(out, "}}")
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
    }
}
