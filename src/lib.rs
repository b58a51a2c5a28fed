//! leakscope finds memory leaks in Go services from their heap profiles.
//!
//! The library is split into stages, each depending only on earlier ones:
//! - [`pprof`]: format detection, gzip, and the streaming protobuf decoder;
//! - [`profile`]: the columnar model the decoder fills;
//! - [`graph`]: aggregation into nodes with flat and cum values, with
//!   `go tool pprof` semantics;
//! - [`report`]: formatting shared by the renderers;
//! - [`cli`]: clap definitions and one module per subcommand.
//!
//! ```no_run
//! let p = leakscope::pprof::read_path(std::path::Path::new("heap.pb.gz"))?;
//! let agg = leakscope::graph::aggregate(&p, leakscope::graph::Granularity::Functions);
//! let t = p.default_sample_index().unwrap();
//! for n in agg.top(t).into_iter().take(10) {
//!     println!("{} flat={} cum={}", agg.nodes[n].name, agg.flat(n, t), agg.cum(n, t));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod attribute;
pub mod capture;
pub mod cli;
pub mod diff;
pub mod flame;
pub mod graph;
pub mod heapdump;
pub mod limits;
pub mod pprof;
pub mod profile;
pub mod report;
pub mod synth;
pub mod trend;
