//! Protobuf wire-format primitives over a borrowed byte slice.
//!
//! This is the one byte cursor leakscope uses for binary input, in the
//! spirit of gimli's `EndianSlice` and object's `Bytes`: every read checks
//! its bounds before advancing, varints are capped at ten bytes (a value
//! wider than 64 bits is an error, not a silent wrap), and every error
//! carries the absolute byte offset where it happened.

use super::error::{DecodeError, ErrorKind};

/// Protobuf wire types that the pprof schema uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireType {
    /// 0: a varint.
    Varint,
    /// 1: eight little-endian bytes.
    Fixed64,
    /// 2: a length-delimited payload (messages, strings, packed arrays).
    Len,
    /// 5: four little-endian bytes.
    Fixed32,
}

impl WireType {
    /// Maps the three low bits of a tag to a wire type. Groups (3, 4) and
    /// the unused values 6 and 7 are rejected: no pprof writer emits them.
    pub fn from_tag(tag: u64, offset: u64) -> Result<WireType, DecodeError> {
        match tag & 7 {
            0 => Ok(WireType::Varint),
            1 => Ok(WireType::Fixed64),
            2 => Ok(WireType::Len),
            5 => Ok(WireType::Fixed32),
            w => Err(DecodeError::new(offset, ErrorKind::BadWireType(w as u8))),
        }
    }

    /// The protobuf number of this wire type, for messages.
    pub fn number(self) -> u8 {
        match self {
            WireType::Varint => 0,
            WireType::Fixed64 => 1,
            WireType::Len => 2,
            WireType::Fixed32 => 5,
        }
    }
}

/// A field's value as it appears on the wire.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 2.
    Bytes(&'a [u8]),
    /// Wire type 5.
    Fixed32(u32),
}

impl Value<'_> {
    /// The wire type this value was read with.
    pub fn wire_type(&self) -> WireType {
        match self {
            Value::Varint(_) => WireType::Varint,
            Value::Fixed64(_) => WireType::Fixed64,
            Value::Bytes(_) => WireType::Len,
            Value::Fixed32(_) => WireType::Fixed32,
        }
    }
}

/// One decoded field: its number, where its payload starts, and its value.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    /// The field number from the tag.
    pub number: u32,
    /// Absolute offset of the payload (after the tag and any length).
    pub offset: u64,
    /// The payload.
    pub value: Value<'a>,
}

/// A bounds-checked cursor over a protobuf message held in memory.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Absolute offset of `data[0]` in the decoded stream, for errors.
    base: u64,
}

impl<'a> Reader<'a> {
    /// A reader over `data`, whose first byte sits at absolute offset `base`.
    pub fn new(data: &'a [u8], base: u64) -> Self {
        Reader { data, pos: 0, base }
    }

    /// Absolute offset of the next unread byte.
    #[inline]
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// True when every byte has been read.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// Reads one base-128 varint.
    #[inline(always)]
    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        // Fast paths: a one-byte varint, by far the most common in
        // profiles; then, with ten bytes in hand, a loop whose reads need
        // no bounds checks.
        if let Some(&b) = rest.first() {
            if b < 0x80 {
                self.pos += 1;
                return Ok(u64::from(b));
            }
            let head: &[u8] = match rest.first_chunk::<10>() {
                Some(ten) => ten,
                // The last bytes of a buffer (packed arrays end there).
                None => rest,
            };
            let mut value = u64::from(b & 0x7f);
            for (i, &b) in head.iter().enumerate().skip(1) {
                value |= u64::from(b & 0x7f) << (7 * i);
                if b < 0x80 {
                    if i == 9 && b > 1 {
                        break;
                    }
                    self.pos += i + 1;
                    return Ok(value);
                }
            }
        }
        self.varint_slow()
    }

    /// Reads varints until the reader is empty, handing each to `push`:
    /// the payload of a packed repeated field. Same values and errors as
    /// calling [`Reader::varint`] in a loop; faster on the short varints of
    /// location ids.
    ///
    /// Eight bytes are loaded at a time (the payload's last few padded with
    /// zero bytes above them), and every complete varint of up to four
    /// bytes (values below 2^28) in them is decoded with masks and shifts,
    /// in registers. A loop that reloaded from memory after each varint
    /// would make every varint wait for the load that the previous one's
    /// length decided; a byte-at-a-time loop would mispredict on every
    /// change of length.
    /// Longer varints, and errors, go through [`Reader::varint`].
    #[inline]
    pub fn packed_varints(&mut self, mut push: impl FnMut(u64)) -> Result<(), DecodeError> {
        while !self.is_empty() {
            let rest = &self.data[self.pos..];
            let (mut x, mut ends) = match rest.first_chunk::<8>() {
                // Bit 7 of byte i clear: a varint ends at byte i.
                Some(w) => {
                    let x = u64::from_le_bytes(*w);
                    (x, !x & 0x8080_8080_8080_8080)
                }
                None => {
                    let n = rest.len();
                    let x = match self.data.last_chunk::<8>() {
                        // The payload's last eight bytes, the ones already
                        // read shifted out: one load, where copying the
                        // few left into a buffer calls memmove.
                        Some(w) => u64::from_le_bytes(*w) >> (8 * (8 - n)),
                        None => rest.iter().rev().fold(0u64, |x, &b| (x << 8) | u64::from(b)),
                    };
                    // The zero bytes above the payload end no varint.
                    (x, !x & 0x8080_8080_8080_8080 & ((1u64 << (8 * n)) - 1))
                }
            };
            let mut used = 0;
            while ends != 0 {
                let len = ends.trailing_zeros() / 8 + 1;
                if len > 4 {
                    break;
                }
                let v = (x & 0x7f) | ((x >> 1) & 0x3f80) | ((x >> 2) & 0x1f_c000) | ((x >> 3) & 0xfe0_0000);
                push(v & ((1u64 << (7 * len)) - 1));
                used += len as usize;
                // At most 32 bits: the shift never reaches the width.
                x >>= 8 * len;
                ends >>= 8 * len;
            }
            if used == 0 {
                push(self.varint()?);
            } else {
                self.pos += used;
            }
        }
        Ok(())
    }

    /// [`Reader::varint`]'s errors (truncated or overlong varints).
    #[cold]
    #[inline(never)]
    fn varint_slow(&mut self) -> Result<u64, DecodeError> {
        let start = self.offset();
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.data.get(self.pos) else {
                self.pos = self.data.len();
                return Err(DecodeError::new(start, ErrorKind::TruncatedVarint));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(DecodeError::new(start, ErrorKind::OverlongVarint));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(value);
            }
        }
        Err(DecodeError::new(start, ErrorKind::OverlongVarint))
    }

    /// Reads `n` bytes.
    #[inline]
    pub fn bytes(&mut self, n: u64, field: u32) -> Result<&'a [u8], DecodeError> {
        let left = (self.data.len() - self.pos) as u64;
        if n > left {
            let at = self.offset();
            self.pos = self.data.len();
            return Err(DecodeError::new(at, ErrorKind::Truncated { field, needed: n, left }));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.data[start..self.pos])
    }

    /// Reads the next field, or `None` at the end of the message.
    ///
    /// Always inlined: as a call it returned its 40-byte result through
    /// memory, and a sample's few fields made it 7-8% of a trend's time.
    #[inline(always)]
    pub fn field(&mut self) -> Result<Option<Field<'a>>, DecodeError> {
        if self.is_empty() {
            return Ok(None);
        }
        let tag_at = self.offset();
        let tag = self.varint()?;
        let number = field_number(tag, tag_at)?;
        let wt = WireType::from_tag(tag, tag_at)?;
        let value = match wt {
            WireType::Varint => Value::Varint(self.varint()?),
            WireType::Fixed64 => {
                let b = self.bytes(8, number)?;
                Value::Fixed64(u64::from_le_bytes(b.try_into().expect("8 bytes")))
            }
            WireType::Fixed32 => {
                let b = self.bytes(4, number)?;
                Value::Fixed32(u32::from_le_bytes(b.try_into().expect("4 bytes")))
            }
            WireType::Len => {
                let n = self.varint()?;
                let at = self.offset();
                let b = self.bytes(n, number)?;
                return Ok(Some(Field { number, offset: at, value: Value::Bytes(b) }));
            }
        };
        Ok(Some(Field { number, offset: self.offset(), value }))
    }
}

/// Extracts and checks the field number of a tag.
#[inline]
pub fn field_number(tag: u64, offset: u64) -> Result<u32, DecodeError> {
    let n = tag >> 3;
    if n == 0 || n > (1 << 29) - 1 {
        return Err(DecodeError::new(offset, ErrorKind::BadFieldNumber(n)));
    }
    Ok(n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_varints_equal_varint_by_varint() {
        // Random bytes biased to continuation bits, so that every length
        // from 1 to 10+, overlong and truncated varints all occur.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for round in 0..20_000 {
            let len = (round % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let b = x as u8;
                    if x >> 60 < 9 {
                        b | 0x80
                    } else {
                        b
                    }
                })
                .collect();
            let mut slow = Reader::new(&bytes, 7);
            let mut want = Vec::new();
            let want_err = loop {
                if slow.is_empty() {
                    break None;
                }
                match slow.varint() {
                    Ok(v) => want.push(v),
                    Err(e) => break Some(e.to_string()),
                }
            };
            let mut got = Vec::new();
            let got_err = Reader::new(&bytes, 7).packed_varints(|v| got.push(v)).err().map(|e| e.to_string());
            assert_eq!((got, got_err), (want, want_err), "{bytes:02x?}");
        }
    }

    #[test]
    fn varints() {
        let mut r = Reader::new(&[0x96, 0x01, 0x00, 0x7f], 0);
        assert_eq!(r.varint().unwrap(), 150);
        assert_eq!(r.varint().unwrap(), 0);
        assert_eq!(r.varint().unwrap(), 127);
        assert!(r.is_empty());
        // u64::MAX takes ten bytes, the last being 0x01.
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&max, 0).varint().unwrap(), u64::MAX);
    }

    /// The fast path (ten or more bytes left) and the slow one (fewer)
    /// agree on every length of varint, and leave the cursor after it.
    #[test]
    fn varints_fast_and_slow_paths_agree() {
        let values =
            [0u64, 1, 127, 128, 300, 16_383, 16_384, 1 << 21, (1 << 28) + 5, 1 << 35, 1 << 56, u64::MAX - 1, u64::MAX];
        for &v in &values {
            let mut enc = Vec::new();
            let mut x = v;
            loop {
                let b = (x & 0x7f) as u8;
                x >>= 7;
                if x == 0 {
                    enc.push(b);
                    break;
                }
                enc.push(b | 0x80);
            }
            let n = enc.len();
            // Alone (slow path for multi-byte varints) and followed by
            // padding (fast path).
            let mut r = Reader::new(&enc, 0);
            assert_eq!(r.varint().unwrap(), v, "{v} alone");
            assert!(r.is_empty());
            let mut padded = enc.clone();
            padded.extend_from_slice(&[0x7f; 12]);
            let mut r = Reader::new(&padded, 0);
            assert_eq!(r.varint().unwrap(), v, "{v} padded");
            assert_eq!(r.offset(), n as u64);
            assert_eq!(r.varint().unwrap(), 0x7f);
        }
        // Overlong with padding after it takes the fast path to the error.
        let mut over = vec![0xff; 9];
        over.push(0x02);
        over.extend_from_slice(&[0; 8]);
        assert_eq!(Reader::new(&over, 0).varint().unwrap_err().kind, ErrorKind::OverlongVarint);
        let eleven = [0x80; 20];
        assert_eq!(Reader::new(&eleven, 0).varint().unwrap_err().kind, ErrorKind::OverlongVarint);
    }

    #[test]
    fn overlong_and_truncated_varints_are_errors() {
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        let e = Reader::new(&over, 7).varint().unwrap_err();
        assert_eq!(e.kind, ErrorKind::OverlongVarint);
        assert_eq!(e.offset, 7);
        let eleven = [0x80; 11];
        assert_eq!(Reader::new(&eleven, 0).varint().unwrap_err().kind, ErrorKind::OverlongVarint);
        let e = Reader::new(&[0x80, 0x80], 3).varint().unwrap_err();
        assert_eq!(e.kind, ErrorKind::TruncatedVarint);
        assert_eq!(e.offset, 3);
    }

    #[test]
    fn length_past_end_is_truncated_not_panic() {
        // field 6, wire type 2, length 100, but only 2 bytes follow
        let mut r = Reader::new(&[0x32, 100, b'a', b'b'], 0);
        let e = r.field().unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Truncated { field: 6, needed: 100, left: 2 }));
        assert_eq!(e.offset, 2);
        // huge lengths are not allocated, just rejected
        let mut r = Reader::new(&[0x32, 0xff, 0xff, 0xff, 0xff, 0x0f], 0);
        assert!(matches!(r.field().unwrap_err().kind, ErrorKind::Truncated { .. }));
    }

    #[test]
    fn group_wire_types_are_rejected() {
        let mut r = Reader::new(&[0x0b], 0); // field 1, wire type 3
        assert_eq!(r.field().unwrap_err().kind, ErrorKind::BadWireType(3));
        let mut r = Reader::new(&[0x00], 0); // field 0
        assert_eq!(r.field().unwrap_err().kind, ErrorKind::BadFieldNumber(0));
    }
}
