//! The growth retention graph in Graphviz DOT (`--format dot`).
//!
//! Nodes are the functions whose cumulative value grew, the `nodecount`
//! largest by growth (0 = all); edges join them caller → callee where the
//! memory flowing along the edge grew, labelled with that growth. Nodes
//! are coloured by the category their frame decides (grey for plumbing,
//! white for code no rule knows), and edges are drawn thicker the more
//! growth they carry. Render with `dot -Tsvg growth.dot > growth.svg`.

use std::io::{self, Write};

use super::style::signed;

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

/// The category of the growth through a node (as the report attributes
/// it), for its colour, label and tooltip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// A rule's category: its index in the rule set (which picks the
    /// colour) and its name.
    Category(u16, String),
    /// Allocator or runtime plumbing (grey).
    Plumbing,
    /// Code no rule knows (white).
    Unattributed,
}

/// One node of the growth graph: a function whose cumulative value grew.
#[derive(Debug, Clone)]
pub struct Node {
    /// The function.
    pub name: String,
    /// Growth of its cumulative value.
    pub delta: i64,
    /// What its frame decides.
    pub kind: NodeKind,
}

/// The growth retention graph, as the DOT renderer draws it. Built by
/// [`crate::diff::dot::growth_graph`].
#[derive(Debug, Clone)]
pub struct Graph {
    /// Graph title, e.g. `base.pb.gz → new.pb.gz (inuse_space)`.
    pub title: String,
    /// Unit of the deltas.
    pub unit: String,
    /// How many functions grew (the graph keeps the largest).
    pub growing: usize,
    /// The kept nodes, largest growth first.
    pub nodes: Vec<Node>,
    /// Caller → callee edges between kept nodes (indices into `nodes`)
    /// with the growth they carry, in the retention graph's edge order.
    pub edges: Vec<(usize, usize, i64)>,
    /// The categories that coloured a node: index and name, by index.
    pub legend: Vec<(u16, String)>,
}

/// Writes the growth retention graph.
pub fn write(g: &Graph, out: &mut dyn Write) -> io::Result<()> {
    let unit = g.unit.as_str();
    let max = g.nodes.first().map_or(1, |n| n.delta).max(1) as f64;
    writeln!(out, "digraph leakscope {{")?;
    writeln!(
        out,
        "  graph [label=\"{}\\lgrowth retention graph: {} of {} growing functions; edges carry the growth along them\\l\", labelloc=t, labeljust=l, fontname=\"Helvetica\", rankdir=TB];",
        escape(&g.title),
        g.nodes.len(),
        g.growing
    )?;
    writeln!(out, "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];")?;
    writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#c62828\"];")?;
    for (i, n) in g.nodes.iter().enumerate() {
        let (fill, cat) = match &n.kind {
            NodeKind::Category(c, name) => (category_colour(*c), name.as_str()),
            NodeKind::Plumbing => ("#eeeeee", "plumbing"),
            NodeKind::Unattributed => ("#ffffff", super::UNATTRIBUTED),
        };
        let fontsize = 9.0 + 9.0 * (n.delta as f64 / max).sqrt();
        writeln!(
            out,
            "  n{i} [label=\"{}\\n{} cum\\n{}\", tooltip=\"{} ({})\", fillcolor=\"{fill}\", fontsize={fontsize:.1}];",
            escape(&n.name),
            escape(&signed(n.delta, unit)),
            escape(cat),
            escape(&n.name),
            escape(cat)
        )?;
    }
    for &(a, b, delta) in &g.edges {
        let pen = 1.0 + 5.0 * (delta as f64 / max);
        writeln!(out, "  n{a} -> n{b} [label=\"{}\", penwidth={pen:.2}];", escape(&signed(delta, unit)))?;
    }
    if !g.legend.is_empty() {
        writeln!(out, "  subgraph cluster_legend {{")?;
        writeln!(out, "    label=\"categories\"; fontname=\"Helvetica\"; fontsize=10; style=dashed;")?;
        for (c, name) in &g.legend {
            writeln!(
                out,
                "    legend_{c} [label=\"{}\", fillcolor=\"{}\", fontsize=9];",
                escape(name),
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
