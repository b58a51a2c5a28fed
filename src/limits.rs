//! How much memory one input may cost: the limit policy every reader
//! follows.
//!
//! Sizes on disk bound nothing by themselves: gzip expands up to about
//! 1000 times, a pipe or a device (`/dev/zero`) never ends, and a profile
//! may declare a field of gigabytes in six bytes. So every reader counts
//! what it holds against a *budget* derived from the input's size:
//!
//! - **Compressed input** (gzip protobuf, gzip legacy text, gzip heap
//!   dumps, and the decoded tables built from them) may expand to at most
//!   [`Limits::ratio`] times the compressed size, but never below
//!   [`Limits::floor`] and never above [`Limits::max_inflated`]. A
//!   protobuf field whose declared length is past what is left of the
//!   budget is rejected as soon as its length is read, before any of it
//!   is inflated; the decoded tables (samples, locations, strings, …) are
//!   checked against the same budget while they grow, so neither a single
//!   sample of millions of frames nor millions of tiny messages can cost
//!   more than the budget allows.
//! - **Streams** (standard input, pipes, FIFOs, devices, HTTP bodies) have
//!   no size to derive a budget from: at most [`Limits::max_stream`] bytes
//!   are read from one.
//! - **Small side files** (`--rules`) are read up to
//!   [`Limits::max_small_file`] bytes.
//!
//! `--max-inflated SIZE` replaces the ratio, the floor and the ceiling
//! with SIZE for compressed input, and raises the stream limit to SIZE.
//! Over a limit, a reader fails with a [`LimitError`], which names the
//! limit and the flag; the CLI prints it on one line and exits 2.
//!
//! Memory then stays proportional to the input: the README's "Limits"
//! section gives the constants, measured.

use std::fmt;
use std::io::{self, Read};

/// The limits in force for this process: [`Limits::DEFAULT`] until
/// [`set_current`] (the CLI's `--max-inflated`) changes them. Every reader
/// in [`crate::source`], the rules loader and `--binary` read them.
static CURRENT: std::sync::RwLock<Limits> = std::sync::RwLock::new(Limits::DEFAULT);

/// The limits in force (see [`set_current`]).
pub fn current() -> Limits {
    *CURRENT.read().unwrap_or_else(|e| e.into_inner())
}

/// Sets the limits every reader of this process uses from now on.
pub fn set_current(l: Limits) {
    *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = l;
}

/// A compressed input may expand to this many times its size.
pub const DEFAULT_RATIO: u64 = 32;
/// ... but always to at least this much (small files, high ratios).
pub const DEFAULT_FLOOR: u64 = 64 << 20;
/// ... and never to more than this.
pub const DEFAULT_MAX_INFLATED: u64 = 4 << 30;
/// Bytes read from one pipe, device, FIFO, standard input or HTTP response
/// body.
pub const DEFAULT_MAX_STREAM: u64 = 256 << 20;
/// Bytes read from a rules file.
pub const DEFAULT_MAX_SMALL_FILE: u64 = 16 << 20;

/// The limits readers enforce. [`Limits::default`] is the documented
/// policy; [`Limits::from_flag`] applies `--max-inflated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A compressed input may expand to this many times its size.
    pub ratio: u64,
    /// The ratio rule never allows less than this.
    pub floor: u64,
    /// Nor more than this.
    pub max_inflated: u64,
    /// Bytes read from one stream (pipe, device, stdin, HTTP body).
    pub max_stream: u64,
    /// Bytes read from one small side file (rules).
    pub max_small_file: u64,
    /// Set by `--max-inflated`: `max_inflated` is the budget of every
    /// compressed input, whatever its size, and the stream limit too.
    pub explicit: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

impl Limits {
    /// The documented defaults.
    pub const DEFAULT: Limits = Limits {
        ratio: DEFAULT_RATIO,
        floor: DEFAULT_FLOOR,
        max_inflated: DEFAULT_MAX_INFLATED,
        max_stream: DEFAULT_MAX_STREAM,
        max_small_file: DEFAULT_MAX_SMALL_FILE,
        explicit: false,
    };

    /// The limits for a `--max-inflated` value (`None`: the defaults).
    /// Negative values (which the size parser does not produce) count as 0.
    pub fn from_flag(max_inflated: Option<i64>) -> Limits {
        match max_inflated {
            None => Limits::default(),
            Some(v) => {
                let v = u64::try_from(v).unwrap_or(0);
                Limits { max_inflated: v, max_stream: v, explicit: true, ..Limits::default() }
            }
        }
    }

    /// How many bytes an input of `compressed` bytes may expand to.
    pub fn inflated_budget(&self, compressed: u64) -> Budget {
        if self.explicit {
            return Budget { bytes: self.max_inflated, why: Why::Flag };
        }
        let by_ratio = compressed.saturating_mul(self.ratio);
        if by_ratio <= self.floor {
            Budget { bytes: self.floor.min(self.max_inflated), why: Why::Floor }
        } else if by_ratio >= self.max_inflated {
            Budget { bytes: self.max_inflated, why: Why::Ceiling }
        } else {
            Budget { bytes: by_ratio, why: Why::Ratio { ratio: self.ratio, compressed } }
        }
    }

    /// The most bytes read from one stream.
    pub fn stream_budget(&self) -> Budget {
        Budget { bytes: self.max_stream, why: if self.explicit { Why::Flag } else { Why::Stream } }
    }

    /// The most bytes of one HTTP response body (`capture`).
    pub fn body_budget(&self) -> Budget {
        Budget { bytes: self.max_stream, why: if self.explicit { Why::Flag } else { Why::Body } }
    }

    /// The most bytes read from one rules file.
    pub fn small_file_budget(&self) -> Budget {
        if self.explicit {
            Budget { bytes: self.max_inflated, why: Why::Flag }
        } else {
            Budget { bytes: self.max_small_file, why: Why::SmallFile }
        }
    }
}

/// Where a budget comes from, for the message when it is exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// `--max-inflated`.
    Flag,
    /// The ratio rule: `ratio` times `compressed` bytes.
    Ratio {
        /// The multiplier.
        ratio: u64,
        /// The compressed size.
        compressed: u64,
    },
    /// The ratio rule's floor.
    Floor,
    /// The absolute ceiling for compressed input.
    Ceiling,
    /// The stream limit.
    Stream,
    /// The rules-file limit.
    SmallFile,
    /// The HTTP body limit.
    Body,
}

/// A number of bytes one input may cost, and why that many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The limit.
    pub bytes: u64,
    /// Where it comes from.
    pub why: Why,
}

impl Budget {
    /// No limit (for callers that bound memory themselves).
    pub const UNLIMITED: Budget = Budget { bytes: u64::MAX, why: Why::Flag };

    /// The error for going past this budget in `what` way.
    pub fn exceeded(self, what: Exceeded) -> LimitError {
        LimitError { what, budget: self }
    }
}

/// What went past a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// Inflating compressed data.
    Inflated,
    /// A protobuf field declared this many bytes.
    Field {
        /// Field number.
        field: u32,
        /// Declared length.
        len: u64,
    },
    /// The decoded tables grew past the budget.
    Decoded,
    /// Reading a stream.
    Stream,
    /// Reading a rules file.
    SmallFile,
}

/// An input went past its budget. Displays as one line that names the
/// limit and the flag that raises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitError {
    /// What went past it.
    pub what: Exceeded,
    /// The budget.
    pub budget: Budget,
}

impl std::error::Error for LimitError {}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let limit = size(self.budget.bytes);
        match self.what {
            Exceeded::Inflated => write!(f, "inflates to more than {limit}")?,
            Exceeded::Field { field, len } => write!(f, "field {field} declares {}, more than {limit}", size(len))?,
            Exceeded::Decoded => write!(f, "its decoded tables take more than {limit}")?,
            Exceeded::Stream => write!(f, "more than {limit} read from a stream")?,
            Exceeded::SmallFile => write!(f, "larger than {limit}")?,
        }
        match self.budget.why {
            Why::Flag => write!(f, ", the limit set by --max-inflated; raise it with --max-inflated SIZE"),
            Why::Ratio { ratio, compressed } => write!(
                f,
                ", the limit for this input ({ratio}× its {} compressed size); raise it with --max-inflated SIZE",
                size(compressed)
            ),
            Why::Floor => write!(f, ", the limit for a small compressed input; raise it with --max-inflated SIZE"),
            Why::Ceiling => write!(f, ", the limit for any compressed input; raise it with --max-inflated SIZE"),
            Why::Stream => write!(
                f,
                ", the limit for standard input, pipes and devices; give a file, or raise it with --max-inflated SIZE"
            ),
            Why::SmallFile => write!(f, ", the limit for rules files; raise it with --max-inflated SIZE"),
            Why::Body => write!(f, ", the limit for an HTTP response body; raise it with --max-inflated SIZE"),
        }
    }
}

/// `64 MiB`, `1.5 GiB`, `512 B`.
pub fn size(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut x = n as f64;
    let mut u = 0;
    while x >= 1024.0 && u < UNITS.len() - 1 {
        x /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else if x.fract() == 0.0 {
        format!("{x:.0} {}", UNITS[u])
    } else {
        format!("{x:.1} {}", UNITS[u])
    }
}

/// The [`LimitError`] an I/O error carries, if it is one (see [`Capped`]).
pub fn limit_error(e: &io::Error) -> Option<LimitError> {
    e.get_ref().and_then(|i| i.downcast_ref::<LimitError>()).copied()
}

/// A reader that fails with a [`LimitError`] (inside an `io::Error`) once
/// more than the budget has been read through it. The check is per `read`
/// call, not per byte.
#[derive(Debug)]
pub struct Capped<R> {
    inner: R,
    read: u64,
    budget: Budget,
    what: Exceeded,
}

impl<R: Read> Capped<R> {
    /// Wraps `inner`; going past `budget` is reported as `what`.
    pub fn new(inner: R, budget: Budget, what: Exceeded) -> Self {
        Capped { inner, read: 0, budget, what }
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.read > self.budget.bytes {
            return Err(io::Error::other(self.budget.exceeded(self.what)));
        }
        // Ask for no more than one byte past the budget: enough to tell
        // "exactly the budget" from "more".
        let room = (self.budget.bytes - self.read).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.read += n as u64;
        if self.read > self.budget.bytes {
            return Err(io::Error::other(self.budget.exceeded(self.what)));
        }
        Ok(n)
    }
}

/// Reads `r` to its end into memory, failing with a [`LimitError`] (in an
/// `io::Error`) past `budget` bytes. The buffer grows with the data, by
/// at most 64 MiB at a time and never past one byte over the budget, so a
/// stream costs about what it sent rather than the next power of two.
pub fn read_capped(r: impl Read, budget: Budget, what: Exceeded) -> io::Result<Vec<u8>> {
    let mut r = Capped::new(r, budget, what);
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let room = budget.bytes.saturating_sub(buf.len() as u64).saturating_add(1);
        let chunk = (buf.len() as u64).clamp(64 * 1024, 64 << 20).min(room);
        buf.reserve_exact(usize::try_from(chunk).unwrap_or(usize::MAX));
        let n = Read::by_ref(&mut r).take(chunk).read_to_end(&mut buf)?;
        if (n as u64) < chunk {
            return Ok(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets() {
        let l = Limits::default();
        assert_eq!(l.inflated_budget(1000).bytes, 64 << 20);
        assert_eq!(l.inflated_budget(10 << 20).bytes, 320 << 20);
        assert_eq!(l.inflated_budget(1 << 30).bytes, 4 << 30);
        assert_eq!(l.inflated_budget(u64::MAX).bytes, 4 << 30);
        let f = Limits::from_flag(Some(1 << 20));
        assert_eq!(f.inflated_budget(1 << 30).bytes, 1 << 20);
        assert_eq!(f.stream_budget().bytes, 1 << 20);
        assert_eq!(Limits::from_flag(None), l);
    }

    #[test]
    fn capped_reads_stop_past_the_budget() {
        let b = Budget { bytes: 10, why: Why::Stream };
        assert_eq!(read_capped(&[7u8; 10][..], b, Exceeded::Stream).unwrap().len(), 10);
        let e = read_capped(&[7u8; 11][..], b, Exceeded::Stream).unwrap_err();
        assert_eq!(limit_error(&e).unwrap().what, Exceeded::Stream);
        let e = read_capped(std::io::repeat(0), b, Exceeded::Stream).unwrap_err();
        assert!(e.to_string().contains("--max-inflated"), "{e}");
    }

    #[test]
    fn messages_name_the_limit_and_the_flag() {
        let l = Limits::default();
        let e = l.inflated_budget(7 << 20).exceeded(Exceeded::Field { field: 6, len: 3 << 29 });
        assert_eq!(
            e.to_string(),
            "field 6 declares 1.5 GiB, more than 224 MiB, the limit for this input (32× its 7 MiB compressed \
             size); raise it with --max-inflated SIZE"
        );
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1536), "1.5 KiB");
    }
}
