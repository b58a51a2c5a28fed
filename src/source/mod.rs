//! Where snapshots come from, other than files and directories: a
//! continuous-profiling store ([`pyroscope`]).
//!
//! A source hands out decoded [`crate::profile::Profile`]s one at a time;
//! the analyses reduce each as it arrives and never hold them.

pub mod pyroscope;
pub mod tls;
