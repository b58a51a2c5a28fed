//! Builds the leak report model ([`crate::report::diff::DiffReport`]) of a
//! diff: categories, signatures, sites with their stacks, growth paths,
//! the function table, and the verdict with its reasons and next steps.
//!
//! This is analysis: it decides, sums and words the verdict, but knows no
//! output format. Renderers in [`crate::report`] only lay the model out.

use rustc_hash::FxHashMap;

use super::retention::RetentionGraph;
use super::Diff;
use crate::attribute::{FrameClass, RuleSet, UNATTRIBUTED};
use crate::profile::Granularity;
use crate::report::diff::*;

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
    /// Whether the snapshots come from one process ([`super::restart::compare`]).
    pub processes: super::restart::Processes,
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
            processes: Default::default(),
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

/// Position in stack `s` (leaf first) of its allocating function: the first
/// frame that is not plumbing, or the leaf when all are; `None` for a
/// stack of no frames.
pub fn allocating_position(d: &Diff, s: usize) -> Option<usize> {
    super::allocating_position_in(d.stacks.get(s), &d.frame_info)
}

/// The allocating function of stack `s` (see [`allocating_position`]), as
/// a frame id. The diff found it for every stack while attributing them.
pub fn allocating_frame(d: &Diff, s: usize) -> Option<u32> {
    Some(d.allocating[s]).filter(|&f| f != u32::MAX)
}

/// Keeps the `keep` first of `v` in `order` (a total order), sorted. A
/// report shows a few rows of tens of thousands: selecting them first
/// sorts only those.
fn top<T>(v: &mut Vec<T>, keep: usize, order: impl Fn(&T, &T) -> std::cmp::Ordering) {
    if keep < v.len() {
        v.select_nth_unstable_by(keep, &order);
        v.truncate(keep);
    }
    v.sort_unstable_by(order);
}

/// The frame through which most unattributed growth flows, when there is
/// unattributed growth: the dominating frame of the retention graph of the
/// unattributed growing stacks.
fn unattributed_hint(d: &Diff, t: usize, cats: &[CategoryRow]) -> Option<Hint> {
    let unattr_growth = cats.iter().find(|c| c.name == UNATTRIBUTED).map_or(0, |c| c.delta);
    if unattr_growth <= 0 {
        return None;
    }
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
}

/// The function table's rows for type `t` (the first `limit(n)` of the
/// `n` nodes that changed), and `n`. By |flat delta|, name, |cum delta|,
/// then node order.
fn function_rows(d: &Diff, o: &Options, t: usize, limit: impl Fn(usize) -> usize) -> (Vec<FunctionRow>, usize) {
    let nt = d.ntypes();
    let mut fidx: Vec<(u64, u64, usize)> = (0..d.nodes.len())
        .filter_map(|i| {
            let (f, c) = d.node_delta(i, t);
            (f != 0 || c != 0).then_some((f.unsigned_abs(), c.unsigned_abs(), i))
        })
        .collect();
    let functions_total = fidx.len();
    top(&mut fidx, limit(functions_total), |a, b| {
        b.0.cmp(&a.0)
            .then_with(|| d.nodes[a.2].name.cmp(&d.nodes[b.2].name))
            .then_with(|| b.1.cmp(&a.1))
            .then(a.2.cmp(&b.2))
    });
    let functions = fidx
        .iter()
        .map(|&(_, _, i)| {
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
    (functions, functions_total)
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

    // Sites: (category row, allocating function). The allocating function
    // is the first frame from the leaf that is not plumbing: the function
    // the user reads in `go tool pprof -top` (with the allocator and
    // library helpers hidden), whether or not a rule knows it. The
    // deciding frame and its rule explain the category; a site keeps those
    // of the stack that changed most in its direction.
    #[derive(Default)]
    struct Acc {
        base: i64,
        new: i64,
        obj: i64,
        best: Option<(i64, usize)>,
        worst: Option<(i64, usize)>,
    }
    let by_file = o.granularity == Granularity::Files;
    // Sites group by name: at files granularity, functions of one file are
    // one site.
    let site_name = |f: u32| -> u32 {
        if by_file {
            d.frame_file_ids.get(f as usize).copied().unwrap_or(f)
        } else {
            f
        }
    };
    let limit = |n: usize| if o.nodecount == 0 { n } else { o.nodecount.min(n) };
    // The growth paths are found on one thread while the other sums the
    // sites, then finds the unattributed hint and the function table: all
    // independent reads of the diff. The paths take longest on profiles
    // with shared prefixes, the sites on unstructured ones.
    let (paths, (sites, sig_acc, unattributed_hint, functions, functions_total)) = rayon::join(
        || RetentionGraph::growth_paths_of(d, t, 3),
        || {
            let mut sites: FxHashMap<(usize, u32), Acc> = FxHashMap::default();
            let mut sig_acc: Vec<(i64, i64, bool)> = vec![(0, 0, false); rules.file.signatures.len()];
            for (s, a) in d.attributions.iter().enumerate() {
                let (b, n) = (d.base[s * nt + t], d.new[s * nt + t]);
                if b == 0 && n == 0 {
                    continue;
                }
                let c = a.category.map_or(ncat, usize::from);
                let function = allocating_frame(d, s).map_or(u32::MAX, site_name);
                let e = sites.entry((c, function)).or_default();
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
            // In key order: the sorts below are stable, so ties keep it.
            let mut sites: Vec<_> = sites.into_iter().collect();
            sites.sort_unstable_by_key(|e| e.0);
            let unattributed_hint = unattributed_hint(d, t, &cats);
            let (functions, functions_total) = function_rows(d, o, t, limit);
            (sites, sig_acc, unattributed_hint, functions, functions_total)
        },
    );
    // A stack leaf first with plumbing removed (the deciding frame and the
    // allocating function are kept even when plumbing), cut three frames
    // above the deeper of the two.
    let trimmed = |s: usize, keep: usize, alloc: usize| -> (Vec<String>, usize) {
        let frames = d.stacks.get(s);
        let mut out = Vec::new();
        let mut after = 0;
        let mut elided = 0;
        let deepest = keep.max(alloc);
        for (i, &f) in frames.iter().enumerate() {
            if d.frame_info[f as usize].class == FrameClass::Plumbing && i != keep && i != alloc {
                continue;
            }
            if i > deepest {
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
    let name_of = |f: u32, files: bool| -> &str {
        if f == u32::MAX {
            "<no frames>"
        } else if let Some(file) = d.frame_files.get(f as usize).filter(|x| files && !x.is_empty()) {
            file
        } else {
            &d.frames[f as usize]
        }
    };
    // Rows stay numbers until they are kept: a profile can have tens of
    // thousands of sites, of which `nodecount` are shown, and building
    // every row's strings took longer than the rest of the report. The
    // growing ones by delta, the shrinking ones by loss, ties by name
    // and then in key order.
    let delta_of = |acc: &Acc| acc.new.saturating_sub(acc.base);
    let ranked = |growing: bool| {
        let mut rows: Vec<&((usize, u32), Acc)> =
            sites.iter().filter(|(_, acc)| if growing { delta_of(acc) > 0 } else { delta_of(acc) < 0 }).collect();
        // Keys are distinct: the last tie-break is the key order.
        let order = |(ka, a): &&((usize, u32), Acc), (kb, b): &&((usize, u32), Acc)| {
            let by_delta = if growing { delta_of(b).cmp(&delta_of(a)) } else { delta_of(a).cmp(&delta_of(b)) };
            by_delta.then_with(|| name_of(ka.1, by_file).cmp(name_of(kb.1, by_file))).then_with(|| ka.cmp(kb))
        };
        let keep = limit(rows.len());
        top(&mut rows, keep, order);
        rows
    };
    let site = |&&((c, function), ref acc): &&((usize, u32), Acc)| -> Site {
        // A ranked row grew or shrank (its delta is not zero). The
        // explanation: the deciding frame and rule of the stack that
        // changed most in the site's direction, whose stack is shown.
        let delta = delta_of(acc);
        let explain = if delta > 0 { acc.best } else { acc.worst }.map(|x| x.1);
        let (frame, why) = explain.map_or(("<no frames>".to_string(), "no rule matched".to_string()), |s| {
            let a = &d.attributions[s];
            let frame = d.stacks.get(s).get(a.frame).map_or(u32::MAX, |&f| f);
            let why = match (a.signature, a.rule) {
                (Some(si), _) => format!("signature {}", rules.file.signatures[si as usize].id),
                (None, Some(r)) => format!("rule {}", rules.pattern(r)),
                (None, None) => "no rule matched".to_string(),
            };
            (name_of(frame, false).to_string(), why)
        });
        let (stack, stack_elided) = explain
            .map_or((Vec::new(), 0), |s| trimmed(s, d.attributions[s].frame, allocating_position(d, s).unwrap_or(0)));
        Site {
            category: cat_name(c),
            function: name_of(function, by_file).to_string(),
            frame,
            rule: why,
            base: acc.base,
            new: acc.new,
            delta,
            objects_delta: objs.map(|_| acc.obj),
            stack,
            stack_elided,
        }
    };
    let sites: Vec<Site> = ranked(true).iter().map(site).collect();
    let shrank: Vec<Site> = ranked(false).iter().map(site).collect();

    let mut signatures: Vec<SignatureHit> = sig_acc
        .iter()
        .enumerate()
        .filter(|(_, a)| a.2)
        .map(|(i, a)| {
            let s = &rules.file.signatures[i];
            s.hit(a.0, a.1, s.ruled_out(d.frames.iter().map(String::as_str)))
        })
        .collect();

    // Retention graph: the growth paths as rows.
    let growth_paths: Vec<PathRow> = paths
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
    let fmt = |v: i64| crate::units::human(v, &unit);
    let ratio = if base_total > 0 { total_delta as f64 / base_total as f64 } else { f64::INFINITY };
    let mut reasons = Vec::new();
    let abs_ok = total_delta >= min_growth.max(1);
    let rel_ok = total_delta as f64 >= o.min_growth_ratio * base_total as f64;
    // A negative change is said as shrinking, never as "grew by -X".
    let change = if total_delta < 0 {
        format!("shrank by {}", fmt(total_delta.saturating_neg()))
    } else {
        format!("grew by {}", fmt(total_delta))
    };
    reasons.push(format!(
        "{} {change} ({}{}), threshold {} and {:.0}% of the base",
        name,
        if base_total > 0 { format!("{:+.1}%", ratio * 100.0) } else { "from zero".to_string() },
        delta_per_hour.map_or(String::new(), |r| format!(", {}/h", fmt(r as i64))),
        fmt(min_growth),
        o.min_growth_ratio * 100.0
    ));
    let top_ok = top.as_ref().is_some_and(|c| c.delta >= min_growth);
    // Two processes are no diff: never a leak, and never "no leak" either.
    let restarted = o.processes.restarted;
    let leak = abs_ok && rel_ok && top_ok && !restarted;
    // A signature counts only when its own growth passes the noise floor
    // and nothing rules it out: one sampled allocation of a known leak's
    // frames in a flat process is no reason to upgrade.
    for s in &mut signatures {
        s.growing = s.ruled_out_by.is_none() && s.delta >= min_growth.max(1);
    }
    let sig_strong = signatures.iter().filter(|s| s.growing).max_by_key(|s| s.delta);
    if let Some(c) = &top {
        if total_delta > 0 {
            reasons.push(format!(
                "{:.0}% of the growth is in {} (+{})",
                c.share_of_growth * 100.0,
                c.name,
                fmt(c.delta)
            ));
        } else {
            reasons.push(format!(
                "{} grew most of the categories that grew (+{}, {:.0}% of their growth) while the total did not",
                c.name,
                fmt(c.delta),
                c.share_of_growth * 100.0
            ));
        }
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
            crate::units::count(od)
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
            s.function
        ));
    }
    // Across a restart the diff judges nothing: confidence in it is low.
    let confidence = if restarted || (leak && lumpy.is_some()) {
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
    let headline = if restarted {
        format!(
            "CANNOT JUDGE: the process restarted between the snapshots, so the change in {name} ({}) compares two processes, not one process over time",
            fmt(total_delta)
        )
    } else if leak {
        let c = top.as_ref().map_or(UNATTRIBUTED, |c| c.name.as_str());
        let sig = sig_strong.map_or(String::new(), SignatureHit::headline_clause);
        format!(
            "LEAK SUSPECTED ({confidence} confidence): {name} grew {}{} since the base, mostly in {c}{sig}",
            fmt(total_delta),
            delta_per_hour.map_or(String::new(), |r| format!(" ({}/h)", fmt(r as i64))),
        )
    } else if total_delta > 0 {
        format!("No leak: {name} grew {}, below the leak thresholds", fmt(total_delta))
    } else {
        if total_delta < 0 {
            format!("No leak: {name} shrank by {}", fmt(total_delta.saturating_neg()))
        } else {
            format!("No leak: {name} did not grow")
        }
    };
    if restarted {
        let mut first = o.processes.evidence.clone();
        first.append(&mut reasons);
        reasons = first;
    } else if !leak {
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
    if restarted {
        next_steps.push(
            "Compare snapshots of one process: take a new BASE from the restarted process once it has warmed up and diff a later snapshot against it, or run `leakscope trend` over every snapshot, which splits the series at restarts and judges the last process."
                .to_string(),
        );
        next_steps.push(
            "If the old process was OOM-killed, its last snapshot before the kill is the best evidence of the leak: diff it against that process's first snapshot."
                .to_string(),
        );
    }
    for s in signatures.iter().filter(|_| !restarted) {
        if s.growing {
            next_steps.push(s.next_step());
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

    let warnings = o
        .processes
        .programs
        .iter()
        .map(|(b, n)| format!("BASE and NEW come from different programs: BASE {b}, NEW {n}"))
        .collect();
    DiffReport {
        schema: SCHEMA,
        schema_minor: SCHEMA_MINOR,
        base: SnapshotInfo { file: o.base_file.clone(), time_nanos: d.base_time, total: base_total },
        new: SnapshotInfo { file: o.new_file.clone(), time_nanos: d.new_time, total: d.new_totals[t] },
        restarted,
        warnings,
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
            .map(|m| crate::report::reconcile::Reconciliation::from_memstats(d.new_totals[t], m)),
    }
}
