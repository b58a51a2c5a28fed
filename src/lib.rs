//! leakscope finds memory leaks in Go services from their heap profiles,
//! goroutine profiles and heap dumps.
//!
//! The crate is one pipeline, and its modules are its stages, each using
//! only the stages below it (see `ARCHITECTURE.md`):
//! - [`cli`]: the command line, thin;
//! - the entry points at the crate root ([`diff_files`], [`diff_profiles`],
//!   [`trend()`], [`heap()`], [`diff_heap_dumps`]), which run the stages below;
//! - [`source`]: files, standard input, pipes, FIFOs, live processes;
//! - analysis: [`attribute`] (rules), [`graph`] (pprof-exact aggregation),
//!   [`diff`], [`mod@trend`], [`mod@heap`] (heap dumps);
//! - [`report`]: the report models and their renderers;
//! - decoding: [`pprof`] (protobuf and legacy text), [`heapdump`];
//! - [`profile`] (the columnar model) and [`units`].
//!
//! A postmortem in a few lines (`examples/postmortem.rs` is the whole
//! script):
//!
//! ```no_run
//! use std::path::Path;
//! use leakscope::{attribute::RuleSet, report::Format, DiffOptions};
//!
//! let rules = RuleSet::load(None)?;
//! let d = leakscope::diff_files([Path::new("base.pb.gz"), Path::new("new.pb.gz")], &rules, &DiffOptions::new())?;
//! println!("{}", d.report.verdict.headline);
//! leakscope::report::render::diff::render(&d, Format::Text { color: false }, &mut std::io::stdout())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Or one stage at a time, as `go tool pprof -top` does:
//!
//! ```no_run
//! let p = leakscope::source::read_profile(std::path::Path::new("heap.pb.gz"))?;
//! let agg = leakscope::graph::aggregate(&p, leakscope::graph::Granularity::Functions);
//! let t = p.default_sample_index().unwrap();
//! for n in agg.top(t).into_iter().take(10) {
//!     println!("{} flat={} cum={}", agg.nodes[n].name, agg.flat(n, t), agg.cum(n, t));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub use api::*;

pub mod alloc;
mod api;
pub mod attribute;
pub mod cli;
pub mod diff;
pub mod fleet;
pub mod graph;
pub mod heap;
pub mod heapdump;
pub mod limits;
pub mod pprof;
pub mod profile;
pub mod report;
pub mod source;
pub mod synth;
pub mod trend;
pub mod units;
