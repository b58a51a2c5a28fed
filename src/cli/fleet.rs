//! `leakscope fleet --pyroscope URL --query SELECTOR --by LABELS`: judge
//! every series of a continuous-profiling store separately.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::common::{parse_size, use_color, Color, Gates, Judging, Outcome};
use crate::fleet::{self, Options};
use crate::report::fleet as render;
use crate::report::style::Style;
use crate::source::pyroscope::{self as pyro, time, Client, Config, Windows};

/// How to reach Pyroscope: shared by `fleet`, and by `trend` and `diff`
/// with `--pyroscope`.
#[derive(Debug, Clone, Args)]
pub struct PyroscopeConn {
    /// Extra HTTP header for every request, NAME:VALUE (repeatable), e.g.
    /// 'Authorization: Bearer …'. Basic auth comes from user:password@ in
    /// the URL or LEAKSCOPE_PYROSCOPE_USER / LEAKSCOPE_PYROSCOPE_PASSWORD.
    #[arg(long = "header", value_name = "NAME:VALUE", value_parser = pyro::parse_header)]
    pub headers: Vec<(String, String)>,
    /// Tenant (X-Scope-OrgID) of a multi-tenant Pyroscope.
    #[arg(long, value_name = "ID")]
    pub tenant: Option<String>,
    /// Time limit of each request.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = positive_duration)]
    pub timeout: Duration,
    /// Retries of a request that failed for a passing reason (refused,
    /// reset, timeout, 429, a 5xx other than 501), with exponential backoff.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
    /// PEM bundle of the CAs that sign the server's certificate (default:
    /// $SSL_CERT_FILE when set, else Mozilla's roots).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<std::path::PathBuf>,
}

impl PyroscopeConn {
    /// The client configuration for `url`.
    pub fn config(&self, url: &str) -> Config {
        let mut c = Config::new(url);
        c.headers = self.headers.clone();
        c.tenant = self.tenant.clone();
        c.timeout = self.timeout;
        c.retries = self.retries;
        c.jobs = usize::from(self.jobs);
        c.ca_cert = self.ca_cert.clone();
        c
    }
}

fn positive_duration(s: &str) -> Result<Duration, String> {
    let d = time::parse_duration(s)?;
    if d.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(d)
}

/// Output formats of `fleet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FleetFormat {
    /// For a terminal.
    Text,
    /// For a ticket or a postmortem.
    Markdown,
    /// For scripts: schema leakscope.fleet/v1 (see README).
    Json,
    /// One self-contained page with a chart per leaking series.
    Html,
}

/// Arguments of `leakscope fleet`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  \
    leakscope fleet --pyroscope http://pyroscope:4040 --query '{namespace=\"kube-system\"}' --by service_name,pod --from 6h --step 15m\n\n\
    Each window (--step) is the average of the heap profiles Pyroscope holds for a series in it.\n\
    Exit status: 0, or 1 when a --fail-on-* gate trips; 2 on any error (one line on stderr).")]
pub struct FleetArgs {
    /// Pyroscope's base URL: http(s)://[user:password@]host:port[/prefix].
    #[arg(long, value_name = "URL")]
    pub pyroscope: String,
    /// Label selector of the series to judge, e.g. '{namespace="kube-system"}'.
    #[arg(long, value_name = "SELECTOR")]
    pub query: String,
    /// Labels that make one series, comma-separated.
    #[arg(long, value_name = "LABELS", default_value = "service_name,pod", value_delimiter = ',')]
    pub by: Vec<String>,
    /// Start: an age (6h, 2d) or a time (RFC 3339, or Unix seconds).
    #[arg(long, value_name = "DURATION|TIME", default_value = "6h")]
    pub from: String,
    /// End: an age or a time; default now.
    #[arg(long, value_name = "DURATION|TIME", default_value = "now")]
    pub to: String,
    /// Window length (e.g. 15m); default: the range in 12 windows.
    #[arg(long, value_name = "DURATION", value_parser = positive_duration)]
    pub step: Option<Duration>,
    /// What to judge: inuse_space (default), inuse_objects, alloc_space,
    /// alloc_objects, goroutine, or a Pyroscope profile type ID.
    #[arg(long, value_name = "TYPE", default_value = "inuse_space")]
    pub sample_type: String,
    /// The container memory limit, to project when each leak reaches it (e.g. 512MiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub limit: Option<i64>,
    /// Fetch and judge the profiles of every series, not only of those
    /// whose totals grow.
    #[arg(long)]
    pub all: bool,
    /// Growing allocation sites shown per leaking series.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub sites: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FleetFormat::Text)]
    pub format: FleetFormat,
    /// Colour for text output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Connection.
    #[command(flatten)]
    pub conn: PyroscopeConn,
    /// Rules and verdict thresholds.
    #[command(flatten)]
    pub judging: Judging,
    /// Exit-code gates: a series' growth, a category's growth in any
    /// series, a leak anywhere.
    #[command(flatten)]
    pub gates: Gates,
}

/// The windows of `--from`, `--to`, `--step` (default: 12 windows).
pub fn windows(from: &str, to: &str, step: Option<Duration>) -> anyhow::Result<Windows> {
    let now = time::now_ms();
    let from_ms = time::parse_time(from, now).map_err(|e| anyhow!("--from: {e}"))?;
    let to_ms = time::parse_time(to, now).map_err(|e| anyhow!("--to: {e}"))?;
    let step = step.unwrap_or_else(|| Duration::from_secs((((to_ms - from_ms).max(0) / 12) / 1000).max(1) as u64));
    Windows::new(from_ms, to_ms, step).map_err(|e| anyhow!("{e}"))
}

/// A progress bar on stderr when it is a terminal.
pub struct Bar(Option<ProgressBar>);

impl Bar {
    /// A bar, unless `quiet` or stderr is not a terminal.
    pub fn new(quiet: bool, what: &'static str) -> Bar {
        if quiet || !std::io::stderr().is_terminal() {
            return Bar(None);
        }
        let b = ProgressBar::hidden();
        b.set_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:24}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b.set_message(what);
        Bar(Some(b))
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

impl pyro::Progress for Bar {
    fn start(&self, total: usize) {
        if let Some(b) = &self.0 {
            b.set_length(total as u64);
            b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }
    fn tick(&self) {
        if let Some(b) = &self.0 {
            b.inc(1);
        }
    }
}

pub(crate) fn run(a: FleetArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let rules = a.judging.rules()?;
    let gates = a.gates.validate(&rules)?;
    let profile_type = pyro::profile_type_for(&a.sample_type).map_err(|e| anyhow!(e))?;
    let by: Vec<String> = a.by.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    if by.is_empty() {
        return Err(anyhow!("--by: give at least one label, e.g. service_name,pod"));
    }
    let windows = windows(&a.from, &a.to, a.step)?;
    let client = Client::new(&a.conn.config(&a.pyroscope)).map_err(|e| anyhow!(e))?;
    let o = Options {
        profile_type,
        query: a.query.trim().to_string(),
        by,
        windows,
        min_growth: a.judging.min_growth,
        min_growth_ratio: a.judging.min_growth_pct / 100.0,
        limit: a.limit,
        all: a.all,
        sites: a.sites,
    };
    let bar = Bar::new(a.quiet, "merged profiles");
    let r = fleet::run(&client, &rules, &o, &bar);
    bar.finish();
    let r = r.map_err(|e| anyhow!("{e}"))?;
    match a.format {
        FleetFormat::Json => render::json(&r, out)?,
        FleetFormat::Markdown => render::markdown(&r, out)?,
        FleetFormat::Html => render::html(&r, out)?,
        FleetFormat::Text => render::text(&r, Style { color: use_color(a.color) }, out)?,
    }
    out.flush()?;
    let worst_growth = r.series.iter().map(|s| s.growth).max().unwrap_or(0);
    let category_delta = |n: &str| {
        r.series.iter().flat_map(|s| s.categories.iter().filter(|c| c.name == n).map(|c| c.delta)).max().unwrap_or(0)
    };
    Ok(gates.exit_code(&Outcome {
        total_delta: worst_growth,
        unit: &r.source.unit,
        min_growth: r.min_growth,
        leak: r.verdict.leak,
        restarted: r.verdict.restarted > 0,
        category_delta: &category_delta,
    }))
}

impl Default for PyroscopeConn {
    /// The flags' defaults.
    fn default() -> PyroscopeConn {
        PyroscopeConn {
            headers: Vec::new(),
            tenant: None,
            timeout: Duration::from_secs(60),
            retries: 3,
            jobs: 4,
            ca_cert: None,
        }
    }
}

// ---------------------------------------------------------------------------
// `trend --pyroscope` and `diff --pyroscope` (issue 21). Kept here, apart
// from cli/trend.rs and cli/diff.rs, which only flatten these flags and
// call these functions.

/// `trend --pyroscope URL --query SELECTOR --from --to --step`.
#[derive(Debug, Clone, Default, Args)]
pub struct TrendFromPyroscope {
    /// Read the snapshots from Pyroscope at URL instead of files: one merged
    /// heap profile per --step window (the average of the window's
    /// profiles).
    #[arg(long, value_name = "URL", help_heading = "Pyroscope source")]
    pub pyroscope: Option<String>,
    /// With --pyroscope: the label selector, e.g. '{service_name="traefik"}'.
    #[arg(long, value_name = "SELECTOR", requires = "pyroscope", help_heading = "Pyroscope source")]
    pub query: Option<String>,
    /// With --pyroscope: start, an age (24h) or a time (RFC 3339, Unix
    /// seconds); default 6h.
    #[arg(long, value_name = "DURATION|TIME", requires = "pyroscope", help_heading = "Pyroscope source")]
    pub from: Option<String>,
    /// With --pyroscope: end, an age or a time; default now.
    #[arg(long, value_name = "DURATION|TIME", requires = "pyroscope", help_heading = "Pyroscope source")]
    pub to: Option<String>,
    /// With --pyroscope: window length; default the range in 12 windows.
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, requires = "pyroscope", help_heading = "Pyroscope source")]
    pub step: Option<Duration>,
    /// With --pyroscope: inuse_space (default), inuse_objects, alloc_space,
    /// alloc_objects, or a Pyroscope profile type ID.
    #[arg(long, value_name = "TYPE", requires = "pyroscope", help_heading = "Pyroscope source")]
    pub sample_type: Option<String>,
    /// Connection.
    #[command(flatten)]
    pub conn: PyroscopeConn,
}

/// `diff --pyroscope URL --query SELECTOR --base AGE --new AGE`.
#[derive(Debug, Clone, Default, Args)]
pub struct DiffFromPyroscope {
    /// Read BASE and NEW from Pyroscope at URL instead of files: the merged
    /// heap profiles of two windows (each the average of its profiles).
    #[arg(long, value_name = "URL", help_heading = "Pyroscope source")]
    pub pyroscope: Option<String>,
    /// With --pyroscope: the label selector, e.g. '{service_name="traefik"}'.
    #[arg(long, value_name = "SELECTOR", requires = "pyroscope", help_heading = "Pyroscope source")]
    pub query: Option<String>,
    /// With --pyroscope: end of the base window, an age (24h) or a time.
    #[arg(long, value_name = "DURATION|TIME", requires = "pyroscope", help_heading = "Pyroscope source")]
    pub base: Option<String>,
    /// With --pyroscope: end of the new window, an age (1h) or a time; default now.
    #[arg(long, value_name = "DURATION|TIME", requires = "pyroscope", help_heading = "Pyroscope source")]
    pub new: Option<String>,
    /// With --pyroscope: length of each window; default 15m.
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, requires = "pyroscope", help_heading = "Pyroscope source")]
    pub step: Option<Duration>,
    /// Connection.
    #[command(flatten)]
    pub conn: PyroscopeConn,
}

/// `2026-12-07T00:10:00Z`.
fn rfc3339(ms: i64) -> String {
    crate::units::utc(ms.saturating_mul(1_000_000)).replace(' ', "T").replace("TUTC", "Z")
}

fn required_query(q: &Option<String>) -> anyhow::Result<String> {
    let q = q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    q.map(str::to_string)
        .ok_or_else(|| anyhow!("--pyroscope needs --query SELECTOR, e.g. --query '{{service_name=\"traefik\"}}'"))
}

/// `trend --pyroscope`: the document, rendered and gated as `trend`'s.
pub(crate) fn trend_run(a: &super::trend::TrendArgs, url: &str, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let rules = a.judging.rules()?;
    let gates = a.gates.validate(&rules)?;
    let o = crate::trend::Options {
        min_growth: a.judging.min_growth,
        min_growth_ratio: a.judging.min_growth_pct / 100.0,
        limit: a.limit,
        nodecount: a.nodecount,
        strict: a.strict,
    };
    let format = a.format.report(a.color);
    let doc = trend_document(&a.pyroscope, url, &rules, &o, format.needs())?;
    for s in &doc.report.skipped {
        eprintln!("leakscope: warning: skipped {s}");
    }
    for w in &doc.warnings {
        eprintln!("leakscope: warning: {w}");
    }
    crate::report::render::trend::render(&doc, format, out)?;
    out.flush()?;
    let r = &doc.report;
    let category_delta = |n: &str| r.categories.iter().find(|c| c.name == n).map_or(0, |c| c.delta);
    Ok(gates.exit_code(&Outcome {
        total_delta: r.total_delta,
        unit: &r.sample_type.unit,
        min_growth: r.min_growth,
        leak: r.verdict.leak,
        restarted: !r.restarts.is_empty(),
        category_delta: &category_delta,
    }))
}

/// The trend of `--query` over the windows, reduced as each window's
/// profile arrives, then analysed exactly as snapshots from files; with
/// `extras` (HTML, DOT), also the diff of the first and last analysed
/// windows, fetched again.
pub(crate) fn trend_document(
    p: &TrendFromPyroscope,
    url: &str,
    rules: &crate::attribute::RuleSet,
    o: &crate::trend::Options,
    extras: crate::report::Extras,
) -> anyhow::Result<crate::report::trend::TrendDocument> {
    let query = required_query(&p.query)?;
    let profile_type =
        pyro::profile_type_for(p.sample_type.as_deref().unwrap_or("inuse_space")).map_err(|e| anyhow!(e))?;
    let windows = windows(p.from.as_deref().unwrap_or("6h"), p.to.as_deref().unwrap_or("now"), p.step)?;
    let client = Client::new(&p.conn.config(url)).map_err(|e| anyhow!(e))?;
    let cache = crate::trend::reduce::FrameCache::default();
    let bar = Bar::new(false, "merged profiles");
    let got = pyro::window_snapshots(
        &client,
        &profile_type,
        &query,
        &windows,
        |w, prof| {
            let name = format!("{query} @ {}", rfc3339(w.end));
            crate::trend::reduce::reduce_profile(name.into(), &prof, rules, &cache, false)
        },
        &bar,
    );
    bar.finish();
    let got = got.map_err(|e| anyhow!("{e}"))?;
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
    let mut r = crate::trend::run_reduced(reduced, cache, rules, o).map_err(|e| anyhow!("{url}: {query}: {e}"))?;
    for g in &got.gaps {
        r.skipped.push(format!(
            "the window ending {} has no data (a gap, not a zero)",
            crate::units::utc(g.end.saturating_mul(1_000_000))
        ));
    }
    // The next step names Pyroscope windows, not files.
    let (a, b) = (r.analyzed.0, r.analyzed.1);
    if let (Some(&first), Some(&last)) = (ends.get(a), ends.get(b)) {
        let cmd = format!(
            "leakscope diff --pyroscope {} --query '{query}' --base {} --new {} --step {}",
            client.url(),
            rfc3339(first),
            rfc3339(last),
            time::fmt_ms(windows.step)
        );
        for s in &mut r.next_steps {
            if let Some(i) = s.find("leakscope diff ") {
                s.replace_range(i.., &cmd);
            }
        }
    }
    let mut doc = crate::report::trend::TrendDocument { report: r, first_last: None, warnings: Vec::new() };
    if (extras.flame || extras.graph) && a != b {
        if let (Some(&first), Some(&last)) = (ends.get(a), ends.get(b)) {
            let step = Duration::from_millis(windows.step as u64);
            let names = (format!("{query} @ {}", rfc3339(first)), format!("{query} @ {}", rfc3339(last)));
            let dopts = crate::DiffOptions {
                sample_type: Some(doc.report.sample_type.name.clone()),
                nodecount: o.nodecount,
                min_growth: o.min_growth,
                min_growth_ratio: o.min_growth_ratio,
                extras,
                ..crate::DiffOptions::new()
            };
            let d = pyro::diff_profiles(&client, &profile_type, &query, first, last, step)
                .map_err(|e| e.to_string())
                .and_then(|(b, n)| crate::diff_profiles(b, n, (&names.0, &names.1), rules, &dopts));
            match d {
                Ok(d) => doc.first_last = Some(d),
                // DOT is nothing but this diff; HTML is whole without it.
                Err(e) if extras.graph => return Err(anyhow!("{e}")),
                Err(e) => doc.warnings.push(format!("no first/last diff in the HTML report: {e}")),
            }
        }
    }
    Ok(doc)
}

/// The two profiles of `diff --pyroscope`, and names for them (which
/// become `files`, shown in the report).
pub(crate) fn diff_inputs(
    p: &DiffFromPyroscope,
    url: &str,
    sample_type: Option<&str>,
) -> anyhow::Result<(crate::profile::Profile, crate::profile::Profile, Vec<std::path::PathBuf>)> {
    let query = required_query(&p.query)?;
    let profile_type = pyro::profile_type_for(sample_type.unwrap_or("inuse_space")).map_err(|e| anyhow!(e))?;
    let now = time::now_ms();
    let base =
        p.base.as_deref().ok_or_else(|| anyhow!("--pyroscope needs --base (end of the base window, e.g. 24h)"))?;
    let base_end = time::parse_time(base, now).map_err(|e| anyhow!("--base: {e}"))?;
    let new_end = time::parse_time(p.new.as_deref().unwrap_or("now"), now).map_err(|e| anyhow!("--new: {e}"))?;
    let step = p.step.unwrap_or(Duration::from_secs(900));
    let client = Client::new(&p.conn.config(url)).map_err(|e| anyhow!(e))?;
    let (b, n) =
        pyro::diff_profiles(&client, &profile_type, &query, base_end, new_end, step).map_err(|e| anyhow!("{e}"))?;
    let names = [base_end, new_end].map(|e| std::path::PathBuf::from(format!("{query} @ {}", rfc3339(e)))).to_vec();
    Ok((b, n, names))
}
