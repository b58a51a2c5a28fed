//! Names from the executable that wrote a dump (`--binary EXE`): globals
//! from the ELF symbol table, and object types from Go ≥ 1.22 malloc headers.
//!
//! The dump gives runtime addresses; a position-independent executable is
//! loaded at a bias, found by comparing the dumped data segment address with
//! the `runtime.data` symbol. Type names are decoded from the `abi.Type` that
//! a malloc header word points to: its `Str` name offset (byte 40 on 64-bit)
//! is relative to `runtime.types`, and the name there is a flag byte, a
//! uvarint length and the bytes.

use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
use rustc_hash::FxHashMap;

use super::parse::{Bytes, HeapDump};
use super::GlobalNames;
use crate::limits::{self, Exceeded, Limits};

/// Symbols and type data read from an executable.
pub struct Binary {
    /// Data and bss symbols: (start, size, name), sorted by start (file addresses).
    globals: Vec<(u64, u64, String)>,
    /// Runtime address minus file address.
    bias: i128,
    /// `[runtime.types, runtime.etypes)` in file addresses, and those bytes.
    types: Option<(u64, Vec<u8>)>,
    big_endian: bool,
    ptr_size: u64,
    type_names: std::sync::Mutex<FxHashMap<u64, Option<String>>>,
}

impl Binary {
    /// Reads the executable at `path` and matches it to `dump`.
    pub fn load(path: &std::path::Path, dump: &HeapDump) -> Result<Binary, String> {
        Binary::load_with(path, dump, &crate::limits::current())
    }

    /// [`Binary::load`] within `limits`: a regular file is memory-mapped;
    /// a pipe or device is read up to [`Limits::stream_budget`].
    pub fn load_with(path: &std::path::Path, dump: &HeapDump, limits: &Limits) -> Result<Binary, String> {
        let err = |e: std::io::Error| format!("{}: {e}", path.display());
        let f = std::fs::File::open(path).map_err(err)?;
        let meta = f.metadata().map_err(err)?;
        let bytes = if meta.is_file() && meta.len() > 0 {
            // SAFETY: read-only, for this call only; the same accepted
            // hazard (truncation while mapped) as the dump's own mapping.
            Bytes::Mapped(unsafe { memmap2::Mmap::map(&f) }.map_err(err)?)
        } else {
            Bytes::Owned(limits::read_capped(&f, limits.stream_budget(), Exceeded::Stream).map_err(err)?)
        };
        let file = object::File::parse(&*bytes).map_err(|e| format!("{}: not an executable: {e}", path.display()))?;
        let mut globals = Vec::new();
        let mut runtime_data = None;
        let mut types_start = None;
        let mut types_end = None;
        for s in file.symbols() {
            let Ok(name) = s.name() else { continue };
            match name {
                "runtime.data" => runtime_data = Some(s.address()),
                "runtime.types" => types_start = Some(s.address()),
                "runtime.etypes" => types_end = Some(s.address()),
                _ => {}
            }
            if s.kind() == SymbolKind::Data && s.size() > 0 {
                globals.push((s.address(), s.size(), name.to_string()));
            }
        }
        if globals.is_empty() {
            return Err(format!(
                "{}: no symbol table (built with -ldflags=-s?): globals cannot be named",
                path.display()
            ));
        }
        globals.sort_unstable_by_key(|g| g.0);
        let bias = match (&dump.data_seg, runtime_data) {
            (Some(seg), Some(rd)) => seg.addr as i128 - rd as i128,
            _ => 0,
        };
        let types = match (types_start, types_end) {
            (Some(a), Some(b)) if b > a => read_range(&file, a, b - a).map(|v| (a, v)),
            _ => None,
        };
        if let (Some(seg), Some(rd)) = (&dump.data_seg, runtime_data) {
            // Same executable? The data segment must be the same size.
            let edata = file.symbols().find(|s| s.name() == Ok("runtime.edata")).map(|s| s.address());
            if let Some(ed) = edata {
                if ed - rd != seg.len {
                    return Err(format!(
                        "{}: not the executable that wrote this dump (its data segment is {} bytes, the dump's {})",
                        path.display(),
                        ed - rd,
                        seg.len
                    ));
                }
            }
        }
        Ok(Binary {
            globals,
            bias,
            types,
            big_endian: dump.params.big_endian,
            ptr_size: dump.params.ptr_size,
            type_names: Default::default(),
        })
    }

    fn to_file(&self, runtime: u64) -> Option<u64> {
        u64::try_from(runtime as i128 - self.bias).ok()
    }

    /// `abi.Type.Size_` of the type at runtime address `t`.
    pub fn type_size(&self, t: u64) -> Option<u64> {
        let (base, bytes) = self.types.as_ref()?;
        let off = self.to_file(t)?.checked_sub(*base)? as usize;
        let w = bytes.get(off..off + self.ptr_size as usize)?;
        Some(match (self.ptr_size, self.big_endian) {
            (8, false) => u64::from_le_bytes(w.try_into().ok()?),
            (8, true) => u64::from_be_bytes(w.try_into().ok()?),
            (_, false) => u32::from_le_bytes(w.try_into().ok()?) as u64,
            (_, true) => u32::from_be_bytes(w.try_into().ok()?) as u64,
        })
    }

    /// Whether runtime address `t` lies in the executable's type section.
    pub fn is_type_addr(&self, t: u64) -> bool {
        match (&self.types, self.to_file(t)) {
            (Some((base, bytes)), Some(f)) => f >= *base && f < base + bytes.len() as u64,
            _ => false,
        }
    }

    /// The Go type name of the `abi.Type` at runtime address `t`, if it lies in the type section.
    pub fn type_name(&self, t: u64) -> Option<String> {
        if let Some(v) = self.type_names.lock().unwrap_or_else(|e| e.into_inner()).get(&t) {
            return v.clone();
        }
        let name = self.decode_type_name(t);
        self.type_names.lock().unwrap_or_else(|e| e.into_inner()).insert(t, name.clone());
        name
    }

    fn decode_type_name(&self, t: u64) -> Option<String> {
        let (base, bytes) = self.types.as_ref()?;
        let off = self.to_file(t)?.checked_sub(*base)? as usize;
        let ps = self.ptr_size as usize;
        // abi.Type: Size_, PtrBytes (words), Hash u32, TFlag u8, Align u8,
        // FieldAlign u8, Kind u8, Equal (word), GCData (word), Str i32.
        let tflag_at = off + 2 * ps + 4;
        let str_at = off + 4 * ps + 8;
        let tflag = *bytes.get(tflag_at)?;
        let s = bytes.get(str_at..str_at + 4)?;
        let name_off = if self.big_endian {
            i32::from_be_bytes(s.try_into().ok()?)
        } else {
            i32::from_le_bytes(s.try_into().ok()?)
        };
        let at = usize::try_from(name_off).ok()?;
        // abi.Name: flag byte, uvarint length, bytes.
        let mut p = at + 1;
        let mut len = 0usize;
        let mut shift = 0;
        loop {
            let b = *bytes.get(p)?;
            p += 1;
            len |= ((b & 0x7f) as usize) << shift;
            if b < 0x80 {
                break;
            }
            shift += 7;
            if shift > 28 {
                return None;
            }
        }
        let raw = bytes.get(p..p.checked_add(len)?)?;
        let mut name = String::from_utf8_lossy(raw).into_owned();
        const TFLAG_EXTRA_STAR: u8 = 1 << 1;
        if tflag & TFLAG_EXTRA_STAR != 0 && name.starts_with('*') {
            name.remove(0);
        }
        Some(name)
    }
}

fn read_range(file: &object::File<'_>, addr: u64, len: u64) -> Option<Vec<u8>> {
    for sec in file.sections() {
        let (a, sz) = (sec.address(), sec.size());
        if addr >= a && addr + len <= a + sz {
            let data = sec.data().ok()?;
            let from = (addr - a) as usize;
            return data.get(from..from + len as usize).map(|d| d.to_vec());
        }
    }
    None
}

impl GlobalNames for Binary {
    fn global(&self, addr: u64) -> Option<(&str, u64)> {
        let a = self.to_file(addr)?;
        let i = self.globals.partition_point(|g| g.0 <= a).checked_sub(1)?;
        let (start, size, name) = &self.globals[i];
        (a < start + size).then(|| (name.as_str(), (*start as i128 + self.bias) as u64))
    }
}
