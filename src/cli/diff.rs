//! `leakscope diff BASE NEW`: the leak report of two snapshots (profiles
//! or heap dumps). With three or more inputs, `leakscope trend`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::Args;

use super::common::{one_stdin, parse_size, Color, DiffFormat, Gates, Judging, Outcome, TrendRun};
use crate::graph::Granularity;
use crate::pprof::encode;
use crate::profile::Profile;
use crate::report::{self, Extras};
use crate::source::Input;
use crate::DiffOptions;

/// Arguments of `leakscope diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier snapshot, then the later one (`-` reads one from stdin).
    /// With more than two, this is `leakscope trend` over them.
    #[arg(required_unless_present = "pyroscope", conflicts_with = "pyroscope", num_args = 2.., value_names = ["BASE", "NEW"])]
    pub files: Vec<PathBuf>,
    /// Sample type to judge, e.g. inuse_space (default), inuse_objects.
    /// With three or more snapshots, the heap profiles' type, as trend's.
    #[arg(long, value_name = "NAME")]
    pub sample_type: Option<String>,
    /// Three or more snapshots only (a trend): the container memory limit,
    /// to project when it is reached (e.g. 512MiB), as trend's.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub limit: Option<i64>,
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
    /// BASE and NEW from Pyroscope instead of files (issue 21).
    #[command(flatten)]
    pub pyroscope: super::common::pyroscope::DiffFromPyroscope,
}

pub(crate) fn run(mut a: DiffArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    // Pyroscope as the source (issue 21): two windows' merged profiles,
    // named in `files` for the report.
    let fetched = match &a.pyroscope.pyroscope {
        Some(url) => {
            let (b, n, names) = super::common::pyroscope::diff_inputs(&a.pyroscope, url, a.sample_type.as_deref())?;
            a.files = names;
            if a.sample_type.as_deref().is_some_and(|t| t.contains(':')) {
                a.sample_type = None;
            }
            Some((b, n))
        }
        None => None,
    };
    if a.files.len() > 2 {
        if a.output_pprof.is_some() {
            bail!("--output-pprof needs exactly two snapshots (BASE NEW)");
        }
        let t = TrendRun {
            inputs: &a.files,
            limit: a.limit,
            sample_type: a.sample_type.as_deref(),
            nodecount: a.nodecount,
            format: a.format,
            color: a.color,
            judging: &a.judging,
            gates: &a.gates,
            // Inputs named one by one already fail on any unreadable one.
            strict: false,
        };
        return t.run(out);
    }
    if a.limit.is_some() {
        bail!("--limit needs three or more snapshots (a trend): two give one rate, no projection");
    }
    let (rules, (b, n)) = match fetched {
        Some((b, n)) => (a.judging.rules(), (Ok(b), Ok(n))),
        None => {
            one_stdin(&[&a.files[0], &a.files[1]])?;
            // Each input is opened once; its first bytes say what it is.
            let (b, n) = rayon::join(|| Input::open(&a.files[0]), || Input::open(&a.files[1]));
            let inputs = [b?, n?];
            let dumps = [inputs[0].is_heap_dump(), inputs[1].is_heap_dump()];
            match dumps {
                [true, true] => {
                    if a.output_pprof.is_some() {
                        bail!(
                            "--output-pprof is for profiles; for heap dumps use `leakscope heap DUMP --output-pprof FILE`"
                        );
                    }
                    return heap_dumps(&a, inputs, out);
                }
                [false, false] => {
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
            // The rules compile while the profiles are decoded; their
            // errors still come first.
            let [bi, ni] = inputs;
            rayon::join(|| a.judging.rules(), || rayon::join(|| bi.into_profile(), || ni.into_profile()))
        }
    };
    let rules = rules?;
    let gates = a.gates.validate(&rules)?;
    let (base, new) = (b?, n?);
    let format = a.format.report(a.color);
    let o = diff_options(&a, format.needs());
    if let Some(path) = &a.output_pprof {
        let name = crate::judged_type(&base, &new, o.sample_type.as_deref())
            .map_err(|e| anyhow!("{} and {}: {e}", a.files[0].display(), a.files[1].display()))?;
        write_pprof(path, &base, &new, a.normalize, &name)?;
    }
    let names = (a.files[0].display().to_string(), a.files[1].display().to_string());
    let doc = crate::diff_profiles(base, new, (&names.0, &names.1), &rules, &o).map_err(|e| anyhow!("{e}"))?;
    report::render::diff::render(&doc, format, out)?;
    out.flush().context("writing the report")?;

    // Gates for soak tests and CI.
    let r = &doc.report;
    let category_delta = |n: &str| r.categories.iter().find(|c| c.name == n).map_or(0, |c| c.delta);
    Ok(gates.exit_code(&Outcome {
        total_delta: r.total_delta,
        unit: &r.sample_type.unit,
        min_growth: r.thresholds.min_growth,
        leak: r.verdict.leak,
        restarted: r.restarted,
        category_delta: &category_delta,
    }))
}

/// The library's options for these arguments.
fn diff_options(a: &DiffArgs, extras: Extras) -> DiffOptions {
    DiffOptions {
        sample_type: a.sample_type.clone(),
        granularity: a.granularity,
        nodecount: a.nodecount,
        normalize: a.normalize,
        min_growth: a.judging.min_growth,
        min_growth_ratio: a.judging.min_growth_pct / 100.0,
        names: None,
        extras,
    }
}

/// `leakscope diff A.dump B.dump`: what grew, and what keeps it.
fn heap_dumps(a: &DiffArgs, inputs: [Input; 2], out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if a.format == DiffFormat::Dot {
        bail!(report::heap::NO_DOT);
    }
    let rules = a.judging.rules()?;
    let gates = a.gates.validate(&rules)?;
    let o = crate::heap::report::Options {
        top: if a.nodecount == 0 { usize::MAX } else { a.nodecount },
        ..Default::default()
    };
    let r = crate::diff_heap_dump_inputs(inputs, a.binary.as_deref(), &rules, &o).map_err(|e| anyhow!(e))?;
    report::render::heap::render_diff(&r, a.format.report(a.color), out)?;
    out.flush().context("writing the report")?;
    let category_delta = |name: &str| r.categories.iter().find(|c| c.key == name).map_or(0, |c| c.delta);
    Ok(gates.exit_code(&Outcome {
        total_delta: r.reachable_delta,
        unit: "bytes",
        min_growth: a.judging.min_growth,
        leak: r.grew,
        restarted: false,
        category_delta: &category_delta,
    }))
}

/// Writes `--output-pprof`: the diff as one gzip pprof profile.
fn write_pprof(path: &Path, base: &Profile, new: &Profile, normalize: bool, judged: &str) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        bail!("--output-pprof needs a file name (standard output holds the report)");
    }
    let default = new.sample_type_index(judged).map(|_| judged);
    let p = encode::diff_profile(base, new, normalize, default).map_err(|e| anyhow!("--output-pprof: {e}"))?;
    let f = std::fs::File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    encode::write_gzip(&p, std::io::BufWriter::new(f)).with_context(|| format!("{}: writing", path.display()))
}

#[cfg(test)]
mod tests {
    use super::{diff_options, Extras};
    use crate::cli::{Cli, Command};
    use crate::diff::report::Options as ReportOptions;
    use clap::Parser;

    /// Benchmarks and examples time `ReportOptions::new`: it must be what
    /// the CLI does with no flag.
    #[test]
    fn report_options_new_are_the_cli_defaults() {
        let cli = Cli::parse_from(["leakscope", "diff", "a.pb.gz", "b.pb.gz", "--format", "json"]);
        let Command::Diff(a) = cli.command else { panic!("not a diff") };
        let o = diff_options(&a, Extras::default());
        assert_eq!(crate::report_options(&o, ("a.pb.gz", "b.pb.gz"), 0), ReportOptions::new("a.pb.gz", "b.pb.gz"));
    }
}
