//! Reading pprof profiles: format detection, gzip, memory mapping, and the
//! streaming protobuf decoder.
//!
//! The format is decided by content, never by file name: real files named
//! `heap.txt` are gzip protobuf. Gzip input is inflated while it is decoded;
//! raw protobuf is decoded straight from the memory-mapped file.

mod decode;
pub mod encode;
pub mod error;
mod inflate;
mod legacy;
mod prune;
mod stream;
pub mod wire;

/// prost types generated from `proto/profile.proto`, used to write profiles
/// and as an independent reference decoder in tests.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/perftools.profiles.rs"));
}

use std::io::BufReader;
use std::path::{Path, PathBuf};

pub use decode::{decode_within, Builder, SliceSource, StreamSource, TopLevel};
pub use error::{DecodeError, ErrorKind};
pub use stream::parse_stream;

use crate::limits::{self, Capped, Exceeded, Limits};
use crate::profile::Profile;

/// What the first bytes of an input say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// gzip-compressed data (expected to hold a protobuf profile).
    Gzip,
    /// Anything else is tried as raw protobuf.
    Protobuf,
    /// A Go heap dump (`runtime/debug.WriteHeapDump`).
    HeapDump,
    /// A legacy text profile (`?debug=1` heap or goroutine dumps).
    LegacyText,
    /// The pre-protobuf binary CPU profile format.
    LegacyCpu,
    /// gzip whose bytes were run through a text conversion: invalid bytes
    /// became U+FFFD (`EF BF BD`), as when a profile is saved by an editor
    /// or fetched as text.
    MangledGzip,
}

/// Decides the format of `data` from its leading bytes.
pub fn sniff(data: &[u8]) -> Format {
    if data.starts_with(&[0x1f, 0x8b]) {
        return Format::Gzip;
    }
    if data.starts_with(&[0x1f, 0xef, 0xbf, 0xbd]) {
        return Format::MangledGzip;
    }
    if data.starts_with(b"go1.7 heap dump\n") {
        return Format::HeapDump;
    }
    // The legacy CPU format starts with the header words 0, 3 (count of
    // header words that follow) in the machine's word size.
    if data.len() >= 16 && data[..8] == [0; 8] && data[8..16] == [3, 0, 0, 0, 0, 0, 0, 0] {
        return Format::LegacyCpu;
    }
    // Legacy text may start with a UTF-8 byte order mark or blank lines.
    let text = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let text = &text[text.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n')).unwrap_or(text.len())..];
    let head = &text[..text.len().min(64)];
    let text_markers: [&[u8]; 6] =
        [b"heap profile:", b"goroutine profile:", b"--- ", b"heap_v2/", b"goroutine ", b"threadcreate profile:"];
    if text_markers.iter().any(|m| head.starts_with(m)) {
        return Format::LegacyText;
    }
    // Any other count profile: `NAME profile: total N` (e.g. goroutineleak).
    const COUNT: &[u8] = b" profile: total ";
    if let Some(i) = head.windows(COUNT.len()).position(|w| w == COUNT) {
        if i > 0 && head[..i].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            return Format::LegacyText;
        }
    }
    Format::Protobuf
}

/// Decodes a profile from bytes in memory (raw or gzip protobuf, or a
/// legacy text profile), within the default [`Limits`].
pub fn parse(data: &[u8]) -> Result<Profile, DecodeError> {
    parse_with(data, &Limits::default())
}

/// Decodes a profile from bytes in memory within `limits`: gzip input may
/// inflate, and its decoded tables grow, to at most
/// [`Limits::inflated_budget`] of `data.len()`.
pub fn parse_with(data: &[u8], limits: &Limits) -> Result<Profile, DecodeError> {
    if data.is_empty() {
        return Err(DecodeError::whole(ErrorKind::Empty));
    }
    match sniff(data) {
        Format::Gzip => {
            let budget = limits.inflated_budget(data.len() as u64);
            // A small file is inflated whole and decoded from the slice;
            // should that fail in any way, the streaming path below runs
            // and gives its error, so errors do not depend on the path.
            let whole = inflate::with_inflated(data, budget.bytes.min(inflate::WHOLE_MAX), |raw| {
                if sniff(raw) == Format::LegacyText {
                    legacy::parse(raw)
                } else {
                    decode::decode_within(&mut SliceSource(raw), budget)
                }
            });
            if let Some(Ok(p)) = whole {
                return Ok(p);
            }
            let gz = Capped::new(flate2::bufread::MultiGzDecoder::new(data), budget, Exceeded::Inflated);
            // 256 KiB: large enough that almost every top-level field is
            // decoded in place from the inflater's buffer.
            let mut reader = BufReader::with_capacity(256 * 1024, gz);
            // pprof also reads gzipped legacy text: peek at the first
            // inflated bytes before choosing the decoder.
            if let Ok(head) = std::io::BufRead::fill_buf(&mut reader) {
                if sniff(head) == Format::LegacyText {
                    let text = limits::read_capped(reader, budget, Exceeded::Inflated).map_err(|e| {
                        DecodeError::whole(match limits::limit_error(&e) {
                            Some(l) => ErrorKind::Limit(l),
                            None => ErrorKind::Gzip(e.to_string()),
                        })
                    })?;
                    return legacy::parse(&text);
                }
            }
            let mut src = StreamSource::new(reader, |e| ErrorKind::Gzip(e.to_string())).with_budget(budget);
            decode::decode_within(&mut src, budget).map_err(|mut e| {
                e.decompressed = true;
                e
            })
        }
        Format::Protobuf => decode::decode(&mut SliceSource(data)),
        Format::HeapDump => Err(DecodeError::whole(ErrorKind::Unsupported(
            "this is a Go heap dump (runtime/debug.WriteHeapDump): read it with `leakscope heap` (which also reads stdin); info, top and diff read heap dumps given as files",
        ))),
        Format::LegacyText => legacy::parse(data),
        Format::MangledGzip => Err(DecodeError::new(1, ErrorKind::Unsupported(
            "corrupt gzip: bytes were replaced by U+FFFD (EF BF BD), as a text editor or a text-mode download does; fetch the profile again as binary (e.g. curl -o)",
        ))),
        Format::LegacyCpu => Err(DecodeError::whole(ErrorKind::Unsupported(
            "this is a legacy binary CPU profile; only protobuf profiles are supported",
        ))),
    }
}

/// An error reading one input, naming it.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("{}: {msg}", path.display())]
    Io {
        /// The input.
        path: PathBuf,
        /// What failed.
        msg: String,
    },
    /// The bytes are not a valid profile.
    #[error("{}: {err}", path.display())]
    Decode {
        /// The input.
        path: PathBuf,
        /// What is wrong, and where.
        err: DecodeError,
    },
}

impl ReadError {
    /// The input this error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::Io { path, .. } | ReadError::Decode { path, .. } => path,
        }
    }
}
