//! Reading `runtime/debug.WriteHeapDump` files into compact tables.
//!
//! Longer than 700 lines: one parser for one format, a record kind per tag,
//! all sharing one bounds-checked cursor; split by record, each file would
//! be a few dozen lines that only make sense with the others.
//!
//! The format (header `go1.7 heap dump\n`, unchanged from Go 1.7 to 1.27) is a
//! stream of records: a uvarint tag, then uvarints, length-prefixed strings
//! and field lists. Object contents are never copied: the object table keeps
//! the offset of each object's bytes in the (memory-mapped) input, and the
//! pointer words are read from there when the graph is built.
//!
//! Every length and count is checked against what is left of the input, so a
//! truncated or hostile file gives a [`DumpError`] with the byte offset of the
//! bad record, never a panic or a huge allocation. The runtime ignores
//! `write` errors, so a full disk yields a silently cut file: the EOF record
//! is required.

use std::fmt;
use std::ops::Deref;

use rustc_hash::FxHashMap;

/// The 16 bytes every heap dump starts with.
pub const HEADER: &[u8] = b"go1.7 heap dump\n";

/// Record tags, as `runtime/heapdump.go` numbers them.
pub mod tag {
    /// End of the dump.
    pub const EOF: u64 = 0;
    /// A heap object.
    pub const OBJECT: u64 = 1;
    /// A root the runtime never emits (no caller since Go 1.x).
    pub const OTHER_ROOT: u64 = 2;
    /// A type (written only for types used in itabs).
    pub const TYPE: u64 = 3;
    /// A goroutine.
    pub const GOROUTINE: u64 = 4;
    /// A stack frame of the preceding goroutine.
    pub const FRAME: u64 = 5;
    /// Dump parameters: endianness, pointer size, version.
    pub const PARAMS: u64 = 6;
    /// A registered finalizer.
    pub const FINALIZER: u64 = 7;
    /// An itab: interface table to concrete type.
    pub const ITAB: u64 = 8;
    /// An OS thread (M).
    pub const OSTHREAD: u64 = 9;
    /// `runtime.MemStats`.
    pub const MEMSTATS: u64 = 10;
    /// A finalizer queued to run.
    pub const QUEUED_FINALIZER: u64 = 11;
    /// The data segment.
    pub const DATA: u64 = 12;
    /// The bss segment.
    pub const BSS: u64 = 13;
    /// A pending defer.
    pub const DEFER: u64 = 14;
    /// An active panic.
    pub const PANIC: u64 = 15;
    /// A memory-profile bucket: an allocation stack.
    pub const MEMPROF: u64 = 16;
    /// A live object sampled by the memory profiler, and its bucket.
    pub const ALLOC_SAMPLE: u64 = 17;
    /// Record names, indexed by tag.
    pub const NAMES: [&str; 18] = [
        "eof",
        "object",
        "otherroot",
        "type",
        "goroutine",
        "frame",
        "params",
        "finalizer",
        "itab",
        "osthread",
        "memstats",
        "queuedfinalizer",
        "data",
        "bss",
        "defer",
        "panic",
        "memprof",
        "allocsample",
    ];
}

/// What is wrong with a heap dump, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpError {
    /// Byte offset of the offending record (or field) in the dump.
    pub offset: u64,
    /// What is wrong.
    pub msg: String,
}

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {} of the heap dump: {}", self.offset, self.msg)
    }
}

impl std::error::Error for DumpError {}

type Result<T> = std::result::Result<T, DumpError>;

/// The dump's bytes: a read-only memory map, or a buffer (stdin, gzip).
pub enum Bytes {
    /// A memory-mapped file.
    Mapped(memmap2::Mmap),
    /// Bytes in memory.
    Owned(Vec<u8>),
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({} bytes)", self.len())
    }
}

/// The params record: how to read pointer words, and who wrote the dump.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Params {
    /// Whether words are big-endian.
    pub big_endian: bool,
    /// Pointer size in bytes (4 or 8).
    pub ptr_size: u64,
    /// Start of the heap arena range.
    pub arena_start: u64,
    /// End of the heap arena range.
    pub arena_end: u64,
    /// `GOARCH`.
    pub goarch: String,
    /// The Go version that wrote the dump (`runtime.Version()`, e.g. `go1.26.6`).
    pub build_version: String,
    /// Number of CPUs at startup.
    pub ncpu: u64,
}

impl Params {
    /// The minor Go version that wrote the dump (`go1.26.6` → 26), if the version string says.
    pub fn go_minor(&self) -> Option<u32> {
        let rest = self.build_version.strip_prefix("go1.")?;
        let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
        digits.parse().ok()
    }
}

/// A goroutine and the range of its frames in [`HeapDump::frames`].
#[derive(Debug, Clone)]
pub struct Goroutine {
    /// Address of the `g` struct (itself a heap object).
    pub addr: u64,
    /// Stack pointer.
    pub sp: u64,
    /// Goroutine id.
    pub goid: u64,
    /// PC of the `go` statement that created it.
    pub gopc: u64,
    /// Status: 1 runnable, 2 running (in a syscall), 3 syscall, 4 waiting.
    pub status: u64,
    /// A runtime-internal goroutine.
    pub is_system: bool,
    /// When it started waiting (nanotime), 0 if not waiting.
    pub wait_since: u64,
    /// Why it waits, e.g. `chan receive`.
    pub wait_reason: String,
    /// `g.sched.ctxt`: a closure context pointer.
    pub ctxt: u64,
    /// Its M, 0 if none.
    pub m: u64,
    /// Top defer record address.
    pub defer: u64,
    /// Top panic record address.
    pub panic: u64,
    /// Its frames: `frames[first_frame..first_frame + num_frames]`.
    pub first_frame: u32,
    /// Number of frames.
    pub num_frames: u32,
}

/// A stack frame. Its pointer words are found through its field list.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Index of its goroutine in [`HeapDump::goroutines`].
    pub goroutine: u32,
    /// Stack pointer.
    pub sp: u64,
    /// Depth: 0 is the innermost frame.
    pub depth: u64,
    /// Function name (interned in [`HeapDump::strings`]).
    pub func: u32,
    /// Program counter.
    pub pc: u64,
    /// Offset of the frame contents (sp..fp) in the dump.
    pub contents: u64,
    /// Length of the contents.
    pub len: u32,
    /// Offset of the field list in the dump.
    pub fields: u64,
}

/// A memory region that holds pointers: a data or bss segment.
#[derive(Debug, Clone, Default)]
pub struct Segment {
    /// Runtime address of the segment start.
    pub addr: u64,
    /// Offset of its contents in the dump.
    pub contents: u64,
    /// Length of the contents.
    pub len: u64,
    /// Offset of its field list (the GC pointer mask) in the dump.
    pub fields: u64,
}

/// A registered (tag 7) or queued (tag 11) finalizer.
#[derive(Debug, Clone)]
pub struct Finalizer {
    /// The object it is set on.
    pub obj: u64,
    /// The `funcval` pointer of the finalizer function.
    pub fn_: u64,
    /// Code pointer of the finalizer.
    pub fn_pc: u64,
    /// Whether the finalizer has been queued to run.
    pub queued: bool,
}

/// A pending defer (tag 14) or active panic (tag 15): their pointers are roots.
#[derive(Debug, Clone)]
pub struct DeferPanic {
    /// Address of the `_defer` or `_panic` record.
    pub addr: u64,
    /// Its goroutine (`g` address).
    pub g: u64,
    /// defer: the `funcval`; panic: the argument's data word.
    pub ptr: u64,
    /// true for a panic record.
    pub is_panic: bool,
}

/// An allocation-site frame of a memprof bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SiteFrame {
    /// Function name (interned).
    pub func: u32,
    /// File name (interned).
    pub file: u32,
    /// Line.
    pub line: u64,
}

/// A memory-profile bucket: one allocation stack.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// The runtime's bucket address, which allocsample records refer to.
    pub id: u64,
    /// Allocation size the bucket records.
    pub size: u64,
    /// Its frames, innermost first: `site_frames[first..first + len]`.
    pub first: u32,
    /// Number of frames.
    pub len: u32,
    /// Allocations counted at the last GC.
    pub allocs: u64,
    /// Frees counted at the last GC.
    pub frees: u64,
}

/// A type record (written only for types used in itabs).
#[derive(Debug, Clone)]
pub struct TypeRec {
    /// Address of the type descriptor.
    pub addr: u64,
    /// Size of a value.
    pub size: u64,
    /// Name, as the runtime writes it (`pkg.Name`; unnamed pointer types come out as `pkg.`).
    pub name: String,
}

/// The objects, in ascending address order, as three columns.
#[derive(Debug, Default)]
pub struct Objects {
    /// Start address (the slot base).
    pub addr: Vec<u64>,
    /// Slot size in bytes (the size class, at least the requested size).
    pub size: Vec<u32>,
    /// Offset of the contents in the dump; the field list follows them.
    pub contents: Vec<u64>,
}

impl Objects {
    /// Number of objects.
    pub fn len(&self) -> usize {
        self.addr.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.addr.is_empty()
    }
}

/// A parsed heap dump: tables that refer back into the dump's bytes.
#[derive(Debug)]
pub struct HeapDump {
    /// The dump's bytes.
    pub data: Bytes,
    /// The params record.
    pub params: Params,
    /// Objects in address order.
    pub objects: Objects,
    /// Goroutines, in dump order.
    pub goroutines: Vec<Goroutine>,
    /// All stack frames, grouped by goroutine.
    pub frames: Vec<Frame>,
    /// The data segment (first module only: the runtime dumps no others).
    pub data_seg: Option<Segment>,
    /// The bss segment.
    pub bss_seg: Option<Segment>,
    /// Registered and queued finalizers.
    pub finalizers: Vec<Finalizer>,
    /// Pending defers and active panics.
    pub defer_panics: Vec<DeferPanic>,
    /// itab address → concrete type address.
    pub itabs: Vec<(u64, u64)>,
    /// Type records.
    pub types: Vec<TypeRec>,
    /// Number of OS threads.
    pub osthreads: u64,
    /// The 24 scalar MemStats words in `runtime.MemStats` order, then NumGC.
    pub memstats: Option<[u64; 25]>,
    /// Memory-profile buckets.
    pub buckets: Vec<Bucket>,
    /// Frames of all buckets.
    pub site_frames: Vec<SiteFrame>,
    /// Allocation samples: (object address, bucket id), in dump order.
    pub samples: Vec<(u64, u64)>,
    /// Interned function and file names.
    pub strings: Vec<String>,
    /// Count of each record tag.
    pub record_counts: [u64; 18],
}

/// Names of the 24 scalar `runtime.MemStats` fields the memstats record carries, in order, then NumGC.
pub const MEMSTATS_NAMES: [&str; 25] = [
    "Alloc",
    "TotalAlloc",
    "Sys",
    "Lookups",
    "Mallocs",
    "Frees",
    "HeapAlloc",
    "HeapSys",
    "HeapIdle",
    "HeapInuse",
    "HeapReleased",
    "HeapObjects",
    "StackInuse",
    "StackSys",
    "MSpanInuse",
    "MSpanSys",
    "MCacheInuse",
    "MCacheSys",
    "BuckHashSys",
    "GCSys",
    "OtherSys",
    "NextGC",
    "LastGC",
    "PauseTotalNs",
    "NumGC",
];

impl HeapDump {
    /// An interned string.
    pub fn str(&self, id: u32) -> &str {
        &self.strings[id as usize]
    }

    /// The bytes at `off..off + len` of the dump.
    pub fn bytes(&self, off: u64, len: u64) -> &[u8] {
        &self.data[off as usize..(off + len) as usize]
    }

    /// The contents of object `i`.
    pub fn object_bytes(&self, i: usize) -> &[u8] {
        self.bytes(self.objects.contents[i], self.objects.size[i] as u64)
    }

    /// The frames of a memprof bucket, innermost first.
    pub fn bucket_frames(&self, b: &Bucket) -> &[SiteFrame] {
        &self.site_frames[b.first as usize..(b.first + b.len) as usize]
    }

    /// A MemStats value by its `runtime.MemStats` field name.
    pub fn memstat(&self, name: &str) -> Option<u64> {
        let i = MEMSTATS_NAMES.iter().position(|n| *n == name)?;
        self.memstats.map(|m| m[i])
    }

    /// Reads the pointer word at `off` of the dump with the dump's width and byte order.
    #[inline]
    pub fn word_at(&self, off: usize) -> u64 {
        read_word(&self.data, off, self.params.ptr_size as usize, self.params.big_endian)
    }

    /// Calls `f` with each pointer offset of the field list at `fields`.
    /// The list was validated when the dump was parsed.
    pub fn for_each_ptr_offset(&self, fields: u64, mut f: impl FnMut(u64)) {
        let mut c = Cursor { d: &self.data, pos: fields as usize };
        loop {
            let Ok(kind) = c.uvarint("field kind") else { return };
            if kind == 0 {
                return;
            }
            let Ok(off) = c.uvarint("field offset") else { return };
            f(off);
        }
    }
}

/// Reads a `width`-byte word at `off` of `d` (the caller checked the bounds).
#[inline]
pub fn read_word(d: &[u8], off: usize, width: usize, big_endian: bool) -> u64 {
    if width == 8 {
        let b: [u8; 8] = d[off..off + 8].try_into().expect("8 bytes");
        if big_endian {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        }
    } else {
        let b: [u8; 4] = d[off..off + 4].try_into().expect("4 bytes");
        (if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) }) as u64
    }
}

struct Cursor<'a> {
    d: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn err(&self, msg: impl Into<String>) -> DumpError {
        DumpError { offset: self.pos as u64, msg: msg.into() }
    }

    #[inline]
    fn uvarint(&mut self, what: &str) -> Result<u64> {
        // Fast path: one byte.
        if let Some(&b) = self.d.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(b as u64);
            }
        }
        let mut x: u64 = 0;
        let mut shift = 0u32;
        for i in 0..10 {
            let Some(&b) = self.d.get(self.pos + i) else {
                return Err(self.err(format!("truncated: the file ends inside a varint ({what})")));
            };
            if i == 9 && b > 1 {
                return Err(self.err(format!("malformed varint ({what}): wider than 64 bits")));
            }
            x |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                self.pos += i + 1;
                return Ok(x);
            }
            shift += 7;
        }
        Err(self.err(format!("malformed varint ({what}): longer than 10 bytes")))
    }

    fn bool(&mut self, what: &str) -> Result<bool> {
        let start = self.pos;
        match self.uvarint(what)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(DumpError { offset: start as u64, msg: format!("{what} should be a bool (0 or 1), found {v}") }),
        }
    }

    /// A length-prefixed byte range: returns (offset, length).
    fn range(&mut self, what: &str) -> Result<(usize, usize)> {
        let start = self.pos;
        let len = self.uvarint(what)?;
        let left = (self.d.len() - self.pos) as u64;
        if len > left {
            return Err(DumpError {
                offset: start as u64,
                msg: format!("truncated: {what} claims {len} bytes but only {left} remain"),
            });
        }
        let off = self.pos;
        self.pos += len as usize;
        Ok((off, len as usize))
    }

    fn str(&mut self, what: &str) -> Result<&'a [u8]> {
        let (off, len) = self.range(what)?;
        Ok(&self.d[off..off + len])
    }

    /// Skips a field list. With `region`, checks that every pointer field
    /// lies inside the region's bytes (objects and segments); stack frames
    /// also name their callee's outgoing arguments, so their words are
    /// bounds-checked when read instead. Returns the list's offset.
    fn fieldlist(&mut self, what: &str, region: Option<u64>, ptr_size: u64) -> Result<u64> {
        let start = self.pos;
        loop {
            let at = self.pos;
            let kind = self.uvarint(what)?;
            if kind == 0 {
                return Ok(start as u64);
            }
            if kind > 3 {
                return Err(DumpError {
                    offset: at as u64,
                    msg: format!("{what}: unknown field kind {kind} (only 1 = pointer is written)"),
                });
            }
            let off = self.uvarint(what)?;
            if let Some(len) = region {
                if off.checked_add(ptr_size).is_none_or(|end| end > len) {
                    return Err(DumpError {
                        offset: at as u64,
                        msg: format!("{what}: pointer field at offset {off} lies outside its {len}-byte region"),
                    });
                }
            }
        }
    }
}

#[derive(Default)]
struct Interner {
    map: FxHashMap<Box<[u8]>, u32>,
    strings: Vec<String>,
}

impl Interner {
    fn intern(&mut self, s: &[u8]) -> u32 {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(String::from_utf8_lossy(s).into_owned());
        self.map.insert(s.into(), id);
        id
    }
}

fn lossy(s: &[u8]) -> String {
    String::from_utf8_lossy(s).into_owned()
}

/// Parses a whole heap dump. `data` must start with [`HEADER`].
pub fn parse(data: Bytes) -> Result<HeapDump> {
    let d: &[u8] = &data;
    if !d.starts_with(HEADER) {
        return Err(DumpError { offset: 0, msg: "not a Go heap dump (missing the `go1.7 heap dump` header)".into() });
    }
    let mut c = Cursor { d, pos: HEADER.len() };
    let mut params: Option<Params> = None;
    let mut objects = Objects::default();
    let mut goroutines: Vec<Goroutine> = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut data_seg = None;
    let mut bss_seg = None;
    let mut finalizers = Vec::new();
    let mut defer_panics = Vec::new();
    let mut itabs = Vec::new();
    let mut types = Vec::new();
    let mut osthreads = 0u64;
    let mut memstats = None;
    let mut buckets: Vec<Bucket> = Vec::new();
    let mut site_frames: Vec<SiteFrame> = Vec::new();
    let mut samples = Vec::new();
    let mut counts = [0u64; 18];
    let mut names = Interner::default();
    let mut sorted = true;
    let mut saw_eof = false;

    while c.pos < d.len() {
        let rec = c.pos;
        let t = c.uvarint("record tag")?;
        if t as usize >= counts.len() {
            return Err(DumpError { offset: rec as u64, msg: format!("unknown record tag {t}") });
        }
        counts[t as usize] += 1;
        // Records that read pointer words need the params record first.
        let ptr_size = match (&params, t) {
            (Some(p), _) => p.ptr_size,
            (None, tag::PARAMS | tag::EOF) => 8,
            (None, _) => {
                return Err(DumpError {
                    offset: rec as u64,
                    msg: format!("{} record before the params record", tag::NAMES[t as usize]),
                })
            }
        };
        match t {
            tag::EOF => {
                saw_eof = true;
                break;
            }
            tag::OBJECT => {
                let addr = c.uvarint("object address")?;
                let (off, len) = c.range("object contents")?;
                c.fieldlist("object field list", Some(len as u64), ptr_size)?;
                let Ok(size) = u32::try_from(len) else {
                    return Err(DumpError { offset: rec as u64, msg: format!("object of {len} bytes (over 4 GiB)") });
                };
                if size == 0 {
                    return Err(DumpError { offset: rec as u64, msg: format!("object {addr:#x} has size 0") });
                }
                if addr.checked_add(len as u64).is_none() {
                    return Err(DumpError {
                        offset: rec as u64,
                        msg: format!("object {addr:#x} wraps the address space"),
                    });
                }
                if objects.addr.last().is_some_and(|&l| l > addr) {
                    sorted = false;
                }
                objects.addr.push(addr);
                objects.size.push(size);
                objects.contents.push(off as u64);
            }
            tag::OTHER_ROOT => {
                c.str("root description")?;
                c.uvarint("root pointer")?;
            }
            tag::TYPE => {
                let addr = c.uvarint("type address")?;
                let size = c.uvarint("type size")?;
                let name = lossy(c.str("type name")?);
                c.bool("type indirect flag")?;
                types.push(TypeRec { addr, size, name });
            }
            tag::GOROUTINE => {
                let addr = c.uvarint("g address")?;
                let sp = c.uvarint("goroutine sp")?;
                let goid = c.uvarint("goroutine id")?;
                let gopc = c.uvarint("goroutine gopc")?;
                let status = c.uvarint("goroutine status")?;
                let is_system = c.bool("goroutine isSystem")?;
                c.bool("goroutine isBackground")?;
                let wait_since = c.uvarint("goroutine waitsince")?;
                let wait_reason = lossy(c.str("goroutine wait reason")?);
                let ctxt = c.uvarint("goroutine ctxt")?;
                let m = c.uvarint("goroutine m")?;
                let defer = c.uvarint("goroutine defer")?;
                let panic = c.uvarint("goroutine panic")?;
                goroutines.push(Goroutine {
                    addr,
                    sp,
                    goid,
                    gopc,
                    status,
                    is_system,
                    wait_since,
                    wait_reason,
                    ctxt,
                    m,
                    defer,
                    panic,
                    first_frame: frames.len() as u32,
                    num_frames: 0,
                });
            }
            tag::FRAME => {
                let sp = c.uvarint("frame sp")?;
                let depth = c.uvarint("frame depth")?;
                c.uvarint("frame child sp")?;
                let (off, len) = c.range("frame contents")?;
                c.uvarint("frame entry pc")?;
                let pc = c.uvarint("frame pc")?;
                c.uvarint("frame continuation pc")?;
                let func = names.intern(c.str("frame function name")?);
                let fields = c.fieldlist("frame field list", None, ptr_size)?;
                let Some(g) = goroutines.last_mut() else {
                    return Err(DumpError {
                        offset: rec as u64,
                        msg: "stack frame before any goroutine record".into(),
                    });
                };
                let Ok(len32) = u32::try_from(len) else {
                    return Err(DumpError { offset: rec as u64, msg: format!("stack frame of {len} bytes") });
                };
                g.num_frames += 1;
                frames.push(Frame {
                    goroutine: (goroutines.len() - 1) as u32,
                    sp,
                    depth,
                    func,
                    pc,
                    contents: off as u64,
                    len: len32,
                    fields,
                });
            }
            tag::PARAMS => {
                if params.is_some() {
                    return Err(DumpError { offset: rec as u64, msg: "second params record".into() });
                }
                let big_endian = c.bool("params big-endian flag")?;
                let ptr_size = c.uvarint("params pointer size")?;
                if ptr_size != 4 && ptr_size != 8 {
                    return Err(DumpError {
                        offset: rec as u64,
                        msg: format!("pointer size {ptr_size} (only 4 and 8 exist)"),
                    });
                }
                let arena_start = c.uvarint("params arena start")?;
                let arena_end = c.uvarint("params arena end")?;
                let goarch = lossy(c.str("params GOARCH")?);
                let build_version = lossy(c.str("params build version")?);
                let ncpu = c.uvarint("params ncpu")?;
                params = Some(Params { big_endian, ptr_size, arena_start, arena_end, goarch, build_version, ncpu });
            }
            tag::FINALIZER | tag::QUEUED_FINALIZER => {
                let obj = c.uvarint("finalizer object")?;
                let fn_ = c.uvarint("finalizer funcval")?;
                let fn_pc = c.uvarint("finalizer pc")?;
                c.uvarint("finalizer fint")?;
                c.uvarint("finalizer ot")?;
                finalizers.push(Finalizer { obj, fn_, fn_pc, queued: t == tag::QUEUED_FINALIZER });
            }
            tag::ITAB => {
                let a = c.uvarint("itab address")?;
                let ty = c.uvarint("itab type")?;
                itabs.push((a, ty));
            }
            tag::OSTHREAD => {
                c.uvarint("thread m")?;
                c.uvarint("thread id")?;
                c.uvarint("thread procid")?;
                osthreads += 1;
            }
            tag::MEMSTATS => {
                let mut m = [0u64; 25];
                for v in m.iter_mut().take(24) {
                    *v = c.uvarint("memstats")?;
                }
                for _ in 0..256 {
                    c.uvarint("memstats PauseNs")?;
                }
                m[24] = c.uvarint("memstats NumGC")?;
                memstats = Some(m);
            }
            tag::DATA | tag::BSS => {
                let what = if t == tag::DATA { "data segment" } else { "bss segment" };
                let addr = c.uvarint(what)?;
                let (off, len) = c.range(what)?;
                let fields = c.fieldlist(what, Some(len as u64), ptr_size)?;
                let seg = Segment { addr, contents: off as u64, len: len as u64, fields };
                let slot = if t == tag::DATA { &mut data_seg } else { &mut bss_seg };
                if slot.is_some() {
                    return Err(DumpError { offset: rec as u64, msg: format!("second {what} record") });
                }
                *slot = Some(seg);
            }
            tag::DEFER => {
                let addr = c.uvarint("defer address")?;
                let g = c.uvarint("defer g")?;
                c.uvarint("defer sp")?;
                c.uvarint("defer pc")?;
                let fnv = c.uvarint("defer funcval")?;
                c.uvarint("defer fn code")?;
                c.uvarint("defer link")?;
                defer_panics.push(DeferPanic { addr, g, ptr: fnv, is_panic: false });
            }
            tag::PANIC => {
                let addr = c.uvarint("panic address")?;
                let g = c.uvarint("panic g")?;
                c.uvarint("panic arg type")?;
                let data = c.uvarint("panic arg data")?;
                c.uvarint("panic defer")?;
                c.uvarint("panic link")?;
                defer_panics.push(DeferPanic { addr, g, ptr: data, is_panic: true });
            }
            tag::MEMPROF => {
                let id = c.uvarint("memprof bucket")?;
                let size = c.uvarint("memprof size")?;
                let nstk = c.uvarint("memprof stack depth")?;
                // Each frame takes at least 3 bytes: bound the loop by what is left.
                if nstk > ((d.len() - c.pos) / 3) as u64 {
                    return Err(DumpError {
                        offset: rec as u64,
                        msg: format!("truncated: memprof bucket claims {nstk} frames"),
                    });
                }
                let first = site_frames.len() as u32;
                for _ in 0..nstk {
                    let func = names.intern(c.str("memprof function")?);
                    let file = names.intern(c.str("memprof file")?);
                    let line = c.uvarint("memprof line")?;
                    site_frames.push(SiteFrame { func, file, line });
                }
                let allocs = c.uvarint("memprof allocs")?;
                let frees = c.uvarint("memprof frees")?;
                buckets.push(Bucket { id, size, first, len: nstk as u32, allocs, frees });
            }
            tag::ALLOC_SAMPLE => {
                let addr = c.uvarint("allocsample address")?;
                let b = c.uvarint("allocsample bucket")?;
                samples.push((addr, b));
            }
            _ => unreachable!("tags are bounded above"),
        }
    }
    if !saw_eof {
        return Err(DumpError {
            offset: d.len() as u64,
            msg: "truncated: the dump ends without its EOF record (the runtime ignores write errors, so a full disk \
                  leaves a cut file)"
                .into(),
        });
    }
    if c.pos != d.len() {
        return Err(DumpError {
            offset: c.pos as u64,
            msg: format!("{} bytes of trailing data after the EOF record", d.len() - c.pos),
        });
    }
    let Some(params) = params else {
        return Err(DumpError { offset: HEADER.len() as u64, msg: "no params record".into() });
    };
    if !sorted {
        sort_objects(&mut objects);
    }
    for i in 1..objects.len() {
        let end = objects.addr[i - 1] + objects.size[i - 1] as u64;
        if end > objects.addr[i] {
            return Err(DumpError {
                offset: objects.contents[i],
                msg: format!(
                    "objects overlap: {:#x}+{} runs into {:#x}",
                    objects.addr[i - 1],
                    objects.size[i - 1],
                    objects.addr[i]
                ),
            });
        }
    }
    if objects.len() >= u32::MAX as usize / 2 {
        return Err(DumpError { offset: 0, msg: format!("{} objects: more than leakscope's 2^31", objects.len()) });
    }
    Ok(HeapDump {
        params,
        objects,
        goroutines,
        frames,
        data_seg,
        bss_seg,
        finalizers,
        defer_panics,
        itabs,
        types,
        osthreads,
        memstats,
        buckets,
        site_frames,
        samples,
        strings: names.strings,
        record_counts: counts,
        data,
    })
}

fn sort_objects(o: &mut Objects) {
    let mut perm: Vec<u32> = (0..o.len() as u32).collect();
    perm.sort_unstable_by_key(|&i| o.addr[i as usize]);
    o.addr = perm.iter().map(|&i| o.addr[i as usize]).collect();
    o.size = perm.iter().map(|&i| o.size[i as usize]).collect();
    o.contents = perm.iter().map(|&i| o.contents[i as usize]).collect();
}
