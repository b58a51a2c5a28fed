//! The Pyroscope source's flags and helpers, shared by `fleet`, and by
//! `trend` and `diff` with `--pyroscope` (issue 21).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::TrendRun;
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

/// Parses a duration that must be more than zero (`15m`, `1h30m`, `7d`).
pub fn positive_duration(s: &str) -> Result<Duration, String> {
    let d = time::parse_duration(s)?;
    if d.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(d)
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

/// `trend --pyroscope URL --query SELECTOR --from --to --step` (`--sample-type`,
/// shared with files, is [`TrendRun::sample_type`]).
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

fn required_query(q: &Option<String>) -> anyhow::Result<String> {
    let q = q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    q.map(str::to_string)
        .ok_or_else(|| anyhow!("--pyroscope needs --query SELECTOR, e.g. --query '{{service_name=\"traefik\"}}'"))
}

/// `trend --pyroscope`: the windows of `p` judged as `t` judges files
/// (`t.inputs` is not read), rendered and gated the same way.
pub fn trend_from_pyroscope(
    p: &TrendFromPyroscope,
    url: &str,
    t: &TrendRun<'_>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let rules = t.judging.rules()?;
    let gates = t.gates.validate(&rules)?;
    let o = crate::trend::Options {
        min_growth: t.judging.min_growth,
        min_growth_ratio: t.judging.min_growth_pct / 100.0,
        limit: t.limit,
        nodecount: t.nodecount,
        strict: t.strict,
        // The profile type fetched is the one judged (`--sample-type` chose it).
        sample_type: None,
    };
    let format = t.format.report(t.color);
    let query = required_query(&p.query)?;
    let profile_type = pyro::profile_type_for(t.sample_type.unwrap_or("inuse_space")).map_err(|e| anyhow!(e))?;
    let windows = windows(p.from.as_deref().unwrap_or("6h"), p.to.as_deref().unwrap_or("now"), p.step)?;
    let client = Client::new(&p.conn.config(url)).map_err(|e| anyhow!(e))?;
    let bar = Bar::new(false, "merged profiles");
    let what = crate::Selection { profile_type: &profile_type, query: &query, windows: &windows };
    let doc = crate::trend_from_pyroscope(&client, &what, &rules, &o, format.needs(), &bar);
    bar.finish();
    let doc = doc.map_err(|e| anyhow!(e))?;
    super::finish_trend(&doc, format, &gates, out)
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
    let names =
        [base_end, new_end].map(|e| std::path::PathBuf::from(format!("{query} @ {}", time::rfc3339(e)))).to_vec();
    Ok((b, n, names))
}
