//! One renderer per report kind, each with one entry point taking a
//! [`crate::report::Format`]: [`diff::render`], [`trend::render`],
//! [`heap::render`] and [`heap::render_diff`]. The HTML pages are in
//! [`html`]; `top` and `info` render in their own modules
//! ([`crate::report::top`], [`crate::report::info`]).
//!
//! Renderers only lay a model out: they never compute a number that is not
//! already in it.

pub mod diff;
pub mod heap;
pub mod html;
pub mod trend;
