//! Where snapshots come from: files, directories, standard input, pipes
//! and FIFOs, live processes ([`capture`]), and a continuous-profiling
//! store ([`pyroscope`]: Grafana Pyroscope's querier, whose merged profiles
//! are handed out decoded, one at a time, to be reduced as they arrive).
//!
//! Every input is read exactly once. A regular file is memory-mapped; any
//! other input (`-`, a pipe, a FIFO, `<(…)`, a device) is a stream, whose
//! first bytes are read to decide what it is and then handed on to the
//! decoder with the rest of the stream, never reopened. So `leakscope top
//! <(curl …)` and `leakscope diff base.pb.gz - < new.pb.gz` work, and an
//! endless stream fails at its first bad field.
//!
//! This layer reads bytes and hands them to the decoders ([`crate::pprof`],
//! [`crate::heapdump`]); it never analyses or formats anything.

pub mod capture;
pub mod dir;
pub(crate) mod net;
pub mod pyroscope;
pub mod tls;

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::heapdump::{self, parse::Bytes, HeapDump};
use crate::limits::{self, Exceeded, Limits};
use crate::pprof::{self, ReadError};
use crate::profile::Profile;

/// How many leading bytes of a stream are read to decide its format.
const HEAD: usize = 4096;

/// One input, opened: a mapped file, or a stream with its first bytes read.
/// It is read within the [`Limits`] in force when it was opened
/// ([`limits::current`]).
pub struct Input {
    name: PathBuf,
    body: Body,
    limits: Limits,
}

enum Body {
    /// A regular, non-empty file, memory-mapped.
    Mapped(memmap2::Mmap),
    /// Anything else: the bytes read so far, and the rest.
    Stream(Vec<u8>, Box<dyn Read + Send>),
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.body {
            Body::Mapped(m) => format!("mapped, {} bytes", m.len()),
            Body::Stream(h, _) => format!("stream, {} bytes read", h.len()),
        };
        write!(f, "Input({}, {kind})", self.name.display())
    }
}

/// Turns an I/O error into one short phrase ("no such file").
pub fn io_msg(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => {
            // "Is a directory (os error 21)" -> keep the words, drop the code.
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

impl Input {
    /// Opens `path` (`-` is standard input) and reads a stream's first
    /// bytes. Directories are refused.
    pub fn open(path: &Path) -> Result<Input, ReadError> {
        let limits = limits::current();
        let io = |e: std::io::Error| ReadError::Io { path: path.to_path_buf(), msg: io_msg(&e) };
        let reader: Box<dyn Read + Send> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin())
        } else {
            let file = std::fs::File::open(path).map_err(io)?;
            let meta = file.metadata().map_err(io)?;
            if meta.is_dir() {
                return Err(ReadError::Io { path: path.to_path_buf(), msg: "is a directory, not a profile".into() });
            }
            if meta.is_file() && meta.len() > 0 {
                // SAFETY: the mapping is read-only and lives as long as this
                // input. If another process truncates the file meanwhile,
                // reads may fault; that is the documented hazard of memmap2,
                // accepted here as ripgrep accepts it for the speed of not
                // copying the input.
                let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
                return Ok(Input { name: path.to_path_buf(), body: Body::Mapped(map), limits });
            }
            // Pipes, FIFOs, devices and empty files cannot be mapped.
            Box::new(file)
        };
        let mut reader = reader;
        let mut head = Vec::with_capacity(HEAD);
        (&mut reader).take(HEAD as u64).read_to_end(&mut head).map_err(io)?;
        Ok(Input { name: path.to_path_buf(), body: Body::Stream(head, reader), limits })
    }

    /// The name it was opened by.
    pub fn name(&self) -> &Path {
        &self.name
    }

    /// Whether it is a stream (stdin, a pipe, a FIFO, a device), which can
    /// be read only once, rather than a mapped file.
    pub fn is_stream(&self) -> bool {
        matches!(self.body, Body::Stream(..))
    }

    /// The first bytes: the whole file when mapped, else those read so far.
    pub fn head(&self) -> &[u8] {
        match &self.body {
            Body::Mapped(m) => m,
            Body::Stream(h, _) => h,
        }
    }

    /// Whether it is a Go heap dump (raw or gzip), from its first bytes.
    pub fn is_heap_dump(&self) -> bool {
        let h = self.head();
        heapdump::is_heap_dump(&h[..h.len().min(HEAD)])
    }

    /// Decodes it as a profile.
    pub fn into_profile(self) -> Result<Profile, ReadError> {
        let name = self.name;
        let dec = |e: pprof::DecodeError| ReadError::Decode { path: name.clone(), err: e };
        match self.body {
            Body::Mapped(m) => pprof::parse_with(&m, &self.limits).map_err(dec),
            Body::Stream(head, rest) => pprof::parse_stream(head, rest, &self.limits).map_err(dec),
        }
    }

    /// Decodes it as a heap dump. Errors name the input.
    pub fn into_heap_dump(self) -> Result<HeapDump, String> {
        let name = self.name.display().to_string();
        let bytes = match self.body {
            Body::Mapped(m) => Bytes::Mapped(m),
            Body::Stream(head, rest) => {
                let all = std::io::Cursor::new(head).chain(rest);
                let budget = self.limits.stream_budget();
                Bytes::Owned(limits::read_capped(all, budget, Exceeded::Stream).map_err(
                    |e| match limits::limit_error(&e) {
                        Some(l) => format!("{name}: {l}"),
                        None => format!("{name}: {}", io_msg(&e)),
                    },
                )?)
            }
        };
        heapdump::from_bytes(bytes, &self.limits).map_err(|e| format!("{name}: {e}"))
    }
}

/// Reads and decodes the profile at `path` (`-` is standard input).
pub fn read_profile(path: &Path) -> Result<Profile, ReadError> {
    Input::open(path)?.into_profile()
}

/// Reads and parses the heap dump at `path` (`-` is standard input).
pub fn read_heap_dump(path: &Path) -> Result<HeapDump, String> {
    Input::open(path).map_err(|e| e.to_string())?.into_heap_dump()
}
