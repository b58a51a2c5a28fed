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

/// Whether `name` is a function of the Go runtime (package `runtime` or
/// `internal/runtime/...`), as runtime/pprof decides which leading frames
/// of an allocation stack to hide.
pub fn is_runtime_function(name: &str) -> bool {
    name.starts_with("runtime.") || name.starts_with("internal/runtime/")
}

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

/// Reads and parses the heap dump at `path` (`-` is standard input). Raw
/// dumps are memory-mapped; gzipped ones are inflated into memory.
pub fn read_path(path: &Path) -> Result<HeapDump, String> {
    let name = path.display();
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => format!("{name}: no such file"),
        std::io::ErrorKind::PermissionDenied => format!("{name}: permission denied"),
        _ => {
            let s = e.to_string();
            format!("{name}: {}", s.split(" (os error").next().unwrap_or(&s))
        }
    };
    let mut buf = Vec::new();
    let bytes = if path.as_os_str() == "-" {
        std::io::stdin().lock().read_to_end(&mut buf).map_err(io)?;
        parse::Bytes::Owned(buf)
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
            (&f).read_to_end(&mut buf).map_err(io)?;
            parse::Bytes::Owned(buf)
        }
    };
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&*bytes)
            .read_to_end(&mut out)
            .map_err(|e| format!("{name}: bad gzip data: {e}"))?;
        parse::Bytes::Owned(out)
    } else {
        bytes
    };
    parse::parse(bytes).map_err(|e| format!("{name}: {e}"))
}
