//! The heap-dump report model: a Leak Suspects view in the spirit of
//! Eclipse MAT (verdict first, then evidence, then the path from a root),
//! and the diff of two dumps. Built by [`crate::heap::report`]; rendered by
//! [`crate::report::render::heap`].

use serde::Serialize;

use super::flame::Folded;

/// Totals over a set of objects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// Objects.
    pub objects: u64,
    /// Bytes (slot sizes).
    pub bytes: u64,
}

/// What a root node stands for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RootKind {
    /// Pointer words of the data segment.
    Data,
    /// Pointer words of the bss segment.
    Bss,
    /// A goroutine: its `g`, its context, and its frames.
    Goroutine,
    /// One stack frame of a goroutine.
    Frame,
    /// An object with a registered finalizer, and the finalizer closure.
    Finalizer,
    /// A finalizer queued to run: its object is alive until it has run.
    QueuedFinalizer,
    /// A pending defer's record and closure.
    Defer,
    /// An active panic's record and argument.
    Panic,
}

/// JSON schema id of a one-dump report.
pub const SCHEMA: &str = "leakscope.heap/v1";
/// JSON schema id of a two-dump diff.
pub const DIFF_SCHEMA: &str = "leakscope.heapdiff/v1";
/// Minor version of [`DIFF_SCHEMA`]: 1 added `schema_minor` and
/// `sites[].function`.
pub const DIFF_SCHEMA_MINOR: u32 = 1;

/// Dump-wide numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The input.
    pub file: String,
    /// Go version that wrote the dump.
    pub go_version: String,
    /// GOARCH.
    pub goarch: String,
    /// Every object record.
    pub objects: Totals,
    /// Objects reachable from a root.
    pub reachable: Totals,
    /// Objects no root reaches: garbage since the last GC, or kept by a root the dump lacks.
    pub unreachable: Totals,
    /// Of the unreachable: runtime metadata slots the Go ≥ 1.22 runtime dumps as objects.
    pub phantom: Totals,
    /// Distinct object→object pointers.
    pub edges: u64,
    /// Root nodes (global words or symbols, goroutines, frames, finalizers, defers, panics).
    pub roots: u64,
    /// Goroutines.
    pub goroutines: u64,
    /// `MemStats.HeapAlloc` at the dump.
    pub heap_alloc: Option<u64>,
    /// `MemStats.HeapObjects` at the dump.
    pub heap_objects: Option<u64>,
    /// Completed GC cycles.
    pub num_gc: Option<u64>,
    /// Reachable objects with an allocation sample.
    pub sampled: Totals,
    /// Share of reachable bytes with an allocation sample (1.0 with `MemProfileRate = 1`).
    pub sample_coverage: f64,
    /// Samples found inside an object rather than at its start (malloc headers, tiny blocks).
    pub interior_samples: u64,
    /// Samples whose address is in no object.
    pub unresolved_samples: u64,
}

/// A root as reports name it.
#[derive(Debug, Clone, Serialize)]
pub struct RootRow {
    /// Stable key: `bss+0x1a0`, a symbol name, `goroutine 17`, `goroutine 17 frame 2`, …
    pub key: String,
    /// Kind of root.
    pub kind: RootKind,
    /// What it is, for people: the frame's function, the goroutine's function and wait reason.
    pub label: String,
    /// Retained bytes: what would be freed if this root went away.
    pub retained: u64,
    /// Share of the reachable heap.
    pub share: f64,
    /// Category from the rules (goroutine stacks, global names).
    pub category: Option<String>,
}

/// An allocation site: a memprof bucket with live objects.
#[derive(Debug, Clone, Serialize)]
pub struct SiteRow {
    /// The deciding (or first non-plumbing) frame.
    pub function: String,
    /// Its stack, innermost first.
    pub stack: Vec<String>,
    /// Reachable sampled objects.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Group retained: bytes kept alive by this site's objects.
    pub retained: u64,
    /// Share of the reachable heap.
    pub share: f64,
    /// Category.
    pub category: Option<String>,
    /// The rule that decided it.
    pub rule: Option<String>,
    /// A known-leak signature it matches.
    pub signature: Option<String>,
    /// The root that keeps most of these bytes alive (`shared` when several roots do).
    pub kept_by: Option<String>,
}

/// Retention per category.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryRow {
    /// Category name, `unattributed`, or `unsampled` (objects with no allocation sample).
    pub name: String,
    /// Group retained.
    pub retained: u64,
    /// Share of the reachable heap.
    pub share: f64,
    /// Reachable objects and bytes allocated in it.
    pub shallow: Totals,
}

/// Retention per object shape.
#[derive(Debug, Clone, Serialize)]
pub struct ShapeRow {
    /// Human label.
    pub label: String,
    /// Slot size.
    pub size: u32,
    /// Pointer words.
    pub ptr_words: u32,
    /// Go type, when `--binary` names it.
    pub type_name: Option<String>,
    /// Reachable objects and bytes.
    pub shallow: Totals,
    /// Group retained.
    pub retained: u64,
}

/// One node on a path from a root.
#[derive(Debug, Clone, Serialize)]
pub struct PathStep {
    /// What it is.
    pub label: String,
    /// Object address (objects only).
    pub addr: Option<String>,
    /// Retained bytes.
    pub retained: u64,
}

/// Children of an accumulation point, grouped.
#[derive(Debug, Clone, Serialize)]
pub struct ChildGroup {
    /// Allocation site function, or the shape when unsampled.
    pub label: String,
    /// How many dominated children.
    pub objects: u64,
    /// Their retained bytes.
    pub retained: u64,
}

/// Where retention fans out into many similar objects (a map, a slice).
#[derive(Debug, Clone, Serialize)]
pub struct Accumulation {
    /// Object address.
    pub addr: String,
    /// Its shape.
    pub shape: String,
    /// Where it was allocated, if sampled.
    pub site: Option<String>,
    /// Its retained bytes.
    pub retained: u64,
    /// Number of objects it immediately dominates.
    pub children: u64,
    /// The largest groups among them.
    pub groups: Vec<ChildGroup>,
}

/// A leak suspect.
#[derive(Debug, Clone, Serialize)]
pub struct Suspect {
    /// 1-based rank.
    pub rank: usize,
    /// The root that retains it, or `shared` for an object kept by several roots.
    pub root: String,
    /// The root's kind (`None` when shared).
    pub root_kind: Option<RootKind>,
    /// The root's label.
    pub label: String,
    /// Roots merged into this suspect: goroutines with the same stack count as one suspect.
    pub count: u64,
    /// Retained bytes (summed over the merged roots).
    pub retained: u64,
    /// Share of the reachable heap.
    pub share: f64,
    /// Category of the root, or of the dominant allocation site.
    pub category: Option<String>,
    /// Known-leak signature, if the dominant site matches one.
    pub signature: Option<String>,
    /// Where it fans out.
    pub accumulation: Option<Accumulation>,
    /// Shortest path from the root to the accumulation point.
    pub path: Vec<PathStep>,
    /// One sentence for a postmortem.
    pub description: String,
}

/// A one-dump report.
#[derive(Debug, Clone, Serialize)]
pub struct HeapReport {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// Dump-wide numbers.
    pub summary: Summary,
    /// The verdict, one line.
    pub verdict: String,
    /// Leak suspects, largest first.
    pub suspects: Vec<Suspect>,
    /// Top roots by retained bytes.
    pub roots: Vec<RootRow>,
    /// Top allocation sites by retained bytes.
    pub sites: Vec<SiteRow>,
    /// Retention per category.
    pub categories: Vec<CategoryRow>,
    /// Top shapes by retained bytes.
    pub shapes: Vec<ShapeRow>,
    /// Caveats about this dump.
    pub warnings: Vec<String>,
    /// What to do next.
    pub next_steps: Vec<String>,
    /// Reachable bytes per allocation stack, for the flame graph (not in JSON).
    #[serde(skip)]
    pub flame: Vec<Folded>,
}

/// One aligned aggregate in two dumps.
#[derive(Debug, Clone, Serialize)]
pub struct DeltaRow {
    /// Alignment key (root key, site stack, category or shape).
    pub key: String,
    /// What it is.
    pub label: String,
    /// For allocation sites: the allocating function, the innermost frame
    /// that is not allocator plumbing (rows stay aligned by stack).
    pub function: Option<String>,
    /// Category, where one applies.
    pub category: Option<String>,
    /// Retained bytes in the base dump.
    pub base: u64,
    /// Retained bytes in the new dump.
    pub new: u64,
    /// new − base.
    pub delta: i64,
    /// Bytes of the live objects themselves (sites, shapes, categories) in base; `None` for roots.
    pub base_bytes: Option<u64>,
    /// The same in new.
    pub new_bytes: Option<u64>,
    /// Change of those bytes: what the site itself added, as a heap profile counts it.
    pub bytes_delta: Option<i64>,
    /// Objects (roots: number of roots merged under the key; sites/shapes: objects) in base.
    pub base_objects: u64,
    /// The same in new.
    pub new_objects: u64,
    /// For sites: the root that keeps most of them alive in the new dump.
    pub kept_by: Option<String>,
}

/// The diff of two dumps.
#[derive(Debug, Clone, Serialize)]
pub struct HeapDiffReport {
    /// [`DIFF_SCHEMA`].
    pub schema: &'static str,
    /// [`DIFF_SCHEMA_MINOR`].
    pub schema_minor: u32,
    /// The base dump.
    pub base: Summary,
    /// The new dump.
    pub new: Summary,
    /// Change of reachable bytes.
    pub reachable_delta: i64,
    /// Whether growth is worth a look: the reachable heap grew by at least 10% and 64 KiB.
    pub grew: bool,
    /// The verdict, one line.
    pub verdict: String,
    /// Roots by growth of retained bytes.
    pub roots: Vec<DeltaRow>,
    /// Allocation sites by growth of group retained.
    pub sites: Vec<DeltaRow>,
    /// Categories by growth.
    pub categories: Vec<DeltaRow>,
    /// Shapes by growth.
    pub shapes: Vec<DeltaRow>,
    /// Suspects in the new dump.
    pub suspects: Vec<Suspect>,
    /// Caveats.
    pub warnings: Vec<String>,
    /// What to do next.
    pub next_steps: Vec<String>,
    /// Reachable bytes per allocation stack in both dumps, for the differential flame graph (not in JSON).
    #[serde(skip)]
    pub flame: Vec<Folded>,
}

/// The message for DOT, which heap dumps don't have.
pub const NO_DOT: &str = "--format dot is for profile diffs; heap dumps have text, markdown, json and html";
