//! Heap-dump analysis: who keeps memory alive.
//!
//! Heap profiles say where memory was allocated; a heap dump also says why
//! it is still alive. From a decoded [`crate::heapdump::HeapDump`]:
//! - [`graph`]: objects become nodes, resolved pointers (interior ones too)
//!   become CSR edges, and globals, goroutine frames, finalizers, defers and
//!   panics become synthetic root nodes under one super-root;
//! - [`dominators`]: iterative semi-NCA over those u32 arrays, retained sizes;
//! - [`analysis`]: aggregates by root, allocation site, category and shape;
//! - [`export`]: retained size by allocation site as a pprof profile;
//! - [`report`]: the report models of one dump and of two.

pub mod analysis;
pub mod dominators;
pub mod export;
pub mod graph;
pub mod report;
