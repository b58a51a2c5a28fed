//! The entry points that read from Pyroscope ([`crate::source::pyroscope`])
//! and run the analyses on what arrives: [`fleet()`] (every series judged
//! separately) and [`trend_from_pyroscope`] (one selector's windows as a
//! trend). `diff --pyroscope` needs no more than
//! [`crate::source::pyroscope::diff_profiles`] and [`crate::diff_profiles`].

use crate::attribute::RuleSet;
use crate::fleet::{self, FleetReport, SeriesTotals};
use crate::report::trend::TrendDocument;
use crate::report::Extras;
use crate::source::pyroscope::{self as pyro, selector, time::rfc3339, Client, Progress, Task, Windows};
use crate::trend::reduce::{self, FrameCache};
use crate::DiffOptions;

/// Judges every series of `o.query` grouped by `o.by` over `windows`:
/// totals first (two `SelectSeries` pairs), then the merged profile of each
/// window of the growing series (or of all, with `o.all`), `jobs` at a
/// time, each reduced as it arrives and dropped.
pub fn fleet(
    client: &Client,
    windows: &Windows,
    rules: &RuleSet,
    o: &fleet::Options,
    progress: &dyn Progress,
) -> Result<FleetReport, pyro::Error> {
    selector::check(&o.query).map_err(pyro::Error::NoSeries)?;
    let rows = client.series_table(&o.profile_type, &o.query, &o.by, windows)?;
    if rows.is_empty() {
        return Err(client.explain_no_series(&o.profile_type, &o.query, windows));
    }
    // The cumulative companion (alloc_space), for restarts.
    let mut cumulative: std::collections::HashMap<Vec<(String, String)>, Vec<Option<f64>>> =
        match pyro::cumulative_type_of(&o.profile_type) {
            Some(ct) => {
                client.series_table(ct, &o.query, &o.by, windows)?.into_iter().map(|r| (r.labels, r.values)).collect()
            }
            None => Default::default(),
        };
    let rows: Vec<SeriesTotals> = rows
        .into_iter()
        .map(|r| SeriesTotals {
            cumulative: cumulative.remove(&r.labels),
            labels: r.labels,
            values: r.values,
            counts: r.counts,
        })
        .collect();
    let plan = fleet::plan(rows, o);
    let tasks: Vec<Task> = plan
        .fetch
        .iter()
        .enumerate()
        .map(|(tag, f)| Task {
            selector: selector::with_labels(&o.query, plan.labels(f.series)),
            window: windows.get(f.window),
            divide_by: f.divide_by,
            tag,
        })
        .collect();
    progress.start(tasks.len());
    let cache = FrameCache::default();
    let reduced = client.fetch_each(
        &o.profile_type,
        &tasks,
        |task, p| {
            let name = format!("{} @ {}", task.selector, rfc3339(task.window.end));
            fleet::reduce_window(&name, &p, rules, &cache, plan.fetch[task.tag].keep_sites)
        },
        &|| progress.tick(),
    )?;
    Ok(fleet::judge(plan, reduced, rules, &cache, o))
}

/// What to read from Pyroscope: a profile type, a selector, windows.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    /// Pyroscope profile type ID (e.g. `memory:inuse_space:bytes:space:bytes`).
    pub profile_type: &'a str,
    /// The label selector.
    pub query: &'a str,
    /// The windows.
    pub windows: &'a Windows,
}

/// The trend of `what.query` over `what.windows`: each window's merged profile is
/// reduced as it arrives, then the windows are analysed exactly as
/// snapshots from files ([`crate::trend::run_reduced`]); a window without
/// data is a gap (listed in `skipped`), never a zero. With `extras` (HTML,
/// DOT), the first and last analysed windows are fetched again for their
/// diff.
pub fn trend_from_pyroscope(
    client: &Client,
    what: &Selection<'_>,
    rules: &RuleSet,
    o: &crate::trend::Options,
    extras: Extras,
    progress: &dyn Progress,
) -> Result<TrendDocument, String> {
    let Selection { profile_type, query, windows } = *what;
    let cache = FrameCache::default();
    let got = pyro::window_snapshots(
        client,
        profile_type,
        query,
        windows,
        |w, prof| {
            let name = format!("{query} @ {}", rfc3339(w.end));
            reduce::reduce_profile(name.into(), &prof, rules, &cache, true)
        },
        progress,
    )
    .map_err(|e| e.to_string())?;
    let reduced: Vec<crate::trend::Reduced> = got
        .snapshots
        .into_iter()
        .map(|s| {
            let mut r = s.value;
            // alloc_space of the same windows, for restarts, as a file's own.
            if r.alloc_space.is_none() {
                r.alloc_space = s.cumulative.map(|c| c.round() as i64);
            }
            r
        })
        .collect();
    let ends: Vec<i64> = reduced.iter().map(|r| r.time_nanos / 1_000_000).collect();
    let mut r =
        crate::trend::run_reduced(reduced, cache, rules, o).map_err(|e| format!("{}: {query}: {e}", client.url()))?;
    for g in &got.gaps {
        r.skipped.push(format!(
            "the window ending {} has no data (a gap, not a zero)",
            crate::units::utc(g.end.saturating_mul(1_000_000))
        ));
    }
    // The next step names Pyroscope windows, not files.
    let (a, b) = r.analyzed;
    let first_last = ends.get(a).copied().zip(ends.get(b).copied());
    if let Some((first, last)) = first_last {
        let cmd = format!(
            "leakscope diff --pyroscope {} --query '{query}' --base {} --new {} --step {}",
            client.url(),
            rfc3339(first),
            rfc3339(last),
            pyro::time::fmt_ms(windows.step)
        );
        for s in &mut r.next_steps {
            if let Some(i) = s.find("leakscope diff ") {
                s.replace_range(i.., &cmd);
            }
        }
    }
    let mut doc = TrendDocument { report: r, first_last: None, warnings: Vec::new() };
    if let (true, Some((first, last))) = ((extras.flame || extras.graph) && a != b, first_last) {
        let step = std::time::Duration::from_millis(windows.step.max(0) as u64);
        let names = (format!("{query} @ {}", rfc3339(first)), format!("{query} @ {}", rfc3339(last)));
        let dopts = DiffOptions::of_trend(o, &doc.report.sample_type.name, extras);
        let d = pyro::diff_profiles(client, profile_type, query, first, last, step)
            .map_err(|e| e.to_string())
            .and_then(|(b, n)| crate::diff_profiles(b, n, (&names.0, &names.1), rules, &dopts));
        match d {
            Ok(d) => doc.first_last = Some(d),
            // DOT is nothing but this diff; HTML is whole without it.
            Err(e) if extras.graph => return Err(e),
            Err(e) => doc.warnings.push(format!("no first/last diff in the HTML report: {e}")),
        }
    }
    Ok(doc)
}
