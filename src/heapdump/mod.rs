//! Decoding Go heap dumps (`runtime/debug.WriteHeapDump`):
//! - [`parse`]: index the dump's records without copying object contents;
//! - [`elf`]: optional names for globals and types from the executable.
//!
//! What the dump means (the object graph, dominators, suspects) is
//! analysis, in [`mod@crate::heap`]; reading the bytes is [`crate::source`]'s.

pub mod elf;
pub mod parse;

use std::io::Read;

pub use parse::{DumpError, HeapDump};

/// Names globals from the executable's symbol table.
pub trait GlobalNames {
    /// The symbol containing address `addr` of the running process, with its start address.
    fn global(&self, addr: u64) -> Option<(&str, u64)>;
}

/// Whether `name` is a function of the Go runtime (package `runtime` or
/// `internal/runtime/...`), as runtime/pprof decides which leading frames
/// of an allocation stack to hide.
pub fn is_runtime_function(name: &str) -> bool {
    name.starts_with("runtime.") || name.starts_with("internal/runtime/")
}

use crate::limits::{self, Exceeded, Limits};

/// Whether `data` (raw or gzip) is a heap dump.
pub fn is_heap_dump(data: &[u8]) -> bool {
    if data.starts_with(parse::HEADER) {
        return true;
    }
    if data.starts_with(&[0x1f, 0x8b]) {
        let mut head = [0u8; 16];
        let mut gz = flate2::read::MultiGzDecoder::new(data);
        let mut got = 0;
        while got < head.len() {
            match gz.read(&mut head[got..]) {
                Ok(0) | Err(_) => break,
                Ok(k) => got += k,
            }
        }
        return got == head.len() && head == *parse::HEADER;
    }
    false
}

/// Parses a heap dump from its bytes, raw or gzip (gzip is inflated into
/// memory first, within [`Limits::inflated_budget`]: the parser needs
/// random access). Reading the bytes is [`crate::source`]'s job.
pub fn from_bytes(bytes: parse::Bytes, limits: &Limits) -> Result<HeapDump, String> {
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let budget = limits.inflated_budget(bytes.len() as u64);
        let out = limits::read_capped(flate2::read::MultiGzDecoder::new(&*bytes), budget, Exceeded::Inflated).map_err(
            |e| match limits::limit_error(&e) {
                Some(l) => l.to_string(),
                None => format!("bad gzip data: {e}"),
            },
        )?;
        drop(bytes);
        parse::Bytes::Owned(out)
    } else {
        bytes
    };
    parse::parse(bytes).map_err(|e| e.to_string())
}
