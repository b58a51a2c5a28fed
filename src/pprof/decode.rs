//! Streaming pprof decoder: wire format straight into the columnar model.
//!
//! Longer than 700 lines: the two phases below share the builder's private
//! columns and id indexes; split apart, those would have to be public.
//!
//! Decoding happens in two phases, as in pprof's `postDecode`:
//! 1. [`Builder::field`] takes top-level fields one at a time, in whatever
//!    order the writer used (Go writes samples before the locations and the
//!    string table they refer to), and appends raw ids to flat columns.
//! 2. [`Builder::finish`] resolves every id to a dense index and checks
//!    every reference, then applies `drop_frames`/`keep_frames` as
//!    `go tool pprof` does when it reads a profile.
//!
//! The top-level fields come from a [`TopLevel`] source: a slice (raw or
//! memory-mapped protobuf) or a gzip stream, which is inflated while it is
//! decoded so that the whole decompressed profile is never held at once.

use std::io::{BufRead, BufReader, Read};

use rustc_hash::FxHashMap;

use super::error::{DecodeError, ErrorKind};
use super::wire::{field_number, Field, Reader, Value, WireType};
use crate::limits::{self, Budget, Exceeded};
use crate::profile::{Function, Label, Line, Location, Mapping, Profile, ValueType, NONE};

/// A source of top-level protobuf fields.
pub trait TopLevel {
    /// Calls `f` on each top-level field in order.
    fn for_each(&mut self, f: &mut dyn FnMut(Field<'_>) -> Result<(), DecodeError>) -> Result<(), DecodeError>;
}

/// Top-level fields from bytes in memory.
pub struct SliceSource<'a>(pub &'a [u8]);

impl TopLevel for SliceSource<'_> {
    fn for_each(&mut self, f: &mut dyn FnMut(Field<'_>) -> Result<(), DecodeError>) -> Result<(), DecodeError> {
        let mut r = Reader::new(self.0, 0);
        while let Some(field) = r.field()? {
            f(field)?;
        }
        Ok(())
    }
}

/// Top-level fields from a buffered stream (a gzip decoder). A field whose
/// payload sits wholly in the reader's buffer is decoded in place; only a
/// field that straddles buffer refills is copied, into one reused buffer.
pub struct StreamSource<R: Read> {
    reader: BufReader<R>,
    scratch: Vec<u8>,
    pos: u64,
    map_err: fn(std::io::Error) -> ErrorKind,
    /// The most bytes the stream may hold: a field declared past it is
    /// rejected when its length is read.
    budget: Budget,
}

impl<R: Read> StreamSource<R> {
    /// Wraps `reader`; `map_err` turns its I/O errors into decode errors
    /// (a gzip stream reports corrupt data as I/O errors).
    pub fn new(reader: BufReader<R>, map_err: fn(std::io::Error) -> ErrorKind) -> Self {
        StreamSource { reader, scratch: Vec::new(), pos: 0, map_err, budget: Budget::UNLIMITED }
    }

    /// Rejects any field whose declared length runs past `budget` bytes of
    /// the stream, before reading it. (The stream itself should also be
    /// [`limits::Capped`] at the same budget, for data that no length
    /// declares.)
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// A field of `n` bytes at `at`, past the `room` left of the budget:
    /// truncated if the stream ends first, else over the limit. What
    /// follows is inflated to tell, up to the budget, but never kept.
    #[cold]
    fn past_budget(&mut self, number: u32, n: u64, at: u64, room: u64) -> DecodeError {
        let over =
            || DecodeError::whole(ErrorKind::Limit(self.budget.exceeded(Exceeded::Field { field: number, len: n })));
        let mut rest = Read::by_ref(&mut self.reader).take(room.saturating_add(1));
        match std::io::copy(&mut rest, &mut std::io::sink()) {
            Ok(left) if left < n && left <= room => {
                DecodeError::new(at, ErrorKind::Truncated { field: number, needed: n, left })
            }
            Ok(_) => over(),
            Err(e) if limits::limit_error(&e).is_some() => over(),
            Err(e) => self.io_error(e),
        }
    }

    fn io_error(&self, e: std::io::Error) -> DecodeError {
        match limits::limit_error(&e) {
            Some(l) => DecodeError::whole(ErrorKind::Limit(l)),
            None => DecodeError::new(self.pos, (self.map_err)(e)),
        }
    }

    /// Makes sure the buffer holds data unless the stream is at its end.
    fn fill(&mut self) -> Result<&[u8], DecodeError> {
        loop {
            match self.reader.fill_buf() {
                Ok(_) => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(e)),
            }
        }
        Ok(self.reader.buffer())
    }

    /// Reads a varint; `Ok(None)` at a clean end of stream.
    fn varint(&mut self, at_start: bool) -> Result<Option<u64>, DecodeError> {
        let start = self.pos;
        let mut value = 0u64;
        for i in 0..10 {
            let buf = self.fill()?;
            let Some(&b) = buf.first() else {
                if i == 0 && at_start {
                    return Ok(None);
                }
                return Err(DecodeError::new(start, ErrorKind::TruncatedVarint));
            };
            self.reader.consume(1);
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(DecodeError::new(start, ErrorKind::OverlongVarint));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(Some(value));
            }
        }
        Err(DecodeError::new(start, ErrorKind::OverlongVarint))
    }

    fn fixed<const N: usize>(&mut self, number: u32) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        for (i, slot) in out.iter_mut().enumerate() {
            let buf = self.fill()?;
            let Some(&b) = buf.first() else {
                return Err(DecodeError::new(
                    self.pos,
                    ErrorKind::Truncated { field: number, needed: N as u64, left: i as u64 },
                ));
            };
            *slot = b;
            self.reader.consume(1);
            self.pos += 1;
        }
        Ok(out)
    }
}

impl<R: Read> TopLevel for StreamSource<R> {
    fn for_each(&mut self, f: &mut dyn FnMut(Field<'_>) -> Result<(), DecodeError>) -> Result<(), DecodeError> {
        loop {
            let tag_at = self.pos;
            let Some(tag) = self.varint(true)? else { return Ok(()) };
            let number = field_number(tag, tag_at)?;
            match WireType::from_tag(tag, tag_at)? {
                WireType::Varint => {
                    let v = self.varint(false)?.expect("varint mid-field");
                    f(Field { number, offset: self.pos, value: Value::Varint(v) })?;
                }
                WireType::Fixed64 => {
                    let b = self.fixed::<8>(number)?;
                    f(Field { number, offset: self.pos, value: Value::Fixed64(u64::from_le_bytes(b)) })?;
                }
                WireType::Fixed32 => {
                    let b = self.fixed::<4>(number)?;
                    f(Field { number, offset: self.pos, value: Value::Fixed32(u32::from_le_bytes(b)) })?;
                }
                WireType::Len => {
                    let n = self.varint(false)?.expect("varint mid-field");
                    let at = self.pos;
                    let in_buf = self.fill()?.len() as u64;
                    if n <= in_buf {
                        // Zero-copy: decode straight from the inflater's buffer.
                        let n = n as usize;
                        let buf = self.reader.buffer();
                        f(Field { number, offset: at, value: Value::Bytes(&buf[..n]) })?;
                        self.reader.consume(n);
                        self.pos += n as u64;
                    } else {
                        let room = self.budget.bytes.saturating_sub(at);
                        if n > room {
                            return Err(self.past_budget(number, n, at, room));
                        }
                        // Straddles refills: gather into the reused scratch
                        // buffer. `take` bounds the read, so a hostile length
                        // costs no more memory than the data really present.
                        self.scratch.clear();
                        let mut take = Read::by_ref(&mut self.reader).take(n);
                        if let Err(e) = take.read_to_end(&mut self.scratch) {
                            return Err(self.io_error(e));
                        }
                        let got = self.scratch.len() as u64;
                        self.pos += got;
                        if got < n {
                            return Err(DecodeError::new(
                                at,
                                ErrorKind::Truncated { field: number, needed: n, left: got },
                            ));
                        }
                        f(Field { number, offset: at, value: Value::Bytes(&self.scratch) })?;
                    }
                }
            }
        }
    }
}

/// Where a location-id column stores ids that do not fit in `u32`.
const BIG_ID: u32 = u32::MAX;

/// Accumulates a profile from top-level fields.
#[derive(Default)]
pub struct Builder {
    p: Profile,
    /// Raw location ids per stack slot (resolved in `finish`), with ids
    /// beyond `u32` kept aside.
    big_ids: FxHashMap<usize, u64>,
    /// Raw function id per line.
    line_fn_ids: Vec<u64>,
    /// Raw mapping id per location.
    loc_mapping_ids: Vec<u64>,
    /// Values per sample, checked against the sample types in `finish`.
    value_count_mismatch: Option<(usize, usize)>,
    values_per_sample: Option<usize>,
    /// Offsets of table entries, for messages about them.
    loc_offsets: Vec<u64>,
    fn_offsets: Vec<u64>,
    map_offsets: Vec<u64>,
}

fn wrong(field: &'static str, v: &Value<'_>, offset: u64) -> DecodeError {
    DecodeError::new(offset, ErrorKind::WrongWireType { field, got: v.wire_type().number() })
}

/// Calls `push` for each varint of a packed or unpacked repeated field.
#[inline]
fn repeated_varint(
    v: Value<'_>,
    offset: u64,
    field: &'static str,
    mut push: impl FnMut(u64),
) -> Result<(), DecodeError> {
    match v {
        Value::Varint(x) => push(x),
        Value::Bytes(b) => {
            Reader::new(b, offset).packed_varints(push)?;
        }
        other => return Err(wrong(field, &other, offset)),
    }
    Ok(())
}

macro_rules! varint_field {
    ($v:expr, $off:expr, $name:expr) => {
        match $v {
            Value::Varint(x) => x,
            ref other => return Err(wrong($name, other, $off)),
        }
    };
}

macro_rules! msg_field {
    ($v:expr, $off:expr, $name:expr) => {
        match $v {
            Value::Bytes(b) => b,
            ref other => return Err(wrong($name, other, $off)),
        }
    };
}

impl Builder {
    /// A new, empty builder.
    pub fn new() -> Self {
        let mut b = Builder::default();
        b.p.stack_offsets.push(0);
        b.p.label_offsets.push(0);
        b
    }

    /// Takes one top-level field of `Profile`.
    pub fn field(&mut self, f: Field<'_>) -> Result<(), DecodeError> {
        let off = f.offset;
        match f.number {
            1 => {
                let vt = self.value_type(msg_field!(f.value, off, "Profile.sample_type"), off)?;
                self.p.sample_types.push(vt);
            }
            2 => self.sample(msg_field!(f.value, off, "Profile.sample"), off)?,
            3 => self.mapping(msg_field!(f.value, off, "Profile.mapping"), off)?,
            4 => self.location(msg_field!(f.value, off, "Profile.location"), off)?,
            5 => self.function(msg_field!(f.value, off, "Profile.function"), off)?,
            6 => {
                let b = msg_field!(f.value, off, "Profile.string_table");
                match std::str::from_utf8(b) {
                    Ok(s) => self.p.strings.push(s),
                    // Go strings may hold any bytes; keep what we can show.
                    Err(_) => self.p.strings.push(&String::from_utf8_lossy(b)),
                }
            }
            7 => self.p.drop_frames = varint_field!(f.value, off, "Profile.drop_frames"),
            8 => self.p.keep_frames = varint_field!(f.value, off, "Profile.keep_frames"),
            9 => self.p.time_nanos = varint_field!(f.value, off, "Profile.time_nanos") as i64,
            10 => self.p.duration_nanos = varint_field!(f.value, off, "Profile.duration_nanos") as i64,
            11 => self.p.period_type = self.value_type(msg_field!(f.value, off, "Profile.period_type"), off)?,
            12 => self.p.period = varint_field!(f.value, off, "Profile.period") as i64,
            13 => {
                let comments = &mut self.p.comments;
                repeated_varint(f.value, off, "Profile.comment", |c| comments.push(c))?
            }
            14 => self.p.default_sample_type = varint_field!(f.value, off, "Profile.default_sample_type"),
            15 => self.p.doc_url = varint_field!(f.value, off, "Profile.doc_url"),
            _ => {} // unknown fields are skipped, as pprof does
        }
        Ok(())
    }

    fn value_type(&mut self, b: &[u8], base: u64) -> Result<ValueType, DecodeError> {
        let mut r = Reader::new(b, base);
        let mut vt = ValueType::default();
        while let Some(f) = r.field()? {
            match f.number {
                1 => vt.ty = varint_field!(f.value, f.offset, "ValueType.type"),
                2 => vt.unit = varint_field!(f.value, f.offset, "ValueType.unit"),
                _ => {}
            }
        }
        Ok(vt)
    }

    fn sample(&mut self, b: &[u8], base: u64) -> Result<(), DecodeError> {
        let mut r = Reader::new(b, base);
        let values_before = self.p.values.len();
        while let Some(f) = r.field()? {
            match f.number {
                1 => {
                    let stacks = &mut self.p.stacks;
                    if let Value::Bytes(b) = f.value {
                        // A packed array holds at most one id per byte.
                        stacks.reserve(b.len());
                    }
                    let big = &mut self.big_ids;
                    repeated_varint(f.value, f.offset, "Sample.location_id", |id| {
                        if id >= u64::from(BIG_ID) {
                            big.insert(stacks.len(), id);
                            stacks.push(BIG_ID);
                        } else {
                            stacks.push(id as u32);
                        }
                    })?
                }
                2 => {
                    let values = &mut self.p.values;
                    if let (Value::Bytes(b), Some(n)) = (f.value, self.values_per_sample) {
                        values.reserve(n.min(b.len()));
                    }
                    repeated_varint(f.value, f.offset, "Sample.value", |v| values.push(v as i64))?
                }
                3 => {
                    let lb = msg_field!(f.value, f.offset, "Sample.label");
                    let label = self.label(lb, f.offset)?;
                    self.p.labels.push(label);
                }
                _ => {}
            }
        }
        let n_values = self.p.values.len() - values_before;
        let sample_idx = self.p.stack_offsets.len() - 1;
        match self.values_per_sample {
            None => self.values_per_sample = Some(n_values),
            Some(n) if n != n_values && self.value_count_mismatch.is_none() => {
                self.value_count_mismatch = Some((sample_idx, n_values))
            }
            _ => {}
        }
        let stacks_len = u32::try_from(self.p.stacks.len())
            .map_err(|_| DecodeError::new(base, ErrorKind::TooLarge("stack frames")))?;
        let labels_len =
            u32::try_from(self.p.labels.len()).map_err(|_| DecodeError::new(base, ErrorKind::TooLarge("labels")))?;
        self.p.stack_offsets.push(stacks_len);
        self.p.label_offsets.push(labels_len);
        Ok(())
    }

    fn label(&mut self, b: &[u8], base: u64) -> Result<Label, DecodeError> {
        let mut r = Reader::new(b, base);
        let mut l = Label::default();
        while let Some(f) = r.field()? {
            match f.number {
                1 => l.key = varint_field!(f.value, f.offset, "Label.key"),
                2 => l.str = varint_field!(f.value, f.offset, "Label.str"),
                3 => l.num = varint_field!(f.value, f.offset, "Label.num") as i64,
                4 => l.num_unit = varint_field!(f.value, f.offset, "Label.num_unit"),
                _ => {}
            }
        }
        Ok(l)
    }

    fn mapping(&mut self, b: &[u8], base: u64) -> Result<(), DecodeError> {
        let mut r = Reader::new(b, base);
        let mut m = Mapping::default();
        while let Some(f) = r.field()? {
            let o = f.offset;
            match f.number {
                1 => m.id = varint_field!(f.value, o, "Mapping.id"),
                2 => m.memory_start = varint_field!(f.value, o, "Mapping.memory_start"),
                3 => m.memory_limit = varint_field!(f.value, o, "Mapping.memory_limit"),
                4 => m.file_offset = varint_field!(f.value, o, "Mapping.file_offset"),
                5 => m.filename = varint_field!(f.value, o, "Mapping.filename"),
                6 => m.build_id = varint_field!(f.value, o, "Mapping.build_id"),
                7 => m.has_functions = varint_field!(f.value, o, "Mapping.has_functions") != 0,
                8 => m.has_filenames = varint_field!(f.value, o, "Mapping.has_filenames") != 0,
                9 => m.has_line_numbers = varint_field!(f.value, o, "Mapping.has_line_numbers") != 0,
                10 => m.has_inline_frames = varint_field!(f.value, o, "Mapping.has_inline_frames") != 0,
                _ => {}
            }
        }
        self.p.mappings.push(m);
        self.map_offsets.push(base);
        Ok(())
    }

    fn location(&mut self, b: &[u8], base: u64) -> Result<(), DecodeError> {
        let mut r = Reader::new(b, base);
        let start = self.p.lines.len();
        let mut loc = Location { mapping: NONE, ..Location::default() };
        let mut mapping_id = 0;
        while let Some(f) = r.field()? {
            let o = f.offset;
            match f.number {
                1 => loc.id = varint_field!(f.value, o, "Location.id"),
                2 => mapping_id = varint_field!(f.value, o, "Location.mapping_id"),
                3 => loc.address = varint_field!(f.value, o, "Location.address"),
                4 => {
                    let lb = msg_field!(f.value, o, "Location.line");
                    let mut lr = Reader::new(lb, o);
                    let mut line = Line { function: NONE, ..Line::default() };
                    let mut fid = 0;
                    while let Some(lf) = lr.field()? {
                        match lf.number {
                            1 => fid = varint_field!(lf.value, lf.offset, "Line.function_id"),
                            2 => line.line = varint_field!(lf.value, lf.offset, "Line.line") as i64,
                            3 => line.column = varint_field!(lf.value, lf.offset, "Line.column") as i64,
                            _ => {}
                        }
                    }
                    self.p.lines.push(line);
                    self.line_fn_ids.push(fid);
                }
                5 => loc.is_folded = varint_field!(f.value, o, "Location.is_folded") != 0,
                _ => {}
            }
        }
        let too_many = |_| DecodeError::new(base, ErrorKind::TooLarge("lines"));
        loc.lines_start = u32::try_from(start).map_err(too_many)?;
        loc.lines_len = u32::try_from(self.p.lines.len() - start).map_err(too_many)?;
        self.p.locations.push(loc);
        self.loc_mapping_ids.push(mapping_id);
        self.loc_offsets.push(base);
        Ok(())
    }

    fn function(&mut self, b: &[u8], base: u64) -> Result<(), DecodeError> {
        let mut r = Reader::new(b, base);
        let mut func = Function::default();
        while let Some(f) = r.field()? {
            let o = f.offset;
            match f.number {
                1 => func.id = varint_field!(f.value, o, "Function.id"),
                2 => func.name = varint_field!(f.value, o, "Function.name"),
                3 => func.system_name = varint_field!(f.value, o, "Function.system_name"),
                4 => func.filename = varint_field!(f.value, o, "Function.filename"),
                5 => func.start_line = varint_field!(f.value, o, "Function.start_line") as i64,
                _ => {}
            }
        }
        self.p.functions.push(func);
        self.fn_offsets.push(base);
        Ok(())
    }

    /// Resolves ids, checks every reference and applies drop_frames.
    pub fn finish(mut self) -> Result<Profile, DecodeError> {
        let p = &mut self.p;
        if p.strings.is_empty() || !p.strings.get(0).is_empty() {
            return Err(DecodeError::whole(ErrorKind::BadStringTable));
        }
        let nstr = p.strings.len();
        let check = |field: &'static str, id: u64, at: Option<u64>| -> Result<(), DecodeError> {
            if id < nstr as u64 {
                Ok(())
            } else {
                let kind = ErrorKind::StringIndex { field, index: id as i64, len: nstr };
                Err(match at {
                    Some(o) => DecodeError::new(o, kind),
                    None => DecodeError::whole(kind),
                })
            }
        };

        // Sample types and value counts.
        for st in &p.sample_types {
            check("sample_type.type", st.ty, None)?;
            check("sample_type.unit", st.unit, None)?;
        }
        let ntypes = p.sample_types.len();
        let nsamples = p.stack_offsets.len() - 1;
        if nsamples > 0 {
            if let Some((sample, got)) = self.value_count_mismatch {
                return Err(DecodeError::whole(ErrorKind::ValueCount { sample, got, want: ntypes }));
            }
            let got = self.values_per_sample.unwrap_or(0);
            if got != ntypes {
                return Err(DecodeError::whole(ErrorKind::ValueCount { sample: 0, got, want: ntypes }));
            }
        }
        check("period_type.type", p.period_type.ty, None)?;
        check("period_type.unit", p.period_type.unit, None)?;
        for &c in &p.comments {
            check("comment", c, None)?;
        }
        check("drop_frames", p.drop_frames, None)?;
        check("keep_frames", p.keep_frames, None)?;
        check("default_sample_type", p.default_sample_type, None)?;
        check("doc_url", p.doc_url, None)?;

        // Mappings.
        let map_index = IdIndex::build(p.mappings.iter().map(|m| m.id), "mapping", &self.map_offsets)?;
        for (m, &o) in p.mappings.iter().zip(&self.map_offsets) {
            check("Mapping.filename", m.filename, Some(o))?;
            check("Mapping.build_id", m.build_id, Some(o))?;
        }

        // Functions.
        let fn_index = IdIndex::build(p.functions.iter().map(|f| f.id), "function", &self.fn_offsets)?;
        for (f, &o) in p.functions.iter().zip(&self.fn_offsets) {
            check("Function.name", f.name, Some(o))?;
            check("Function.system_name", f.system_name, Some(o))?;
            check("Function.filename", f.filename, Some(o))?;
        }

        // Locations: mapping and function references.
        let loc_index = IdIndex::build(p.locations.iter().map(|l| l.id), "location", &self.loc_offsets)?;
        for (li, loc) in p.locations.iter_mut().enumerate() {
            let at = self.loc_offsets[li];
            let mid = self.loc_mapping_ids[li];
            if mid != 0 {
                loc.mapping = map_index.get(mid).ok_or_else(|| {
                    DecodeError::new(at, ErrorKind::DanglingId { field: "Location.mapping_id", id: mid })
                })?;
            }
            for i in loc.lines() {
                let fid = self.line_fn_ids[i];
                // pprof's CheckValid rejects a line without a function.
                p.lines[i].function = fn_index.get(fid).ok_or_else(|| {
                    DecodeError::new(at, ErrorKind::DanglingId { field: "Line.function_id", id: fid })
                })?;
            }
        }

        // Samples: location ids to indexes, in place, one sample at a time
        // (the sample is named in the error).
        // Generic rather than `dyn`: the lookup is inlined into the loop
        // over every frame of every sample.
        fn resolve(
            get: impl Fn(u64) -> Option<u32>,
            big_ids: &FxHashMap<usize, u64>,
            p: &mut Profile,
        ) -> Result<(), DecodeError> {
            for sample in 0..p.stack_offsets.len() - 1 {
                let (lo, hi) = (p.stack_offsets[sample] as usize, p.stack_offsets[sample + 1] as usize);
                for (slot, id) in p.stacks[lo..hi].iter_mut().enumerate() {
                    let raw = if *id == BIG_ID { big_ids[&(lo + slot)] } else { u64::from(*id) };
                    *id = get(raw)
                        .ok_or_else(|| DecodeError::whole(ErrorKind::DanglingSampleLocation { sample, id: raw }))?;
                }
            }
            Ok(())
        }
        match &loc_index {
            // Go numbers locations 1..=n in file order: the index is id - 1,
            // with no table read per frame.
            IdIndex::Dense(v) if v.iter().enumerate().all(|(id, &i)| i == (id as u32).wrapping_sub(1)) => {
                let n = (v.len() as u64).saturating_sub(1);
                // Every id in 1..=n (so none is BIG_ID either): one pass
                // that finds the range and one that subtracts, both
                // vectorized, instead of a checked lookup per frame.
                let (lo, hi) = p.stacks.iter().fold((u32::MAX, 0), |(lo, hi), &id| (lo.min(id), hi.max(id)));
                // (An empty column folds to (u32::MAX, 0): in range.)
                if lo >= 1 && u64::from(hi) <= n {
                    p.stacks.iter_mut().for_each(|id| *id -= 1);
                } else {
                    resolve(|id| (id.wrapping_sub(1) < n).then(|| (id - 1) as u32), &self.big_ids, p)?
                }
            }
            IdIndex::Dense(v) => {
                resolve(|id| v.get(usize::try_from(id).ok()?).copied().filter(|&i| i != NONE), &self.big_ids, p)?
            }
            IdIndex::Sparse(_) => resolve(|id| loc_index.get(id), &self.big_ids, p)?,
        }
        for l in &p.labels {
            check("Label.key", l.key, None)?;
            check("Label.str", l.str, None)?;
            check("Label.num_unit", l.num_unit, None)?;
        }

        if p.drop_frames != 0 {
            super::prune::remove_uninteresting(p)?;
        }
        Ok(self.p)
    }
}

/// Maps file ids to table indexes: a dense vector when ids are small (the
/// usual 1..=n), a hash map otherwise.
enum IdIndex {
    Dense(Vec<u32>),
    Sparse(FxHashMap<u64, u32>),
}

impl IdIndex {
    fn build(
        ids: impl ExactSizeIterator<Item = u64> + Clone,
        table: &'static str,
        offsets: &[u64],
    ) -> Result<IdIndex, DecodeError> {
        let n = ids.len();
        if u32::try_from(n).is_err() {
            return Err(DecodeError::whole(ErrorKind::TooLarge(table)));
        }
        let max = ids.clone().max().unwrap_or(0);
        let zero = |i: usize| DecodeError::new(offsets[i], ErrorKind::ZeroId(table));
        let dup = |i: usize, id| DecodeError::new(offsets[i], ErrorKind::DuplicateId { table, id });
        if max <= (n as u64).saturating_mul(2).saturating_add(1024) {
            let mut v = vec![NONE; max as usize + 1];
            for (i, id) in ids.enumerate() {
                if id == 0 {
                    return Err(zero(i));
                }
                if v[id as usize] != NONE {
                    return Err(dup(i, id));
                }
                v[id as usize] = i as u32;
            }
            Ok(IdIndex::Dense(v))
        } else {
            let mut m = FxHashMap::default();
            m.reserve(n);
            for (i, id) in ids.enumerate() {
                if id == 0 {
                    return Err(zero(i));
                }
                if m.insert(id, i as u32).is_some() {
                    return Err(dup(i, id));
                }
            }
            Ok(IdIndex::Sparse(m))
        }
    }

    #[inline]
    fn get(&self, id: u64) -> Option<u32> {
        match self {
            IdIndex::Dense(v) => v.get(usize::try_from(id).ok()?).copied().filter(|&i| i != NONE),
            IdIndex::Sparse(m) => m.get(&id).copied(),
        }
    }
}

impl Builder {
    /// Bytes the decoded tables hold so far (lengths, not capacities:
    /// what has been written, and so is resident).
    fn decoded_bytes(&self) -> u64 {
        use std::mem::size_of;
        let p = &self.p;
        let n = p.strings.byte_len()
            + p.strings.len() * size_of::<usize>()
            + p.sample_types.len() * size_of::<ValueType>()
            + (p.stack_offsets.len() + p.stacks.len() + p.label_offsets.len()) * size_of::<u32>()
            + p.values.len() * size_of::<i64>()
            + p.labels.len() * size_of::<Label>()
            + p.mappings.len() * (size_of::<Mapping>() + size_of::<u64>())
            + p.locations.len() * (size_of::<Location>() + 2 * size_of::<u64>())
            + p.lines.len() * (size_of::<Line>() + size_of::<u64>())
            + p.functions.len() * (size_of::<Function>() + size_of::<u64>())
            + p.comments.len() * size_of::<u64>()
            + self.big_ids.len() * 2 * size_of::<u64>();
        n as u64
    }
}

/// How many bytes of tables one byte of a top-level field can become, at
/// most: a sample or location is mostly one-byte varints (4-byte frame
/// indexes, 8-byte values) and two-byte empty messages (a 32-byte label or
/// line); a packed comment list, 8-byte string ids; the rest are copied
/// (strings) or fixed-size entries counted after they are made.
fn amplification(field: u32) -> u64 {
    match field {
        2 | 4 => 16,
        13 => 8,
        _ => 2,
    }
}

/// Decodes a whole profile from a field source.
pub fn decode(src: &mut dyn TopLevel) -> Result<Profile, DecodeError> {
    decode_within(src, Budget::UNLIMITED)
}

/// Decodes a whole profile from a field source whose decoded tables may
/// hold at most `budget` bytes.
///
/// The tables are measured after every 256th top-level field, and before
/// any field over 1 KiB, whose worst-case size is added first: so a field
/// of millions of frames is refused before it is decoded, and the
/// overshoot between two checks is at most 256 small fields.
pub fn decode_within(src: &mut dyn TopLevel, budget: Budget) -> Result<Profile, DecodeError> {
    let mut b = Builder::new();
    if budget.bytes == u64::MAX {
        src.for_each(&mut |f| b.field(f))?;
        return b.finish();
    }
    let over = || DecodeError::whole(ErrorKind::Limit(budget.exceeded(Exceeded::Decoded)));
    let mut count = 0u32;
    src.for_each(&mut |f| {
        count = count.wrapping_add(1);
        let big = match f.value {
            Value::Bytes(x) if x.len() > 1024 => x.len() as u64,
            _ => 0,
        };
        if big > 0 || count % 256 == 0 {
            let need = b.decoded_bytes().saturating_add(big.saturating_mul(amplification(f.number)));
            if need > budget.bytes {
                return Err(over());
            }
        }
        b.field(f)
    })?;
    if b.decoded_bytes() > budget.bytes {
        return Err(over());
    }
    b.finish()
}
