//! Snapshots for `trend --pyroscope` and `diff --pyroscope`: one merged
//! profile per window of one selector, scaled to the window's average
//! profile (see the module docs of [`super`]).

use crate::profile::Profile;

use super::{cumulative_type_of, Client, Error, Progress, Task, Window, Windows};

/// One window's snapshot, as the caller reduced it.
#[derive(Debug, Clone)]
pub struct Snapshot<T> {
    /// The window.
    pub window: Window,
    /// Profiles Pyroscope merged into it (the values were divided by this).
    pub profiles: u32,
    /// The average total of the cumulative companion type
    /// (`alloc_space` for heap types), for restart detection.
    pub cumulative: Option<f64>,
    /// What the caller made of the profile.
    pub value: T,
}

/// The snapshots of a range, in window order.
#[derive(Debug, Clone)]
pub struct Snapshots<T> {
    /// Windows with data.
    pub snapshots: Vec<Snapshot<T>>,
    /// Windows without data: gaps, never zeros.
    pub gaps: Vec<Window>,
}

/// Fetches the merged profile of `selector` in each of `windows`, `jobs`
/// at a time, and hands each to `f` as it arrives (to be reduced; it is
/// dropped when `f` returns). Windows without data are returned as gaps.
/// No window with data at all is [`Error::NoSeries`].
pub fn window_snapshots<T: Send>(
    client: &Client,
    profile_type: &str,
    selector: &str,
    windows: &Windows,
    f: impl Fn(Window, Profile) -> T + Sync,
    progress: &dyn Progress,
) -> Result<Snapshots<T>, Error> {
    super::selector::check(selector).map_err(Error::NoSeries)?;
    let rows = client.series_table(profile_type, selector, &[], windows)?;
    let Some(row) = rows.into_iter().next() else {
        return Err(client.explain_no_series(profile_type, selector, windows));
    };
    let cumulative: Vec<Option<f64>> = match cumulative_type_of(profile_type) {
        Some(ct) => client
            .series_table(ct, selector, &[], windows)?
            .into_iter()
            .next()
            .map_or_else(|| vec![None; windows.count], |r| r.values),
        None => vec![None; windows.count],
    };
    let mut tasks = Vec::new();
    let mut gaps = Vec::new();
    for w in windows.iter() {
        if row.values[w.index].is_some() {
            tasks.push(Task {
                selector: selector.to_string(),
                window: w,
                divide_by: row.counts[w.index].max(1),
                tag: w.index,
            });
        } else {
            gaps.push(w);
        }
    }
    progress.start(tasks.len());
    let got = client.fetch_each(profile_type, &tasks, |t, p| f(t.window, p), &|| progress.tick())?;
    let mut snapshots = Vec::with_capacity(tasks.len());
    for (t, v) in tasks.iter().zip(got) {
        match v {
            Some(value) => snapshots.push(Snapshot {
                window: t.window,
                profiles: t.divide_by,
                cumulative: cumulative.get(t.window.index).copied().flatten(),
                value,
            }),
            None => gaps.push(t.window),
        }
    }
    gaps.sort_by_key(|w| w.index);
    Ok(Snapshots { snapshots, gaps })
}

/// The base and new snapshots of a diff: the windows of length `step`
/// ending at `base_end` and at `new_end` (ms). A window without data is
/// [`Error::NoData`]: a gap, which is never compared as a zero.
pub fn diff_profiles(
    client: &Client,
    profile_type: &str,
    selector: &str,
    base_end: i64,
    new_end: i64,
    step: std::time::Duration,
) -> Result<(Profile, Profile), Error> {
    let one = |end: i64, which: &str| -> Result<Profile, Error> {
        let w = Windows::new(end - step.as_millis() as i64, end, step).map_err(Error::NoData)?;
        let got = window_snapshots(client, profile_type, selector, &w, |_, p| p, &super::NoProgress);
        let no_data = || {
            let win = w.get(0);
            Error::NoData(format!(
                "no {profile_type} data for {selector} in the {which} window ({} .. {}] at {}: a gap, not a zero; \
                 choose another --{which} or a longer --step",
                crate::units::utc(win.start * 1_000_000),
                crate::units::utc(win.end * 1_000_000),
                client.url()
            ))
        };
        match got {
            Ok(mut s) => s.snapshots.pop().map(|s| s.value).ok_or_else(no_data),
            // Nothing in this window: a gap if the selector has data
            // somewhere from the base window until now, else nothing
            // matches at all.
            Err(Error::NoSeries(_)) => {
                let start = base_end - step.as_millis() as i64;
                let end = super::time::now_ms().max(new_end);
                let all = Windows { first_end: end, step: end - start, count: 1 };
                match client.series_table(profile_type, selector, &[], &all) {
                    Ok(rows) if !rows.is_empty() => Err(no_data()),
                    Ok(_) => Err(client.explain_no_series(profile_type, selector, &all)),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    };
    if base_end >= new_end {
        return Err(Error::NoData("--base must end before --new (both are window ends: ages or times)".into()));
    }
    std::thread::scope(|s| {
        let b = s.spawn(|| one(base_end, "base"));
        let n = one(new_end, "new");
        Ok((b.join().unwrap_or(Err(Error::Cancelled))?, n?))
    })
}
