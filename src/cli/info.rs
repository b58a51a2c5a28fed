//! `leakscope info FILE`: what a profile holds.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::Format;
use crate::pprof;
use crate::report::units;

/// Arguments of `leakscope info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Profile to read; `-` reads standard input.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Serialize)]
struct InfoJson<'a> {
    schema: &'static str,
    file: String,
    sample_types: Vec<TypeJson<'a>>,
    default_sample_type: Option<&'a str>,
    period_type: TypeNoTotal<'a>,
    period: i64,
    time_nanos: i64,
    duration_nanos: i64,
    samples: usize,
    locations: usize,
    functions: usize,
    mappings: usize,
    strings: usize,
    comments: Vec<&'a str>,
    drop_frames: &'a str,
    keep_frames: &'a str,
    doc_url: &'a str,
}

#[derive(Debug, Serialize)]
struct TypeJson<'a> {
    name: &'a str,
    unit: &'a str,
    total: i64,
}

#[derive(Debug, Serialize)]
struct TypeNoTotal<'a> {
    name: &'a str,
    unit: &'a str,
}

pub(crate) fn run(a: InfoArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let p = pprof::read_path(&a.file)?;
    let totals = p.totals();
    let dflt = p.default_sample_index();
    match a.format {
        Format::Json => {
            let doc = InfoJson {
                schema: "leakscope.info/v1",
                file: a.file.display().to_string(),
                sample_types: (0..p.sample_types.len())
                    .map(|i| TypeJson { name: p.sample_type_name(i), unit: p.sample_type_unit(i), total: totals[i] })
                    .collect(),
                default_sample_type: dflt.map(|i| p.sample_type_name(i)),
                period_type: TypeNoTotal { name: p.str(p.period_type.ty), unit: p.str(p.period_type.unit) },
                period: p.period,
                time_nanos: p.time_nanos,
                duration_nanos: p.duration_nanos,
                samples: p.num_samples(),
                locations: p.locations.len(),
                functions: p.functions.len(),
                mappings: p.mappings.len(),
                strings: p.strings.len(),
                comments: p.comments.iter().map(|&c| p.str(c)).collect(),
                drop_frames: p.str(p.drop_frames),
                keep_frames: p.str(p.keep_frames),
                doc_url: p.str(p.doc_url),
            };
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        Format::Text => {
            writeln!(out, "File:         {}", a.file.display())?;
            let kind = if p.is_heap() { "Go heap profile" } else { "profile" };
            writeln!(out, "Kind:         {kind}")?;
            if p.time_nanos != 0 {
                writeln!(out, "Time:         {}", units::utc(p.time_nanos))?;
            }
            if p.duration_nanos != 0 {
                writeln!(out, "Duration:     {}", units::duration_ns(p.duration_nanos))?;
            }
            let (pt, pu) = (p.str(p.period_type.ty), p.str(p.period_type.unit));
            if !pt.is_empty() || p.period != 0 {
                writeln!(out, "Period:       {} ({pt}/{pu})", units::count(p.period))?;
            }
            writeln!(
                out,
                "Contents:     {} samples, {} locations, {} functions, {} mappings, {} strings",
                units::count(p.num_samples() as i64),
                units::count(p.locations.len() as i64),
                units::count(p.functions.len() as i64),
                units::count(p.mappings.len() as i64),
                units::count(p.strings.len() as i64),
            )?;
            writeln!(out, "Sample types:")?;
            let w = (0..p.sample_types.len()).map(|i| p.sample_type_name(i).len()).max().unwrap_or(0);
            for (i, total) in totals.iter().enumerate() {
                let mark = if Some(i) == dflt { "  (default)" } else { "" };
                writeln!(
                    out,
                    "  {:<w$}  {:<8}  total {}{mark}",
                    p.sample_type_name(i),
                    p.sample_type_unit(i),
                    units::human(*total, p.sample_type_unit(i)),
                )?;
            }
            for &c in &p.comments {
                writeln!(out, "Comment:      {}", p.str(c))?;
            }
            if p.drop_frames != 0 {
                writeln!(out, "Drop frames:  {}", p.str(p.drop_frames))?;
            }
            if p.keep_frames != 0 {
                writeln!(out, "Keep frames:  {}", p.str(p.keep_frames))?;
            }
            if p.doc_url != 0 {
                writeln!(out, "Doc:          {}", p.str(p.doc_url))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
