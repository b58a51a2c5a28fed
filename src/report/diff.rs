//! The leak report of a two-snapshot diff: one model (serde), rendered as
//! text, Markdown and JSON by `report::render`.
//!
//! Layout follows Eclipse MAT's Leak Suspects: the verdict first, then the
//! evidence (categories, known signatures, growing sites with their
//! stacks, growth paths), then what shrank.

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::attribute::{FrameClass, RuleSet, UNATTRIBUTED};
use crate::diff::Diff;
use crate::graph::retention::RetentionGraph;
use crate::graph::Granularity;

/// JSON schema name and version of [`DiffReport`].
pub const SCHEMA: &str = "leakscope.diff/v1";

/// Thresholds of the verdict (see README, "Verdict").
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Thresholds {
    /// Growth below this (in the sample type's unit) is never a leak.
    /// For bytes: the larger of `--min-growth` and 4 sampling periods.
    pub min_growth: i64,
    /// Growth must also be at least this fraction of BASE's total.
    pub min_growth_ratio: f64,
}

/// One input.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotInfo {
    /// Path as given.
    pub file: String,
    /// Profile time, ns since the epoch (0 if unknown).
    pub time_nanos: i64,
    /// Total of the sample type (signed sum).
    pub total: i64,
}

/// The verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Growth that looks like a leak.
    pub leak: bool,
    /// The category that grew most, when `leak`.
    pub category: Option<String>,
    /// `high`, `medium` or `low`.
    pub confidence: &'static str,
    /// One sentence.
    pub headline: String,
    /// The checks behind it, with their numbers.
    pub reasons: Vec<String>,
}

/// One category's change.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryRow {
    /// Category name.
    pub name: String,
    /// Value in BASE.
    pub base: i64,
    /// Value in NEW.
    pub new: i64,
    /// NEW − BASE.
    pub delta: i64,
    /// Share of all positive category growth, 0..1.
    pub share_of_growth: f64,
    /// Named as leaking: the verdict is a leak and this category grew by
    /// at least the absolute threshold and 10% of the growth.
    pub suspect: bool,
}

/// A known-leak signature found in the stacks.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureHit {
    /// Signature id.
    pub id: String,
    /// What it is.
    pub title: String,
    /// Category its memory is counted in.
    pub category: String,
    /// Affected versions.
    pub affected: String,
    /// Fixing version.
    pub fixed_in: String,
    /// What to do.
    pub advice: String,
    /// Issues.
    pub references: Vec<String>,
    /// Value in BASE.
    pub base: i64,
    /// Value in NEW.
    pub new: i64,
    /// NEW − BASE.
    pub delta: i64,
}

/// A growing (or shrinking) site: memory grouped by category and the frame
/// that decided it.
#[derive(Debug, Clone, Serialize)]
pub struct Site {
    /// Category name.
    pub category: String,
    /// The attributing frame (for unattributed sites, the first frame
    /// above the allocator plumbing).
    pub frame: String,
    /// Why: `rule <regex>`, `signature <id>`, or `no rule matched`.
    pub rule: String,
    /// Value in BASE.
    pub base: i64,
    /// Value in NEW.
    pub new: i64,
    /// NEW − BASE.
    pub delta: i64,
    /// Change of the matching object count (inuse_objects for
    /// inuse_space), when the profile has it.
    pub objects_delta: Option<i64>,
    /// The stack of this site that changed most, leaf first, plumbing
    /// removed and trimmed a few frames above the attributing frame.
    pub stack: Vec<String>,
    /// Frames left out of `stack` on the root side.
    pub stack_elided: usize,
}

/// A function row, as `top` but with deltas.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionRow {
    /// Name as stored (functions granularity) or pprof's printable name.
    pub name: String,
    /// Flat NEW − BASE.
    pub flat_delta: i64,
    /// Cum NEW − BASE.
    pub cum_delta: i64,
    /// Flat in NEW.
    pub flat_new: i64,
    /// Cum in NEW.
    pub cum_new: i64,
}

/// A heavy growth path through the retention graph.
#[derive(Debug, Clone, Serialize)]
pub struct PathRow {
    /// Growth entering the path at the root.
    pub delta: i64,
    /// Frames from the root toward the leaf, with the growth carried.
    pub frames: Vec<PathFrame>,
}

/// One frame of a growth path.
#[derive(Debug, Clone, Serialize)]
pub struct PathFrame {
    /// Function.
    pub name: String,
    /// Growth flowing into it along the path.
    pub delta: i64,
}

/// Who is likely responsible for growth no rule attributed.
#[derive(Debug, Clone, Serialize)]
pub struct Hint {
    /// The deepest non-plumbing frame carrying at least half of it.
    pub frame: String,
    /// Growth through that frame.
    pub delta: i64,
    /// Of all unattributed growth, 0..1.
    pub share: f64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// The earlier snapshot.
    pub base: SnapshotInfo,
    /// The later snapshot.
    pub new: SnapshotInfo,
    /// Reported sample type.
    pub sample_type: SampleType,
    /// Function-table granularity.
    pub granularity: Granularity,
    /// Whether NEW was scaled to BASE's total (`--normalize`).
    pub normalized: bool,
    /// Seconds between the snapshots, when both carry a time.
    pub interval_seconds: Option<f64>,
    /// NEW − BASE total.
    pub total_delta: i64,
    /// Growth per hour, when the interval is known.
    pub delta_per_hour: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
    /// What to do next.
    pub next_steps: Vec<String>,
    /// Thresholds used.
    pub thresholds: Thresholds,
    /// Categories with any memory, by delta descending.
    pub categories: Vec<CategoryRow>,
    /// Known-leak signatures present in either snapshot.
    pub signatures: Vec<SignatureHit>,
    /// Sites that grew most.
    pub sites: Vec<Site>,
    /// Sites that shrank most.
    pub shrank: Vec<Site>,
    /// Heaviest growth paths from the root.
    pub growth_paths: Vec<PathRow>,
    /// Hint for unattributed growth.
    pub unattributed_hint: Option<Hint>,
    /// Function table rows with a change, by |flat delta|.
    pub functions: Vec<FunctionRow>,
    /// Function rows before `--nodecount`.
    pub functions_total: usize,
    /// NEW's heap profile beside its runtime MemStats, when it has them.
    pub reconciliation: Option<super::reconcile::Reconciliation>,
}

/// A sample type.
#[derive(Debug, Clone, Serialize)]
pub struct SampleType {
    /// e.g. `inuse_space`.
    pub name: String,
    /// e.g. `bytes`.
    pub unit: String,
}

/// Report options.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Input names.
    pub base_file: String,
    /// Input names.
    pub new_file: String,
    /// Sample type index in the diff.
    pub sample_type: usize,
    /// Rows per table (0 = all).
    pub nodecount: usize,
    /// `--min-growth` in the sample type's unit (bytes types only).
    pub min_growth: i64,
    /// `--min-growth-pct` / 100.
    pub min_growth_ratio: f64,
    /// Granularity used.
    pub granularity: Granularity,
    /// `--normalize` was given.
    pub normalized: bool,
}

impl Options {
    /// The options `leakscope diff BASE NEW --format json` uses when given
    /// no other flag: the first sample type (the CLI picks `inuse_space`),
    /// ten rows, growth of at least 1 MiB and 10% of the base, function
    /// granularity. Benchmarks and examples start from this, so that they
    /// time what the CLI does.
    pub fn new(base_file: impl Into<String>, new_file: impl Into<String>) -> Options {
        Options {
            base_file: base_file.into(),
            new_file: new_file.into(),
            sample_type: 0,
            nodecount: 10,
            min_growth: 1 << 20,
            min_growth_ratio: 0.1,
            granularity: Granularity::Functions,
            normalized: false,
        }
    }
}

fn advice(category: &str) -> &'static str {
    match category {
        "http-request" => "Objects allocated while serving requests outlive them: look for request contexts, bodies or per-request state kept in maps, caches or goroutines waiting on a context that never ends. Diff goroutine profiles (/debug/pprof/goroutine) for groups that grow with traffic.",
        "config-reload" => "Each configuration reload leaves state behind: check the reload rate (Traefik: traefik_config_reloads_total), old handler chains or listeners kept in registries, and goroutines started per reload (goroutine profile: logrus writerScanner, go-cache janitor).",
        "metrics" => "A metrics collector keeps adding series: look for labels with unbounded values (request IDs, raw paths, client IPs) and series of removed routers or services that are never deleted; count the series on /metrics.",
        "tls" => "TLS state accumulates: certificate stores rebuilt per reload, session caches, or ACME state. Check how often TLS configuration is rebuilt.",
        "conn-pool" => "Outbound connections accumulate: idle persistConns or HTTP/2 client connections. Check response bodies that are never closed, per-request Transports, MaxIdleConnsPerHost and IdleConnTimeout.",
        "logging" => "Loggers or access-log buffers accumulate: look for logger instances created per request or per reload and unbounded log buffers.",
        "tracing" => "Spans or exporter queues accumulate: look for spans that are never ended and exporters that cannot keep up.",
        "plugins" => "Plugin instances accumulate across reloads: interpreter or WASM instances that are never closed.",
        "k8s-provider" => "Kubernetes informer caches grow: check the watched namespaces and object counts (Secrets, Endpoints/EndpointSlices) and managedFields; a slow event handler also grows its pending buffer.",
        "goroutines" => "More goroutine structures are live: goroutines are being started and not finishing. Diff two goroutine profiles to find the creating function.",
        _ => "No rule knows this growth. The hint names the frame through which most of it flows; add a category for it with --rules to track it.",
    }
}

/// The matching object-count type for a space type.
fn objects_type(d: &Diff, t: usize) -> Option<usize> {
    let name = &d.types[t].0;
    let obj = name.strip_suffix("_space").map(|p| format!("{p}_objects"))?;
    d.type_index(&obj)
}

/// Builds the report for sample type `o.sample_type`.
pub fn build(d: &Diff, rules: &RuleSet, o: &Options) -> DiffReport {
    let t = o.sample_type;
    let nt = d.ntypes();
    let (name, unit) = d.types[t].clone();
    let ncat = rules.file.categories.len();
    let cat_name = |c: usize| if c == ncat { UNATTRIBUTED.to_string() } else { rules.file.categories[c].name.clone() };
    let objs = objects_type(d, t);

    // Categories.
    let mut cats: Vec<CategoryRow> = (0..=ncat)
        .filter_map(|c| {
            let (b, n) = d.category(c, t);
            (b != 0 || n != 0).then(|| CategoryRow {
                name: cat_name(c),
                base: b,
                new: n,
                delta: n.saturating_sub(b),
                share_of_growth: 0.0,
                suspect: false,
            })
        })
        .collect();
    let growth: i64 = cats.iter().map(|c| c.delta.max(0)).fold(0, i64::saturating_add);
    for c in &mut cats {
        c.share_of_growth = if growth > 0 { c.delta.max(0) as f64 / growth as f64 } else { 0.0 };
    }
    cats.sort_by(|a, b| b.delta.cmp(&a.delta).then_with(|| a.name.cmp(&b.name)));

    // Sites: (category row, deciding frame, signature).
    #[derive(Default)]
    struct Acc {
        base: i64,
        new: i64,
        obj: i64,
        best: Option<(i64, usize)>,
        worst: Option<(i64, usize)>,
    }
    // The retention graph is built on another thread while the sites are
    // summed: the two are independent passes over the stacks.
    let (g, (sites, sig_acc)) = rayon::join(
        || RetentionGraph::build(d, t, |_| true),
        || {
            let mut sites: FxHashMap<(usize, u32, Option<u16>, Option<u32>), Acc> = FxHashMap::default();
            let mut sig_acc: Vec<(i64, i64, bool)> = vec![(0, 0, false); rules.file.signatures.len()];
            for (s, a) in d.attributions.iter().enumerate() {
                let (b, n) = (d.base[s * nt + t], d.new[s * nt + t]);
                if b == 0 && n == 0 {
                    continue;
                }
                let frames = d.stacks.get(s);
                let frame = frames.get(a.frame).copied().unwrap_or(u32::MAX);
                let c = a.category.map_or(ncat, usize::from);
                let e = sites
                    .entry((c, frame, a.signature, if a.signature.is_some() { None } else { a.rule }))
                    .or_default();
                e.base = e.base.saturating_add(b);
                e.new = e.new.saturating_add(n);
                if let Some(ot) = objs {
                    e.obj = e.obj.saturating_add(d.new[s * nt + ot].saturating_sub(d.base[s * nt + ot]));
                }
                let delta = n.saturating_sub(b);
                if e.best.is_none_or(|(x, _)| delta > x) {
                    e.best = Some((delta, s));
                }
                if e.worst.is_none_or(|(x, _)| delta < x) {
                    e.worst = Some((delta, s));
                }
                if let Some(si) = a.signature {
                    let acc = &mut sig_acc[si as usize];
                    acc.0 = acc.0.saturating_add(b);
                    acc.1 = acc.1.saturating_add(n);
                    acc.2 = true;
                }
            }
            // In key order, as the rows were when this was a BTreeMap: the
            // sorts below are stable, so ties keep this order.
            let mut sites: Vec<_> = sites.into_iter().collect();
            sites.sort_unstable_by_key(|e| e.0);
            (sites, sig_acc)
        },
    );
    let trimmed = |s: usize, decide: usize| -> (Vec<String>, usize) {
        let frames = d.stacks.get(s);
        let mut out = Vec::new();
        let mut after = 0;
        let mut elided = 0;
        for (i, &f) in frames.iter().enumerate() {
            if d.frame_info[f as usize].class == FrameClass::Plumbing && i != decide {
                continue;
            }
            if i > decide {
                if after >= 3 {
                    elided += 1;
                    continue;
                }
                after += 1;
            }
            out.push(d.frames[f as usize].clone());
        }
        (out, elided)
    };
    let mut site_rows: Vec<(Site, Option<usize>, Option<usize>)> = sites
        .into_iter()
        .map(|((c, frame, sig, rule), acc)| {
            let why = match (sig, rule) {
                (Some(si), _) => format!("signature {}", rules.file.signatures[si as usize].id),
                (None, Some(r)) => format!("rule {}", rules.pattern(r)),
                (None, None) => "no rule matched".to_string(),
            };
            let fname = if frame == u32::MAX { "<no frames>".to_string() } else { d.frames[frame as usize].clone() };
            let site = Site {
                category: cat_name(c),
                frame: fname,
                rule: why,
                base: acc.base,
                new: acc.new,
                delta: acc.new.saturating_sub(acc.base),
                objects_delta: objs.map(|_| acc.obj),
                stack: Vec::new(),
                stack_elided: 0,
            };
            (site, acc.best.map(|b| b.1), acc.worst.map(|w| w.1))
        })
        .collect();
    let limit = |n: usize| if o.nodecount == 0 { n } else { o.nodecount.min(n) };
    let mut grow: Vec<_> = site_rows.iter().filter(|r| r.0.delta > 0).cloned().collect();
    grow.sort_by(|a, b| b.0.delta.cmp(&a.0.delta).then_with(|| a.0.frame.cmp(&b.0.frame)));
    grow.truncate(limit(grow.len()));
    site_rows.retain(|r| r.0.delta < 0);
    site_rows.sort_by(|a, b| a.0.delta.cmp(&b.0.delta).then_with(|| a.0.frame.cmp(&b.0.frame)));
    site_rows.truncate(limit(site_rows.len()));
    let with_stack = |(mut site, best, worst): (Site, Option<usize>, Option<usize>), growing: bool| {
        if let Some(s) = if growing { best } else { worst } {
            (site.stack, site.stack_elided) = trimmed(s, d.attributions[s].frame);
        }
        site
    };
    let sites: Vec<Site> = grow.into_iter().map(|r| with_stack(r, true)).collect();
    let shrank: Vec<Site> = site_rows.into_iter().map(|r| with_stack(r, false)).collect();

    let signatures: Vec<SignatureHit> = sig_acc
        .iter()
        .enumerate()
        .filter(|(_, a)| a.2)
        .map(|(i, a)| {
            let s = &rules.file.signatures[i];
            SignatureHit {
                id: s.id.clone(),
                title: s.title.clone(),
                category: s.category.clone(),
                affected: s.affected.clone(),
                fixed_in: s.fixed_in.clone(),
                advice: s.advice.clone(),
                references: s.references.clone(),
                base: a.0,
                new: a.1,
                delta: a.1.saturating_sub(a.0),
            }
        })
        .collect();

    // Retention graph: growth paths, and who dominates unattributed growth.
    let growth_paths: Vec<PathRow> = g
        .growth_paths(3)
        .into_iter()
        .map(|p| PathRow {
            delta: p.deltas.first().copied().unwrap_or(0),
            frames: p
                .frames
                .iter()
                .zip(&p.deltas)
                .map(|(&f, &dl)| PathFrame { name: d.frames[f as usize].clone(), delta: dl })
                .collect(),
        })
        .collect();
    let unattr_growth = cats.iter().find(|c| c.name == UNATTRIBUTED).map_or(0, |c| c.delta);
    let unattributed_hint = if unattr_growth > 0 {
        let ug = RetentionGraph::build(d, t, |s| d.attributions[s].category.is_none() && d.stack_delta(s, t) > 0);
        ug.dominating_frame(d, 0.5).map(|(f, dl)| Hint {
            frame: d.frames[f as usize].clone(),
            delta: dl,
            share: {
                let pos: i64 = (0..d.stacks.len())
                    .filter(|&s| d.attributions[s].category.is_none())
                    .map(|s| d.stack_delta(s, t).max(0))
                    .fold(0, i64::saturating_add);
                if pos > 0 {
                    dl as f64 / pos as f64
                } else {
                    0.0
                }
            },
        })
    } else {
        None
    };

    // Function table.
    let mut fidx: Vec<usize> = (0..d.nodes.len())
        .filter(|&i| {
            let (f, c) = d.node_delta(i, t);
            f != 0 || c != 0
        })
        .collect();
    fidx.sort_by(|&a, &b| {
        let (fa, ca) = d.node_delta(a, t);
        let (fb, cb) = d.node_delta(b, t);
        fb.unsigned_abs()
            .cmp(&fa.unsigned_abs())
            .then_with(|| d.nodes[a].name.cmp(&d.nodes[b].name))
            .then_with(|| cb.unsigned_abs().cmp(&ca.unsigned_abs()))
    });
    let functions_total = fidx.len();
    let functions: Vec<FunctionRow> = fidx[..limit(fidx.len())]
        .iter()
        .map(|&i| {
            let (fd, cd) = d.node_delta(i, t);
            let n = &d.nodes[i];
            let name =
                if o.granularity == Granularity::Functions && !n.function.is_empty() { &n.function } else { &n.name };
            FunctionRow {
                name: name.clone(),
                flat_delta: fd,
                cum_delta: cd,
                flat_new: d.node_flat[1][i * nt + t],
                cum_new: d.node_cum[1][i * nt + t],
            }
        })
        .collect();

    // Verdict.
    let total_delta = d.total_delta(t);
    let base_total = d.base_totals[t];
    let bytes = unit == "bytes";
    // Counts (goroutines, objects) are not sampled by size: ten is the
    // smallest change worth a verdict.
    let min_growth = if bytes { o.min_growth.max(d.period.max(0).saturating_mul(4)) } else { 10 };
    let thresholds = Thresholds { min_growth, min_growth_ratio: o.min_growth_ratio };
    let interval_seconds =
        (d.base_time > 0 && d.new_time > d.base_time).then(|| (d.new_time - d.base_time) as f64 / 1e9);
    let delta_per_hour = interval_seconds.map(|s| total_delta as f64 / s * 3600.0);
    let top = cats.iter().filter(|c| c.delta > 0).max_by_key(|c| c.delta).cloned();
    let fmt = |v: i64| super::units::human(v, &unit);
    let ratio = if base_total > 0 { total_delta as f64 / base_total as f64 } else { f64::INFINITY };
    let mut reasons = Vec::new();
    let abs_ok = total_delta >= min_growth.max(1);
    let rel_ok = total_delta as f64 >= o.min_growth_ratio * base_total as f64;
    reasons.push(format!(
        "{} grew by {} ({}{}), threshold {} and {:.0}% of the base",
        name,
        fmt(total_delta),
        if base_total > 0 { format!("{:+.1}%", ratio * 100.0) } else { "from zero".to_string() },
        delta_per_hour.map_or(String::new(), |r| format!(", {}/h", fmt(r as i64))),
        fmt(min_growth),
        o.min_growth_ratio * 100.0
    ));
    let top_ok = top.as_ref().is_some_and(|c| c.delta >= min_growth);
    let leak = abs_ok && rel_ok && top_ok;
    let sig_strong = signatures
        .iter()
        .filter(|s| s.delta > 0 && s.delta.saturating_mul(2) >= min_growth.max(1))
        .max_by_key(|s| s.delta);
    if let Some(c) = &top {
        reasons.push(format!("{:.0}% of the growth is in {} (+{})", c.share_of_growth * 100.0, c.name, fmt(c.delta)));
    }
    let top_objects = top.as_ref().and_then(|c| {
        let ot = objs?;
        let ci = rules.category_index(&c.name).map_or(ncat, usize::from);
        let (b, n) = d.category(ci, ot);
        Some(n.saturating_sub(b))
    });
    if let (Some(od), Some(c)) = (top_objects, &top) {
        let sign = if od > 0 { "+" } else { "" };
        reasons.push(format!(
            "{} in {} changed by {sign}{}",
            d.types[objs.unwrap_or(0)].0,
            c.name,
            super::units::count(od)
        ));
    }
    if let Some(s) = sig_strong {
        reasons.push(format!("matches known leak {} (+{})", s.id, fmt(s.delta)));
    }
    if interval_seconds.is_none() {
        reasons.push("the profiles carry no times, so no growth rate".to_string());
    }
    // One or two huge objects (an arena, a buffer, a preallocated cache)
    // are how warm-up looks; leaks accumulate many objects.
    let lumpy = sites.first().filter(|s| {
        s.objects_delta.is_some_and(|o| (0..=4).contains(&o))
            && s.delta.saturating_mul(2) >= total_delta
            && total_delta > 0
    });
    if let Some(s) = lumpy {
        reasons.push(format!(
            "most of the growth ({}) is {} object(s) allocated at {}: one large allocation (an arena, buffer or preallocated cache) looks like warm-up, not accumulation",
            fmt(s.delta),
            s.objects_delta.unwrap_or(0),
            s.frame
        ));
    }
    let confidence = if leak && lumpy.is_some() {
        "low"
    } else if leak {
        let share = top.as_ref().map_or(0.0, |c| c.share_of_growth);
        if sig_strong.is_some()
            || (ratio >= 0.25
                && total_delta >= min_growth.saturating_mul(2)
                && share >= 0.5
                && top_objects.is_none_or(|o| o > 0))
        {
            "high"
        } else if total_delta >= min_growth.saturating_mul(2) || share >= 0.5 {
            "medium"
        } else {
            "low"
        }
    } else if total_delta.saturating_mul(2) < min_growth || !rel_ok {
        "high"
    } else {
        "medium"
    };
    let headline = if leak {
        let c = top.as_ref().map_or(UNATTRIBUTED, |c| c.name.as_str());
        let sig = sig_strong.map_or(String::new(), |s| format!("; matches {} (fixed in {})", s.title, s.fixed_in));
        format!(
            "LEAK SUSPECTED ({confidence} confidence): {name} grew {}{} since the base, mostly in {c}{sig}",
            fmt(total_delta),
            delta_per_hour.map_or(String::new(), |r| format!(" ({}/h)", fmt(r as i64))),
        )
    } else if total_delta > 0 {
        format!("No leak: {name} grew {}, below the leak thresholds", fmt(total_delta))
    } else {
        format!("No leak: {name} did not grow ({})", fmt(total_delta))
    };
    if !leak {
        if !abs_ok {
            reasons.push(format!("growth is below the absolute threshold {}", fmt(min_growth)));
        }
        if !rel_ok {
            reasons.push(format!("growth is below {:.0}% of the base", o.min_growth_ratio * 100.0));
        }
        if abs_ok && rel_ok && !top_ok {
            reasons.push("growth is spread thin: no single category grew by the threshold".to_string());
        }
    }
    if leak {
        for c in &mut cats {
            c.suspect = c.delta > 0 && c.delta >= min_growth && c.share_of_growth >= 0.10;
        }
    }
    let mut next_steps = Vec::new();
    for s in &signatures {
        if s.delta > 0 {
            next_steps.push(format!("{}: {} (affected: {}; fixed in {})", s.id, s.advice, s.affected, s.fixed_in));
        }
    }
    if leak {
        if let Some(c) = &top {
            next_steps.push(format!("{}: {}", c.name, advice(&c.name)));
        }
        if let Some(h) = &unattributed_hint {
            if top.as_ref().is_some_and(|c| c.name == UNATTRIBUTED) {
                next_steps.push(format!("Unattributed growth flows mostly through {}: start there.", h.frame));
            }
        }
        next_steps.push(
            "Two snapshots cannot tell a leak from warm-up or a growing cache: take another snapshot later under the same load and diff again; growth that continues is a leak."
                .to_string(),
        );
    }

    DiffReport {
        schema: SCHEMA,
        base: SnapshotInfo { file: o.base_file.clone(), time_nanos: d.base_time, total: base_total },
        new: SnapshotInfo { file: o.new_file.clone(), time_nanos: d.new_time, total: d.new_totals[t] },
        sample_type: SampleType { name, unit },
        granularity: o.granularity,
        normalized: o.normalized,
        interval_seconds,
        total_delta,
        delta_per_hour,
        verdict: Verdict {
            leak,
            category: if leak { top.map(|c| c.name) } else { None },
            confidence,
            headline,
            reasons,
        },
        next_steps,
        thresholds,
        categories: cats,
        signatures,
        sites,
        shrank,
        growth_paths,
        unattributed_hint,
        functions,
        functions_total,
        reconciliation: d
            .new_memstats
            .as_ref()
            .filter(|_| d.types[t].0 == "inuse_space")
            .map(|m| super::reconcile::Reconciliation::from_memstats(d.new_totals[t], m)),
    }
}
