//! `leakscope trend DIR|FILES…`: judge the trend over many snapshots.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::common::{parse_size, Color, DiffFormat, Gates, Judging, TrendRun};

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
    /// Sample type of the heap profiles to judge, as diff's: inuse_space
    /// (default), inuse_objects, alloc_space, alloc_objects. With
    /// --pyroscope, also a Pyroscope profile type ID.
    #[arg(long, value_name = "NAME")]
    pub sample_type: Option<String>,
    /// Rows per table; 0 shows all.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub nodecount: usize,
    /// Output format; JSON is schema leakscope.trend/v1.
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
    /// Fail (exit 2) on any snapshot that cannot be read, instead of
    /// skipping it: for CI.
    #[arg(long)]
    pub strict: bool,
    /// Snapshots from Pyroscope instead of files (issue 21).
    #[command(flatten)]
    pub pyroscope: super::common::pyroscope::TrendFromPyroscope,
}

pub(crate) fn run(a: TrendArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let t = TrendRun {
        inputs: &a.inputs,
        limit: a.limit,
        sample_type: a.sample_type.as_deref(),
        nodecount: a.nodecount,
        format: a.format,
        color: a.color,
        judging: &a.judging,
        gates: &a.gates,
        strict: a.strict,
    };
    // Pyroscope as the source (issue 21): the same analysis of reduced windows.
    if let Some(url) = &a.pyroscope.pyroscope {
        return super::common::pyroscope::trend_from_pyroscope(&a.pyroscope, url, &t, out);
    }
    t.run(out)
}
