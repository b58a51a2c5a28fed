//! Go heap dumps (`runtime/debug.WriteHeapDump`): who keeps memory alive.
//!
//! Heap profiles say where memory was allocated; a heap dump also says why
//! it is still alive. The pipeline:
//! - [`parse`]: memory-map the dump and index its records without copying
//!   object contents;
//! - [`graph`]: objects become nodes, resolved pointers (interior ones too)
//!   become CSR edges, and globals, goroutine frames, finalizers, defers and
//!   panics become synthetic root nodes under one super-root;
//! - [`dominators`]: iterative semi-NCA over those u32 arrays, retained sizes;
//! - [`analysis`]: aggregates by root, allocation site, category and shape;
//! - [`elf`]: optional names for globals and types from the executable.
//!
//! The report model and its renderers live in [`crate::report::heap`].

pub mod analysis;
pub mod dominators;
pub mod elf;
pub mod export;
pub mod graph;
pub mod parse;

use std::io::Read;
use std::path::Path;

pub use parse::{DumpError, HeapDump};

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

/// Whether the file at `path` is a heap dump (raw or gzip). Unreadable files are not.
pub fn path_is_heap_dump(path: &Path) -> bool {
    if path.as_os_str() == "-" {
        return false;
    }
    let Ok(mut f) = std::fs::File::open(path) else { return false };
    let mut head = [0u8; 4096];
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => got += k,
        }
    }
    is_heap_dump(&head[..got])
}

/// Reads and parses the heap dump at `path` (`-` is standard input) within
/// the default [`Limits`].
pub fn read_path(path: &Path) -> Result<HeapDump, String> {
    read_path_with(path, &Limits::default())
}

/// Reads and parses the heap dump at `path` (`-` is standard input) within
/// `limits`. Raw dumps are memory-mapped; gzipped ones are inflated into
/// memory, up to [`Limits::inflated_budget`] of their size; standard input,
/// pipes and devices are read up to [`Limits::stream_budget`].
pub fn read_path_with(path: &Path, limits: &Limits) -> Result<HeapDump, String> {
    let name = path.display();
    let io = |e: std::io::Error| match e.kind() {
        _ if limits::limit_error(&e).is_some() => format!("{name}: {e}"),
        std::io::ErrorKind::NotFound => format!("{name}: no such file"),
        std::io::ErrorKind::PermissionDenied => format!("{name}: permission denied"),
        _ => {
            let s = e.to_string();
            format!("{name}: {}", s.split(" (os error").next().unwrap_or(&s))
        }
    };
    let stream = |r: &mut dyn Read| limits::read_capped(r, limits.stream_budget(), Exceeded::Stream);
    let bytes = if path.as_os_str() == "-" {
        parse::Bytes::Owned(stream(&mut std::io::stdin().lock()).map_err(io)?)
    } else {
        let f = std::fs::File::open(path).map_err(io)?;
        let meta = f.metadata().map_err(io)?;
        if meta.is_file() && meta.len() > 0 {
            // SAFETY: a read-only private mapping; if another process
            // truncates the file while we read, accesses may fault, the
            // documented hazard of memmap2 that ripgrep also accepts.
            let m = unsafe { memmap2::Mmap::map(&f) }.map_err(io)?;
            parse::Bytes::Mapped(m)
        } else {
            parse::Bytes::Owned(stream(&mut &f).map_err(io)?)
        }
    };
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let budget = limits.inflated_budget(bytes.len() as u64);
        let out = limits::read_capped(flate2::read::MultiGzDecoder::new(&*bytes), budget, Exceeded::Inflated).map_err(
            |e| match limits::limit_error(&e) {
                Some(l) => format!("{name}: {l}"),
                None => format!("{name}: bad gzip data: {e}"),
            },
        )?;
        drop(bytes);
        parse::Bytes::Owned(out)
    } else {
        bytes
    };
    parse::parse(bytes).map_err(|e| format!("{name}: {e}"))
}
