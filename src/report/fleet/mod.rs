//! The fleet report model: every series of a continuous-profiling store
//! judged separately ([`crate::fleet()`] builds it; [`render`] lays it out as
//! text, Markdown, HTML and JSON, schema `leakscope.fleet/v1`).

pub mod render;

use std::collections::BTreeMap;

use serde::Serialize;

use super::trend::Shape;

/// JSON schema name and version of [`FleetReport`].
pub const SCHEMA: &str = "leakscope.fleet/v1";

/// Where the data came from.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// Server base URL (without credentials).
    pub url: String,
    /// The label selector.
    pub query: String,
    /// Pyroscope profile type ID.
    pub profile_type: String,
    /// Sample type name (e.g. `inuse_space`).
    pub sample_type: String,
    /// Its unit (e.g. `bytes`).
    pub unit: String,
    /// The `--by` labels.
    pub by: Vec<String>,
    /// Start of the first window (exclusive), ms since the epoch.
    pub from_ms: i64,
    /// End of the last window, ms since the epoch.
    pub to_ms: i64,
    /// Window length, seconds.
    pub step_seconds: i64,
    /// End of each window, ms since the epoch.
    pub window_ends_ms: Vec<i64>,
}

/// The fleet's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct FleetVerdict {
    /// Some series leaks.
    pub leak: bool,
    /// The category that leaks in most series.
    pub category: Option<String>,
    /// One line.
    pub headline: String,
    /// Series judged.
    pub series: usize,
    /// Series that leak.
    pub leaking: usize,
    /// Series with a restart in the range.
    pub restarted: usize,
}

/// A series' verdict.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesVerdict {
    /// It leaks.
    pub leak: bool,
    /// Its leaking category (the largest that grows steadily).
    pub category: Option<String>,
    /// Why, in one line.
    pub reason: String,
}

/// A category's growth in one series.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryGrowth {
    /// Category.
    pub name: String,
    /// Last − first window of the judged segment.
    pub delta: i64,
    /// Its shape.
    pub shape: Shape,
    /// Named as leaking.
    pub suspect: bool,
}

/// A growing allocation site in one series.
#[derive(Debug, Clone, Serialize)]
pub struct SiteGrowth {
    /// The allocating function: the first frame from the leaf that is not
    /// allocator or container plumbing.
    pub function: String,
    /// The category its stacks were attributed to.
    pub category: String,
    /// Last − first window of the judged segment.
    pub delta: i64,
}

/// A known-leak signature that grows in one series.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureGrowth {
    /// Signature id.
    pub id: String,
    /// What it is.
    pub title: String,
    /// Category its memory is counted in.
    pub category: String,
    /// Fixing version.
    pub fixed_in: String,
    /// What to do.
    pub advice: String,
    /// Issues.
    pub references: Vec<String>,
    /// Last − first window of the judged segment.
    pub delta: i64,
}

/// One series, judged.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesReport {
    /// The `--by` labels (`""` for a label the series lacks).
    pub labels: BTreeMap<String, String>,
    /// The verdict.
    pub verdict: SeriesVerdict,
    /// A process restart was detected in the range.
    pub restarted: bool,
    /// Windows at which a new process began.
    pub restarts: Vec<usize>,
    /// The total per window (the average of the window's profiles); `null`
    /// in a window without data (a gap, not a zero).
    pub values: Vec<Option<i64>>,
    /// Windows without data.
    pub gaps: usize,
    /// The judged windows (since the last restart): first and last index.
    pub judged: (usize, usize),
    /// Shape of the judged totals.
    pub shape: Shape,
    /// Theil–Sen slope per hour of the judged totals.
    pub slope_per_hour: f64,
    /// Mann–Kendall two-sided p-value.
    pub mann_kendall_p: f64,
    /// Last − first of the judged totals.
    pub growth: i64,
    /// First judged total.
    pub first: i64,
    /// Last judged total.
    pub last: i64,
    /// Hours until `--limit` at this slope (growing series only).
    pub hours_to_limit: Option<f64>,
    /// Merged profiles fetched and reduced for this series.
    pub profiles: usize,
    /// Categories by growth (when profiles were fetched).
    pub categories: Vec<CategoryGrowth>,
    /// Growing allocation sites, largest first.
    pub sites: Vec<SiteGrowth>,
    /// Known-leak signatures that grow.
    pub signatures: Vec<SignatureGrowth>,
}

/// Series without a leak, by count.
#[derive(Debug, Clone, Serialize)]
pub struct Clean {
    /// How many.
    pub count: usize,
    /// How many of each shape.
    pub shapes: BTreeMap<&'static str, usize>,
}

/// The whole fleet report.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// Where the data came from.
    pub source: Source,
    /// The fleet's verdict.
    pub verdict: FleetVerdict,
    /// Every series: leaking ones first (fastest first), then the others.
    pub series: Vec<SeriesReport>,
    /// The series without a leak, by count.
    pub clean: Clean,
    /// The absolute growth threshold (at least four sampling periods).
    pub min_growth: i64,
    /// `--limit`, if given.
    pub limit: Option<i64>,
    /// Merged profiles fetched.
    pub profiles_fetched: usize,
    /// Things worth knowing about the data (gaps, empty windows).
    pub notes: Vec<String>,
}

/// `k=v k=v` of a report's labels, in `--by` order when given.
pub fn label_text_map(labels: &BTreeMap<String, String>) -> String {
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}
