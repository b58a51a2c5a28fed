//! `leakscope flamegraph FILE [--base BASE] -o out.svg`: a flame graph of
//! one profile, or a differential one of the change from BASE to FILE.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::Args;

use crate::attribute::RuleSet;
use crate::report::flame;
use crate::DiffOptions;

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

pub(crate) fn run(a: FlamegraphArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    // An SVG is no use on a terminal, as gzip refuses to write there.
    if a.output.as_os_str() == "-" && std::io::stdout().is_terminal() {
        bail!("refusing to write an SVG to the terminal: give -o FILE.svg, or redirect standard output (> graph.svg)");
    }
    let (folded, style, differential) = match &a.base {
        Some(base) => {
            if base.as_os_str() == "-" && a.file.as_os_str() == "-" {
                bail!("only one input can be read from stdin ('-')");
            }
            let rules = RuleSet::load(None).map_err(|e| anyhow!("rules: {e}"))?;
            let o = DiffOptions { sample_type: a.sample_type.clone(), normalize: a.normalize, ..DiffOptions::new() };
            let (st, net, folded) =
                crate::diff_flame([base.as_path(), a.file.as_path()], &rules, &o).map_err(|e| anyhow!(e))?;
            let (name, unit) = (st.name, st.unit);
            let title = a.title.clone().unwrap_or_else(|| format!("{name}: {} → {}", base.display(), a.file.display()));
            let sub = format!(
                "net {}; width = |change|, red = growth, blue = shrinkage, intensity = relative change",
                crate::report::style::signed(net, &unit)
            );
            (folded, flame::Style { title, subtitle: Some(sub), unit, width: None }, true)
        }
        None => {
            if a.normalize {
                bail!("--normalize needs --base");
            }
            let p = crate::source::read_profile(&a.file)?;
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
            let sub = format!("total {}", crate::units::human(total, &unit));
            (
                crate::graph::fold::from_profile(&p, t),
                flame::Style { title, subtitle: Some(sub), unit, width: None },
                false,
            )
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
