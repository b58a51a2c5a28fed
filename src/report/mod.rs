//! Report models and their renderers.
//!
//! A report model is plain data (serde for JSON): [`diff::DiffReport`],
//! [`trend::TrendReport`], [`heap::HeapReport`], [`heap::HeapDiffReport`],
//! [`top::TopReport`]. The analysis layer builds them; this layer only lays
//! them out, as text, Markdown, JSON, HTML, DOT or SVG, and never computes
//! a number that is not already in the model. Each report kind has one
//! entry point taking a [`Format`], in [`render`]. Flame graphs ([`flame`]),
//! text styling ([`style`]) and escaping ([`markup`]) are helpers below the
//! renderers.

pub mod diff;
pub mod dot;
pub mod flame;
pub mod fleet;
pub mod heap;
pub mod info;
pub mod markup;
pub mod reconcile;
pub mod render;
pub mod style;
pub mod top;
pub mod trend;

/// The category of memory that no rule attributes.
pub const UNATTRIBUTED: &str = "unattributed";

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For a terminal; `color` adds ANSI colours.
    Text {
        /// Emit ANSI escape codes.
        color: bool,
    },
    /// For a postmortem document.
    Markdown,
    /// For scripts; each report kind documents its schema.
    Json,
    /// One self-contained HTML page.
    Html,
    /// The growth retention graph in Graphviz DOT (profile diffs and trends).
    Dot,
}

impl Format {
    /// What the format needs beyond the model: the flame graph's stacks
    /// (HTML) and the growth graph (DOT).
    pub fn needs(self) -> Extras {
        Extras { flame: self == Format::Html, graph: self == Format::Dot }
    }
}

/// Parts of a diff that only some formats draw, so that the others don't
/// pay for them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extras {
    /// Folded stacks for the (differential) flame graph.
    pub flame: bool,
    /// The growth retention graph.
    pub graph: bool,
}

/// An error for a format that a report kind does not have.
pub(crate) fn unsupported(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::Unsupported, what.to_string())
}
