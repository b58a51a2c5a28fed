//! Builds the heap-dump report models ([`crate::report::heap`]) from an
//! [`Analysis`]: the one-dump Leak Suspects report here, its suspects and
//! advice in `suspects.rs`, the two-dump diff in `diff.rs` ([`build_diff`]).
//!
//! Addresses differ between dumps, so the diff compares aggregates: retained
//! bytes per root (globals by name or segment offset, goroutines by their
//! stack), per allocation site (its stack), per category and per shape.

mod diff;
mod suspects;

use rustc_hash::FxHashMap;

use super::analysis::{Analysis, Totals};
use super::dominators::{NO_GROUP, UNREACHABLE};
use super::graph::RootKind;
use crate::attribute::RuleSet;
use crate::report::flame::{clean_name, Folded};
use crate::report::heap::*;
pub use diff::build_diff;
use suspects::{next_steps, suspect, warnings};

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
            crate::units::bytes(summary.reachable.bytes as i64)
        ),
        Some(s) => format!(
            "{} leak suspect{}: {} retain{} {} ({:.0}% of the reachable heap){}.",
            suspects.len(),
            if suspects.len() == 1 { "" } else { "s" },
            s.label,
            if s.count > 1 { "" } else { "s" },
            crate::units::bytes(s.retained as i64),
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
            crate::heap::export::UNSAMPLED.to_string()
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
