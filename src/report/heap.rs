//! The heap-dump report: a Leak Suspects view in the spirit of Eclipse MAT
//! (verdict first, then evidence, then the path from a root), and the diff
//! of two dumps. One serde model, rendered as text, Markdown, JSON and HTML.
//!
//! Addresses differ between dumps, so the diff compares aggregates: retained
//! bytes per root (globals by name or segment offset, goroutines by their
//! stack), per allocation site (its stack), per category and per shape.

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::attribute::RuleSet;
use crate::flame::{clean_name, Folded};
use crate::heapdump::analysis::{Analysis, Totals};
use crate::heapdump::dominators::{NO_GROUP, UNREACHABLE};
use crate::heapdump::graph::RootKind;

/// JSON schema id of a one-dump report.
pub const SCHEMA: &str = "leakscope.heap/v1";
/// JSON schema id of a two-dump diff.
pub const DIFF_SCHEMA: &str = "leakscope.heapdiff/v1";

/// Knobs for building reports.
#[derive(Debug, Clone)]
pub struct Options {
    /// Rows per table.
    pub top: usize,
    /// A root or shared object retaining at least this share of the reachable heap is a suspect.
    pub suspect_share: f64,
    /// ... and at least this many bytes, so that a small heap's runtime structures are not suspects.
    pub suspect_min: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options { top: 10, suspect_share: 0.10, suspect_min: 64 * 1024 }
    }
}

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

/// A precomputed view over an analysis: labels and per-object root keepers.
struct View<'a, 'd> {
    a: &'a Analysis<'d>,
    rules: &'a RuleSet,
    live_bytes: u64,
    /// Nearest dominator ancestor that is a root node, per node (NONE: shared).
    keeper: Vec<u32>,
}

const NONE: u32 = u32::MAX;

impl<'a, 'd> View<'a, 'd> {
    fn new(a: &'a Analysis<'d>, rules: &'a RuleSet) -> Self {
        let (_, live, _) = a.totals();
        let n = a.graph.num_nodes();
        let mut keeper = vec![NONE; n];
        for &v in &a.doms.preorder {
            let id = a.doms.idom[v as usize];
            keeper[v as usize] = if a.graph.root_of_node(v).is_some() {
                v
            } else if v == a.graph.super_root() || id == UNREACHABLE || id == a.graph.super_root() {
                NONE
            } else {
                keeper[id as usize]
            };
        }
        View { a, rules, live_bytes: live.bytes, keeper }
    }

    fn share(&self, b: u64) -> f64 {
        if self.live_bytes == 0 {
            0.0
        } else {
            b as f64 / self.live_bytes as f64
        }
    }

    fn cat(&self, c: Option<u16>) -> Option<String> {
        c.map(|c| self.rules.category_name(Some(c)).to_string())
    }

    fn root_label(&self, i: usize) -> String {
        let a = self.a;
        let r = &a.graph.roots[i];
        let d = a.dump;
        match r.kind {
            RootKind::Goroutine => {
                let gi = r.goroutine.unwrap_or(0) as usize;
                let g = &d.goroutines[gi];
                let func = a.goroutine_function(gi);
                if g.wait_reason.is_empty() {
                    format!("goroutine {} in {func}", g.goid)
                } else {
                    format!("goroutine {} in {func} ({})", g.goid, g.wait_reason)
                }
            }
            RootKind::Frame => {
                let f = &d.frames[r.frame.unwrap_or(0) as usize];
                let g = &d.goroutines[f.goroutine as usize];
                format!("{} (goroutine {}, frame {})", d.str(f.func), g.goid, f.depth)
            }
            RootKind::Data | RootKind::Bss if r.key.contains('+') => {
                format!("global at {:#x} ({})", r.addr, r.key)
            }
            RootKind::Data | RootKind::Bss => format!("global {}", r.key),
            _ => r.key.clone(),
        }
    }

    /// Key used to align roots across dumps: goroutine ids differ between
    /// runs, so goroutines and frames are keyed by their stacks.
    fn root_diff_key(&self, i: usize) -> String {
        let a = self.a;
        let r = &a.graph.roots[i];
        let d = a.dump;
        match r.kind {
            RootKind::Goroutine | RootKind::Frame => {
                let func = a.goroutine_function(r.goroutine.unwrap_or(0) as usize);
                match r.frame {
                    Some(fi) => format!("frame {} of goroutines in {func}", d.str(d.frames[fi as usize].func)),
                    None => format!("goroutines in {func}"),
                }
            }
            RootKind::Finalizer => "finalizers".into(),
            RootKind::QueuedFinalizer => "queued finalizers".into(),
            RootKind::Defer => "defers".into(),
            RootKind::Panic => "panics".into(),
            _ => r.key.clone(),
        }
    }

    fn node_label(&self, v: u32) -> String {
        let a = self.a;
        if v == a.graph.super_root() {
            return "roots".into();
        }
        if let Some(i) = a.graph.root_of_node(v) {
            return self.root_label(i);
        }
        let i = v as usize;
        let shape = a.shapes[a.obj_shape[i] as usize].label();
        match a.obj_bucket[i] {
            NO_GROUP => shape,
            b => format!("{shape}, allocated in {}", a.site_function(b)),
        }
    }

    /// Label of a keeper root node (`NONE`: shared by several roots).
    fn keeper_label(&self, k: u32) -> String {
        match k {
            NONE => "shared (several roots)".into(),
            k => self.root_label(self.a.graph.root_of_node(k).unwrap_or(0)),
        }
    }
}

/// Builds the one-dump report.
pub fn build(a: &Analysis<'_>, rules: &RuleSet, file: &str, o: &Options) -> HeapReport {
    build_from(&View::new(a, rules), file, o)
}

fn build_from(v: &View<'_, '_>, file: &str, o: &Options) -> HeapReport {
    let (a, rules) = (v.a, v.rules);
    let summary = summary(a, file);
    let tree = &a.tree;
    let parents = a.bfs_parents();

    // Roots.
    let mut roots: Vec<RootRow> = a
        .graph
        .roots
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let ret = a.retained[a.graph.root_node(i) as usize];
            RootRow {
                key: r.key.clone(),
                kind: r.kind.clone(),
                label: v.root_label(i),
                retained: ret,
                share: v.share(ret),
                category: v.cat(a.root_attr[i].category),
            }
        })
        .filter(|r| r.retained > 0)
        .collect();
    roots.sort_by(|x, y| y.retained.cmp(&x.retained).then_with(|| x.key.cmp(&y.key)));
    roots.truncate(o.top);

    // Sites.
    let nb = a.dump.buckets.len();
    let site_ret = &a.site_retained;
    let site_shallow = a.site_shallow();
    let keepers = site_keepers(v, nb);
    let mut sites: Vec<SiteRow> = (0..nb)
        .filter(|&b| site_shallow[b].objects > 0)
        .map(|b| site_row(v, b, site_shallow[b], site_ret[b], keepers[b]))
        .collect();
    sites.sort_by(|x, y| y.retained.cmp(&x.retained).then_with(|| x.stack.cmp(&y.stack)));
    sites.truncate(o.top);

    let categories = categories(v);

    // Shapes.
    let ns = a.shapes.len();
    let shape_ret = &a.shape_retained;
    let shape_shallow = a.group_shallow(&a.obj_shape, ns);
    let mut shapes: Vec<ShapeRow> = (0..ns)
        .filter(|&s| shape_shallow[s].objects > 0)
        .map(|s| {
            let sh = &a.shapes[s];
            ShapeRow {
                label: sh.label(),
                size: sh.size,
                ptr_words: sh.ptr_words,
                type_name: sh.type_name.clone(),
                shallow: shape_shallow[s],
                retained: shape_ret[s],
            }
        })
        .collect();
    shapes.sort_by(|x, y| y.retained.cmp(&x.retained).then_with(|| x.label.cmp(&y.label)));
    shapes.truncate(o.top);

    // Suspects: children of the super-root in the dominator tree that retain
    // enough; goroutines with the same stack are one suspect.
    let sr = a.graph.super_root();
    let mut groups: Vec<(u64, Vec<u32>)> = Vec::new();
    let mut by_key: FxHashMap<String, usize> = FxHashMap::default();
    for &t in tree.successors(sr) {
        let key = match a.graph.root_of_node(t) {
            Some(i) if a.graph.roots[i].kind == RootKind::Goroutine => v.root_diff_key(i),
            _ => format!("#{t}"),
        };
        let gi = *by_key.entry(key).or_insert_with(|| {
            groups.push((0, Vec::new()));
            groups.len() - 1
        });
        groups[gi].0 += a.retained[t as usize];
        groups[gi].1.push(t);
    }
    for g in &mut groups {
        g.1.sort_by(|&x, &y| a.retained[y as usize].cmp(&a.retained[x as usize]).then(x.cmp(&y)));
    }
    groups.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.1[0].cmp(&y.1[0])));
    let mut suspects = Vec::new();
    for (total, members) in &groups {
        if v.share(*total) < o.suspect_share || *total < o.suspect_min.max(1) || suspects.len() >= 5 {
            break;
        }
        suspects.push(suspect(v, tree, &parents, members, suspects.len() + 1));
    }

    let verdict = match suspects.first() {
        None => format!(
            "No leak suspect: no root retains {:.0}% or more of the {} reachable heap.",
            o.suspect_share * 100.0,
            crate::report::units::bytes(summary.reachable.bytes as i64)
        ),
        Some(s) => format!(
            "{} leak suspect{}: {} retain{} {} ({:.0}% of the reachable heap){}.",
            suspects.len(),
            if suspects.len() == 1 { "" } else { "s" },
            s.label,
            if s.count > 1 { "" } else { "s" },
            crate::report::units::bytes(s.retained as i64),
            s.share * 100.0,
            s.accumulation
                .as_ref()
                .and_then(|acc| acc.groups.first().map(|g| format!(", mostly {} objects from {}", g.objects, g.label)))
                .unwrap_or_default()
        ),
    };

    let warnings = warnings(&summary, a.dump.params.go_minor());
    let next_steps = next_steps(&suspects, &sites, rules);
    let flame = folded(v).into_iter().map(|(stack, n)| Folded { stack, base: 0, new: n as i64 }).collect();
    HeapReport {
        schema: SCHEMA,
        summary,
        verdict,
        suspects,
        roots,
        sites,
        categories,
        shapes,
        warnings,
        next_steps,
        flame,
    }
}

/// Reachable bytes per allocation stack (root first, `;`-joined), sorted by stack.
fn folded(v: &View<'_, '_>) -> Vec<(String, u64)> {
    let a = v.a;
    let d = a.dump;
    let nb = d.buckets.len();
    let shallow = a.site_shallow();
    let mut m: FxHashMap<String, u64> = FxHashMap::default();
    for (b, t) in shallow.iter().enumerate() {
        if t.bytes == 0 {
            continue;
        }
        let stack = if b < nb {
            let names: Vec<String> =
                d.bucket_frames(&d.buckets[b]).iter().rev().map(|f| clean_name(d.str(f.func))).collect();
            // Guard: a memprof bucket may have no frames (stack depth 0);
            // inferno refuses a line with an empty stack ("No stack counts
            // found"), which failed the whole HTML report.
            if names.is_empty() {
                "(no frames)".to_string()
            } else {
                names.join(";")
            }
        } else {
            crate::heapdump::export::UNSAMPLED.to_string()
        };
        *m.entry(stack).or_default() += t.bytes;
    }
    let mut out: Vec<(String, u64)> = m.into_iter().collect();
    out.sort_unstable();
    out
}

fn summary(a: &Analysis<'_>, file: &str) -> Summary {
    let (all, live, dead) = a.totals();
    let mut sampled = Totals::default();
    for (i, &b) in a.obj_bucket.iter().enumerate() {
        if b != NO_GROUP && a.reachable(i as u32) {
            sampled.objects += 1;
            sampled.bytes += a.dump.objects.size[i] as u64;
        }
    }
    let d = a.dump;
    Summary {
        file: file.to_string(),
        go_version: d.params.build_version.clone(),
        goarch: d.params.goarch.clone(),
        objects: all,
        reachable: live,
        unreachable: dead,
        phantom: Totals { objects: a.phantoms.0, bytes: a.phantoms.1 },
        edges: a.graph.object_edges,
        roots: a.graph.roots.len() as u64,
        goroutines: d.goroutines.len() as u64,
        heap_alloc: d.memstat("HeapAlloc"),
        heap_objects: d.memstat("HeapObjects"),
        num_gc: d.memstat("NumGC"),
        sampled,
        sample_coverage: if live.bytes == 0 { 0.0 } else { sampled.bytes as f64 / live.bytes as f64 },
        interior_samples: a.interior_samples,
        unresolved_samples: a.unresolved_samples,
    }
}

/// For each site, the root node keeping most of its reachable bytes (NONE: shared).
fn site_keepers(v: &View<'_, '_>, nb: usize) -> Vec<u32> {
    let a = v.a;
    let mut by: FxHashMap<(u32, u32), u64> = FxHashMap::default();
    for (i, &b) in a.obj_bucket.iter().enumerate() {
        if b != NO_GROUP && a.reachable(i as u32) {
            *by.entry((b, v.keeper[i])).or_default() += a.dump.objects.size[i] as u64;
        }
    }
    let mut best = vec![(NONE, 0u64); nb];
    let mut entries: Vec<_> = by.into_iter().collect();
    entries.sort_unstable();
    for ((b, k), bytes) in entries {
        if bytes > best[b as usize].1 {
            best[b as usize] = (k, bytes);
        }
    }
    best.into_iter().map(|x| x.0).collect()
}

fn site_row(v: &View<'_, '_>, b: usize, shallow: Totals, retained: u64, keeper: u32) -> SiteRow {
    let a = v.a;
    let d = a.dump;
    let bucket = &d.buckets[b];
    let stack: Vec<String> = d.bucket_frames(bucket).iter().map(|f| d.str(f.func).to_string()).collect();
    let at = a.bucket_attr[b];
    SiteRow {
        function: a.site_function(b as u32).to_string(),
        stack,
        objects: shallow.objects,
        bytes: shallow.bytes,
        retained,
        share: v.share(retained),
        category: v.cat(at.category),
        rule: at.rule.map(|p| v.rules.pattern(p).to_string()),
        signature: at.signature.map(|s| v.rules.file.signatures[s as usize].id.clone()),
        kept_by: Some(v.keeper_label(keeper)),
    }
}

fn categories(v: &View<'_, '_>) -> Vec<CategoryRow> {
    let a = v.a;
    let names: Vec<String> = v.rules.category_names().map(|s| s.to_string()).collect();
    let unattributed = a.n_categories - 1;
    // Objects without an allocation site count their own bytes only: as a
    // group they would "retain" whatever sampled objects hang below the
    // runtime's and init's unsampled structures, which says nothing.
    let unsampled = a.n_categories;
    let group: Vec<u32> = a.obj_category.iter().map(|&c| if c == NO_GROUP { unsampled as u32 } else { c }).collect();
    let shallow = a.group_shallow(&group, a.n_categories + 1);
    let mut rows: Vec<CategoryRow> = (0..=a.n_categories)
        .filter(|&c| shallow[c].objects > 0)
        .map(|c| {
            let retained = if c == unsampled { shallow[c].bytes } else { a.category_retained[c] };
            CategoryRow {
                name: match c {
                    c if c < unattributed => names[c].clone(),
                    c if c == unattributed => "unattributed".into(),
                    _ => "unsampled".into(),
                },
                retained,
                share: v.share(retained),
                shallow: shallow[c],
            }
        })
        .collect();
    rows.sort_by(|x, y| y.retained.cmp(&x.retained).then_with(|| x.name.cmp(&y.name)));
    rows
}

fn suspect(
    v: &View<'_, '_>,
    tree: &crate::heapdump::dominators::Csr,
    parents: &[u32],
    members: &[u32],
    rank: usize,
) -> Suspect {
    let a = v.a;
    let top = members[0];
    // Descend while one dominated child holds most of the retention: through
    // a goroutine to its frame, through a global to its map, to the object
    // where retention fans out into many children.
    let mut at = top;
    loop {
        let ret = a.retained[at as usize];
        let best = tree.successors(at).iter().copied().max_by_key(|&c| (a.retained[c as usize], std::cmp::Reverse(c)));
        match best {
            Some(c) if a.retained[c as usize] * 10 >= ret * 8 => at = c,
            _ => break,
        }
    }
    let accumulation = (at < a.graph.n_objects).then(|| {
        let kids = tree.successors(at);
        let mut groups: FxHashMap<String, (u64, u64)> = FxHashMap::default();
        for &c in kids {
            let label = match a.obj_bucket.get(c as usize) {
                Some(&b) if b != NO_GROUP => a.site_function(b).to_string(),
                Some(_) => a.shapes[a.obj_shape[c as usize] as usize].label(),
                None => v.node_label(c),
            };
            let e = groups.entry(label).or_default();
            e.0 += 1;
            e.1 += a.retained[c as usize];
        }
        let mut groups: Vec<ChildGroup> =
            groups.into_iter().map(|(label, (objects, retained))| ChildGroup { label, objects, retained }).collect();
        groups.sort_by(|x, y| y.retained.cmp(&x.retained).then_with(|| x.label.cmp(&y.label)));
        groups.truncate(3);
        let i = at as usize;
        Accumulation {
            addr: format!("{:#x}", a.dump.objects.addr[i]),
            shape: a.shapes[a.obj_shape[i] as usize].label(),
            site: (a.obj_bucket[i] != NO_GROUP).then(|| a.site_function(a.obj_bucket[i]).to_string()),
            retained: a.retained[i],
            children: kids.len() as u64,
            groups,
        }
    });
    // Path from the super-root to the accumulation point.
    let mut chain = vec![at];
    let mut x = at;
    while parents[x as usize] != UNREACHABLE && parents[x as usize] != a.graph.super_root() {
        x = parents[x as usize];
        chain.push(x);
    }
    chain.reverse();
    let path: Vec<PathStep> = chain
        .iter()
        .map(|&n| PathStep {
            label: v.node_label(n),
            addr: (n < a.graph.n_objects).then(|| format!("{:#x}", a.dump.objects.addr[n as usize])),
            retained: a.retained[n as usize],
        })
        .collect();
    let (root, root_kind, label, mut category) = match a.graph.root_of_node(top) {
        Some(i) => (
            a.graph.roots[i].key.clone(),
            Some(a.graph.roots[i].kind.clone()),
            if members.len() > 1 {
                let g = &a.dump.goroutines[a.graph.roots[i].goroutine.unwrap_or(0) as usize];
                format!("{} {} ({})", members.len(), v.root_diff_key(i), g.wait_reason)
            } else {
                v.root_label(i)
            },
            v.cat(a.root_attr[i].category),
        ),
        None => ("shared".to_string(), None, format!("object {} kept by several roots", v.node_label(top)), None),
    };
    // The dominant allocation site below decides the category when the root does not.
    let mut signature = None;
    if let Some(b) = dominant_site(a, tree, at) {
        let att = a.bucket_attr[b as usize];
        if category.is_none() {
            category = v.cat(att.category);
        }
        signature = att.signature.map(|s| v.rules.file.signatures[s as usize].id.clone());
    }
    let ret: u64 = members.iter().map(|&m| a.retained[m as usize]).sum();
    let each = if members.len() > 1 { " (in the first of them; the others are alike)" } else { "" };
    let description = format!(
        "{label} keep{} {} alive ({:.0}% of the reachable heap){}.",
        if members.len() > 1 { "" } else { "s" },
        crate::report::units::bytes(ret as i64),
        v.share(ret) * 100.0,
        match &accumulation {
            Some(acc) => format!(
                "; it accumulates in {}{each} ({}), which dominates {} objects{}",
                acc.addr,
                acc.shape,
                acc.children,
                acc.groups.first().map(|g| format!(", mostly from {}", g.label)).unwrap_or_default()
            ),
            None => String::new(),
        }
    );
    Suspect {
        rank,
        root,
        root_kind,
        label,
        count: members.len() as u64,
        retained: ret,
        share: v.share(ret),
        category,
        signature,
        accumulation,
        path,
        description,
    }
}

/// The allocation site whose objects, among `at`'s dominator subtree
/// (bounded walk), hold the most bytes.
fn dominant_site(a: &Analysis<'_>, tree: &crate::heapdump::dominators::Csr, at: u32) -> Option<u32> {
    let mut bytes: FxHashMap<u32, u64> = FxHashMap::default();
    let mut stack = vec![at];
    let mut seen = 0usize;
    while let Some(x) = stack.pop() {
        seen += 1;
        if seen > 200_000 {
            break;
        }
        if let Some(&b) = a.obj_bucket.get(x as usize) {
            if b != NO_GROUP {
                *bytes.entry(b).or_default() += a.dump.objects.size[x as usize] as u64;
            }
        }
        stack.extend_from_slice(tree.successors(x));
    }
    bytes.into_iter().max_by_key(|&(b, n)| (n, std::cmp::Reverse(b))).map(|(b, _)| b)
}

fn warnings(s: &Summary, go_minor: Option<u32>) -> Vec<String> {
    let mut w = Vec::new();
    if s.sample_coverage < 0.5 {
        w.push(format!(
            "Only {:.0}% of the reachable bytes have an allocation site, so sites and categories are partial. \
             For full attribution set `runtime.MemProfileRate = 1` as the first statement of main \
             (GODEBUG=memprofilerate=1 alone is ignored unless the binary uses runtime.MemProfile).",
            s.sample_coverage * 100.0
        ));
    }
    let garbage = s.unreachable.bytes.saturating_sub(s.phantom.bytes);
    if s.objects.bytes > 0 && garbage * 5 > s.objects.bytes {
        w.push(format!(
            "{} of the dump ({:.0}%) is unreachable: garbage since the last GC, or kept by a root the dump does not \
             record (cgo, cleanups, weak handles). Call runtime.GC() right before debug.WriteHeapDump.",
            crate::report::units::bytes(garbage as i64),
            garbage as f64 * 100.0 / s.objects.bytes as f64
        ));
    }
    if !go_minor.is_some_and(|m| (21..=27).contains(&m)) {
        w.push(format!(
            "Written by {}; leakscope's reader is checked against Go 1.21–1.27 dumps. The record format is \
             old and stable, but read the numbers with care.",
            s.go_version
        ));
    }
    w
}

fn next_steps(suspects: &[Suspect], sites: &[SiteRow], rules: &RuleSet) -> Vec<String> {
    let mut steps = Vec::new();
    let mut seen_sig = Vec::new();
    for s in suspects.iter().take(3) {
        if let Some(sig) = &s.signature {
            if let Some(r) = rules.file.signatures.iter().find(|r| &r.id == sig) {
                if !seen_sig.contains(sig) {
                    steps.push(format!("This matches the known leak \"{}\": {}", r.title, r.advice));
                    seen_sig.push(sig.clone());
                }
            }
        }
        let what = match s.root_kind {
            Some(RootKind::Data | RootKind::Bss) => format!(
                "Global {} holds {}: find where it is added to{} and whether entries are ever removed or bounded.",
                s.root,
                crate::report::units::bytes(s.retained as i64),
                s.accumulation
                    .as_ref()
                    .and_then(|a| a.groups.first())
                    .map(|g| format!(" (entries come from {})", g.label))
                    .unwrap_or_default()
            ),
            Some(RootKind::Goroutine | RootKind::Frame) => format!(
                "{} holds {} on its stack: check why it does not return (a missing timeout, an unclosed channel, \
                 a request that outlives its context).",
                s.label,
                crate::report::units::bytes(s.retained as i64)
            ),
            Some(_) => format!("{} keeps {} alive.", s.label, crate::report::units::bytes(s.retained as i64)),
            None => format!(
                "{} is reachable from several roots; follow the path below to the owner.",
                crate::report::units::bytes(s.retained as i64)
            ),
        };
        steps.push(what);
    }
    if suspects.is_empty() {
        if let Some(s) = sites.first() {
            steps.push(format!(
                "Take a second dump later and run `leakscope diff` on the pair: a single dump shows what is big, \
                 two show what grows. The largest site now is {} ({}).",
                s.function,
                crate::report::units::bytes(s.retained as i64)
            ));
        }
    } else {
        steps.push(
            "Take a second dump after more traffic or reloads and run `leakscope diff OLD NEW`: growth confirms a leak."
                .into(),
        );
    }
    steps
}

// ---------------------------------------------------------------------------
// Diff of two dumps.

/// One aligned aggregate in two dumps.
#[derive(Debug, Clone, Serialize)]
pub struct DeltaRow {
    /// Alignment key (root key, site stack, category or shape).
    pub key: String,
    /// What it is.
    pub label: String,
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

struct Agg {
    label: String,
    category: Option<String>,
    retained: u64,
    bytes: Option<u64>,
    objects: u64,
    kept_by: Option<String>,
}

fn root_aggs(v: &View<'_, '_>) -> FxHashMap<String, Agg> {
    let a = v.a;
    let mut m: FxHashMap<String, Agg> = FxHashMap::default();
    for i in 0..a.graph.roots.len() {
        let key = v.root_diff_key(i);
        let ret = a.retained[a.graph.root_node(i) as usize];
        let e = m.entry(key.clone()).or_insert_with(|| Agg {
            label: key.clone(),
            category: v.cat(a.root_attr[i].category),
            retained: 0,
            bytes: None,
            objects: 0,
            kept_by: None,
        });
        e.retained += ret;
        e.objects += 1;
    }
    m
}

fn site_aggs(v: &View<'_, '_>) -> FxHashMap<String, Agg> {
    let a = v.a;
    let nb = a.dump.buckets.len();
    let ret = &a.site_retained;
    let shallow = a.site_shallow();
    let keepers = site_keepers(v, nb);
    let mut m: FxHashMap<String, Agg> = FxHashMap::default();
    for b in 0..nb {
        if shallow[b].objects == 0 {
            continue;
        }
        let d = a.dump;
        let stack: Vec<&str> = d.bucket_frames(&d.buckets[b]).iter().map(|f| d.str(f.func)).collect();
        let key = stack.join(" < ");
        let e = m.entry(key).or_insert_with(|| Agg {
            label: a.site_function(b as u32).to_string(),
            category: v.cat(a.bucket_attr[b].category),
            retained: 0,
            bytes: Some(0),
            objects: 0,
            kept_by: Some(match keepers[b] {
                NONE => "shared (several roots)".into(),
                k => v.root_diff_key(a.graph.root_of_node(k).unwrap_or(0)),
            }),
        });
        e.retained += ret[b];
        e.bytes = Some(e.bytes.unwrap_or(0) + shallow[b].bytes);
        e.objects += shallow[b].objects;
    }
    m
}

fn category_aggs(v: &View<'_, '_>) -> FxHashMap<String, Agg> {
    categories(v)
        .into_iter()
        .map(|c| {
            (
                c.name.clone(),
                Agg {
                    label: c.name,
                    category: None,
                    retained: c.retained,
                    bytes: Some(c.shallow.bytes),
                    objects: c.shallow.objects,
                    kept_by: None,
                },
            )
        })
        .collect()
}

fn shape_aggs(v: &View<'_, '_>) -> FxHashMap<String, Agg> {
    let a = v.a;
    let ns = a.shapes.len();
    let ret = &a.shape_retained;
    let shallow = a.group_shallow(&a.obj_shape, ns);
    let mut m: FxHashMap<String, Agg> = FxHashMap::default();
    for s in 0..ns {
        if shallow[s].objects == 0 {
            continue;
        }
        let label = a.shapes[s].label();
        let e = m.entry(label.clone()).or_insert_with(|| Agg {
            label,
            category: None,
            retained: 0,
            bytes: Some(0),
            objects: 0,
            kept_by: None,
        });
        e.retained += ret[s];
        e.bytes = Some(e.bytes.unwrap_or(0) + shallow[s].bytes);
        e.objects += shallow[s].objects;
    }
    m
}

/// Aligns aggregates by key. Rows are ordered by the change of their own
/// live bytes when `by_bytes` (sites, shapes: what a heap profile would show
/// grew), else by the change of retained bytes (roots, categories).
fn align(base: FxHashMap<String, Agg>, new: FxHashMap<String, Agg>, top: usize, by_bytes: bool) -> Vec<DeltaRow> {
    let mut rows: Vec<DeltaRow> = Vec::new();
    let mut base = base;
    let row = |key: String, b: Option<Agg>, n: Option<Agg>| {
        let (label, category, kept_by) = match (&n, &b) {
            (Some(n), _) => (n.label.clone(), n.category.clone(), n.kept_by.clone()),
            (None, Some(b)) => (b.label.clone(), b.category.clone(), None),
            _ => unreachable!("a key comes from one side at least"),
        };
        let ret = |x: &Option<Agg>| x.as_ref().map_or(0, |a| a.retained);
        let bytes = |x: &Option<Agg>| x.as_ref().map(|a| a.bytes.unwrap_or(0));
        let has_bytes = n.as_ref().or(b.as_ref()).is_some_and(|a| a.bytes.is_some());
        let (bb, nb) =
            if has_bytes { (Some(bytes(&b).unwrap_or(0)), Some(bytes(&n).unwrap_or(0))) } else { (None, None) };
        DeltaRow {
            key,
            label,
            category,
            base: ret(&b),
            new: ret(&n),
            delta: ret(&n) as i64 - ret(&b) as i64,
            base_bytes: bb,
            new_bytes: nb,
            bytes_delta: bb.zip(nb).map(|(x, y)| y as i64 - x as i64),
            base_objects: b.as_ref().map_or(0, |a| a.objects),
            new_objects: n.as_ref().map_or(0, |a| a.objects),
            kept_by,
        }
    };
    for (k, n) in new {
        let b = base.remove(&k);
        rows.push(row(k, b, Some(n)));
    }
    for (k, b) in base {
        rows.push(row(k, Some(b), None));
    }
    let key = |r: &DeltaRow| if by_bytes { r.bytes_delta.unwrap_or(0) } else { r.delta };
    rows.sort_by(|x, y| key(y).cmp(&key(x)).then_with(|| y.delta.cmp(&x.delta)).then_with(|| x.key.cmp(&y.key)));
    rows.retain(|r| r.delta != 0 || r.bytes_delta.is_some_and(|d| d != 0));
    rows.truncate(top);
    rows
}

/// Builds the diff of two analysed dumps.
pub fn build_diff(
    base: &Analysis<'_>,
    base_file: &str,
    new: &Analysis<'_>,
    new_file: &str,
    rules: &RuleSet,
    o: &Options,
) -> HeapDiffReport {
    let vb = View::new(base, rules);
    let vn = View::new(new, rules);
    let sb = summary(base, base_file);
    // The new dump's own report gives its summary, suspects and next steps.
    let one = build_from(&vn, new_file, o);
    let sn = one.summary.clone();
    let reachable_delta = sn.reachable.bytes as i64 - sb.reachable.bytes as i64;
    let grew = reachable_delta >= 64 * 1024 && reachable_delta as f64 >= 0.10 * sb.reachable.bytes as f64;
    let roots = align(root_aggs(&vb), root_aggs(&vn), o.top, false);
    let sites = align(site_aggs(&vb), site_aggs(&vn), o.top, true);
    let categories = align(category_aggs(&vb), category_aggs(&vn), usize::MAX, false);
    let shapes = align(shape_aggs(&vb), shape_aggs(&vn), o.top, true);
    let b = |x: i64| crate::report::units::bytes(x);
    let verdict = if !grew {
        format!(
            "No significant growth: the reachable heap changed by {} ({} → {}).",
            crate::report::render::signed(reachable_delta, "bytes"),
            b(sb.reachable.bytes as i64),
            b(sn.reachable.bytes as i64)
        )
    } else {
        let what = match (roots.first(), sites.first()) {
            (Some(r), Some(s)) => format!(
                "; most under {} ({} retained), allocated in {} ({} live), kept by {}",
                r.label,
                crate::report::render::signed(r.delta, "bytes"),
                s.label,
                crate::report::render::signed(s.bytes_delta.unwrap_or(0), "bytes"),
                s.kept_by.as_deref().unwrap_or("?")
            ),
            (Some(r), None) => {
                format!("; most under {} ({})", r.label, crate::report::render::signed(r.delta, "bytes"))
            }
            _ => String::new(),
        };
        format!(
            "The reachable heap grew by {} ({} → {}, {:+.0}%){what}.",
            b(reachable_delta),
            b(sb.reachable.bytes as i64),
            b(sn.reachable.bytes as i64),
            reachable_delta as f64 * 100.0 / (sb.reachable.bytes.max(1)) as f64
        )
    };
    let mut warnings = one.warnings.clone();
    if sb.go_version != sn.go_version {
        warnings.push(format!("The dumps come from different Go versions ({} and {}).", sb.go_version, sn.go_version));
    }
    let mut next_steps = Vec::new();
    if grew {
        if let Some(s) = sites.first() {
            next_steps.push(format!(
                "{} grew by {}: look at what {} keeps and why it is never released.",
                s.label,
                b(s.bytes_delta.unwrap_or(0)),
                s.kept_by.as_deref().unwrap_or("its root")
            ));
        }
        next_steps.extend(one.next_steps.iter().filter(|s| !s.starts_with("Take a second dump")).cloned());
    } else {
        next_steps.push("Nothing grew enough to chase; compare dumps further apart in time.".into());
    }
    let mut fl: FxHashMap<String, (i64, i64)> = FxHashMap::default();
    for (k, x) in folded(&vb) {
        fl.entry(k).or_default().0 += x as i64;
    }
    for (k, x) in folded(&vn) {
        fl.entry(k).or_default().1 += x as i64;
    }
    let mut flame: Vec<Folded> = fl.into_iter().map(|(stack, (base, new))| Folded { stack, base, new }).collect();
    flame.sort_unstable_by(|x, y| x.stack.cmp(&y.stack));
    HeapDiffReport {
        flame,
        schema: DIFF_SCHEMA,
        base: sb,
        new: sn,
        reachable_delta,
        grew,
        verdict,
        roots,
        sites,
        categories,
        shapes,
        suspects: one.suspects,
        warnings,
        next_steps,
    }
}
