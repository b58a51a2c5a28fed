//! Judging a fleet: every series of a label set (`--by service_name,pod`)
//! separately, from a continuous-profiling store.
//!
//! 1. One `SelectSeries` pair lists the series and their totals per window,
//!    cheaply (no profiles). Restarts are found there: the cumulative
//!    `alloc_space` of a process only grows, so a decrease means a new
//!    process (without it, a drop of over half of the total).
//! 2. The totals since the last restart are judged as `trend` judges a
//!    total: shape (Mann–Kendall and the [`crate::trend::stats`]
//!    classifier), Theil–Sen slope.
//! 3. Only for series whose totals grow (or all, with `all`), the merged
//!    profile of each window is fetched and reduced as it arrives
//!    ([`crate::trend::reduce`]), then dropped: memory stays flat in the
//!    number of series and windows.
//! 4. From the reduced windows: the categories' growth and the verdict
//!    (the same rule as `trend`), the growing allocation sites, and the
//!    known-leak signatures that grow.
//!
//! This module is the analysis only: [`plan`] (steps 1–2, from totals the
//! caller fetched) says which windows' profiles to fetch, [`reduce_window`]
//! reduces each as it arrives, and [`judge`] (steps 3–4) builds the model
//! ([`FleetReport`], in [`crate::report::fleet`], which renders it). The
//! fetching is [`crate::fleet()`]'s, at the crate root.

use std::collections::BTreeMap;

use crate::attribute::{RuleSet, UNATTRIBUTED};
use crate::profile::Profile;
pub use crate::report::fleet::*;
use crate::trend::reduce::{self, FrameCache, Reduced};
use crate::trend::{shape_name, site_category, site_name, stats, Shape};
use crate::units;

/// Go's default heap sampling period (`runtime.MemProfileRate`), assumed
/// for the noise floor of byte series whose profiles were not fetched.
pub const DEFAULT_PERIOD: i64 = 512 * 1024;

/// The sampling period assumed before any profile is read: Go's default
/// for bytes, 1 for counts (goroutines, objects).
fn assumed_period(unit: &str) -> i64 {
    if unit == "bytes" {
        DEFAULT_PERIOD
    } else {
        1
    }
}

/// What to judge and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Server base URL (without credentials), for the report.
    pub url: String,
    /// Pyroscope profile type ID.
    pub profile_type: String,
    /// The label selector.
    pub query: String,
    /// Labels that make a series (`--by`).
    pub by: Vec<String>,
    /// End of each window, ms since the epoch, oldest first.
    pub window_ends_ms: Vec<i64>,
    /// Window length, ms.
    pub step_ms: i64,
    /// `--min-growth` (bytes).
    pub min_growth: i64,
    /// `--min-growth-pct` / 100.
    pub min_growth_ratio: f64,
    /// `--limit`: the container memory limit, for time to limit.
    pub limit: Option<i64>,
    /// Fetch profiles for every series, not only the growing ones.
    pub all: bool,
    /// Sites shown per series.
    pub sites: usize,
}

/// One series' totals per window, as the store's series query gave them.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesTotals {
    /// The `--by` labels, in order (`""` for one the series lacks).
    pub labels: Vec<(String, String)>,
    /// The window's average total; `None` in a window without data.
    pub values: Vec<Option<f64>>,
    /// Profiles merged into each window.
    pub counts: Vec<u32>,
    /// The cumulative companion's (`alloc_space`) average per window, for
    /// restarts, when the store has it.
    pub cumulative: Option<Vec<Option<f64>>>,
}

/// One window's profile to fetch.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetch {
    /// The series (index into the plan's series, as [`Plan::labels`] takes).
    pub series: usize,
    /// The window (index into [`Options::window_ends_ms`]).
    pub window: usize,
    /// Divide the merged profile's values by this (its profile count).
    pub divide_by: u32,
    /// Keep its allocation sites (the first and last judged window only:
    /// the others keep their category totals).
    pub keep_sites: bool,
}

/// What [`plan`] decided: every series judged on its totals, and the
/// profiles to fetch.
#[derive(Debug)]
pub struct Plan {
    judged: Vec<Judged>,
    /// The profiles to fetch, series by series, windows in order.
    pub fetch: Vec<Fetch>,
}

impl Plan {
    /// The labels of series `i`.
    pub fn labels(&self, i: usize) -> &[(String, String)] {
        &self.judged[i].row.labels
    }
}

/// The sample type name and unit of a profile type ID
/// (`memory:inuse_space:bytes:space:bytes` → `inuse_space`, `bytes`).
pub fn sample_type_of(profile_type: &str) -> (String, String) {
    let mut parts = profile_type.split(':');
    let _name = parts.next();
    let ty = parts.next().unwrap_or("").to_string();
    let unit = parts.next().unwrap_or("").to_string();
    (ty, unit)
}

/// Indexes where a new process begins among the present windows `present`
/// (ascending): the cumulative value decreased, or without it, the total
/// dropped by more than half.
pub fn restarts(present: &[usize], totals: &[Option<f64>], cumulative: Option<&[Option<f64>]>) -> Vec<usize> {
    let mut out = Vec::new();
    for w in present.windows(2) {
        let (a, b) = (w[0], w[1]);
        let cum = cumulative.and_then(|c| Some((c.get(a).copied()??, c.get(b).copied()??)));
        let restart = match cum {
            Some((x, y)) => y < x,
            None => match (totals[a], totals[b]) {
                (Some(x), Some(y)) => y * 2.0 < x,
                _ => false,
            },
        };
        if restart {
            out.push(b);
        }
    }
    out
}

/// A series being judged.
#[derive(Debug)]
struct Judged {
    row: SeriesTotals,
    present: Vec<usize>,
    restarts: Vec<usize>,
    /// Present windows since the last restart.
    segment: Vec<usize>,
    shape: Shape,
    slope: f64,
    mk_p: f64,
    growth: i64,
    first: i64,
    last: i64,
    fetch: bool,
}

fn judge_totals(row: SeriesTotals, o: &Options) -> Judged {
    let present: Vec<usize> = (0..row.values.len()).filter(|&i| row.values[i].is_some()).collect();
    let restarts = restarts(&present, &row.values, row.cumulative.as_deref());
    let from = restarts.last().copied().unwrap_or(0);
    let segment: Vec<usize> = present.iter().copied().filter(|&i| i >= from).collect();
    let y: Vec<f64> = segment.iter().map(|&i| row.values[i].unwrap_or(0.0).round()).collect();
    let t: Vec<f64> = segment.iter().map(|&i| (i as f64 - segment[0] as f64) * o.step_ms as f64 / 3.6e6).collect();
    let noise = (2 * assumed_period(&sample_type_of(&o.profile_type).1)) as f64;
    let shape = stats::classify(&y, noise);
    let mk = stats::mann_kendall(&y);
    let slope = if y.len() >= 2 { stats::theil_sen(&t, &y) } else { 0.0 };
    let first = y.first().copied().unwrap_or(0.0) as i64;
    let last = y.last().copied().unwrap_or(0.0) as i64;
    let growth = last - first;
    let fetch = segment.len() >= 2 && (o.all || (shape == Shape::MonotonicGrowth && growth > 0));
    Judged { row, present, restarts, segment, shape, slope, mk_p: mk.p, growth, first, last, fetch }
}

/// Judges every series on its totals (restarts, shape, slope) and lists
/// the windows whose profiles to fetch: those since the last restart of
/// the series that grow, or of every series with [`Options::all`].
pub fn plan(rows: Vec<SeriesTotals>, o: &Options) -> Plan {
    let judged: Vec<Judged> = rows.into_iter().map(|row| judge_totals(row, o)).collect();
    let mut fetch = Vec::new();
    for (si, j) in judged.iter().enumerate() {
        if !j.fetch {
            continue;
        }
        let ends = (j.segment.first().copied(), j.segment.last().copied());
        for &w in &j.segment {
            fetch.push(Fetch {
                series: si,
                window: w,
                divide_by: j.row.counts.get(w).copied().unwrap_or(1).max(1),
                keep_sites: ends.0 == Some(w) || ends.1 == Some(w),
            });
        }
    }
    Plan { judged, fetch }
}

/// Reduces one fetched window's profile (scaled and dated by the caller):
/// categories and signatures always, sites (by allocating function) only
/// with `keep_sites`.
pub fn reduce_window(name: &str, p: &Profile, rules: &RuleSet, cache: &FrameCache, keep_sites: bool) -> Reduced {
    reduce::reduce_profile(name.into(), p, rules, cache, keep_sites)
}

/// Builds the report from the plan and the reduced windows, one per
/// [`Plan::fetch`] entry (`None`: the window turned out empty).
pub fn judge(
    plan: Plan,
    reduced: Vec<Option<Reduced>>,
    rules: &RuleSet,
    cache: &FrameCache,
    o: &Options,
) -> FleetReport {
    let Plan { mut judged, fetch } = plan;
    let mut per_series: Vec<Vec<(usize, Reduced)>> = (0..judged.len()).map(|_| Vec::new()).collect();
    let mut notes = Vec::new();
    let mut fetched = 0;
    for (f, r) in fetch.into_iter().zip(reduced) {
        match r {
            Some(r) => {
                fetched += 1;
                per_series[f.series].push((f.window, r));
            }
            None => notes.push(format!(
                "{}: the window ending {} had a total but no merged profile; it is left out (a gap, not a zero)",
                label_text(&judged[f.series].row.labels),
                units::utc(o.window_ends_ms.get(f.window).copied().unwrap_or(0).saturating_mul(1_000_000))
            )),
        }
    }
    let (sample_type, unit) = sample_type_of(&o.profile_type);
    let mut min_growth_used = o.min_growth.max(4 * assumed_period(&unit));
    let mut series: Vec<SeriesReport> = Vec::with_capacity(judged.len());
    for (j, red) in judged.drain(..).zip(per_series) {
        let s = judge_series(j, &red, rules, cache, o, &unit);
        min_growth_used = min_growth_used.max(s.1);
        series.push(s.0);
    }
    rank(&mut series);

    // The fleet.
    let leaking: Vec<&SeriesReport> = series.iter().filter(|s| s.verdict.leak).collect();
    let mut by_cat: BTreeMap<&str, (usize, i64)> = BTreeMap::new();
    for s in &leaking {
        if let Some(c) = &s.verdict.category {
            let e = by_cat.entry(c.as_str()).or_default();
            e.0 += 1;
            e.1 += s.growth;
        }
    }
    let mut cats: Vec<(&str, (usize, i64))> = by_cat.into_iter().collect();
    cats.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(b.1 .1.cmp(&a.1 .1)).then(a.0.cmp(b.0)));
    let restarted = series.iter().filter(|s| s.restarted).count();
    let n = series.len();
    let headline = if leaking.is_empty() {
        format!(
            "No leak: none of {n} series grows steadily in {}{}",
            sample_type,
            if restarted > 0 { format!(" ({restarted} restarted)") } else { String::new() }
        )
    } else {
        format!(
            "LEAK: {} of {n} series leak{}: {}",
            leaking.len(),
            if leaking.len() == 1 { "s" } else { "" },
            cats.iter().map(|(c, (k, _))| format!("{c} in {k}")).collect::<Vec<_>>().join(", ")
        )
    };
    let verdict = FleetVerdict {
        leak: !leaking.is_empty(),
        category: cats.first().map(|c| c.0.to_string()),
        headline,
        series: n,
        leaking: leaking.len(),
        restarted,
    };
    let mut shapes: BTreeMap<&'static str, usize> = BTreeMap::new();
    for s in series.iter().filter(|s| !s.verdict.leak) {
        *shapes.entry(shape_name(s.shape)).or_default() += 1;
    }
    for s in &series {
        if s.gaps > 0 && s.values.iter().any(Option::is_some) {
            let first = s.values.iter().position(Option::is_some).unwrap_or(0);
            let last = s.values.iter().rposition(Option::is_some).unwrap_or(0);
            let inner = s.values[first..=last].iter().filter(|v| v.is_none()).count();
            if inner > 0 {
                notes.push(format!(
                    "{}: {inner} window{} without data between its first and last (gaps, not zeros)",
                    label_text_map(&s.labels),
                    if inner == 1 { "" } else { "s" }
                ));
            }
        }
    }
    let to_ms = o.window_ends_ms.last().copied().unwrap_or(0);
    let from_ms = o.window_ends_ms.first().copied().unwrap_or(0) - o.step_ms;
    FleetReport {
        schema: SCHEMA,
        source: Source {
            url: o.url.clone(),
            query: o.query.clone(),
            profile_type: o.profile_type.clone(),
            sample_type,
            unit,
            by: o.by.clone(),
            from_ms,
            to_ms,
            step_seconds: o.step_ms / 1000,
            window_ends_ms: o.window_ends_ms.clone(),
        },
        verdict,
        clean: Clean { count: n - leaking.len(), shapes },
        series,
        min_growth: min_growth_used,
        limit: o.limit,
        profiles_fetched: fetched,
        notes,
    }
}

/// `k=v k=v`, for messages.
pub fn label_text(labels: &[(String, String)]) -> String {
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

/// Leaking series first, fastest first; then the others by growth.
fn rank(series: &mut [SeriesReport]) {
    series.sort_by(|a, b| {
        b.verdict
            .leak
            .cmp(&a.verdict.leak)
            .then_with(|| {
                if a.verdict.leak {
                    b.slope_per_hour.partial_cmp(&a.slope_per_hour).unwrap_or(std::cmp::Ordering::Equal)
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .then_with(|| b.restarted.cmp(&a.restarted))
            .then_with(|| b.growth.cmp(&a.growth))
            .then_with(|| a.labels.cmp(&b.labels))
    });
}

/// Judges one series from its totals and its reduced windows (in window
/// order, judged segment only). Returns the report and the absolute
/// threshold it used.
fn judge_series(
    j: Judged,
    red: &[(usize, Reduced)],
    rules: &RuleSet,
    cache: &FrameCache,
    o: &Options,
    unit: &str,
) -> (SeriesReport, i64) {
    let fmt = |v: i64| units::human(v, unit);
    let period = red.iter().map(|r| r.1.period).max().unwrap_or(0);
    let assumed = assumed_period(unit);
    let period = if period > 0 { period } else { assumed };
    let min_growth = o.min_growth.max(4 * period);
    let noise = (2 * period) as f64;
    // The totals' shape again with the real period, when it is known.
    let y: Vec<f64> = j.segment.iter().map(|&i| j.row.values[i].unwrap_or(0.0).round()).collect();
    let shape = if period != assumed { stats::classify(&y, noise) } else { j.shape };
    let growing = shape == Shape::MonotonicGrowth;
    let abs_ok = j.growth >= min_growth.max(1);
    let rel_ok = j.growth as f64 >= o.min_growth_ratio * j.first as f64;

    let ncat = rules.file.categories.len();
    let cat_name = |c: usize| if c >= ncat { UNATTRIBUTED.to_string() } else { rules.file.categories[c].name.clone() };
    let mut categories = Vec::new();
    let mut sites = Vec::new();
    let mut signatures = Vec::new();
    if red.len() >= 2 {
        let (first, last) = (&red[0].1, &red[red.len() - 1].1);
        for c in 0..=ncat {
            let vals: Vec<f64> = red.iter().map(|r| r.1.categories.get(c).copied().unwrap_or(0) as f64).collect();
            if vals.iter().all(|v| *v == 0.0) {
                continue;
            }
            let delta = last.categories[c] - first.categories[c];
            let cshape = stats::classify(&vals, noise);
            let suspect = growing
                && abs_ok
                && rel_ok
                && cshape == Shape::MonotonicGrowth
                && delta >= min_growth
                && delta as f64 >= 0.1 * j.growth as f64;
            categories.push(CategoryGrowth { name: cat_name(c), delta, shape: cshape, suspect });
        }
        categories.sort_by(|a, b| b.delta.cmp(&a.delta).then_with(|| a.name.cmp(&b.name)));
        let (a, b) = (first.sites.to_map(), last.sites.to_map());
        let mut grown: Vec<(i64, u64)> =
            b.iter().map(|(k, v)| (v.0 - a.get(k).map_or(0, |x| x.0), *k)).filter(|g| g.0 > 0).collect();
        grown.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
        sites = grown
            .into_iter()
            .take(o.sites)
            .map(|(delta, k)| SiteGrowth {
                function: cache.name(site_name(k)),
                category: cat_name(site_category(k)),
                delta,
            })
            .collect();
        for (si, s) in rules.file.signatures.iter().enumerate() {
            let d = last.signatures.get(si).copied().unwrap_or(0) - first.signatures.get(si).copied().unwrap_or(0);
            if d > 0 && d * 2 >= min_growth.max(1) {
                signatures.push(SignatureGrowth {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    category: s.category.clone(),
                    fixed_in: s.fixed_in.clone(),
                    advice: s.advice.clone(),
                    references: s.references.clone(),
                    delta: d,
                });
            }
        }
        signatures.sort_by(|a, b| b.delta.cmp(&a.delta).then_with(|| a.id.cmp(&b.id)));
    }
    let top = categories.iter().filter(|c| c.suspect).max_by_key(|c| c.delta);
    let leak = growing && abs_ok && rel_ok && top.is_some();
    let n = j.segment.len();
    let reason = if leak {
        let c = top.map_or(UNATTRIBUTED, |c| c.name.as_str());
        format!(
            "grows steadily over {n} windows, {} -> {} (+{}, {}/h), mostly in {c}",
            fmt(j.first),
            fmt(j.last),
            fmt(j.growth),
            fmt(j.slope as i64)
        )
    } else if n < 2 {
        format!("{n} window{} with data since the last restart: too few to judge", if n == 1 { "" } else { "s" })
    } else if !growing {
        format!("{} over {n} windows ({} -> {})", shape_name(shape), fmt(j.first), fmt(j.last))
    } else if !abs_ok {
        format!("grows {} over {n} windows, below the absolute threshold {}", fmt(j.growth), fmt(min_growth))
    } else if !rel_ok {
        format!("grows {} over {n} windows, below {:.0}% of the first", fmt(j.growth), o.min_growth_ratio * 100.0)
    } else if red.len() < 2 {
        "grows, but its profiles could not be fetched".to_string()
    } else {
        format!("grows {} over {n} windows, but spread thin: no category grows steadily by enough", fmt(j.growth))
    };
    let hours_to_limit =
        o.limit.filter(|_| growing && j.slope > 0.0).map(|l| ((l as f64 - j.last as f64) / j.slope).max(0.0));
    let judged = (j.segment.first().copied().unwrap_or(0), j.segment.last().copied().unwrap_or(0));
    let report = SeriesReport {
        labels: j.row.labels.iter().cloned().collect(),
        verdict: SeriesVerdict { leak, category: if leak { top.map(|c| c.name.clone()) } else { None }, reason },
        restarted: !j.restarts.is_empty(),
        restarts: j.restarts,
        gaps: j.row.values.len() - j.present.len(),
        values: j.row.values.iter().map(|v| v.map(|x| x.round() as i64)).collect(),
        judged,
        shape,
        slope_per_hour: j.slope,
        mann_kendall_p: j.mk_p,
        growth: j.growth,
        first: j.first,
        last: j.last,
        hours_to_limit,
        profiles: red.len(),
        categories,
        sites,
        signatures,
    };
    (report, min_growth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_from_cumulative_or_drops() {
        let s = |v: &[f64]| v.iter().map(|x| Some(*x)).collect::<Vec<_>>();
        let totals = s(&[10.0, 12.0, 14.0, 9.0, 11.0]);
        // alloc_space goes down at 3: a new process.
        let cum = s(&[100.0, 150.0, 200.0, 50.0, 90.0]);
        assert_eq!(restarts(&[0, 1, 2, 3, 4], &totals, Some(&cum)), vec![3]);
        // Without it, a drop of 14 -> 9 is not over half: no restart.
        assert_eq!(restarts(&[0, 1, 2, 3, 4], &totals, None), Vec::<usize>::new());
        let totals = s(&[10.0, 12.0, 14.0, 5.0, 11.0]);
        assert_eq!(restarts(&[0, 1, 2, 3, 4], &totals, None), vec![3]);
        // Gaps are skipped: compare with the last present window.
        let mut totals = s(&[10.0, 12.0, 14.0, 5.0]);
        totals.insert(2, None);
        assert_eq!(restarts(&[0, 1, 3, 4], &totals, None), vec![4]);
    }

    #[test]
    fn sample_types() {
        assert_eq!(sample_type_of("memory:inuse_space:bytes:space:bytes"), ("inuse_space".into(), "bytes".into()));
        assert_eq!(sample_type_of("x"), (String::new(), String::new()));
    }
}
