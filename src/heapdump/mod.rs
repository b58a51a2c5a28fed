//! Go heap-dump analysis: reachability, dominators and retained sizes over compact `u32` graphs.

pub mod dominators;
