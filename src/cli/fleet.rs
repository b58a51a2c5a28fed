//! `leakscope fleet --pyroscope URL --query SELECTOR --by LABELS`: judge
//! every series of a continuous-profiling store separately.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use clap::Args;

use super::common::pyroscope::{positive_duration, windows, Bar, PyroscopeConn};
use super::common::{parse_size, use_color, Color, Gates, Judging, Outcome};
use crate::report::fleet::render;
use crate::report::style::Style;
use crate::source::pyroscope::{self as pyro, Client};

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
    /// Pyroscope's base URL: `http(s)://[user:password@]host:port[/prefix]`.
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
    let o = crate::fleet::Options {
        url: client.url().to_string(),
        profile_type,
        query: a.query.trim().to_string(),
        by,
        window_ends_ms: windows.iter().map(|w| w.end).collect(),
        step_ms: windows.step,
        min_growth: a.judging.min_growth,
        min_growth_ratio: a.judging.min_growth_pct / 100.0,
        limit: a.limit,
        all: a.all,
        sites: a.sites,
    };
    let bar = Bar::new(a.quiet, "merged profiles");
    let r = crate::fleet(&client, &windows, &rules, &o, &bar);
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
