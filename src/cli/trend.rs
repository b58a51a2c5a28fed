//! `leakscope trend DIR|FILES…`: judge the trend over many snapshots.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Args;

use super::diff::{parse_size, Color, DiffFormat};
use super::gates::{use_color, Gates, Judging, Outcome};
use crate::report::render::Style;
use crate::report::trend as render;
use crate::trend::{self, Options};

/// Arguments of `leakscope trend`.
#[derive(Debug, Args)]
pub struct TrendArgs {
    /// Snapshot files, or directories of them (e.g. what `capture` wrote).
    /// /metrics scrapes beside them (`*metrics*`) are paired by name.
    #[arg(required_unless_present = "pyroscope", conflicts_with = "pyroscope", value_name = "DIR|FILE")]
    pub inputs: Vec<PathBuf>,
    /// The container memory limit, to project when it is reached (e.g. 512MiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub limit: Option<i64>,
    /// Rows per table; 0 shows all.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub nodecount: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Colour for text output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Rules and verdict thresholds.
    #[command(flatten)]
    pub judging: Judging,
    /// Exit-code gates.
    #[command(flatten)]
    pub gates: Gates,
    /// Snapshots from Pyroscope instead of files (issue 21).
    #[command(flatten)]
    pub pyroscope: super::fleet::TrendFromPyroscope,
}

pub(crate) fn run(a: TrendArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let rules = a.judging.rules()?;
    let gates = a.gates.validate(&rules)?;
    let o = Options {
        min_growth: a.judging.min_growth,
        min_growth_ratio: a.judging.min_growth_pct / 100.0,
        limit: a.limit,
        nodecount: a.nodecount,
    };
    // Pyroscope as the source (issue 21): the same analysis of reduced windows.
    let from_pyroscope = a.pyroscope.pyroscope.is_some();
    let r = match &a.pyroscope.pyroscope {
        Some(url) => super::fleet::trend_report(&a.pyroscope, url, &rules, &o)?,
        None => trend::run(&a.inputs, &rules, &o).map_err(|e| anyhow!("{e}"))?,
    };
    match a.format {
        DiffFormat::Json => render::json(&r, out)?,
        DiffFormat::Markdown => render::markdown(&r, out)?,
        DiffFormat::Html if from_pyroscope => crate::report::html::trend(&r, None, out)?,
        DiffFormat::Dot if from_pyroscope => {
            anyhow::bail!(
                "--format dot with --pyroscope: use `leakscope diff --pyroscope … --format dot` on two windows"
            )
        }
        DiffFormat::Html => super::flamegraph::trend_html(&r, &rules, &o, out)?,
        DiffFormat::Dot => super::flamegraph::trend_dot(&r, &rules, a.nodecount, out)?,
        DiffFormat::Text => {
            let color = use_color(a.color);
            render::text(&r, Style { color }, out)?
        }
    }
    out.flush()?;
    let category_delta = |n: &str| r.categories.iter().find(|c| c.name == n).map_or(0, |c| c.delta);
    Ok(gates.exit_code(&Outcome {
        total_delta: r.total_delta,
        unit: &r.sample_type.unit,
        min_growth: r.min_growth,
        leak: r.verdict.leak,
        category_delta: &category_delta,
    }))
}
