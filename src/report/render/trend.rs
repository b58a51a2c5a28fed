//! Renderers of the trend report.

use std::io::{self, Write};

use crate::report::style::{markdown_next_steps, signed, Style};
use crate::report::trend::{shape_name, sparkline, Series, TrendDocument, TrendReport};
use crate::report::{dot, Format};
use crate::units;

fn spark(s: &Series) -> String {
    let y: Vec<f64> = s.values.iter().map(|&v| v as f64).collect();
    sparkline(&y)
}

fn slope(s: &Series, unit: &str) -> String {
    match s.slope_per_hour {
        Some(h) => format!("{}/h", signed(h as i64, unit)),
        None => format!("{}/snapshot", signed(s.slope_per_snapshot as i64, unit)),
    }
}

/// Writes the text trend report.
pub fn text(r: &TrendReport, st: Style, out: &mut dyn Write) -> io::Result<()> {
    let u = r.sample_type.unit.as_str();
    let n = r.analyzed.1 - r.analyzed.0 + 1;
    writeln!(
        out,
        "leakscope trend ({}, {} snapshots, ordered by {})",
        r.sample_type.name,
        r.snapshots.len(),
        r.ordered_by
    )?;
    let first = &r.snapshots[r.analyzed.0];
    let last = &r.snapshots[r.analyzed.1];
    writeln!(out, "  first {}  {}", first.file, units::human(first.total, u))?;
    writeln!(out, "  last  {}  {}", last.file, units::human(last.total, u))?;
    writeln!(out)?;
    let head = if r.verdict.leak { st.red(&r.verdict.headline) } else { st.green(&r.verdict.headline) };
    writeln!(out, "{head}")?;
    for reason in &r.verdict.reasons {
        writeln!(out, "  - {reason}")?;
    }
    if !r.next_steps.is_empty() {
        writeln!(out, "\nNext steps")?;
        for (i, s) in r.next_steps.iter().enumerate() {
            writeln!(out, "  {}. {s}", i + 1)?;
        }
    }
    writeln!(out, "\nTotal     {}  {}  {}", spark(&r.total), shape_name(r.total.shape), slope(&r.total, u))?;
    writeln!(out, "\nCategories over {n} snapshots{}", if r.verdict.leak { "  (* = leaking)" } else { "" })?;
    let w = r.categories.iter().map(|c| c.name.len() + 2).max().unwrap_or(10);
    for c in &r.categories {
        let name = if c.suspect { format!("{} *", c.name) } else { c.name.clone() };
        let objs =
            c.objects.as_ref().map_or(String::new(), |o| format!("  objects {} {}", spark(o), units::count(o.growth)));
        writeln!(
            out,
            "  {:<w$}  {}  {:>11}  {:<16}  {:<12}{objs}",
            name,
            spark(&c.series),
            signed(c.delta, u),
            shape_name(c.series.shape),
            slope(&c.series, u)
        )?;
    }
    if !r.sites.is_empty() {
        writeln!(out, "\nGrowing sites")?;
        for s in &r.sites {
            writeln!(
                out,
                "  {}  {:>11}  {:<16}  {}  {}{}",
                spark(&s.series),
                signed(s.delta, u),
                shape_name(s.series.shape),
                s.function,
                s.category,
                if s.frame == s.function { String::new() } else { format!(" via {}", s.frame) }
            )?;
        }
    }
    if let Some(g) = &r.goroutines {
        writeln!(out, "\nGoroutines ({} profiles)  {}  {}", g.snapshots, spark(&g.total), shape_name(g.total.shape))?;
        for grp in &g.growing {
            writeln!(
                out,
                "  {}  {:+}  {}  {}{}",
                spark(&grp.series),
                grp.delta,
                grp.category,
                grp.frame,
                match (grp.heap_same_package_delta, grp.heap_goroutine_structs_delta) {
                    (Some(p), Some(m)) =>
                        format!("  (heap: same package {}, runtime.malg {})", signed(p, "bytes"), signed(m, "bytes")),
                    (Some(p), None) => format!("  (heap: same package {})", signed(p, "bytes")),
                    _ => String::new(),
                }
            )?;
        }
    }
    if let Some(w) = &r.per_work {
        writeln!(out, "\nPer unit of work")?;
        if let (Some(n), Some(g)) = (w.reloads, w.growth_per_reload) {
            writeln!(out, "  {} per config reload ({n} reloads)", signed(g as i64, u))?;
        }
        if let Some(g) = w.config_reload_growth_per_reload {
            writeln!(out, "    of which config-reload: {} per reload", signed(g as i64, u))?;
        }
        if let (Some(n), Some(g)) = (w.requests, w.growth_per_1000_requests) {
            writeln!(out, "  {} per 1,000 requests ({n} requests)", signed(g as i64, u))?;
        }
        if let Some(g) = w.http_request_growth_per_1000_requests {
            writeln!(out, "    of which http-request: {} per 1,000 requests", signed(g as i64, u))?;
        }
    }
    if let Some(c) = &r.reconciliation {
        writeln!(out, "\nHeap profile vs process memory (last snapshot)")?;
        for l in c.text_lines() {
            writeln!(out, "  {l}")?;
        }
    }
    if !r.restarts.is_empty() {
        writeln!(
            out,
            "\nRestarts detected before snapshot(s) {:?}; analysed {}..={}",
            r.restarts, r.analyzed.0, r.analyzed.1
        )?;
    }
    for s in &r.skipped {
        writeln!(out, "skipped: {s}")?;
    }
    Ok(())
}

/// Writes the Markdown trend report.
pub fn markdown(r: &TrendReport, out: &mut dyn Write) -> io::Result<()> {
    let u = r.sample_type.unit.as_str();
    writeln!(out, "## Leak trend: {} snapshots ({})\n", r.snapshots.len(), r.sample_type.name)?;
    writeln!(out, "**{}**\n", r.verdict.headline)?;
    for reason in &r.verdict.reasons {
        writeln!(out, "- {reason}")?;
    }
    markdown_next_steps(&r.next_steps, out)?;
    writeln!(out, "\n### Categories\n")?;
    writeln!(out, "| category | trend | growth | shape | slope |")?;
    writeln!(out, "|---|---|---:|---|---:|")?;
    writeln!(
        out,
        "| **total** | {} | {} | {} | {} |",
        spark(&r.total),
        signed(r.total.growth, u),
        shape_name(r.total.shape),
        slope(&r.total, u)
    )?;
    for c in &r.categories {
        writeln!(
            out,
            "| {}{} | {} | {} | {} | {} |",
            c.name,
            if c.suspect { " (leaking)" } else { "" },
            spark(&c.series),
            signed(c.delta, u),
            shape_name(c.series.shape),
            slope(&c.series, u)
        )?;
    }
    if !r.sites.is_empty() {
        writeln!(out, "\n### Growing sites\n")?;
        writeln!(out, "| allocating function | trend | growth | shape | category |")?;
        writeln!(out, "|---|---|---:|---|---|")?;
        for s in &r.sites {
            writeln!(
                out,
                "| `{}` | {} | {} | {} | {}{} |",
                s.function.replace('|', "\\|"),
                spark(&s.series),
                signed(s.delta, u),
                shape_name(s.series.shape),
                s.category,
                if s.frame == s.function { String::new() } else { format!(" via `{}`", s.frame.replace('|', "\\|")) }
            )?;
        }
    }
    Ok(())
}

/// Writes the JSON trend report (schema `leakscope.trend/v1`).
pub fn json(r: &TrendReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r)?;
    writeln!(out)
}

/// Renders a trend in `format`.
pub fn render(d: &TrendDocument, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Text { color } => text(&d.report, Style { color }, out),
        Format::Markdown => markdown(&d.report, out),
        Format::Json => json(&d.report, out),
        Format::Html => super::html::trend::trend(
            &d.report,
            d.first_last.as_ref().map(|fl| super::html::trend::TrendDiff { report: &fl.report, folded: &fl.flame }),
            out,
        ),
        Format::Dot => match d.first_last.as_ref().and_then(|fl| fl.graph.as_ref()) {
            Some(g) => dot::write(g, out),
            None => Err(crate::report::unsupported("--format dot needs at least two analysed snapshots")),
        },
    }
}
