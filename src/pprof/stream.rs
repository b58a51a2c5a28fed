//! Decoding a profile from a stream that can be read only once: standard
//! input, a pipe, a FIFO, process substitution (`<(…)`), a device.
//!
//! The caller has already read the first bytes to decide what the input
//! is ([`super::sniff`]); they are passed in as `head` and decoding goes on
//! from there, so nothing is read twice. Protobuf (raw or gzip) is decoded
//! as it arrives, so an endless or garbage stream fails at its first bad
//! field instead of being buffered first; only legacy text, whose parser
//! needs the whole text, is collected, up to [`TEXT_CAP`].

use std::io::{BufRead, BufReader, Read};

use super::decode::{self, StreamSource};
use super::error::{DecodeError, ErrorKind};
use super::{legacy, sniff, Format};
use crate::profile::Profile;

/// The most legacy text read from a stream: far above any real profile's
/// text (the corpus's largest is under 10 MiB), far below the machine.
pub const TEXT_CAP: u64 = 256 << 20;

/// Decodes a profile from `head` (the bytes already read) followed by the
/// rest of the stream.
pub fn parse_stream<R: Read>(head: Vec<u8>, rest: R) -> Result<Profile, DecodeError> {
    if head.is_empty() {
        return Err(DecodeError::whole(ErrorKind::Empty));
    }
    let format = sniff(&head);
    let input = std::io::Cursor::new(head).chain(rest);
    match format {
        Format::Gzip => {
            let gz = flate2::read::MultiGzDecoder::new(input);
            let mut reader = BufReader::with_capacity(256 * 1024, gz);
            if let Ok(h) = reader.fill_buf() {
                if sniff(h) == Format::LegacyText {
                    let text = read_text(reader).map_err(|e| DecodeError::whole(ErrorKind::Gzip(e.to_string())))?;
                    return legacy::parse(&text);
                }
            }
            let mut src = StreamSource::new(reader, |e| ErrorKind::Gzip(e.to_string()));
            decode::decode(&mut src).map_err(|mut e| {
                e.decompressed = true;
                e
            })
        }
        Format::Protobuf => {
            let reader = BufReader::with_capacity(256 * 1024, input);
            decode::decode(&mut StreamSource::new(reader, |e| ErrorKind::Io(e.to_string())))
        }
        Format::LegacyText => {
            let text = read_text(input).map_err(|e| DecodeError::whole(ErrorKind::Io(e.to_string())))?;
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

/// Reads legacy text to its end, refusing more than [`TEXT_CAP`] bytes.
fn read_text<R: Read>(r: R) -> std::io::Result<Vec<u8>> {
    let mut text = Vec::new();
    r.take(TEXT_CAP + 1).read_to_end(&mut text)?;
    if text.len() as u64 > TEXT_CAP {
        return Err(std::io::Error::other(format!(
            "legacy text profile over {} MiB: not a profile this tool reads",
            TEXT_CAP >> 20
        )));
    }
    Ok(text)
}
