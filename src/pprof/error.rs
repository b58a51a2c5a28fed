//! Decode errors that say what is wrong and where.

use std::fmt;

/// What went wrong while decoding. Each variant carries the offending value.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input has no bytes at all.
    Empty,
    /// A varint ran past the end of its message.
    TruncatedVarint,
    /// A varint longer than ten bytes, or wider than 64 bits.
    OverlongVarint,
    /// A length-delimited or fixed-width field runs past the end.
    Truncated {
        /// The field whose payload is cut short.
        field: u32,
        /// Bytes the field claims.
        needed: u64,
        /// Bytes actually left.
        left: u64,
    },
    /// Wire types 3, 4, 6 and 7 never occur in a pprof profile.
    BadWireType(u8),
    /// Field number 0 or beyond 2^29-1.
    BadFieldNumber(u64),
    /// A known field arrived with the wrong wire type.
    WrongWireType {
        /// Message and field name, e.g. `Profile.sample`.
        field: &'static str,
        /// Wire type seen.
        got: u8,
    },
    /// A string-table index beyond the table.
    StringIndex {
        /// Which reference, e.g. `Function.name`.
        field: &'static str,
        /// The index.
        index: i64,
        /// Table length.
        len: usize,
    },
    /// The string table is missing or does not start with "".
    BadStringTable,
    /// An id that names no entry of its table.
    DanglingId {
        /// Which reference, e.g. `Sample.location_id`.
        field: &'static str,
        /// The id.
        id: u64,
    },
    /// A sample whose stack names a location that does not exist.
    DanglingSampleLocation {
        /// Index of the sample.
        sample: usize,
        /// The location id.
        id: u64,
    },
    /// An entry with id 0, which is reserved.
    ZeroId(&'static str),
    /// Two entries of one table share an id.
    DuplicateId {
        /// Table name.
        table: &'static str,
        /// The id.
        id: u64,
    },
    /// A sample whose value count differs from the sample types.
    ValueCount {
        /// Index of the sample.
        sample: usize,
        /// Values it has.
        got: usize,
        /// Sample types declared.
        want: usize,
    },
    /// A count that does not fit the model's 32-bit indexes.
    TooLarge(&'static str),
    /// The gzip layer failed.
    Gzip(String),
    /// An I/O error while reading the stream.
    Io(String),
    /// The input is a format leakscope recognises but does not read yet.
    Unsupported(&'static str),
    /// drop_frames or keep_frames is not a valid regular expression.
    BadRegex(String),
    /// A legacy text profile (`?debug=1` heap or goroutine, `?debug=2`
    /// goroutine dump) that does not follow its format.
    LegacyText {
        /// 1-based line number of the offending line.
        line: u64,
        /// What was expected, and what was found.
        msg: String,
    },
    /// The input went past a limit of [`crate::limits::Limits`].
    Limit(crate::limits::LimitError),
}

/// A decode error: its kind and the byte offset in the (decompressed)
/// protobuf stream where it was found. Offsets for post-decode checks
/// (dangling ids and the like) are the offset of the referencing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset in the decoded stream, if it applies.
    pub offset: u64,
    /// What is wrong.
    pub kind: ErrorKind,
    /// Whether `offset` is meaningful.
    pub has_offset: bool,
    /// Whether `offset` counts decompressed bytes of a gzip input.
    pub decompressed: bool,
}

impl DecodeError {
    /// An error at `offset`.
    pub fn new(offset: u64, kind: ErrorKind) -> Self {
        DecodeError { offset, kind, has_offset: true, decompressed: false }
    }

    /// An error with no useful position.
    pub fn whole(kind: ErrorKind) -> Self {
        DecodeError { offset: 0, kind, has_offset: false, decompressed: false }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Empty => write!(f, "empty input: not a profile"),
            ErrorKind::TruncatedVarint => write!(f, "truncated varint (input ends mid-number)"),
            ErrorKind::OverlongVarint => write!(f, "malformed varint (longer than 10 bytes or wider than 64 bits)"),
            ErrorKind::Truncated { field, needed, left } => {
                write!(f, "truncated: field {field} needs {needed} bytes but only {left} remain")
            }
            ErrorKind::BadWireType(w) => write!(f, "invalid protobuf wire type {w}: not a pprof profile"),
            ErrorKind::BadFieldNumber(n) => write!(f, "invalid protobuf field number {n}: not a pprof profile"),
            ErrorKind::WrongWireType { field, got } => {
                write!(f, "{field} has wire type {got}, which that field never uses: not a pprof profile, or corrupt")
            }
            ErrorKind::StringIndex { field, index, len } => {
                write!(f, "{field} refers to string {index}, but the string table has {len} entries")
            }
            ErrorKind::BadStringTable => {
                write!(f, "missing or malformed string table (entry 0 must be \"\"): not a pprof profile")
            }
            ErrorKind::DanglingId { field, id } => write!(f, "{field} {id} refers to no such entry"),
            ErrorKind::DanglingSampleLocation { sample, id } => {
                write!(f, "sample {sample} refers to location id {id}, which does not exist")
            }
            ErrorKind::ZeroId(t) => write!(f, "{t} has the reserved id 0"),
            ErrorKind::DuplicateId { table, id } => write!(f, "two {table} entries share id {id}"),
            ErrorKind::ValueCount { sample, got, want } => {
                write!(f, "sample {sample} has {got} values but the profile declares {want} sample types")
            }
            ErrorKind::TooLarge(what) => write!(f, "too many {what} (more than 2^32)"),
            ErrorKind::Gzip(e) => write!(f, "bad gzip data: {e}"),
            ErrorKind::Io(e) => write!(f, "read error: {e}"),
            ErrorKind::Unsupported(what) => write!(f, "{what}"),
            ErrorKind::BadRegex(e) => write!(f, "invalid drop_frames/keep_frames regex: {e}"),
            ErrorKind::LegacyText { line, msg } => write!(f, "legacy text profile, line {line}: {msg}"),
            ErrorKind::Limit(e) => write!(f, "{e}"),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.has_offset && self.decompressed {
            write!(f, "at byte {} of the decompressed data: {}", self.offset, self.kind)
        } else if self.has_offset {
            write!(f, "at byte {}: {}", self.offset, self.kind)
        } else {
            write!(f, "{}", self.kind)
        }
    }
}

impl std::error::Error for DecodeError {}
