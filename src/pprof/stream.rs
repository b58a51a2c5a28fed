//! Decoding a profile from a stream that can be read only once: standard
//! input, a pipe, a FIFO, process substitution (`<(…)`), a device.
//!
//! The caller has already read the first bytes to decide what the input
//! is ([`super::sniff`]); they are passed in as `head` and decoding goes on
//! from there, so nothing is read twice. Protobuf (raw or gzip) is decoded
//! as it arrives, so an endless or garbage stream fails at its first bad
//! field instead of being buffered first; only legacy text, whose parser
//! needs the whole text, is collected.
//!
//! A stream has no size to derive a budget from, so everything is held to
//! [`Limits::stream_budget`]: the bytes read, the bytes inflated, and the
//! decoded tables.

use std::io::{BufRead, BufReader, Read};

use super::decode::{self, StreamSource};
use super::error::{DecodeError, ErrorKind};
use super::{legacy, sniff, Format};
use crate::limits::{self, Capped, Exceeded, Limits};
use crate::profile::Profile;

/// An I/O error as a decode error: a limit, or what `other` makes of it.
fn io_error(e: &std::io::Error, other: fn(String) -> ErrorKind) -> ErrorKind {
    match limits::limit_error(e) {
        Some(l) => ErrorKind::Limit(l),
        None => other(e.to_string()),
    }
}

/// Decodes a profile from `head` (the bytes already read) followed by the
/// rest of the stream, within `limits`.
pub fn parse_stream<R: Read>(head: Vec<u8>, rest: R, limits: &Limits) -> Result<Profile, DecodeError> {
    if head.is_empty() {
        return Err(DecodeError::whole(ErrorKind::Empty));
    }
    let format = sniff(&head);
    let budget = limits.stream_budget();
    let input = Capped::new(std::io::Cursor::new(head).chain(rest), budget, Exceeded::Stream);
    match format {
        Format::Gzip => {
            let gz = Capped::new(flate2::read::MultiGzDecoder::new(input), budget, Exceeded::Stream);
            let mut reader = BufReader::with_capacity(256 * 1024, gz);
            if let Ok(h) = reader.fill_buf() {
                if sniff(h) == Format::LegacyText {
                    let text = limits::read_capped(reader, budget, Exceeded::Stream)
                        .map_err(|e| DecodeError::whole(io_error(&e, ErrorKind::Gzip)))?;
                    return legacy::parse(&text);
                }
            }
            let mut src = StreamSource::new(reader, |e| io_error(&e, ErrorKind::Gzip)).with_budget(budget);
            decode::decode_within(&mut src, budget).map_err(|mut e| {
                e.decompressed = true;
                e
            })
        }
        Format::Protobuf => {
            let reader = BufReader::with_capacity(256 * 1024, input);
            let mut src = StreamSource::new(reader, |e| io_error(&e, ErrorKind::Io)).with_budget(budget);
            decode::decode_within(&mut src, budget)
        }
        Format::LegacyText => {
            let text = limits::read_capped(input, budget, Exceeded::Stream)
                .map_err(|e| DecodeError::whole(io_error(&e, ErrorKind::Io)))?;
            legacy::parse(&text)
        }
        // The rest are refused from their first bytes, as for a file.
        Format::HeapDump | Format::MangledGzip | Format::LegacyCpu => {
            let mut h = Vec::new();
            input.take(64).read_to_end(&mut h).map_err(|e| DecodeError::whole(ErrorKind::Io(e.to_string())))?;
            super::parse(&h)
        }
    }
}
