//! `leakscope flamegraph FILE [--base BASE] -o out.svg`: a flame graph of
//! one profile, or a differential one of the change from BASE to FILE.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::Args;

use crate::attribute::RuleSet;
use crate::diff::{self, Diff, Options};
use crate::flame;
use crate::graph::Granularity;
use crate::pprof;
use crate::report::diff::{build, Options as ReportOptions};
use crate::report::{dot, html};
use crate::trend::TrendReport;

/// Arguments of `leakscope flamegraph`.
#[derive(Debug, Args)]
pub struct FlamegraphArgs {
    /// The profile (with --base, the later snapshot; `-` reads stdin).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Draw the differential flame graph from this earlier snapshot to FILE:
    /// red = growth, blue = shrinkage, width = magnitude of the change,
    /// colour intensity = relative change.
    #[arg(long, value_name = "BASE")]
    pub base: Option<PathBuf>,
    /// Where to write the SVG (`-` for standard output).
    #[arg(short = 'o', long = "output", value_name = "OUT.svg", default_value = "-")]
    pub output: PathBuf,
    /// Sample type, e.g. inuse_space (default: as `top` and `diff` choose).
    #[arg(long, value_name = "NAME")]
    pub sample_type: Option<String>,
    /// With --base: scale FILE to BASE's total first, as pprof's -normalize.
    #[arg(long)]
    pub normalize: bool,
    /// Title of the graph.
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
}

/// The type a two-profile report judges: `wanted`, else `inuse_space`, else
/// the last type common to both.
fn common_type(
    base: &crate::profile::Profile,
    new: &crate::profile::Profile,
    wanted: Option<&str>,
) -> anyhow::Result<String> {
    let common: Vec<String> = (0..base.sample_types.len())
        .map(|i| base.sample_type_name(i).to_string())
        .filter(|n| new.sample_type_index(n).is_some())
        .collect();
    match wanted {
        Some(n) if common.iter().any(|c| c == n) => Ok(n.to_string()),
        Some(n) => bail!("sample type {n:?} is not in both profiles (common: {})", common.join(", ")),
        None if common.iter().any(|c| c == "inuse_space") => Ok("inuse_space".to_string()),
        None => common.last().cloned().ok_or_else(|| anyhow!("the profiles share no sample type")),
    }
}

/// Reads two snapshots and diffs them for one sample type (and nothing
/// else). Returns the diff and the type's index in it.
pub(crate) fn diff_files(
    base: &Path,
    new: &Path,
    sample_type: Option<&str>,
    rules: &RuleSet,
    normalize: bool,
) -> anyhow::Result<(Diff, usize)> {
    let (b, n) =
        rayon::join(|| pprof::read_path_with(base, &super::limits()), || pprof::read_path_with(new, &super::limits()));
    let (b, n) = (b?, n?);
    let names = format!("{} and {}", base.display(), new.display());
    let name = common_type(&b, &n, sample_type).map_err(|e| anyhow!("{names}: {e}"))?;
    let opts = Options { granularity: Granularity::Functions, normalize };
    let mut keep = vec![name.clone()];
    if let Some(obj) = name.strip_suffix("_space").map(|p| format!("{p}_objects")) {
        keep.push(obj);
    }
    let d = diff::diff_types(b, n, rules, opts, &diff::Types::Only(keep)).map_err(|e| anyhow!("{names}: {e}"))?;
    let t = d.type_index(&name).ok_or_else(|| anyhow!("{names}: sample type {name} missing"))?;
    Ok((d, t))
}

pub(crate) fn run(a: FlamegraphArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let (folded, style, differential) = match &a.base {
        Some(base) => {
            if base.as_os_str() == "-" && a.file.as_os_str() == "-" {
                bail!("only one input can be read from stdin ('-')");
            }
            let rules = RuleSet::load(None).map_err(|e| anyhow!("rules: {e}"))?;
            let (d, t) = diff_files(base, &a.file, a.sample_type.as_deref(), &rules, a.normalize)?;
            let (name, unit) = d.types[t].clone();
            let title = a.title.clone().unwrap_or_else(|| format!("{name}: {} → {}", base.display(), a.file.display()));
            let sub = format!(
                "net {}; width = |change|, red = growth, blue = shrinkage, intensity = relative change",
                crate::report::render::signed(d.total_delta(t), &unit)
            );
            (flame::from_diff(&d, t), flame::Style { title, subtitle: Some(sub), unit, width: None }, true)
        }
        None => {
            if a.normalize {
                bail!("--normalize needs --base");
            }
            let p = pprof::read_path_with(&a.file, &super::limits())?;
            let t = match &a.sample_type {
                Some(n) => p.sample_type_index(n).ok_or_else(|| {
                    let all: Vec<&str> = (0..p.sample_types.len()).map(|i| p.sample_type_name(i)).collect();
                    anyhow!("{}: no sample type {n:?} (has: {})", a.file.display(), all.join(", "))
                })?,
                None => p.default_sample_index().ok_or_else(|| anyhow!("{}: no sample types", a.file.display()))?,
            };
            let (name, unit) = (p.sample_type_name(t).to_string(), p.sample_type_unit(t).to_string());
            let title = a.title.clone().unwrap_or_else(|| format!("{name}: {}", a.file.display()));
            let total: i64 = (0..p.num_samples()).map(|s| p.sample_values(s)[t]).sum();
            let sub = format!("total {}", crate::report::units::human(total, &unit));
            (flame::from_profile(&p, t), flame::Style { title, subtitle: Some(sub), unit, width: None }, false)
        }
    };
    let write = |w: &mut dyn Write| -> std::io::Result<()> {
        if differential {
            flame::write_diff_svg(&folded, &style, w)
        } else {
            flame::write_profile_svg(&folded, &style, w)
        }
    };
    if a.output.as_os_str() == "-" {
        write(out)?;
        out.flush().context("writing the flame graph")?;
    } else {
        let f = std::fs::File::create(&a.output).with_context(|| format!("{}: cannot create", a.output.display()))?;
        let mut w = BufWriter::new(f);
        write(&mut w).with_context(|| format!("{}: writing the flame graph", a.output.display()))?;
        w.flush().with_context(|| format!("{}: writing the flame graph", a.output.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The first and last analysed snapshots of a trend, diffed.
fn trend_diff(r: &TrendReport, rules: &RuleSet) -> anyhow::Result<Option<(Diff, usize, String, String)>> {
    let (i, j) = r.analyzed;
    if i == j {
        return Ok(None);
    }
    let (first, last) = (r.snapshots[i].file.clone(), r.snapshots[j].file.clone());
    let (d, t) = diff_files(Path::new(&first), Path::new(&last), Some(&r.sample_type.name), rules, false)?;
    Ok(Some((d, t, first, last)))
}

/// `trend --format html`: the trend report, with the sites, stacks and
/// differential flame graph of its first and last analysed snapshots.
pub(crate) fn trend_html(
    r: &TrendReport,
    rules: &RuleSet,
    o: &crate::trend::Options,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let fl = match trend_diff(r, rules) {
        Ok(fl) => fl,
        Err(e) => {
            eprintln!("leakscope: warning: no first/last diff in the HTML report: {e:#}");
            None
        }
    };
    match fl {
        Some((d, t, first, last)) => {
            let ro = ReportOptions {
                base_file: first,
                new_file: last,
                sample_type: t,
                nodecount: o.nodecount,
                min_growth: o.min_growth,
                min_growth_ratio: o.min_growth_ratio,
                granularity: Granularity::Functions,
                normalized: false,
            };
            let report = build(&d, rules, &ro);
            let folded = flame::from_diff(&d, t);
            html::trend(r, Some(html::TrendDiff { report: &report, folded: &folded }), out)?
        }
        None => html::trend(r, None, out)?,
    }
    Ok(())
}

/// `trend --format dot`: the growth retention graph from the first to the
/// last analysed snapshot.
pub(crate) fn trend_dot(r: &TrendReport, rules: &RuleSet, nodecount: usize, out: &mut dyn Write) -> anyhow::Result<()> {
    let Some((d, t, first, last)) = trend_diff(r, rules)? else {
        bail!("--format dot needs at least two analysed snapshots");
    };
    let title = format!("{first} → {last} ({})", r.sample_type.name);
    dot::write(&d, t, rules, &dot::Options { nodecount, title }, out)?;
    Ok(())
}
