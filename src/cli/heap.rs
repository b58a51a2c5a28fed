//! `leakscope heap DUMP`: the Leak Suspects report of a Go heap dump, and
//! the heap-dump paths of `diff`, `info` and `top`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::Args;

use super::common::{parse_size, use_color, Color};
use crate::attribute::RuleSet;
use crate::heap::analysis::Analysis;
use crate::heap::report::{self as model, Options};
use crate::pprof::encode;
use crate::report;

/// Output formats of `heap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HeapFormat {
    /// For a terminal (coloured when it is one and NO_COLOR is unset).
    Text,
    /// For a postmortem document.
    Markdown,
    /// For scripts: schema leakscope.heap/v1 (see README).
    Json,
    /// One self-contained HTML page: verdict, suspects with their paths, tables and a flame graph.
    Html,
}

/// Arguments of `leakscope heap`.
#[derive(Debug, Args)]
pub struct HeapArgs {
    /// Heap dump written by runtime/debug.WriteHeapDump (raw or gzipped; `-` reads stdin).
    pub file: PathBuf,
    /// The executable that wrote the dump: names globals (ELF symbols) and
    /// types (Go ≥ 1.22 malloc headers).
    #[arg(long, value_name = "EXE")]
    pub binary: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HeapFormat::Text)]
    pub format: HeapFormat,
    /// Rows per table.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub nodecount: usize,
    /// A root retaining at least this percentage of the reachable heap is a leak suspect.
    #[arg(long, default_value_t = 10.0, value_name = "PCT")]
    pub suspect_pct: f64,
    /// A suspect must also retain at least this many bytes (e.g. 1MiB).
    #[arg(long, default_value = "64KiB", value_name = "SIZE", value_parser = parse_size)]
    pub suspect_min: i64,
    /// Colour for text output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Extra or overriding attribution rules (TOML or JSON).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Print the wall time of each stage (read, index, graph, dominators, …) to stderr.
    #[arg(long)]
    pub timings: bool,
    /// Also write retained size by allocation-site stack as a gzip pprof
    /// profile (sample types objects, inuse_space, retained_space).
    #[arg(long, value_name = "FILE")]
    pub output_pprof: Option<PathBuf>,
}

fn options(nodecount: usize, suspect_pct: f64, suspect_min: i64) -> anyhow::Result<Options> {
    if !(0.0..=100.0).contains(&suspect_pct) {
        bail!("--suspect-pct must be between 0 and 100");
    }
    Ok(Options {
        top: if nodecount == 0 { usize::MAX } else { nodecount },
        suspect_share: suspect_pct / 100.0,
        suspect_min: suspect_min as u64,
    })
}

pub(crate) fn run(a: HeapArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let rules = RuleSet::load_with(a.rules.as_deref(), &crate::limits::current()).map_err(|e| anyhow!("rules: {e}"))?;
    let o = options(a.nodecount, a.suspect_pct, a.suspect_min)?;
    let t0 = std::time::Instant::now();
    let (dump, bin) = crate::read_heap_dump(&a.file, a.binary.as_deref()).map_err(|e| anyhow!(e))?;
    let t_read = t0.elapsed();
    let an = Analysis::new(&dump, bin.as_ref(), &rules);
    if let Some(p) = &a.output_pprof {
        write_pprof(p, &an)?;
    }
    let t1 = std::time::Instant::now();
    let report = model::build(&an, &rules, &a.file.display().to_string(), &o);
    if a.timings {
        let mut stages = vec![("read and parse", t_read)];
        stages.extend(an.timings.iter().copied());
        stages.push(("report", t1.elapsed()));
        for (name, d) in &stages {
            eprintln!("leakscope: timing: {name:<26} {:>9.3} s", d.as_secs_f64());
        }
        eprintln!(
            "leakscope: timing: {:<26} {:>9.3} s ({} objects, {} edges)",
            "total",
            t0.elapsed().as_secs_f64(),
            dump.objects.len(),
            an.graph.object_edges
        );
    }
    let format = match a.format {
        HeapFormat::Text => report::Format::Text { color: use_color(a.color) },
        HeapFormat::Markdown => report::Format::Markdown,
        HeapFormat::Json => report::Format::Json,
        HeapFormat::Html => report::Format::Html,
    };
    report::render::heap::render(&report, format, out)?;
    out.flush().context("writing the report")?;
    Ok(ExitCode::SUCCESS)
}

fn write_pprof(path: &Path, an: &Analysis<'_>) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        bail!("--output-pprof needs a file name (standard output holds the report)");
    }
    let p = crate::heap::export::profile(an);
    let f = std::fs::File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    encode::write_gzip(&p, std::io::BufWriter::new(f)).with_context(|| format!("{}: writing", path.display()))
}
