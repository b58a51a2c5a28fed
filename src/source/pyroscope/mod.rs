//! Grafana Pyroscope as a source of heap snapshots.
//!
//! Pyroscope stores the heap profiles that Grafana Alloy (or a push SDK)
//! sends it, per series (a label set such as `{service_name="traefik",
//! pod="traefik-5d9…"}`), and merges them on request. leakscope is only its
//! client: it asks for
//! - `SelectSeries` with `groupBy`: the total of each series per window,
//!   cheap, to decide which series grow;
//! - `SelectMergeProfile`: the merged pprof profile of a selector over one
//!   window, decoded by leakscope's own decoder ([`crate::pprof::parse`])
//!   and reduced at once by the caller, never held;
//! - `ProfileTypes`, `LabelValues`: to explain an empty answer.
//!
//! The transport is the Connect protocol over HTTP/1.1 (`POST
//! BASE/querier.v1.QuerierService/METHOD` with protobuf bodies), with
//! https, basic auth, extra headers, a tenant header, timeouts, retries
//! with backoff and a fixed number of requests in flight.
//!
//! # Windows and scaling
//! A window is `(end - step, end]`. A heap profile measures memory in use
//! at one instant, but Pyroscope *sums* all profiles of a window when it
//! merges them (a pod scraped every 15 s gives 60 profiles per 15-minute
//! window). Each window's profile is therefore divided by the number of
//! profiles merged into it, which is `SelectSeries`' sum divided by its
//! average: the window's snapshot is the **average profile** of the
//! window, and with one profile per window it is that profile exactly.
//!
//! ```no_run
//! use leakscope::source::pyroscope::{Client, Config, Windows, DEFAULT_PROFILE_TYPE};
//! let client = Client::new(&Config::new("http://127.0.0.1:4040"))?;
//! let now = leakscope::source::pyroscope::time::now_ms();
//! let w = Windows::new(now - 6 * 3_600_000, now, std::time::Duration::from_secs(900))?;
//! for s in client.series_table(DEFAULT_PROFILE_TYPE, "{service_name=\"traefik\"}", &["pod".into()], &w)? {
//!     println!("{:?}: {:?}", s.labels, s.values);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod http;
pub mod proto;
pub mod selector;
mod snapshots;
pub mod time;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use prost::Message;
use rayon::prelude::*;

use crate::profile::Profile;
pub use error::Error;
pub use http::{parse_header, Config};
use proto::querier::v1 as q;
use proto::types::v1 as t;
pub use snapshots::{diff_profiles, window_snapshots, Snapshot, Snapshots};
pub use time::{Window, Windows};

/// The profile type judged unless asked otherwise: Go's in-use heap bytes.
pub const DEFAULT_PROFILE_TYPE: &str = "memory:inuse_space:bytes:space:bytes";

/// The Pyroscope profile type ID for a `--sample-type`: a pprof heap sample
/// type (`inuse_space`, `inuse_objects`, `alloc_space`, `alloc_objects`),
/// `goroutine`, or a full ID (`name:type:unit:period_type:period_unit`).
pub fn profile_type_for(sample_type: &str) -> Result<String, String> {
    let s = sample_type.trim();
    Ok(match s {
        "inuse_space" | "alloc_space" => format!("memory:{s}:bytes:space:bytes"),
        "inuse_objects" | "alloc_objects" => format!("memory:{s}:count:space:bytes"),
        "goroutine" | "goroutines" => "goroutine:goroutine:count:goroutine:count".to_string(),
        id if id.split(':').count() == 5 && id.split(':').all(|p| !p.is_empty()) => id.to_string(),
        other => {
            return Err(format!(
                "--sample-type {other:?}: give inuse_space, inuse_objects, alloc_space, alloc_objects, goroutine, \
                 or a Pyroscope profile type ID such as {DEFAULT_PROFILE_TYPE}"
            ))
        }
    })
}

/// The cumulative companion of a heap profile type, for restart
/// detection: `alloc_space` only ever grows within one process.
pub fn cumulative_type_of(profile_type: &str) -> Option<&'static str> {
    profile_type.starts_with("memory:").then_some("memory:alloc_space:bytes:space:bytes")
}

/// How `SelectSeries` combines the profiles of one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    /// The sum of their totals.
    Sum,
    /// The average of their totals.
    Average,
}

/// One series of a `SelectSeries` query, per window.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    /// The `groupBy` labels, in the order asked; `""` when the series lacks one.
    pub labels: Vec<(String, String)>,
    /// The average total of the window's profiles; `None` for a window
    /// without profiles (a gap, never a zero).
    pub values: Vec<Option<f64>>,
    /// How many profiles each window merges (0 in a gap).
    pub counts: Vec<u32>,
}

/// Progress of the slow part (fetching merged profiles), for a progress bar.
pub trait Progress: Sync {
    /// `total` profiles are about to be fetched.
    fn start(&self, total: usize);
    /// One more is done.
    fn tick(&self);
}

/// No progress reporting.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: usize) {}
    fn tick(&self) {}
}

/// One merged-profile request.
#[derive(Debug, Clone)]
pub struct Task {
    /// The selector.
    pub selector: String,
    /// The window.
    pub window: Window,
    /// Divide every value by this (the window's profile count; 1 = as is).
    pub divide_by: u32,
    /// The caller's own tag, handed back with the task.
    pub tag: usize,
}

/// A Pyroscope client.
#[derive(Debug)]
pub struct Client {
    t: http::Transport,
    jobs: usize,
}

impl Client {
    /// A client for the server in `c`; checks the URL, sends nothing.
    pub fn new(c: &Config) -> Result<Client, String> {
        Ok(Client { t: http::Transport::new(c)?, jobs: c.jobs.max(1) })
    }

    /// The server's base URL, without credentials.
    pub fn url(&self) -> &str {
        &self.t.base
    }

    /// Requests in flight at once.
    pub fn jobs(&self) -> usize {
        self.jobs
    }

    fn decode<M: Message + Default>(&self, method: &str, bytes: &[u8]) -> Result<M, Error> {
        M::decode(bytes).map_err(|e| Error::BadResponse {
            url: self.t.base.clone(),
            path: format!("/querier.v1.QuerierService/{method}"),
            what: format!("the answer is not a {method} response: {e}"),
        })
    }

    /// A server error about `query` becomes [`Error::BadSelector`] when it
    /// is about the selector (Pyroscope's message is kept as it is).
    fn about_query(&self, query: &str, e: Error) -> Error {
        match e {
            Error::Server { message, status, method, url } if status.starts_with("400") => {
                let msg = message.strip_prefix("invalid_argument: ").unwrap_or(&message).to_string();
                if msg.contains("parse error") || msg.contains("selector") || msg.contains("matcher") {
                    Error::BadSelector { url, query: query.to_string(), message: msg }
                } else {
                    Error::Server { message, status, method, url }
                }
            }
            e => e,
        }
    }

    /// The profile types with data between `start` and `end` (ms).
    pub fn profile_types(&self, start: i64, end: i64) -> Result<Vec<t::ProfileType>, Error> {
        let b = self.t.call("ProfileTypes", &q::ProfileTypesRequest { start, end })?;
        Ok(self.decode::<q::ProfileTypesResponse>("ProfileTypes", &b)?.profile_types)
    }

    /// The values of label `name` among the series matching `matchers`.
    pub fn label_values(&self, name: &str, matchers: &[String], start: i64, end: i64) -> Result<Vec<String>, Error> {
        let req = t::LabelValuesRequest { name: name.to_string(), matchers: matchers.to_vec(), start, end };
        let b = self.t.call("LabelValues", &req)?;
        Ok(self.decode::<t::LabelValuesResponse>("LabelValues", &b)?.names)
    }

    /// `SelectSeries` over `windows`: one point per window with profiles.
    pub fn select_series(
        &self,
        profile_type: &str,
        query: &str,
        group_by: &[String],
        windows: &Windows,
        aggregation: Aggregation,
    ) -> Result<Vec<t::Series>, Error> {
        let (start, end) = windows.series_range();
        let req = q::SelectSeriesRequest {
            profile_type_id: profile_type.to_string(),
            label_selector: query.to_string(),
            start,
            end,
            group_by: group_by.to_vec(),
            step: windows.step as f64 / 1000.0,
            aggregation: Some(match aggregation {
                Aggregation::Sum => t::TimeSeriesAggregationType::Sum as i32,
                Aggregation::Average => t::TimeSeriesAggregationType::Average as i32,
            }),
            limit: None,
        };
        let b = self.t.call("SelectSeries", &req).map_err(|e| self.about_query(query, e))?;
        Ok(self.decode::<q::SelectSeriesResponse>("SelectSeries", &b)?.series)
    }

    /// The series of `query` grouped by `group_by`, each with its average
    /// total and profile count per window (two `SelectSeries` calls, sum and
    /// average, made at once). Sorted by labels.
    pub fn series_table(
        &self,
        profile_type: &str,
        query: &str,
        group_by: &[String],
        windows: &Windows,
    ) -> Result<Vec<SeriesRow>, Error> {
        let (sum, avg) = std::thread::scope(|s| {
            let h = s.spawn(|| self.select_series(profile_type, query, group_by, windows, Aggregation::Sum));
            let avg = self.select_series(profile_type, query, group_by, windows, Aggregation::Average);
            (h.join().unwrap_or(Err(Error::Cancelled)), avg)
        });
        let (sum, avg) = (sum?, avg?);
        let key = |s: &t::Series| -> Vec<(String, String)> {
            group_by
                .iter()
                .map(|g| {
                    let v = s.labels.iter().find(|l| &l.name == g).map_or("", |l| l.value.as_str());
                    (g.clone(), v.to_string())
                })
                .collect()
        };
        // The sums first, then the averages: count = sum / average.
        let mut sums: std::collections::BTreeMap<Vec<(String, String)>, Vec<f64>> = Default::default();
        for s in &sum {
            let v = sums.entry(key(s)).or_insert_with(|| vec![0.0; windows.count]);
            for p in &s.points {
                if let Some(i) = windows.index_of_point(p.timestamp) {
                    v[i] += p.value;
                }
            }
        }
        let mut rows: std::collections::BTreeMap<Vec<(String, String)>, SeriesRow> = Default::default();
        for s in &avg {
            let k = key(s);
            let total = sums.get(&k);
            let r = rows.entry(k.clone()).or_insert_with(|| SeriesRow {
                labels: k,
                values: vec![None; windows.count],
                counts: vec![0; windows.count],
            });
            for p in &s.points {
                if let Some(i) = windows.index_of_point(p.timestamp) {
                    r.values[i] = Some(p.value);
                    let total = total.map_or(0.0, |v| v[i]);
                    r.counts[i] = if p.value > 0.0 {
                        (total / p.value).round().clamp(1.0, f64::from(u32::MAX)) as u32
                    } else {
                        1
                    };
                }
            }
        }
        Ok(rows.into_values().filter(|r| r.values.iter().any(Option::is_some)).collect())
    }

    /// Why a query matched nothing, as [`Error::NoSeries`]: the profile type
    /// missing from the server, or the selector matching no series (with
    /// the `service_name`s that do have data, when there are few).
    pub fn explain_no_series(&self, profile_type: &str, query: &str, windows: &Windows) -> Error {
        let (start, end) = windows.span();
        let range = format!(
            "between {} and {}",
            crate::units::utc(start.saturating_mul(1_000_000)),
            crate::units::utc(end.saturating_mul(1_000_000))
        );
        let types = self.profile_types(start, end).unwrap_or_default();
        if !types.is_empty() && !types.iter().any(|p| p.id == profile_type) {
            let mut ids: Vec<&str> = types.iter().map(|p| p.id.as_str()).collect();
            ids.sort_unstable();
            return Error::NoSeries(format!(
                "Pyroscope at {} has no {profile_type} profiles {range} (it has: {}); choose one with --sample-type",
                self.url(),
                ids.join(", ")
            ));
        }
        let hint = match self.label_values("service_name", &[], start, end) {
            Ok(v) if !v.is_empty() && v.len() <= 20 => format!(" (service_name values with data: {})", v.join(", ")),
            _ => String::new(),
        };
        Error::NoSeries(format!(
            "no series matched {query} in Pyroscope at {} {range} for {profile_type}{hint}",
            self.url()
        ))
    }

    /// The merged profile of `selector` over window `w`, or `None` when the
    /// window has no data.
    pub fn merge_profile(&self, profile_type: &str, selector: &str, w: Window) -> Result<Option<Profile>, Error> {
        let bytes = self.merge_profile_bytes(profile_type, selector, w)?;
        if bytes.is_empty() {
            return Ok(None);
        }
        let p = crate::pprof::parse(&bytes).map_err(|e| Error::Decode {
            url: self.url().to_string(),
            what: format!("{selector} for the window ending {}", crate::units::utc(w.end * 1_000_000)),
            message: e.to_string(),
        })?;
        Ok((p.num_samples() > 0 && !p.sample_types.is_empty()).then_some(p))
    }

    /// The undecoded answer of `SelectMergeProfile` (a `google.v1.Profile`).
    pub fn merge_profile_bytes(&self, profile_type: &str, selector: &str, w: Window) -> Result<Vec<u8>, Error> {
        let req = q::SelectMergeProfileRequest {
            profile_type_id: profile_type.to_string(),
            label_selector: selector.to_string(),
            start: w.start + 1,
            end: w.end,
            max_nodes: None,
        };
        self.t.call("SelectMergeProfile", &req).map_err(|e| self.about_query(selector, e))
    }

    /// Fetches the merged profile of every task, `jobs` at a time, scales
    /// it (see the module docs), and hands it to `f`, which reduces it; the
    /// profile is dropped when `f` returns. `None` for a task whose window
    /// turned out empty. `done` is called after each task. The first error
    /// stops the tasks not yet started and is returned.
    pub fn fetch_each<T: Send>(
        &self,
        profile_type: &str,
        tasks: &[Task],
        f: impl Fn(&Task, Profile) -> T + Sync,
        done: &(dyn Fn() + Sync),
    ) -> Result<Vec<Option<T>>, Error> {
        let failed = AtomicBool::new(false);
        let first: Mutex<Option<Error>> = Mutex::new(None);
        let run = || -> Vec<Option<T>> {
            tasks
                .par_iter()
                .with_max_len(1)
                .map(|task| {
                    if failed.load(Ordering::Relaxed) {
                        return None;
                    }
                    let r = self.merge_profile(profile_type, &task.selector, task.window);
                    done();
                    match r {
                        Ok(Some(mut p)) => {
                            scale(&mut p, task);
                            Some(f(task, p))
                        }
                        Ok(None) => None,
                        Err(e) => {
                            if !failed.swap(true, Ordering::Relaxed) {
                                *first.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                            }
                            None
                        }
                    }
                })
                .collect()
        };
        let out = match rayon::ThreadPoolBuilder::new().num_threads(self.jobs).build() {
            Ok(pool) => pool.install(run),
            Err(_) => run(),
        };
        match first.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}

/// Divides every value by the window's profile count, and dates the
/// profile at its window's end (a merged profile's own time is not the
/// time of any one of its profiles).
fn scale(p: &mut Profile, task: &Task) {
    if task.divide_by > 1 {
        let d = f64::from(task.divide_by);
        for v in &mut p.values {
            *v = (*v as f64 / d).round() as i64;
        }
    }
    p.time_nanos = task.window.end.saturating_mul(1_000_000);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_types_for_sample_types() {
        assert_eq!(profile_type_for("inuse_space").unwrap(), DEFAULT_PROFILE_TYPE);
        assert_eq!(profile_type_for("alloc_objects").unwrap(), "memory:alloc_objects:count:space:bytes");
        assert_eq!(profile_type_for("goroutine").unwrap(), "goroutine:goroutine:count:goroutine:count");
        assert_eq!(profile_type_for("a:b:c:d:e").unwrap(), "a:b:c:d:e");
        assert!(profile_type_for("cpu").is_err());
        assert!(profile_type_for("a::c:d:e").is_err());
        assert_eq!(cumulative_type_of(DEFAULT_PROFILE_TYPE), Some("memory:alloc_space:bytes:space:bytes"));
        assert_eq!(cumulative_type_of("goroutine:goroutine:count:goroutine:count"), None);
    }
}
