//! Many snapshots over time: per-site and per-category series, their
//! shapes, slopes, restarts, and a verdict.
//!
//! Each snapshot is reduced as soon as it is read (totals, categories, and
//! a site per allocating function) and then dropped. The sites, thousands
//! in a large service, go to a temporary file ([`spill`]) until the last
//! snapshot says which to show, so memory does not grow with the number
//! of snapshots beyond a small row each.
//! Snapshots are reduced in parallel and ordered by the profile's own time,
//! falling back to the file name.

pub mod reduce;
pub mod spill;
pub mod stats;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::attribute::{RuleSet, UNATTRIBUTED};
use crate::profile::Profile;
pub use crate::report::diff::Verdict;
pub use crate::report::reconcile::Reconciliation;
pub use crate::report::trend::{
    shape_name, CategorySeries, GoroutineGroup, GoroutineTrend, PerWork, Projection, Series, SignatureHit, SiteSeries,
    SnapshotRow, TrendReport, SCHEMA, SCHEMA_MINOR,
};
use crate::units;
pub use reduce::{parse_scrape, site_category, site_key, site_name, Kind, Reduced, Scrape, SiteKey, Sites};
pub use stats::Shape;

/// Options of a trend analysis.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--min-growth` (bytes).
    pub min_growth: i64,
    /// `--min-growth-pct` / 100.
    pub min_growth_ratio: f64,
    /// `--limit`: the container memory limit, for a projection.
    pub limit: Option<i64>,
    /// Rows per table (0 = all).
    pub nodecount: usize,
    /// `--strict`: a snapshot that cannot be read (or is no heap or
    /// goroutine profile) is an error, not skipped.
    pub strict: bool,
    /// `--sample-type`: the heap profiles' sample type to judge
    /// (`inuse_space` when `None`); a heap profile without it is unreadable.
    pub sample_type: Option<String>,
}

/// The key that pairs a /metrics scrape with a snapshot: the file name up
/// to `heap`, `goroutine` or `metrics` (`00-heap.pb.gz` ↔ `00-metrics.txt.gz`).
fn pair_key(p: &Path) -> Option<String> {
    let n = p.file_name()?.to_string_lossy().to_string();
    let i = ["heap", "goroutine", "metrics"].iter().filter_map(|k| n.find(k)).min()?;
    Some(n[..i].trim_end_matches(['-', '_', '.']).to_string())
}

fn series(values: Vec<i64>, t_hours: Option<&[f64]>, noise: f64) -> Series {
    let y: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    let idx: Vec<f64> = (0..y.len()).map(|i| i as f64).collect();
    let mk = stats::mann_kendall(&y);
    let shape = stats::classify(&y, noise);
    Series {
        shape,
        slope_per_hour: t_hours.map(|t| stats::theil_sen(t, &y)),
        slope_per_snapshot: stats::theil_sen(&idx, &y),
        growth: values.last().copied().unwrap_or(0).saturating_sub(values.first().copied().unwrap_or(0)),
        mann_kendall_p: mk.p,
        values,
    }
}

/// The Go package of a function name: `a/b/c.(*T).M` → `a/b/c`.
fn package_of(name: &str) -> &str {
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].find('.') {
        Some(i) => &name[..slash + i],
        None => name,
    }
}

/// What a trend is computed from: snapshot files, and /metrics scrapes.
/// [`crate::source::dir::snapshot_files`] lists them from the command line's
/// inputs; reading and decoding each one is the caller's (`load` in [`run`]).
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Profile files (heap and goroutine), in name order.
    pub profiles: Vec<PathBuf>,
    /// /metrics scrapes with their bytes, or why they could not be read.
    pub scrapes: Vec<(PathBuf, Result<Vec<u8>, String>)>,
    /// The inputs were named one by one, not found in directories: then
    /// any unreadable profile is an error rather than skipped.
    pub explicit: bool,
}

/// A function that reads and decodes one snapshot; its error names the file.
pub type Load<'a> = dyn Fn(&Path) -> Result<Profile, String> + Sync + 'a;

/// Reduces and analyses the inputs. Each profile is loaded with `load`,
/// reduced and dropped at once, in parallel.
pub fn run(inputs: &Inputs, load: &Load<'_>, rules: &RuleSet, o: &Options) -> Result<TrendReport, String> {
    // Sites go to a temporary file as each snapshot is reduced, so memory
    // does not grow with the number of snapshots ([`spill`]).
    run_inner(inputs, load, None, &spill::Spill::temp_file(), rules, o)
}

/// Analyses snapshots reduced elsewhere (e.g. from Pyroscope, issue 21)
/// with the `cache` they were reduced with, exactly as files are.
pub fn run_reduced(
    reduced: Vec<Reduced>,
    cache: reduce::FrameCache,
    rules: &RuleSet,
    o: &Options,
) -> Result<TrendReport, String> {
    let inputs = Inputs { explicit: true, ..Inputs::default() };
    let load = |p: &Path| -> Result<Profile, String> { Err(format!("{}: not a file", p.display())) };
    run_inner(&inputs, &load, Some((reduced, cache)), &spill::Spill::in_memory(), rules, o)
}

fn run_inner(
    inputs: &Inputs,
    load: &Load<'_>,
    given: Option<(Vec<Reduced>, reduce::FrameCache)>,
    spill: &spill::Spill,
    rules: &RuleSet,
    o: &Options,
) -> Result<TrendReport, String> {
    let explicit = inputs.explicit;
    let (given, cache) = given.map_or((None, reduce::FrameCache::default()), |(r, c)| (Some(r), c));
    // The outer error is fatal wherever the snapshot was found: a
    // `--sample-type` that a heap profile lacks is a usage error, not an
    // unreadable snapshot to skip.
    let results: Vec<Result<Reduced, String>> = match given {
        Some(r) => r.into_iter().map(Ok).collect(),
        None => inputs
            .profiles
            .par_iter()
            .map(|f| -> Result<Result<Reduced, String>, String> {
                let p = match load(f) {
                    Ok(p) => p,
                    Err(e) => return Ok(Err(e)),
                };
                match p.non_memory_kind() {
                    // Named on the command line, it was meant to be judged.
                    Some(kind) if explicit => Ok(Err(format!(
                        "{}: this is {kind}: trend judges heap profiles and goroutine profiles",
                        f.display()
                    ))),
                    _ => {
                        let mut r = reduce::reduce_as(f, &p, rules, &cache, o.sample_type.as_deref())?;
                        drop(p);
                        // A goroutine trend reads every snapshot's sites
                        // into memory anyway (a series per group).
                        if r.kind == Kind::Heap {
                            r.sites = spill.put(std::mem::take(&mut r.sites));
                        }
                        Ok(Ok(r))
                    }
                }
            })
            .collect::<Result<_, String>>()?,
    };
    let mut skipped = Vec::new();
    let mut heaps = Vec::new();
    let mut gors = Vec::new();
    for r in results {
        match r {
            Ok(r) if r.kind == Kind::Heap => heaps.push(r),
            Ok(r) if r.kind == Kind::Goroutine => gors.push(r),
            Ok(r) => {
                skipped.push(format!("{}: not a heap or goroutine profile ({})", r.path.display(), r.sample_type.0))
            }
            Err(e) if explicit => return Err(e),
            Err(e) if o.strict => return Err(format!("{e} (--strict)")),
            Err(e) => skipped.push(e),
        }
    }
    if o.strict {
        if let Some(s) = skipped.first() {
            return Err(format!("{s} (--strict)"));
        }
    }
    let unread = skipped.len();
    let mut scrapes: FxHashMap<String, Scrape> = FxHashMap::default();
    for (f, bytes) in &inputs.scrapes {
        match bytes.as_ref().map_err(|e| e.clone()).and_then(|b| parse_scrape(b)) {
            Ok(s) => {
                if let Some(k) = pair_key(f) {
                    scrapes.insert(k, s);
                }
            }
            Err(e) => skipped.push(format!("{}: {e}", f.display())),
        }
    }
    if heaps.len() < 2 {
        return Err(format!(
            "a trend needs at least two heap profiles; found {}{}",
            heaps.len(),
            if skipped.is_empty() { String::new() } else { format!(" (skipped: {})", skipped.join("; ")) }
        ));
    }
    // A trend of what is left after many snapshots were lost is a trend of
    // the wrong thing: refuse rather than judge it.
    let read = heaps.len() + gors.len();
    if unread > 0 && (heaps.len() < 3 || unread * 2 > read + unread) {
        return Err(format!(
            "{unread} of {} snapshots could not be read (first: {}); judging the {} heap profiles left would mislead: fix or remove the unreadable ones",
            read + unread,
            skipped[0],
            heaps.len()
        ));
    }
    let by_time = |v: &mut Vec<Reduced>| -> &'static str {
        if v.iter().all(|r| r.time_nanos > 0) {
            v.sort_by(|a, b| a.time_nanos.cmp(&b.time_nanos).then_with(|| a.path.cmp(&b.path)));
            "time"
        } else {
            v.sort_by(|a, b| a.path.cmp(&b.path));
            "name"
        }
    };
    // Only file names say an order: stdin, FIFOs and `<(…)` have none.
    let named = |p: &PathBuf| p.is_file();
    let mut by_name: Vec<PathBuf> = heaps.iter().map(|r| r.path.clone()).filter(named).collect();
    by_name.sort();
    let ordered_by = by_time(&mut heaps);
    // Names that sort differently from the profiles' own times: a clock
    // going backwards, or snapshots of different processes mixed together.
    let name_order_differs =
        ordered_by == "time" && heaps.iter().map(|r| &r.path).filter(|p| named(p)).zip(&by_name).any(|(a, b)| a != b);
    by_time(&mut gors);

    // Restarts: alloc_space is cumulative for the life of a process, so a
    // decrease means a new process; without it, a drop of over half.
    let mut restarts = Vec::new();
    for i in 1..heaps.len() {
        let restart = match (heaps[i - 1].alloc_space, heaps[i].alloc_space) {
            (Some(a), Some(b)) => b < a,
            _ => heaps[i].total.saturating_mul(2) < heaps[i - 1].total,
        };
        if restart {
            restarts.push(i);
        }
    }
    let from = restarts.last().copied().unwrap_or(0);
    let to = heaps.len() - 1;
    let seg = &heaps[from..=to];
    let n = seg.len();
    let sample_type = crate::report::diff::SampleType {
        name: heaps[to].sample_type.0.clone(),
        unit: heaps[to].sample_type.1.clone(),
    };
    let unit = sample_type.unit.clone();
    let period = seg.iter().map(|r| r.period).max().unwrap_or(0).max(0);
    // As diff: bytes are sampled by size; counts (`--sample-type
    // inuse_objects`) are not, and ten is the smallest change worth a verdict.
    let bytes = unit == "bytes";
    let min_growth = if bytes { o.min_growth.max(period.saturating_mul(4)) } else { 10 };
    let noise = if bytes { period.saturating_mul(2).max(1) as f64 } else { 2.0 };

    let times_known = seg.iter().all(|r| r.time_nanos > 0) && seg.windows(2).all(|w| w[1].time_nanos > w[0].time_nanos);
    let t_hours: Option<Vec<f64>> =
        times_known.then(|| seg.iter().map(|r| (r.time_nanos - seg[0].time_nanos) as f64 / 3.6e12).collect());
    let interval_seconds = times_known.then(|| (seg[n - 1].time_nanos - seg[0].time_nanos) as f64 / 1e9);
    let th = t_hours.as_deref();

    let total = series(seg.iter().map(|r| r.total).collect(), th, noise);
    let total_objects = seg.iter().map(|r| r.objects).collect::<Option<Vec<i64>>>().map(|v| series(v, th, 0.0));
    let ncat = rules.file.categories.len();
    let cat_name = |c: usize| if c == ncat { UNATTRIBUTED.to_string() } else { rules.file.categories[c].name.clone() };
    let mut categories: Vec<CategorySeries> = (0..=ncat)
        .filter(|&c| seg.iter().any(|r| r.categories[c] != 0))
        .map(|c| {
            let s = series(seg.iter().map(|r| r.categories[c]).collect(), th, noise);
            let objects =
                seg[0].objects.is_some().then(|| series(seg.iter().map(|r| r.category_objects[c]).collect(), th, 0.0));
            CategorySeries { name: cat_name(c), delta: s.growth, suspect: false, series: s, objects }
        })
        .collect();
    categories.sort_by(|a, b| b.delta.cmp(&a.delta).then_with(|| a.name.cmp(&b.name)));

    // Sites ranked by growth from the first to the last snapshot: only a
    // site in one of the two can have grown. Series only for the sites
    // shown, read from each snapshot's packed sites in one pass.
    let (first_packed, last_packed) = (spill.get(&seg[0].sites)?, spill.get(&seg[n - 1].sites)?);
    let (first_sites, last_sites) = (first_packed.to_map(), last_packed.to_map());
    let keys: rustc_hash::FxHashSet<SiteKey> = first_sites.keys().chain(last_sites.keys()).copied().collect();
    let mut growth_of: Vec<(i64, (usize, String), SiteKey)> = keys
        .into_iter()
        .map(|k| {
            let first = first_sites.get(&k).map_or(0, |v| v.0);
            let last = last_sites.get(&k).map_or(0, |v| v.0);
            (last - first, k)
        })
        .filter(|g| g.0 > 0)
        .map(|(g, k)| (g, (site_category(k), cache.name(site_name(k))), k))
        .collect();
    drop((first_sites, last_sites));
    growth_of.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let limit = if o.nodecount == 0 { usize::MAX } else { o.nodecount };
    growth_of.truncate(limit);
    let shown: FxHashMap<SiteKey, usize> = growth_of.iter().enumerate().map(|(i, g)| (g.2, i)).collect();
    let mut site_vals = vec![vec![0i64; n]; shown.len()];
    let mut site_objs = vec![vec![0i64; n]; shown.len()];
    // The deciding frame of the latest snapshot that has the site.
    let mut site_frames = vec![u32::MAX; shown.len()];
    for (j, r) in seg.iter().enumerate() {
        for (k, v, ob, f) in spill.get(&r.sites)?.iter_with_frames() {
            if let Some(&i) = shown.get(&k) {
                site_vals[i][j] = v;
                site_objs[i][j] = ob;
                site_frames[i] = f;
            }
        }
    }
    let sites: Vec<SiteSeries> = growth_of
        .iter()
        .zip(site_vals.into_iter().zip(site_objs).zip(site_frames))
        .map(|((g, k, _), ((vals, objs), f))| SiteSeries {
            category: cat_name(k.0),
            function: k.1.clone(),
            frame: if f == u32::MAX { k.1.clone() } else { cache.name(f) },
            delta: *g,
            series: series(vals, th, noise),
            objects: seg[0].objects.is_some().then(|| series(objs, th, 0.0)),
        })
        .collect();

    // Verdict.
    let fmt = |v: i64| units::human(v, &unit);
    let first_total = seg[0].total;
    let growth = total.growth;
    let mut reasons = vec![format!(
        "{} snapshots analysed{}; total {} went {} ({}), shape {}",
        n,
        interval_seconds.map_or(String::new(), |s| format!(" over {}", units::duration_ns((s * 1e9) as i64))),
        sample_type.name,
        fmt(first_total) + " -> " + &fmt(seg[n - 1].total),
        if growth >= 0 { format!("+{}", fmt(growth)) } else { fmt(growth) },
        shape_name(total.shape)
    )];
    if let Some(s) = total.slope_per_hour {
        reasons.push(format!("Theil-Sen slope {}/h, Mann-Kendall p = {:.3}", fmt(s as i64), total.mann_kendall_p));
    }
    if unread > 0 {
        reasons.push(format!(
            "{} of {} snapshots judged: {unread} could not be read and were skipped (listed below)",
            read,
            read + unread
        ));
    }
    if name_order_differs {
        reasons.push(
            "the snapshots' own times do not follow their file names (a clock going backwards, or files from different processes); they are ordered by time".to_string(),
        );
    }
    if !restarts.is_empty() {
        reasons.push(format!(
            "process restart detected before snapshot {}; only the {} snapshots since the last restart are judged",
            restarts.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "),
            n
        ));
    }
    let growing = total.shape == Shape::MonotonicGrowth;
    let abs_ok = growth >= min_growth.max(1);
    let rel_ok = growth as f64 >= o.min_growth_ratio * first_total as f64;
    for c in &mut categories {
        c.suspect = growing
            && abs_ok
            && rel_ok
            && c.series.shape == Shape::MonotonicGrowth
            && c.delta >= min_growth
            && c.delta as f64 >= 0.1 * growth as f64;
    }
    let top = categories.iter().filter(|c| c.suspect).max_by_key(|c| c.delta).cloned();
    let leak = growing && abs_ok && rel_ok && top.is_some();
    // Known-leak signatures, judged as diff judges them (first and last
    // snapshot of the segment): one counts only when its own growth passes
    // the noise floor and no frame of the run rules it out.
    let signatures: Vec<SignatureHit> = rules
        .file
        .signatures
        .iter()
        .enumerate()
        .filter(|&(si, _)| seg.iter().any(|r| r.signatures.get(si).is_some_and(|&v| v != 0)))
        .map(|(si, s)| {
            let at = |r: &Reduced| r.signatures.get(si).copied().unwrap_or(0);
            let (base, new) = (at(&seg[0]), at(&seg[n - 1]));
            let mut hit = s.hit(base, new, cache.ruled_out(s));
            hit.growing = hit.ruled_out_by.is_none() && hit.delta >= min_growth.max(1);
            hit
        })
        .collect();
    let sig_strong = signatures.iter().filter(|s| s.growing).max_by_key(|s| s.delta);
    if let Some(c) = &top {
        reasons.push(format!(
            "{} grows steadily: +{} ({:.0}% of the growth){}",
            c.name,
            fmt(c.delta),
            if growth > 0 { c.delta as f64 * 100.0 / growth as f64 } else { 0.0 },
            c.series.slope_per_hour.map_or(String::new(), |s| format!(", {}/h", fmt(s as i64)))
        ));
    }
    if let Some(s) = sig_strong {
        reasons.push(format!("matches known leak {} (+{})", s.id, fmt(s.delta)));
    }
    if !abs_ok {
        reasons.push(format!("growth is below the absolute threshold {}", fmt(min_growth)));
    }
    if !rel_ok {
        reasons.push(format!("growth is below {:.0}% of the first snapshot", o.min_growth_ratio * 100.0));
    }
    let confidence = if leak {
        if n >= 5 && total.mann_kendall_p < 0.01 {
            "high"
        } else if n >= 4 {
            "medium"
        } else {
            "low"
        }
    } else if n >= 4 {
        "high"
    } else {
        "medium"
    };
    let headline = if leak {
        format!(
            "LEAK SUSPECTED ({confidence} confidence): {} grows steadily, +{} over {} snapshots{}, mostly in {}{}",
            sample_type.name,
            fmt(growth),
            n,
            total.slope_per_hour.map_or(String::new(), |s| format!(" ({}/h)", fmt(s as i64))),
            top.as_ref().map_or(UNATTRIBUTED, |c| c.name.as_str()),
            sig_strong.map_or(String::new(), SignatureHit::headline_clause)
        )
    } else {
        let why = match total.shape {
            Shape::Plateau => "it rose, then levelled off (warm-up or a bounded cache)",
            Shape::Churn => "it goes up and down without a trend (churn)",
            Shape::Flat => "it is flat",
            Shape::Shrinking => "it is shrinking",
            Shape::MonotonicGrowth => "it grows, but below the leak thresholds or spread thin",
        };
        format!("No leak: {} over {} snapshots: {why}", sample_type.name, n)
    };

    // Work units from /metrics scrapes.
    let scrape_of = |r: &Reduced| pair_key(&r.path).and_then(|k| scrapes.get(&k)).cloned();
    let s_first = scrape_of(&seg[0]);
    let s_last = scrape_of(&seg[n - 1]);
    let per_work = match (&s_first, &s_last) {
        (Some(a), Some(b)) => {
            let d = |x: Option<f64>, y: Option<f64>| Some(y? - x?).filter(|v| *v > 0.0);
            let reloads = d(a.reloads, b.reloads);
            let requests = d(a.requests, b.requests);
            let cat_delta = |name: &str| categories.iter().find(|c| c.name == name).map(|c| c.delta as f64);
            Some(PerWork {
                reloads,
                requests,
                growth_per_reload: reloads.map(|r| growth as f64 / r),
                growth_per_1000_requests: requests.map(|r| growth as f64 / r * 1000.0),
                config_reload_growth_per_reload: reloads.and_then(|r| Some(cat_delta("config-reload")? / r)),
                http_request_growth_per_1000_requests: requests
                    .and_then(|r| Some(cat_delta("http-request")? / r * 1000.0)),
            })
        }
        _ => None,
    };
    if let Some(w) = &per_work {
        if let Some(g) = w.growth_per_reload {
            reasons.push(format!("{} per config reload ({} reloads)", fmt(g as i64), w.reloads.unwrap_or(0.0)));
        }
        if let Some(g) = w.growth_per_1000_requests {
            reasons.push(format!("{} per 1,000 requests", fmt(g as i64)));
        }
    }

    // Projection to the limit.
    let rss_series: Option<Vec<f64>> = seg.iter().map(|r| scrape_of(r).and_then(|s| s.rss)).collect();
    let projection = o.limit.map(|limit| {
        let hours = |last: f64, slope: Option<f64>| {
            let s = slope?;
            (s > 0.0).then(|| ((limit as f64 - last) / s).max(0.0))
        };
        Projection {
            limit,
            // A limit is bytes: a count (`--sample-type inuse_objects`) never reaches it.
            heap_hours: if bytes { hours(seg[n - 1].total as f64, total.slope_per_hour) } else { None },
            rss_hours: match (&rss_series, th) {
                (Some(r), Some(t)) => hours(*r.last().unwrap_or(&0.0), Some(stats::theil_sen(t, r))),
                _ => None,
            },
        }
    });
    if let Some(p) = projection.as_ref().filter(|_| growing) {
        if let Some(h) = p.heap_hours {
            reasons.push(format!("at this slope the heap reaches the {} limit in {:.1} h", fmt(p.limit), h));
        }
        if let Some(h) = p.rss_hours {
            reasons.push(format!("process RSS reaches it in {:.1} h", h));
        }
    }

    // Reconciliation with the runtime's own accounting, from the last scrape.
    let reconciliation = s_last
        .as_ref()
        .filter(|s| s.heap_inuse.is_some() || s.rss.is_some())
        .map(|s| {
            let i = |v: Option<f64>| v.map(|x| x as i64);
            Reconciliation::new(
                seg[n - 1].total,
                i(s.heap_inuse),
                i(s.heap_sys),
                match (s.heap_idle, s.heap_released) {
                    (Some(a), Some(b)) => Some((a - b) as i64),
                    _ => None,
                },
                i(s.stack_inuse),
                i(s.sys),
                i(s.rss),
            )
        })
        .or_else(|| seg[n - 1].memstats.as_ref().map(|m| Reconciliation::from_memstats(seg[n - 1].total, m)));

    // Goroutine profiles beside the heap profiles.
    let goroutines = (gors.len() >= 2).then(|| {
        let gt: Option<Vec<f64>> = (gors.iter().all(|r| r.time_nanos > 0))
            .then(|| gors.iter().map(|r| (r.time_nanos - gors[0].time_nanos) as f64 / 3.6e12).collect());
        let gtotal = series(gors.iter().map(|r| r.total).collect(), gt.as_deref(), 0.0);
        let gmaps: Vec<FxHashMap<SiteKey, (i64, i64)>> = gors.iter().map(|r| r.sites.to_map()).collect();
        let mut gkeys: Vec<((usize, String), SiteKey)> = gmaps
            .iter()
            .flat_map(|m| m.keys().copied())
            .collect::<rustc_hash::FxHashSet<SiteKey>>()
            .into_iter()
            .map(|k| ((site_category(k), cache.name(site_name(k))), k))
            .collect();
        gkeys.sort();
        let malg = rules
            .category_index("goroutines")
            .map(|c| seg[n - 1].categories[c as usize] - seg[0].categories[c as usize]);
        // Heap bytes per package, first and last snapshot of the segment:
        // each site's name is looked up once, not once per growing group.
        let pkg_sums = |sites: &Sites| -> FxHashMap<String, i64> {
            let mut m: FxHashMap<String, i64> = FxHashMap::default();
            for (k, v, _) in sites.iter() {
                *m.entry(package_of(&cache.name(site_name(k))).to_string()).or_default() += v;
            }
            m
        };
        let (pkg_first, pkg_last) = (pkg_sums(&first_packed), pkg_sums(&last_packed));
        let pkg_sum = |m: &FxHashMap<String, i64>, pkg: &str| m.get(pkg).copied().unwrap_or(0);
        let mut growing: Vec<GoroutineGroup> = gkeys
            .into_iter()
            .filter_map(|(k, key)| {
                let s = series(gmaps.iter().map(|m| m.get(&key).map_or(0, |v| v.0)).collect(), gt.as_deref(), 0.0);
                let min_step = 2.max(s.values.first().copied().unwrap_or(0) / 10);
                (s.shape == Shape::MonotonicGrowth && s.growth >= min_step).then(|| {
                    let pkg = package_of(&k.1).to_string();
                    let same_pkg: i64 = pkg_sum(&pkg_last, &pkg) - pkg_sum(&pkg_first, &pkg);
                    GoroutineGroup {
                        category: cat_name(k.0),
                        frame: k.1.clone(),
                        delta: s.growth,
                        series: s,
                        heap_goroutine_structs_delta: malg,
                        heap_same_package_delta: Some(same_pkg),
                    }
                })
            })
            .collect();
        growing.sort_by(|a, b| b.delta.cmp(&a.delta).then_with(|| a.frame.cmp(&b.frame)));
        growing.truncate(limit);
        GoroutineTrend { snapshots: gors.len(), total: gtotal, growing }
    });
    if let Some(g) = &goroutines {
        if let Some(top) = g.growing.first() {
            reasons.push(format!(
                "goroutines grow steadily: {} in {} (+{})",
                shape_name(g.total.shape),
                top.frame,
                top.delta
            ));
        }
    }

    let mut next_steps: Vec<String> = signatures.iter().filter(|s| s.growing).map(SignatureHit::next_step).collect();
    if leak {
        if let Some(c) = &top {
            next_steps.push(format!(
                "Diff the first and last snapshot for the sites and stacks behind {}: leakscope diff {} {}",
                c.name,
                seg[0].path.display(),
                seg[n - 1].path.display()
            ));
        }
    } else if total.shape == Shape::Plateau {
        next_steps.push("Keep capturing: a plateau that starts rising again under the same load is a leak.".into());
    }
    if s_first.is_none() {
        next_steps.push(
            "Capture /metrics beside each snapshot (leakscope capture --metrics) to get growth per reload and per request."
                .into(),
        );
    }

    let snapshots = heaps
        .iter()
        .enumerate()
        .map(|(i, r)| SnapshotRow {
            file: r.path.display().to_string(),
            time_nanos: r.time_nanos,
            total: r.total,
            restart_before: restarts.contains(&i),
            scrape: scrape_of(r),
        })
        .collect();
    Ok(TrendReport {
        schema: SCHEMA,
        schema_minor: SCHEMA_MINOR,
        sample_type,
        snapshots,
        ordered_by,
        restarts,
        analyzed: (from, to),
        interval_seconds,
        total_delta: growth,
        verdict: Verdict {
            leak,
            category: if leak { top.map(|c| c.name) } else { None },
            confidence,
            headline,
            reasons,
        },
        next_steps,
        min_growth,
        total,
        total_objects,
        categories,
        sites,
        per_work,
        projection,
        reconciliation,
        goroutines,
        signatures,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_and_packages() {
        assert_eq!(pair_key(Path::new("d/00-heap.pb.gz")).as_deref(), Some("00"));
        assert_eq!(pair_key(Path::new("d/00-metrics.txt.gz")).as_deref(), Some("00"));
        assert_eq!(pair_key(Path::new("20261128T061530.123Z-heap.pb.gz")).as_deref(), Some("20261128T061530.123Z"));
        assert_eq!(package_of("github.com/sirupsen/logrus.(*Entry).writerScanner"), "github.com/sirupsen/logrus");
        assert_eq!(package_of("main.main"), "main");
        assert_eq!(package_of("net/http.(*conn).serve"), "net/http");
    }
}
