//! `leakscope diff BASE NEW`: the leak report.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::Args;

use super::gates::{use_color, Gates, Judging, Outcome};
use crate::diff::{self, Options};
use crate::flame;
use crate::graph::Granularity;
use crate::pprof::{self, encode};
use crate::profile::Profile;
use crate::report::diff::{build, Options as ReportOptions};
use crate::report::render::{self, Style};
use crate::report::{dot, html};

/// Output formats of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// For a terminal (coloured when it is one and NO_COLOR is unset).
    Text,
    /// For a postmortem document.
    Markdown,
    /// For scripts: schema leakscope.diff/v1 (see README).
    Json,
    /// One self-contained HTML page: verdict, tables, charts, stacks and a
    /// differential flame graph (no network needed to open it).
    Html,
    /// The growth retention graph in Graphviz DOT.
    Dot,
}

/// When to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Arguments of `leakscope diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier snapshot, then the later one (`-` reads one from stdin).
    /// With more than two, this is `leakscope trend` over them.
    #[arg(required = true, num_args = 2.., value_names = ["BASE", "NEW"])]
    pub files: Vec<PathBuf>,
    /// Sample type to judge, e.g. inuse_space (default), inuse_objects.
    #[arg(long, value_name = "NAME")]
    pub sample_type: Option<String>,
    /// Grouping of the function table, as pprof's -granularity.
    #[arg(long, value_enum, default_value_t = Granularity::Functions)]
    pub granularity: Granularity,
    /// Rows per table (sites, shrank, functions); 0 shows all.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub nodecount: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Colour for text output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Scale NEW to BASE's total first, as pprof's -normalize.
    #[arg(long)]
    pub normalize: bool,
    /// Rules and verdict thresholds.
    #[command(flatten)]
    pub judging: Judging,
    /// Exit-code gates.
    #[command(flatten)]
    pub gates: Gates,
    /// Heap dumps only: the executable that wrote them, to name globals and types.
    #[arg(long, value_name = "EXE")]
    pub binary: Option<PathBuf>,
    /// Also write the diff as a gzip pprof profile that `go tool pprof`
    /// opens: NEW's samples, plus BASE's negated and labelled
    /// pprof::base=true, as `go tool pprof -diff_base` builds it.
    #[arg(long, value_name = "FILE")]
    pub output_pprof: Option<PathBuf>,
}

/// Parses `50MiB`, `512KiB`, `1.5GiB`, `10MB`, `4096`: IEC suffixes (KiB,
/// MiB, GiB, TiB, and K/M/G/T or Ki/Mi/Gi/Ti) are powers of 1024; SI ones
/// (kB, KB, MB, GB, TB) are powers of 1000; a bare number is in the sample
/// type's unit.
pub fn parse_size(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("{s:?} is not a size (e.g. 50MiB, 512KiB, 1GB, 4096)"))?;
    let mult: f64 = match unit.trim() {
        "" | "B" | "b" => 1.0,
        "K" | "Ki" | "KiB" | "k" => 1024.0,
        "M" | "Mi" | "MiB" => 1024.0 * 1024.0,
        "G" | "Gi" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        "T" | "Ti" | "TiB" => 1024f64.powi(4),
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        other => return Err(format!("unknown size unit {other:?} in {s:?} (use B, KiB, MiB, GiB, kB, MB, GB)")),
    };
    let v = n * mult;
    if !v.is_finite() || v < 0.0 || v > i64::MAX as f64 {
        return Err(format!("size {s:?} is out of range"));
    }
    Ok(v.round() as i64)
}

pub(crate) fn run(a: DiffArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if a.files.len() > 2 {
        if a.output_pprof.is_some() {
            bail!("--output-pprof needs exactly two snapshots (BASE NEW)");
        }
        let t = super::trend::TrendArgs {
            inputs: a.files,
            limit: None,
            nodecount: a.nodecount,
            format: a.format,
            color: a.color,
            judging: a.judging,
            gates: a.gates,
        };
        return super::trend::run(t, out);
    }
    if a.files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        bail!("only one input can be read from stdin ('-')");
    }
    let dumps: Vec<bool> = a.files.iter().map(|f| crate::heapdump::path_is_heap_dump(f)).collect();
    match (dumps[0], dumps[1]) {
        (true, true) => {
            if a.output_pprof.is_some() {
                bail!("--output-pprof is for profiles; for heap dumps use `leakscope heap DUMP --output-pprof FILE`");
            }
            let i = super::heap::DiffInputs {
                files: &a.files,
                binary: a.binary.as_deref(),
                format: a.format,
                color: a.color,
                nodecount: a.nodecount,
                judging: &a.judging,
                gates: &a.gates,
            };
            return super::heap::diff(i, out);
        }
        (false, false) => {
            if a.binary.is_some() {
                bail!("--binary applies to heap dumps; profiles carry their own symbols");
            }
        }
        _ => bail!(
            "{} is a heap dump and {} is not: diff compares two profiles or two heap dumps",
            a.files[if dumps[0] { 0 } else { 1 }].display(),
            a.files[if dumps[0] { 1 } else { 0 }].display()
        ),
    }
    // The rules compile while the profiles are read; their errors still
    // come first.
    let (rules, (b, n)) = rayon::join(
        || a.judging.rules(),
        || {
            rayon::join(
                || pprof::read_path_with(&a.files[0], &super::limits()),
                || pprof::read_path_with(&a.files[1], &super::limits()),
            )
        },
    );
    let rules = rules?;
    let gates = a.gates.validate(&rules)?;
    let (base, new) = (b?, n?);
    let opts = Options { granularity: a.granularity, normalize: a.normalize };
    let names = format!("{} and {}", a.files[0].display(), a.files[1].display());
    // The judged type (default inuse_space, else the last common one) and
    // its object-count sibling; only those are diffed.
    let common: Vec<String> = (0..base.sample_types.len())
        .map(|i| base.sample_type_name(i).to_string())
        .filter(|n| new.sample_type_index(n).is_some())
        .collect();
    let name = match &a.sample_type {
        Some(n) if common.contains(n) => n.clone(),
        Some(n) => bail!("sample type {n:?} is not in both profiles (common: {})", common.join(", ")),
        None if common.iter().any(|c| c == "inuse_space") => "inuse_space".to_string(),
        None => common.last().cloned().ok_or_else(|| anyhow!("{names}: the profiles share no sample type"))?,
    };
    let mut keep = vec![name.clone()];
    if let Some(obj) = name.strip_suffix("_space").map(|p| format!("{p}_objects")) {
        keep.push(obj);
    }
    if let Some(path) = &a.output_pprof {
        write_pprof(path, &base, &new, a.normalize, &name)?;
    }
    let d = diff::diff_types(base, new, &rules, opts, &diff::Types::Only(keep)).map_err(|e| anyhow!("{names}: {e}"))?;
    let t = d.type_index(&name).ok_or_else(|| anyhow!("{names}: sample type {name} missing"))?;
    let ro = report_options(&a, t);
    let report = build(&d, &rules, &ro);
    match a.format {
        DiffFormat::Json => render::json(&report, out)?,
        DiffFormat::Markdown => render::markdown(&report, out)?,
        DiffFormat::Html => html::diff(&report, &flame::from_diff(&d, t), out)?,
        DiffFormat::Dot => {
            let title = format!("{} → {} ({name})", ro.base_file, ro.new_file);
            dot::write(&d, t, &rules, &dot::Options { nodecount: a.nodecount, title }, out)?
        }
        DiffFormat::Text => render::text(&report, Style { color: use_color(a.color) }, out)?,
    }
    out.flush().context("writing the report")?;

    // Gates for soak tests and CI.
    let category_delta = |n: &str| report.categories.iter().find(|c| c.name == n).map_or(0, |c| c.delta);
    Ok(gates.exit_code(&Outcome {
        total_delta: report.total_delta,
        unit: &report.sample_type.unit,
        min_growth: report.thresholds.min_growth,
        leak: report.verdict.leak,
        category_delta: &category_delta,
    }))
}

/// Writes `--output-pprof`: the diff as one gzip pprof profile.
fn write_pprof(
    path: &std::path::Path,
    base: &Profile,
    new: &Profile,
    normalize: bool,
    judged: &str,
) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        bail!("--output-pprof needs a file name (standard output holds the report)");
    }
    let default = new.sample_type_index(judged).map(|_| judged);
    let p = encode::diff_profile(base, new, normalize, default).map_err(|e| anyhow!("--output-pprof: {e}"))?;
    let f = std::fs::File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    encode::write_gzip(&p, std::io::BufWriter::new(f)).with_context(|| format!("{}: writing", path.display()))
}

/// The report's options for sample type `t` of the diff.
fn report_options(a: &DiffArgs, t: usize) -> ReportOptions {
    ReportOptions {
        base_file: a.files[0].display().to_string(),
        new_file: a.files[1].display().to_string(),
        sample_type: t,
        nodecount: a.nodecount,
        min_growth: a.judging.min_growth,
        min_growth_ratio: a.judging.min_growth_pct / 100.0,
        granularity: a.granularity,
        normalized: a.normalize,
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_size, report_options, ReportOptions};
    use crate::cli::{Cli, Command};
    use clap::Parser;

    /// Benchmarks and examples time `ReportOptions::new`: it must be what
    /// the CLI does with no flag.
    #[test]
    fn report_options_new_are_the_cli_defaults() {
        let cli = Cli::parse_from(["leakscope", "diff", "a.pb.gz", "b.pb.gz", "--format", "json"]);
        let Command::Diff(a) = cli.command else { panic!("not a diff") };
        assert_eq!(report_options(&a, 0), ReportOptions::new("a.pb.gz", "b.pb.gz"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("50MiB"), Ok(50 << 20));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("2M"), Ok(2 << 20));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5XB").is_err());
    }
}
