//! `leakscope top FILE`: flat and cum per node, as `go tool pprof -top`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use serde::Serialize;

use super::Format;
use crate::graph::{aggregate_types, Granularity};
use crate::pprof;
use crate::profile::Profile;
use crate::report::units;

/// Arguments of `leakscope top`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// Profile to read (gzip or raw protobuf); `-` reads standard input.
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

/// JSON contract of `top` (schema `leakscope.top/v1`, see README).
#[derive(Debug, Serialize)]
pub struct TopJson<'a> {
    /// Schema name and version.
    pub schema: &'static str,
    /// The input as given.
    pub file: String,
    /// The reported sample type.
    pub sample_type: SampleTypeJson<'a>,
    /// Grouping used.
    pub granularity: Granularity,
    /// pprof's total: the sum of absolute sample values.
    pub total: i64,
    /// Rows with a non-zero value before `--nodecount` was applied.
    pub nodes_total: usize,
    /// Rows, sorted by |flat| then name then |cum|.
    pub functions: Vec<RowJson>,
}

/// A sample type in JSON.
#[derive(Debug, Serialize)]
pub struct SampleTypeJson<'a> {
    /// e.g. `inuse_space`.
    pub name: &'a str,
    /// e.g. `bytes`.
    pub unit: &'a str,
}

/// One row in JSON.
#[derive(Debug, Serialize)]
pub struct RowJson {
    /// At `functions` granularity, the function name exactly as stored.
    pub name: String,
    /// Value where this node is the leaf.
    pub flat: i64,
    /// Value of every sample whose stack contains this node, once each.
    pub cum: i64,
}

/// Resolves `--sample-type` against a profile.
pub(crate) fn pick_sample_type(p: &Profile, name: Option<&str>) -> anyhow::Result<usize> {
    let names = || (0..p.sample_types.len()).map(|i| p.sample_type_name(i)).collect::<Vec<_>>().join(", ");
    match name {
        Some(n) => match p.sample_type_index(n) {
            Some(i) => Ok(i),
            None => bail!("sample type {n:?} is not in this profile (it has: {})", names()),
        },
        None => match p.default_sample_index() {
            Some(i) => Ok(i),
            None => bail!("the profile has no sample types"),
        },
    }
}

pub(crate) fn run(a: TopArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    // A heap dump is read as its retention-by-allocation-site profile.
    let p = if crate::heapdump::path_is_heap_dump(&a.file) {
        super::heap::dump_profile(&a.file)?
    } else {
        pprof::read_path_with(&a.file, &super::limits())?
    };
    let t = pick_sample_type(&p, a.sample_type.as_deref()).map_err(|e| anyhow::anyhow!("{}: {e}", a.file.display()))?;
    let agg = aggregate_types(&p, a.granularity, &[t]);
    let order = agg.top(0);
    let shown = if a.nodecount == 0 { order.len() } else { a.nodecount.min(order.len()) };
    let total = agg.totals[0];
    let unit = p.sample_type_unit(t);
    let row_name = |n: usize| {
        let node = &agg.nodes[n];
        if a.granularity == Granularity::Functions && !node.function.is_empty() {
            node.function.clone()
        } else {
            node.name.clone()
        }
    };

    match a.format {
        Format::Json => {
            let doc = TopJson {
                schema: "leakscope.top/v1",
                file: a.file.display().to_string(),
                sample_type: SampleTypeJson { name: p.sample_type_name(t), unit },
                granularity: a.granularity,
                total,
                nodes_total: order.len(),
                functions: order[..shown]
                    .iter()
                    .map(|&n| RowJson { name: row_name(n), flat: agg.flat(n, 0), cum: agg.cum(n, 0) })
                    .collect(),
            };
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        Format::Text => {
            let shown_flat: i64 = order[..shown].iter().map(|&n| agg.flat(n, 0)).sum();
            writeln!(out, "File: {}", a.file.display())?;
            let mut line = format!("Type: {}", p.sample_type_name(t));
            if p.time_nanos != 0 {
                line.push_str(&format!("   Time: {}", units::utc(p.time_nanos)));
            }
            writeln!(out, "{line}")?;
            writeln!(
                out,
                "Showing {shown} of {} nodes, accounting for {} ({}) of {} total",
                order.len(),
                units::human(shown_flat, unit),
                units::percent(shown_flat, total),
                units::human(total, unit)
            )?;
            let cells: Vec<[String; 5]> = {
                let mut sum = 0i64;
                order[..shown]
                    .iter()
                    .map(|&n| {
                        sum += agg.flat(n, 0);
                        [
                            units::human(agg.flat(n, 0), unit),
                            units::percent(agg.flat(n, 0), total),
                            units::percent(sum, total),
                            units::human(agg.cum(n, 0), unit),
                            units::percent(agg.cum(n, 0), total),
                        ]
                    })
                    .collect()
            };
            let head = ["flat", "flat%", "sum%", "cum", "cum%"];
            let mut w = head.map(str::len);
            for c in &cells {
                for (i, s) in c.iter().enumerate() {
                    w[i] = w[i].max(s.chars().count());
                }
            }
            for (i, h) in head.iter().enumerate() {
                write!(out, "{:>width$}  ", h, width = w[i])?;
            }
            writeln!(out, "name")?;
            for (c, &n) in cells.iter().zip(&order[..shown]) {
                for (i, s) in c.iter().enumerate() {
                    write!(out, "{:>width$}  ", s, width = w[i])?;
                }
                writeln!(out, "{}", agg.nodes[n].name)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
