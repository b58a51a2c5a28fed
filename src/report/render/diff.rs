//! The diff report as text for a terminal, Markdown for a postmortem and
//! JSON for scripts, and [`render`], its one entry point for every format.

use std::io::{self, Write};

use crate::report::diff::{DiffDocument, DiffReport};
use crate::report::style::{markdown_next_steps, signed, Style};
use crate::report::{dot, Format};
use crate::units;

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn when(ns: i64) -> String {
    if ns > 0 {
        units::utc(ns)
    } else {
        "time unknown".to_string()
    }
}

/// Pads `s` (which may hold escape codes) to `w` visible characters.
fn pad_left(s: &str, visible: usize, w: usize) -> String {
    format!("{}{s}", " ".repeat(w.saturating_sub(visible)))
}

/// Writes the text report.
pub fn text(r: &DiffReport, st: Style, out: &mut dyn Write) -> io::Result<()> {
    let u = r.sample_type.unit.as_str();
    writeln!(out, "{} {}", st.bold("leakscope diff"), st.dim(&format!("({}, {})", r.sample_type.name, u)))?;
    writeln!(out, "  base  {}  {}  total {}", r.base.file, when(r.base.time_nanos), units::human(r.base.total, u))?;
    let interval =
        r.interval_seconds.map_or(String::new(), |s| format!("  ({} later)", units::duration_ns((s * 1e9) as i64)));
    writeln!(
        out,
        "  new   {}  {}  total {}{interval}",
        r.new.file,
        when(r.new.time_nanos),
        units::human(r.new.total, u)
    )?;
    if r.normalized {
        writeln!(out, "  {}", st.dim("NEW normalized to BASE's total (--normalize)"))?;
    }
    for w in &r.warnings {
        writeln!(out, "  {} {w}", st.red("warning:"))?;
    }
    writeln!(out)?;

    let head = if r.verdict.leak || r.restarted { st.red(&r.verdict.headline) } else { st.green(&r.verdict.headline) };
    writeln!(out, "{}", head)?;
    for reason in &r.verdict.reasons {
        writeln!(out, "  - {reason}")?;
    }
    if !r.next_steps.is_empty() {
        writeln!(out, "\n{}", st.bold("Next steps"))?;
        for (i, s) in r.next_steps.iter().enumerate() {
            writeln!(out, "  {}. {s}", i + 1)?;
        }
    }

    writeln!(out, "\n{}", st.bold("Categories") + &st.dim(if r.verdict.leak { "  (* = leaking)" } else { "" }))?;
    let w = r.categories.iter().map(|c| c.name.len() + 2).max().unwrap_or(8).max(8);
    let cells: Vec<[String; 4]> = r
        .categories
        .iter()
        .map(|c| [units::human(c.base, u), units::human(c.new, u), signed(c.delta, u), pct(c.share_of_growth)])
        .collect();
    let mut cw = [4usize, 3, 5, 5];
    for c in &cells {
        for i in 0..4 {
            cw[i] = cw[i].max(c[i].len());
        }
    }
    writeln!(
        out,
        "  {:<w$}  {:>a$}  {:>b$}  {:>c$}  {:>d$}",
        "category",
        "base",
        "new",
        "delta",
        "share",
        a = cw[0],
        b = cw[1],
        c = cw[2],
        d = cw[3]
    )?;
    for (c, cell) in r.categories.iter().zip(&cells) {
        writeln!(
            out,
            "  {:<w$}  {:>a$}  {:>b$}  {}  {:>d$}",
            if c.suspect { format!("{} *", c.name) } else { c.name.clone() },
            cell[0],
            cell[1],
            pad_left(&st.delta(c.delta, u), cell[2].len(), cw[2]),
            cell[3],
            a = cw[0],
            b = cw[1],
            d = cw[3]
        )?;
    }

    if !r.signatures.is_empty() {
        writeln!(out, "\n{}", st.bold("Known leak signatures"))?;
        for s in &r.signatures {
            let state = s.caveat().map_or(String::new(), |c| format!("  ({c})"));
            writeln!(out, "  {}  {}  [{}]{}", st.delta(s.delta, u), s.title, s.id, st.dim(&state))?;
            writeln!(out, "      affected: {}; fixed in: {}", s.affected, s.fixed_in)?;
            if s.growing {
                writeln!(out, "      {}", s.advice)?;
            }
        }
    }

    if !r.sites.is_empty() {
        writeln!(out, "\n{}", st.bold("Top growing sites"))?;
        for (i, s) in r.sites.iter().enumerate() {
            site(out, st, u, i + 1, s)?;
        }
    }

    if !r.growth_paths.is_empty() {
        writeln!(out, "\n{}", st.bold("Heaviest growth paths (retention graph, root to leaf)"))?;
        for p in &r.growth_paths {
            let names: Vec<&str> = p.frames.iter().map(|f| f.name.as_str()).collect();
            writeln!(out, "  {}  {}", st.delta(p.delta, u), names.join(" -> "))?;
        }
    }
    if let Some(h) = &r.unattributed_hint {
        writeln!(
            out,
            "\n{} {} of unattributed growth ({}) flows through {}",
            st.bold("Unattributed:"),
            pct(h.share),
            signed(h.delta, u),
            h.frame
        )?;
    }

    if let Some(c) = &r.reconciliation {
        writeln!(out, "\n{}", st.bold("Heap profile vs runtime memory (new snapshot)"))?;
        for l in c.text_lines() {
            writeln!(out, "  {l}")?;
        }
    }

    if !r.shrank.is_empty() {
        writeln!(out, "\n{}", st.bold("Shrank"))?;
        for s in &r.shrank {
            writeln!(out, "  {}  {:<14} {}", st.delta(s.delta, u), s.category, s.function)?;
        }
    }

    writeln!(
        out,
        "\n{} {}",
        st.bold("Functions"),
        st.dim(&format!("({} of {} changed, {} granularity)", r.functions.len(), r.functions_total, gran(r)))
    )?;
    let cells: Vec<[String; 2]> =
        r.functions.iter().map(|f| [signed(f.flat_delta, u), signed(f.cum_delta, u)]).collect();
    let fw = cells.iter().map(|c| c[0].len()).max().unwrap_or(0).max(6);
    let cwid = cells.iter().map(|c| c[1].len()).max().unwrap_or(0).max(5);
    writeln!(out, "  {:>fw$}  {:>cwid$}  name", "flat Δ", "cum Δ")?;
    for (f, c) in r.functions.iter().zip(&cells) {
        writeln!(out, "  {:>fw$}  {:>cwid$}  {}", c[0], c[1], f.name)?;
    }
    Ok(())
}

fn gran(r: &DiffReport) -> String {
    serde_json::to_value(r.granularity).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

fn site(out: &mut dyn Write, st: Style, u: &str, i: usize, s: &crate::report::diff::Site) -> io::Result<()> {
    let objs = s.objects_delta.map_or(String::new(), |o| format!("  ({} objects)", signed(o, "count")));
    writeln!(out, "  {i}. {}  {}  {}{objs}", st.delta(s.delta, u), st.bold(&s.function), s.category)?;
    writeln!(out, "     {}", st.dim(&format!("why: {}", s.why())))?;
    for (f, m) in s.marked_stack() {
        writeln!(out, "       {f}{}", st.dim(&m.map_or(String::new(), |m| format!("  <- {m}"))))?;
    }
    if s.stack_elided > 0 {
        writeln!(out, "       {}", st.dim(&format!("... {} more frames toward the root", s.stack_elided)))?;
    }
    Ok(())
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// Writes the Markdown report, for pasting into a postmortem.
pub fn markdown(r: &DiffReport, out: &mut dyn Write) -> io::Result<()> {
    let u = r.sample_type.unit.as_str();
    writeln!(out, "## Leak report: `{}` → `{}` ({})\n", r.base.file, r.new.file, r.sample_type.name)?;
    writeln!(out, "**{}**\n", r.verdict.headline)?;
    for w in &r.warnings {
        writeln!(out, "> **Warning:** {w}\n")?;
    }
    for reason in &r.verdict.reasons {
        writeln!(out, "- {reason}")?;
    }
    writeln!(out)?;
    writeln!(out, "| snapshot | file | time | total |")?;
    writeln!(out, "|---|---|---|---:|")?;
    writeln!(out, "| base | `{}` | {} | {} |", r.base.file, when(r.base.time_nanos), units::human(r.base.total, u))?;
    writeln!(out, "| new | `{}` | {} | {} |", r.new.file, when(r.new.time_nanos), units::human(r.new.total, u))?;
    markdown_next_steps(&r.next_steps, out)?;
    writeln!(out, "\n### Categories\n")?;
    writeln!(out, "| category | base | new | delta | share of growth |")?;
    writeln!(out, "|---|---:|---:|---:|---:|")?;
    for c in &r.categories {
        writeln!(
            out,
            "| {}{} | {} | {} | {} | {} |",
            c.name,
            if c.suspect { " (leaking)" } else { "" },
            units::human(c.base, u),
            units::human(c.new, u),
            signed(c.delta, u),
            pct(c.share_of_growth)
        )?;
    }
    if !r.signatures.is_empty() {
        writeln!(out, "\n### Known leak signatures\n")?;
        for s in &r.signatures {
            writeln!(
                out,
                "- **{}** (`{}`): {}. Affected: {}. Fixed in: {}. {} ({})",
                signed(s.delta, u),
                s.id,
                s.title,
                s.affected,
                s.fixed_in,
                s.caveat().map_or(s.advice.clone(), |c| format!("*{}.*", c[..1].to_uppercase() + &c[1..])),
                s.references.join(", ")
            )?;
        }
    }
    if !r.sites.is_empty() {
        writeln!(out, "\n### Top growing sites\n")?;
        for (i, s) in r.sites.iter().enumerate() {
            let objs = s.objects_delta.map_or(String::new(), |o| format!(", {} objects", signed(o, "count")));
            writeln!(
                out,
                "{}. **{}** `{}` ({}{objs}) — {}",
                i + 1,
                signed(s.delta, u),
                md_escape(&s.function),
                s.category,
                md_escape(&s.why())
            )?;
            if !s.stack.is_empty() {
                writeln!(out, "\n   ```")?;
                for (f, m) in s.marked_stack() {
                    writeln!(out, "   {f}{}", m.map_or(String::new(), |m| format!("   <- {m}")))?;
                }
                if s.stack_elided > 0 {
                    writeln!(out, "   ... {} more frames", s.stack_elided)?;
                }
                writeln!(out, "   ```\n")?;
            }
        }
    }
    if !r.growth_paths.is_empty() {
        writeln!(out, "\n### Heaviest growth paths\n")?;
        for p in &r.growth_paths {
            let names: Vec<String> = p.frames.iter().map(|f| format!("`{}`", f.name)).collect();
            writeln!(out, "- {}: {}", signed(p.delta, u), names.join(" → "))?;
        }
    }
    if let Some(h) = &r.unattributed_hint {
        writeln!(out, "\nUnattributed growth: {} ({}) flows through `{}`.", pct(h.share), signed(h.delta, u), h.frame)?;
    }
    if let Some(c) = &r.reconciliation {
        writeln!(out, "\n### Heap profile vs runtime memory (new snapshot)\n")?;
        writeln!(out, "```")?;
        for l in c.text_lines() {
            writeln!(out, "{l}")?;
        }
        writeln!(out, "```")?;
    }
    if !r.shrank.is_empty() {
        writeln!(out, "\n### Shrank\n")?;
        writeln!(out, "| delta | function | category |")?;
        writeln!(out, "|---:|---|---|")?;
        for s in &r.shrank {
            writeln!(out, "| {} | `{}` | {} |", signed(s.delta, u), md_escape(&s.function), s.category)?;
        }
    }
    writeln!(out, "\n### Functions ({} of {} changed)\n", r.functions.len(), r.functions_total)?;
    writeln!(out, "| flat Δ | cum Δ | function |")?;
    writeln!(out, "|---:|---:|---|")?;
    for f in &r.functions {
        writeln!(out, "| {} | {} | `{}` |", signed(f.flat_delta, u), signed(f.cum_delta, u), md_escape(&f.name))?;
    }
    Ok(())
}

/// Writes the JSON report (schema `leakscope.diff/v1`).
pub fn json(r: &DiffReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r)?;
    writeln!(out)
}

/// Renders a diff in `format`.
pub fn render(d: &DiffDocument, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Text { color } => text(&d.report, Style { color }, out),
        Format::Markdown => markdown(&d.report, out),
        Format::Json => json(&d.report, out),
        Format::Html => super::html::diff::diff(&d.report, &d.flame, out),
        Format::Dot => match &d.graph {
            Some(g) => dot::write(g, out),
            None => Err(crate::report::unsupported("the DOT output needs the growth graph (Extras { graph: true })")),
        },
    }
}
