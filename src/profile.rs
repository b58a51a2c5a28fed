//! The columnar in-memory model of one profile.
//!
//! A profile with 200k samples would cost 200k small heap objects if each
//! sample were a struct with its own `Vec`s, as in pprof's Go model. Here a
//! sample is an index: its stack is a slice of one flat location-index
//! array, its values a row of one flat matrix, its labels a slice of one
//! flat label array. Strings live once, in one buffer, and are referred to
//! by their string-table index. All ids from the file have been resolved to
//! dense `u32` indexes into the tables below, and every reference has been
//! checked, so the accessors never fail.

use std::ops::Range;

/// Index into [`Profile::strings`].
pub type StrId = u64;

/// Marker for "no entry" in `u32` index fields.
pub const NONE: u32 = u32::MAX;

/// An interned string table: all strings in one buffer.
#[derive(Debug, Default, Clone)]
pub struct StringTable {
    data: String,
    ends: Vec<usize>,
}

impl StringTable {
    /// Appends a string.
    pub fn push(&mut self, s: &str) {
        self.data.push_str(s);
        self.ends.push(self.data.len());
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when the table holds no strings.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The string at `i`. Indexes were validated at decode time.
    #[inline]
    pub fn get(&self, i: StrId) -> &str {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }

    /// Total bytes of string data.
    pub fn byte_len(&self) -> usize {
        self.data.len()
    }
}

/// A sample type or the period type: `(type, unit)`, e.g. `inuse_space/bytes`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValueType {
    /// String id of the type name.
    pub ty: StrId,
    /// String id of the unit.
    pub unit: StrId,
}

/// A mapped binary image.
#[derive(Debug, Clone, Default)]
#[allow(missing_docs)]
pub struct Mapping {
    pub id: u64,
    pub memory_start: u64,
    pub memory_limit: u64,
    pub file_offset: u64,
    pub filename: StrId,
    pub build_id: StrId,
    pub has_functions: bool,
    pub has_filenames: bool,
    pub has_line_numbers: bool,
    pub has_inline_frames: bool,
}

/// A function.
#[derive(Debug, Clone, Default)]
#[allow(missing_docs)]
pub struct Function {
    pub id: u64,
    pub name: StrId,
    pub system_name: StrId,
    pub filename: StrId,
    pub start_line: i64,
}

/// One source line of a location; several when calls were inlined.
#[derive(Debug, Clone, Copy, Default)]
pub struct Line {
    /// Index into [`Profile::functions`].
    pub function: u32,
    /// Line number, 0 if unknown.
    pub line: i64,
    /// Column, 0 if unknown.
    pub column: i64,
}

/// A program counter and the source lines it stands for.
#[derive(Debug, Clone, Default)]
pub struct Location {
    /// The id from the file (kept for messages and `-raw`-style output).
    pub id: u64,
    /// Index into [`Profile::mappings`], or [`NONE`].
    pub mapping: u32,
    /// Instruction address.
    pub address: u64,
    /// Set by writers that fold frames.
    pub is_folded: bool,
    /// Range in [`Profile::lines`]; `lines[start]` is the innermost
    /// (inlined callee) frame, the last one the outermost caller.
    pub lines_start: u32,
    /// Number of lines.
    pub lines_len: u32,
}

impl Location {
    /// The range of this location's lines in [`Profile::lines`].
    #[inline]
    pub fn lines(&self) -> Range<usize> {
        self.lines_start as usize..(self.lines_start + self.lines_len) as usize
    }
}

/// A sample label: a string value (`str != 0`) or a number with a unit.
#[derive(Debug, Clone, Copy, Default)]
#[allow(missing_docs)]
pub struct Label {
    pub key: StrId,
    pub str: StrId,
    pub num: i64,
    pub num_unit: StrId,
}

/// One decoded profile.
#[derive(Debug, Default, Clone)]
pub struct Profile {
    /// All strings.
    pub strings: StringTable,
    /// What each column of [`Profile::values`] measures.
    pub sample_types: Vec<ValueType>,
    /// `stack_offsets[i]..stack_offsets[i+1]` is sample i's stack in
    /// [`Profile::stacks`]. Length: samples + 1.
    pub stack_offsets: Vec<u32>,
    /// Location indexes of all stacks, leaf first.
    pub stacks: Vec<u32>,
    /// Row-major `samples × sample_types` matrix.
    pub values: Vec<i64>,
    /// `label_offsets[i]..label_offsets[i+1]` is sample i's labels.
    pub label_offsets: Vec<u32>,
    /// All labels.
    pub labels: Vec<Label>,
    /// Mappings, in file order.
    pub mappings: Vec<Mapping>,
    /// Locations, in file order.
    pub locations: Vec<Location>,
    /// Lines of all locations.
    pub lines: Vec<Line>,
    /// Functions, in file order.
    pub functions: Vec<Function>,
    /// Regex of frames pprof drops from the leaf side (already applied).
    pub drop_frames: StrId,
    /// Regex of frames to keep despite `drop_frames`.
    pub keep_frames: StrId,
    /// Collection time, nanoseconds since the epoch; 0 if unknown.
    pub time_nanos: i64,
    /// Profile duration in nanoseconds; 0 if unknown.
    pub duration_nanos: i64,
    /// Kind of events between samples.
    pub period_type: ValueType,
    /// Events between samples.
    pub period: i64,
    /// Free-form comments.
    pub comments: Vec<StrId>,
    /// Preferred sample type name, 0 if unset.
    pub default_sample_type: StrId,
    /// Documentation link, 0 if unset.
    pub doc_url: StrId,
    /// The legacy text format this profile was read from; `None` for
    /// protobuf.
    pub legacy: Option<LegacyFormat>,
    /// The `# runtime.MemStats` trailer of a legacy text heap profile
    /// (`/debug/pprof/heap?debug=1`), when it has one.
    pub memstats: Option<MemStats>,
}

/// A legacy text format (the `?debug=1` and `?debug=2` pages of
/// `net/http/pprof`), as read by [`crate::pprof::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyFormat {
    /// `heap profile: …` (`/debug/pprof/heap?debug=1`), read as pprof's
    /// legacy heap parser reads it, values scaled as it scales them.
    Heap,
    /// `NAME profile: total N` (`/debug/pprof/goroutine?debug=1`, also
    /// `threadcreate`): one sample per distinct stack, with its count.
    Count,
    /// A full goroutine dump (`/debug/pprof/goroutine?debug=2`, the format
    /// of `runtime.Stack(buf, true)` and of crash tracebacks): one sample
    /// per distinct stack, state and creator. `go tool pprof` cannot read it.
    GoroutineDump,
}

/// `runtime.MemStats` as a legacy heap profile prints it after its samples
/// (`# Name = value` lines). Fields are `None` when the trailer lacks them
/// (older Go versions print fewer). Byte counts are in bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemStats {
    /// Bytes of allocated heap objects (`Alloc`).
    pub alloc: Option<u64>,
    /// Cumulative bytes allocated for heap objects (`TotalAlloc`).
    pub total_alloc: Option<u64>,
    /// Total bytes of memory obtained from the OS (`Sys`).
    pub sys: Option<u64>,
    /// Pointer lookups performed by the runtime (`Lookups`).
    pub lookups: Option<u64>,
    /// Cumulative count of heap objects allocated (`Mallocs`).
    pub mallocs: Option<u64>,
    /// Cumulative count of heap objects freed (`Frees`).
    pub frees: Option<u64>,
    /// Bytes of allocated heap objects (`HeapAlloc`).
    pub heap_alloc: Option<u64>,
    /// Bytes of heap memory obtained from the OS (`HeapSys`).
    pub heap_sys: Option<u64>,
    /// Bytes in idle (unused) spans (`HeapIdle`).
    pub heap_idle: Option<u64>,
    /// Bytes in in-use spans (`HeapInuse`).
    pub heap_inuse: Option<u64>,
    /// Bytes of physical memory returned to the OS (`HeapReleased`).
    pub heap_released: Option<u64>,
    /// Number of allocated heap objects (`HeapObjects`).
    pub heap_objects: Option<u64>,
    /// Bytes in stack spans (`Stack = INUSE / SYS`, first number).
    pub stack_inuse: Option<u64>,
    /// Bytes of stack memory obtained from the OS (`Stack`, second number).
    pub stack_sys: Option<u64>,
    /// Bytes of allocated mspan structures (`MSpan`, first number).
    pub mspan_inuse: Option<u64>,
    /// Bytes obtained from the OS for mspan structures (`MSpan`, second).
    pub mspan_sys: Option<u64>,
    /// Bytes of allocated mcache structures (`MCache`, first number).
    pub mcache_inuse: Option<u64>,
    /// Bytes obtained from the OS for mcache structures (`MCache`, second).
    pub mcache_sys: Option<u64>,
    /// Bytes of memory in profiling bucket hash tables (`BuckHashSys`).
    pub buck_hash_sys: Option<u64>,
    /// Bytes of memory in garbage collection metadata (`GCSys`).
    pub gc_sys: Option<u64>,
    /// Bytes of miscellaneous off-heap runtime allocations (`OtherSys`).
    pub other_sys: Option<u64>,
    /// Target heap size of the next GC cycle (`NextGC`).
    pub next_gc: Option<u64>,
    /// When the last GC finished, nanoseconds since the epoch (`LastGC`).
    pub last_gc: Option<u64>,
    /// Number of completed GC cycles (`NumGC`).
    pub num_gc: Option<u64>,
    /// Number of GC cycles forced by the application (`NumForcedGC`).
    pub num_forced_gc: Option<u64>,
    /// Fraction of CPU time used by the GC since the program started
    /// (`GCCPUFraction`).
    pub gc_cpu_fraction: Option<f64>,
    /// Maximum resident set size of the process, where the platform
    /// reports it (`MaxRSS`, Go 1.23+).
    pub max_rss: Option<u64>,
    /// Every `# Name = value` line of the trailer, in order, with its value
    /// as printed (including those above, and `PauseNs`, `PauseEnd`,
    /// `DebugGC` and any that later Go versions add).
    pub entries: Vec<(String, String)>,
}

impl Profile {
    /// The string with id `id`.
    #[inline]
    pub fn str(&self, id: StrId) -> &str {
        self.strings.get(id)
    }

    /// Number of samples.
    #[inline]
    pub fn num_samples(&self) -> usize {
        self.stack_offsets.len().saturating_sub(1)
    }

    /// Location indexes of sample `i`, leaf first.
    #[inline]
    pub fn stack(&self, i: usize) -> &[u32] {
        &self.stacks[self.stack_offsets[i] as usize..self.stack_offsets[i + 1] as usize]
    }

    /// Values of sample `i`, one per sample type.
    #[inline]
    pub fn sample_values(&self, i: usize) -> &[i64] {
        let n = self.sample_types.len();
        &self.values[i * n..(i + 1) * n]
    }

    /// Labels of sample `i`.
    #[inline]
    pub fn sample_labels(&self, i: usize) -> &[Label] {
        &self.labels[self.label_offsets[i] as usize..self.label_offsets[i + 1] as usize]
    }

    /// Name of sample type `i`.
    pub fn sample_type_name(&self, i: usize) -> &str {
        self.str(self.sample_types[i].ty)
    }

    /// Unit of sample type `i`.
    pub fn sample_type_unit(&self, i: usize) -> &str {
        self.str(self.sample_types[i].unit)
    }

    /// Index of the sample type called `name`.
    pub fn sample_type_index(&self, name: &str) -> Option<usize> {
        (0..self.sample_types.len()).find(|&i| self.sample_type_name(i) == name)
    }

    /// The sample type a report shows when none is asked for: the
    /// profile's `default_sample_type`, else `inuse_space` when present
    /// (Go heap profiles), else the last type, as pprof does.
    pub fn default_sample_index(&self) -> Option<usize> {
        if self.sample_types.is_empty() {
            return None;
        }
        if self.default_sample_type != 0 {
            if let Some(i) = self.sample_type_index(self.str(self.default_sample_type)) {
                return Some(i);
            }
        }
        self.sample_type_index("inuse_space").or(Some(self.sample_types.len() - 1))
    }

    /// The sample types this profile shares with `other`, matched by name
    /// in this profile's order, as (index here, index in `other`). A type
    /// with the same name but another unit is an error: the two cannot be
    /// compared, as pprof's merge refuses them.
    pub fn common_sample_types(&self, other: &Profile) -> Result<Vec<(usize, usize)>, String> {
        let mut out = Vec::new();
        for i in 0..self.sample_types.len() {
            let name = self.sample_type_name(i);
            if let Some(j) = other.sample_type_index(name) {
                if self.sample_type_unit(i) != other.sample_type_unit(j) {
                    return Err(format!(
                        "sample type {name} is in {} in one profile and {} in the other",
                        self.sample_type_unit(i),
                        other.sample_type_unit(j)
                    ));
                }
                out.push((i, j));
            }
        }
        Ok(out)
    }

    /// True for a Go heap profile (it has `inuse_space`).
    pub fn is_heap(&self) -> bool {
        self.sample_type_index("inuse_space").is_some()
    }

    /// What kind of profile this is, when it is neither a heap profile nor a
    /// goroutine profile (whose memory and counts can leak): "a CPU
    /// profile", "a mutex or block profile", or its sample types.
    pub fn non_memory_kind(&self) -> Option<String> {
        const LEAKY: [&str; 7] =
            ["inuse_space", "inuse_objects", "alloc_space", "alloc_objects", "space", "objects", "goroutine"];
        let names: Vec<&str> = (0..self.sample_types.len()).map(|i| self.sample_type_name(i)).collect();
        if names.iter().any(|n| LEAKY.contains(n)) {
            return None;
        }
        Some(if names.contains(&"cpu") {
            "a CPU profile".to_string()
        } else if names.contains(&"contentions") || names.contains(&"delay") {
            "a mutex or block profile".to_string()
        } else if names.is_empty() {
            "a profile with no sample types".to_string()
        } else {
            format!("a profile of {}", names.join(", "))
        })
    }

    /// Sum of absolute sample values per sample type, as pprof computes a
    /// report's total.
    pub fn totals(&self) -> Vec<i64> {
        let n = self.sample_types.len();
        let mut t = vec![0i64; n];
        if n == 0 {
            return t;
        }
        for row in self.values.chunks_exact(n) {
            for (acc, v) in t.iter_mut().zip(row) {
                *acc = acc.saturating_add(v.saturating_abs());
            }
        }
        t
    }
}

/// How finely frames are grouped into nodes, as pprof's `-granularity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// One node per function name (the default).
    #[default]
    Functions,
    /// One node per function name and source file.
    Filefunctions,
    /// One node per source file.
    Files,
    /// One node per function, file and line.
    Lines,
    /// One node per instruction address and source line.
    Addresses,
}
