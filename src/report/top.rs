//! The `top` report (schema `leakscope.top/v1`): flat and cum per node, as
//! `go tool pprof -top` prints them. Built by [`crate::graph::top`].

use std::io::{self, Write};

use serde::Serialize;

use crate::profile::Granularity;
use crate::units;

/// JSON contract of `top` (schema `leakscope.top/v1`, see README).
#[derive(Debug, Serialize)]
pub struct TopReport<'a> {
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
    /// The profile's time (ns since the epoch; 0 if unknown), for text.
    #[serde(skip)]
    pub time_nanos: i64,
    /// Each row's printable name (`go tool pprof -top`'s), for text.
    #[serde(skip)]
    pub printable: Vec<String>,
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

/// Writes the report as JSON (schema `leakscope.top/v1`).
pub fn json(r: &TopReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r)?;
    writeln!(out)
}

/// Writes the report as `go tool pprof -top` does.
pub fn text(r: &TopReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let unit = r.sample_type.unit;
    let total = r.total;
    let shown = r.functions.len();
    let shown_flat: i64 = r.functions.iter().map(|f| f.flat).sum();
    writeln!(out, "File: {}", r.file)?;
    let mut line = format!("Type: {}", r.sample_type.name);
    if r.time_nanos != 0 {
        line.push_str(&format!("   Time: {}", units::utc(r.time_nanos)));
    }
    writeln!(out, "{line}")?;
    writeln!(
        out,
        "Showing {shown} of {} nodes, accounting for {} ({}) of {} total",
        r.nodes_total,
        units::human(shown_flat, unit),
        units::percent(shown_flat, total),
        units::human(total, unit)
    )?;
    let cells: Vec<[String; 5]> = {
        let mut sum = 0i64;
        r.functions
            .iter()
            .map(|f| {
                sum += f.flat;
                [
                    units::human(f.flat, unit),
                    units::percent(f.flat, total),
                    units::percent(sum, total),
                    units::human(f.cum, unit),
                    units::percent(f.cum, total),
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
    for (c, name) in cells.iter().zip(&r.printable) {
        for (i, s) in c.iter().enumerate() {
            write!(out, "{:>width$}  ", s, width = w[i])?;
        }
        writeln!(out, "{name}")?;
    }
    Ok(())
}
