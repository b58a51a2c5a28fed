//! `leakscope top FILE`: flat and cum per node, as `go tool pprof -top`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Args;

use super::common::Format;
use crate::graph::top::{self, pick_sample_type};
use crate::graph::Granularity;
use crate::report;
use crate::source::Input;

/// Arguments of `leakscope top`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// Profile to read; `-` reads standard input. Any of: pprof protobuf
    /// (raw or gzip: heap, allocs, goroutine, CPU, any profile); legacy text
    /// (heap and goroutine ?debug=1, goroutine ?debug=2, plain or gzip); a
    /// Go heap dump (runtime/debug.WriteHeapDump, raw or gzip), read as
    /// retained size by allocation site.
    pub file: PathBuf,
    /// Sample type to report, e.g. inuse_space, alloc_objects.
    /// Default: the profile's default_sample_type, else inuse_space, else the last type.
    #[arg(long, value_name = "NAME")]
    pub sample_type: Option<String>,
    /// How frames are grouped into rows, as pprof's -granularity.
    #[arg(long, value_enum, default_value_t = Granularity::Functions)]
    pub granularity: Granularity,
    /// Rows to show; 0 shows all.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub nodecount: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub(crate) fn run(a: TopArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let input = Input::open(&a.file)?;
    // A heap dump is read as its retention-by-allocation-site profile.
    let p = if input.is_heap_dump() {
        let dump = input.into_heap_dump().map_err(|e| anyhow!(e))?;
        crate::heap_dump_profile(&dump).map_err(|e| anyhow!("{}: {e}", a.file.display()))?
    } else {
        input.into_profile()?
    };
    let t = pick_sample_type(&p, a.sample_type.as_deref()).map_err(|e| anyhow!("{}: {e}", a.file.display()))?;
    let r = top::build(&p, &a.file.display().to_string(), t, a.granularity, a.nodecount);
    match a.format {
        Format::Json => report::top::json(&r, out)?,
        Format::Text => report::top::text(&r, out)?,
    }
    Ok(ExitCode::SUCCESS)
}
