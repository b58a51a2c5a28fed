//! `leakscope heap DUMP`: the Leak Suspects report of a Go heap dump, and
//! the heap-dump paths of `diff`, `info` and `top`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::Args;

use super::diff::{Color, DiffFormat};
use super::gates::{use_color, Gates, Judging, Outcome};
use crate::attribute::RuleSet;
use crate::heapdump::{self, analysis::Analysis, elf::Binary, HeapDump};
use crate::pprof::encode;
use crate::report::heap::{self as model, Options};
use crate::report::heap_render as render;
use crate::report::render::Style;

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
    #[arg(long, default_value = "64KiB", value_name = "SIZE", value_parser = super::diff::parse_size)]
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

const NO_DOT: &str = "--format dot is for profile diffs; heap dumps have text, markdown, json and html";

/// Reads a dump, naming the file in errors.
pub(crate) fn read(path: &Path) -> anyhow::Result<HeapDump> {
    heapdump::read_path_with(path, &super::limits()).map_err(|e| anyhow!(e))
}

/// Loads `--binary` for a dump.
pub(crate) fn binary(path: Option<&Path>, dump: &HeapDump) -> anyhow::Result<Option<Binary>> {
    path.map(|p| Binary::load_with(p, dump, &super::limits()).map_err(|e| anyhow!("--binary {e}"))).transpose()
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
    let rules = RuleSet::load_with(a.rules.as_deref(), &super::limits()).map_err(|e| anyhow!("rules: {e}"))?;
    let o = options(a.nodecount, a.suspect_pct, a.suspect_min)?;
    let t0 = std::time::Instant::now();
    let dump = read(&a.file)?;
    let t_read = t0.elapsed();
    let bin = binary(a.binary.as_deref(), &dump)?;
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
    match a.format {
        HeapFormat::Text => render::text(&report, Style { color: use_color(a.color) }, out)?,
        HeapFormat::Markdown => render::markdown(&report, out)?,
        HeapFormat::Json => render::json(&report, out)?,
        HeapFormat::Html => crate::report::heap_html::report(&report, out)?,
    }
    out.flush().context("writing the report")?;
    Ok(ExitCode::SUCCESS)
}

fn write_pprof(path: &Path, an: &Analysis<'_>) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        bail!("--output-pprof needs a file name (standard output holds the report)");
    }
    let p = heapdump::export::profile(an);
    let f = std::fs::File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    encode::write_gzip(&p, std::io::BufWriter::new(f)).with_context(|| format!("{}: writing", path.display()))
}

/// The retention-by-site profile of a dump, for `top`.
pub(crate) fn dump_profile(path: &Path) -> anyhow::Result<crate::profile::Profile> {
    let rules = RuleSet::load(None).map_err(|e| anyhow!("rules: {e}"))?;
    let dump = read(path)?;
    let an = Analysis::new(&dump, None, &rules);
    let p = heapdump::export::profile(&an);
    let bytes = prost::Message::encode_to_vec(&p);
    crate::pprof::parse(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// What `diff` needs for two dumps.
pub(crate) struct DiffInputs<'a> {
    pub files: &'a [PathBuf],
    pub binary: Option<&'a Path>,
    pub format: DiffFormat,
    pub color: Color,
    pub nodecount: usize,
    pub judging: &'a Judging,
    pub gates: &'a Gates,
}

/// `leakscope diff A.dump B.dump`: what grew, and what keeps it.
pub(crate) fn diff(i: DiffInputs<'_>, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if i.format == DiffFormat::Dot {
        bail!(NO_DOT);
    }
    let rules = i.judging.rules()?;
    let gates = i.gates.validate(&rules)?;
    let o = options(i.nodecount, 10.0, 64 * 1024)?;
    let (b, n) = rayon::join(|| read(&i.files[0]), || read(&i.files[1]));
    let (base, new) = (b?, n?);
    let bin_b = binary(i.binary, &base)?;
    let bin_n = binary(i.binary, &new)?;
    let (ab, an) =
        rayon::join(|| Analysis::new(&base, bin_b.as_ref(), &rules), || Analysis::new(&new, bin_n.as_ref(), &rules));
    let r =
        model::build_diff(&ab, &i.files[0].display().to_string(), &an, &i.files[1].display().to_string(), &rules, &o);
    match i.format {
        DiffFormat::Text => render::diff_text(&r, Style { color: use_color(i.color) }, out)?,
        DiffFormat::Markdown => render::diff_markdown(&r, out)?,
        DiffFormat::Json => render::diff_json(&r, out)?,
        DiffFormat::Html => crate::report::heap_html::diff(&r, out)?,
        DiffFormat::Dot => bail!(NO_DOT),
    }
    out.flush().context("writing the report")?;
    let category_delta = |name: &str| r.categories.iter().find(|c| c.key == name).map_or(0, |c| c.delta);
    Ok(gates.exit_code(&Outcome {
        total_delta: r.reachable_delta,
        unit: "bytes",
        min_growth: i.judging.min_growth,
        leak: r.grew,
        category_delta: &category_delta,
    }))
}

#[derive(serde::Serialize)]
struct DumpInfo<'a> {
    schema: &'static str,
    file: String,
    params: &'a heapdump::parse::Params,
    bytes: u64,
    records: std::collections::BTreeMap<&'static str, u64>,
    objects: u64,
    object_bytes: u64,
    goroutines: usize,
    frames: usize,
    memprof_buckets: usize,
    alloc_samples: usize,
    memstats: std::collections::BTreeMap<&'static str, u64>,
}

/// `leakscope info DUMP`: what the dump holds (parse only, no graph).
pub(crate) fn info(path: &Path, format: super::Format, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let d = read(path)?;
    let records = heapdump::parse::tag::NAMES.iter().zip(d.record_counts).map(|(n, c)| (*n, c)).collect();
    let memstats = match d.memstats {
        Some(m) => heapdump::parse::MEMSTATS_NAMES.iter().zip(m).map(|(n, v)| (*n, v)).collect(),
        None => Default::default(),
    };
    let doc = DumpInfo {
        schema: "leakscope.heapinfo/v1",
        file: path.display().to_string(),
        params: &d.params,
        bytes: d.data.len() as u64,
        records,
        objects: d.objects.len() as u64,
        object_bytes: d.objects.size.iter().map(|&s| s as u64).sum(),
        goroutines: d.goroutines.len(),
        frames: d.frames.len(),
        memprof_buckets: d.buckets.len(),
        alloc_samples: d.samples.len(),
        memstats,
    };
    match format {
        super::Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        super::Format::Text => {
            use crate::report::units::{bytes, count};
            writeln!(out, "File:          {}", doc.file)?;
            writeln!(
                out,
                "Format:        Go heap dump (runtime/debug.WriteHeapDump), {} bytes",
                count(doc.bytes as i64)
            )?;
            writeln!(
                out,
                "Written by:    {} {} ({}-bit, {}-endian, {} CPUs)",
                d.params.build_version,
                d.params.goarch,
                d.params.ptr_size * 8,
                if d.params.big_endian { "big" } else { "little" },
                d.params.ncpu
            )?;
            writeln!(out, "Objects:       {} ({})", count(doc.objects as i64), bytes(doc.object_bytes as i64))?;
            writeln!(out, "Goroutines:    {} ({} frames)", doc.goroutines, count(doc.frames as i64))?;
            writeln!(
                out,
                "Alloc sites:   {} memprof buckets, {} sampled live objects",
                count(doc.memprof_buckets as i64),
                count(doc.alloc_samples as i64)
            )?;
            if let (Some(ha), Some(ho), Some(gc)) =
                (d.memstat("HeapAlloc"), d.memstat("HeapObjects"), d.memstat("NumGC"))
            {
                writeln!(
                    out,
                    "MemStats:      HeapAlloc {}, HeapObjects {}, NumGC {gc}",
                    bytes(ha as i64),
                    count(ho as i64)
                )?;
            }
            let recs: Vec<String> =
                doc.records.iter().filter(|(_, &c)| c > 0).map(|(n, c)| format!("{n} {}", count(*c as i64))).collect();
            writeln!(out, "Records:       {}", recs.join(", "))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
