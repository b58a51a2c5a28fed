//! The trend report model (schema `leakscope.trend/v1`), built by
//! [`crate::trend::run`] and rendered by [`crate::report::render::trend`].

use serde::Serialize;

pub use super::diff::{SampleType, SignatureHit, Verdict};
pub use super::reconcile::Reconciliation;

/// JSON schema name and version of [`TrendReport`].
pub const SCHEMA: &str = "leakscope.trend/v1";

/// Minor version of [`SCHEMA`]: fields added without breaking readers of
/// earlier minors. 1 added `schema_minor` and `sites[].function` (sites
/// grouped by allocating function, `frame` keeping its meaning).
pub const SCHEMA_MINOR: u32 = 1;

/// The shape of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// Grew in every interval, or a significant upward trend that is still
    /// rising at the end: the signature of a leak.
    MonotonicGrowth,
    /// Grew, then levelled off: warm-up, a cache filling to its bound.
    Plateau,
    /// Goes up and down without a significant trend: churn, a sawtooth.
    Churn,
    /// No significant change.
    Flat,
    /// A significant downward trend.
    Shrinking,
}

/// Kebab-case name of a shape.
pub fn shape_name(s: Shape) -> &'static str {
    match s {
        Shape::MonotonicGrowth => "monotonic growth",
        Shape::Plateau => "plateau",
        Shape::Churn => "churn",
        Shape::Flat => "flat",
        Shape::Shrinking => "shrinking",
    }
}

/// A sparkline of `y` with eight levels.
pub fn sparkline(y: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = y.iter().copied().fold(f64::INFINITY, f64::min);
    y.iter()
        .map(|&v| {
            if max <= min {
                BARS[0]
            } else {
                let i = ((v - min) / (max - min) * 7.0).round() as usize;
                BARS[i.min(7)]
            }
        })
        .collect()
}

/// Prometheus text scrape, reduced to the few numbers a trend uses.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Scrape {
    /// Config reloads so far (traefik_config_reloads_total or any
    /// `*config*reload*_total`).
    pub reloads: Option<f64>,
    /// Requests so far (traefik_entrypoint_requests_total, else
    /// http_requests_total / http_server_requests_total).
    pub requests: Option<f64>,
    /// process_resident_memory_bytes.
    pub rss: Option<f64>,
    /// go_memstats_heap_inuse_bytes.
    pub heap_inuse: Option<f64>,
    /// go_memstats_heap_sys_bytes.
    pub heap_sys: Option<f64>,
    /// go_memstats_heap_idle_bytes.
    pub heap_idle: Option<f64>,
    /// go_memstats_heap_released_bytes.
    pub heap_released: Option<f64>,
    /// go_memstats_stack_inuse_bytes.
    pub stack_inuse: Option<f64>,
    /// go_memstats_sys_bytes.
    pub sys: Option<f64>,
    /// go_goroutines.
    pub goroutines: Option<f64>,
}

/// A series with its shape and slope.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// Values in snapshot order (the analysed segment).
    pub values: Vec<i64>,
    /// Its shape.
    pub shape: Shape,
    /// Theil–Sen slope per hour (per snapshot when times are unknown).
    pub slope_per_hour: Option<f64>,
    /// Theil–Sen slope per snapshot.
    pub slope_per_snapshot: f64,
    /// Last − first.
    pub growth: i64,
    /// Mann–Kendall two-sided p-value.
    pub mann_kendall_p: f64,
}

/// One snapshot in the report.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotRow {
    /// The file.
    pub file: String,
    /// Profile time, ns since the epoch (0 if unknown).
    pub time_nanos: i64,
    /// Primary total.
    pub total: i64,
    /// A process restart was detected between the previous snapshot and this one.
    pub restart_before: bool,
    /// The /metrics scrape beside it, if any.
    pub scrape: Option<Scrape>,
}

/// A category series.
#[derive(Debug, Clone, Serialize)]
pub struct CategorySeries {
    /// Category.
    pub name: String,
    /// Growth over the analysed segment (last − first), as `delta` in diff.
    pub delta: i64,
    /// Named as leaking.
    pub suspect: bool,
    /// The series.
    pub series: Series,
    /// The inuse_objects series of the category (heap profiles).
    pub objects: Option<Series>,
}

/// A site series.
#[derive(Debug, Clone, Serialize)]
pub struct SiteSeries {
    /// Category.
    pub category: String,
    /// The allocating function: the first frame from the leaf that is not
    /// allocator or library plumbing, whether or not a rule knows it.
    /// Sites are grouped by (category, function).
    pub function: String,
    /// The frame that decided the category (for the site's stacks that
    /// hold the most in the latest snapshot).
    pub frame: String,
    /// Growth (last − first).
    pub delta: i64,
    /// The series.
    pub series: Series,
    /// The site's inuse_objects series (heap profiles).
    pub objects: Option<Series>,
}

/// Growth per unit of work, from /metrics scrapes.
#[derive(Debug, Clone, Serialize)]
pub struct PerWork {
    /// Config reloads during the segment.
    pub reloads: Option<f64>,
    /// Requests during the segment.
    pub requests: Option<f64>,
    /// Total growth per reload.
    pub growth_per_reload: Option<f64>,
    /// Total growth per 1,000 requests.
    pub growth_per_1000_requests: Option<f64>,
    /// config-reload growth per reload.
    pub config_reload_growth_per_reload: Option<f64>,
    /// http-request growth per 1,000 requests.
    pub http_request_growth_per_1000_requests: Option<f64>,
}

/// Time until the limit at the current slope.
#[derive(Debug, Clone, Serialize)]
pub struct Projection {
    /// The limit.
    pub limit: i64,
    /// Hours until the heap profile's total reaches it.
    pub heap_hours: Option<f64>,
    /// Hours until the process RSS (from /metrics) reaches it.
    pub rss_hours: Option<f64>,
}

/// A goroutine group that grows.
#[derive(Debug, Clone, Serialize)]
pub struct GoroutineGroup {
    /// Category.
    pub category: String,
    /// The function that identifies the group: the goroutines' first frame
    /// from the leaf that is not waiting or library plumbing (the site's
    /// function, as for heap sites).
    pub frame: String,
    /// Growth in goroutines.
    pub delta: i64,
    /// The series.
    pub series: Series,
    /// Heap growth (inuse_space) in runtime.malg over the heap snapshots.
    pub heap_goroutine_structs_delta: Option<i64>,
    /// Heap growth in sites of the same Go package.
    pub heap_same_package_delta: Option<i64>,
}

/// Goroutine-profile part of a trend.
#[derive(Debug, Clone, Serialize)]
pub struct GoroutineTrend {
    /// Goroutine snapshots read.
    pub snapshots: usize,
    /// Total goroutines.
    pub total: Series,
    /// Groups that grow monotonically.
    pub growing: Vec<GoroutineGroup>,
}

/// The whole trend report.
#[derive(Debug, Clone, Serialize)]
pub struct TrendReport {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// Always [`SCHEMA_MINOR`].
    pub schema_minor: u32,
    /// Judged sample type.
    pub sample_type: SampleType,
    /// All heap snapshots, in order.
    pub snapshots: Vec<SnapshotRow>,
    /// How they were ordered: `time` or `name`.
    pub ordered_by: &'static str,
    /// Indexes where a restart was detected.
    pub restarts: Vec<usize>,
    /// The analysed segment: snapshot indexes [from, to].
    pub analyzed: (usize, usize),
    /// Seconds the analysed segment spans, when times are known.
    pub interval_seconds: Option<f64>,
    /// Growth over the analysed segment.
    pub total_delta: i64,
    /// The total series.
    pub total: Series,
    /// The total inuse_objects series (heap profiles).
    pub total_objects: Option<Series>,
    /// Verdict.
    pub verdict: Verdict,
    /// What to do next.
    pub next_steps: Vec<String>,
    /// Absolute growth threshold used.
    pub min_growth: i64,
    /// Categories by growth.
    pub categories: Vec<CategorySeries>,
    /// Sites by growth.
    pub sites: Vec<SiteSeries>,
    /// Growth per unit of work.
    pub per_work: Option<PerWork>,
    /// Time to the limit.
    pub projection: Option<Projection>,
    /// Heap vs process memory, at the last snapshot.
    pub reconciliation: Option<Reconciliation>,
    /// Goroutine profiles found beside the heap profiles.
    pub goroutines: Option<GoroutineTrend>,
    /// Known-leak signatures present in the analysed snapshots, judged as
    /// `diff` judges them over its first and last (`base` and `new`):
    /// only a `growing` one is named in the verdict and advised on.
    pub signatures: Vec<SignatureHit>,
    /// Inputs that were skipped, with why.
    pub skipped: Vec<String>,
}

/// A trend ready to render: the model, and what HTML and DOT draw besides.
#[derive(Debug, Clone)]
pub struct TrendDocument {
    /// The report model (all that JSON, text and Markdown show).
    pub report: TrendReport,
    /// The diff of the first and last analysed snapshots, for HTML (its
    /// sites, stacks and flame graph) and DOT (its growth graph), when
    /// asked for and when there are two.
    pub first_last: Option<super::diff::DiffDocument>,
    /// Problems that left a part out (e.g. the first/last diff of an HTML
    /// report), one line each, for stderr.
    pub warnings: Vec<String>,
}
