//! Text, Markdown and JSON renderers of the heap-dump reports.

use std::io::{self, Write};

use crate::report::heap::{DeltaRow, HeapDiffReport, HeapReport, Summary, Suspect, NO_DOT};
use crate::report::style::{markdown_next_steps, signed, Style};
use crate::report::Format;
use crate::units::{bytes, count};

fn b(v: u64) -> String {
    bytes(v as i64)
}

fn pct(s: f64) -> String {
    format!("{:.1}%", s * 100.0)
}

fn heap_line(s: &Summary) -> String {
    let mut line = format!("{} reachable objects, {}", count(s.reachable.objects as i64), b(s.reachable.bytes));
    if let Some(h) = s.heap_alloc {
        line += &format!(" (MemStats.HeapAlloc {})", b(h));
    }
    line += &format!("; {} unreachable ({}", count(s.unreachable.objects as i64), b(s.unreachable.bytes));
    if s.phantom.objects > 0 {
        line += &format!(", of which {} runtime metadata slots", count(s.phantom.objects as i64));
    }
    line += &format!(
        "); {} pointers; {} roots; {} goroutines",
        count(s.edges as i64),
        count(s.roots as i64),
        count(s.goroutines as i64)
    );
    line
}

fn samples_line(s: &Summary) -> String {
    format!(
        "{} of reachable bytes have an allocation site ({} sampled objects; the rest was allocated while \
         sampling missed it, e.g. before MemProfileRate was set)",
        pct(s.sample_coverage),
        count(s.sampled.objects as i64)
    )
}

fn suspect_text(s: &Suspect, st: Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{} {} — {} ({}){}{}",
        st.bold(&format!("Suspect {}:", s.rank)),
        s.label,
        st.red(&b(s.retained)),
        pct(s.share),
        s.category.as_ref().map(|c| format!(", category {c}")).unwrap_or_default(),
        s.signature.as_ref().map(|c| format!(", matches {c}")).unwrap_or_default()
    )?;
    writeln!(out, "  {}", s.description)?;
    if let Some(acc) = &s.accumulation {
        writeln!(
            out,
            "  Accumulates in {} ({}), which dominates {} objects:",
            acc.addr,
            acc.shape,
            count(acc.children as i64)
        )?;
        for g in &acc.groups {
            writeln!(out, "    {:>10}  {:>9} × {}", b(g.retained), count(g.objects as i64), g.label)?;
        }
    }
    writeln!(out, "  Path from the root:")?;
    let n = s.path.len();
    for (i, p) in s.path.iter().enumerate() {
        if n > 12 && i == 5 {
            writeln!(out, "    {:>10}  {}… {} more …", "", "  ".repeat(5), n - 10)?;
        }
        if n > 12 && (5..n - 5).contains(&i) {
            continue;
        }
        let depth = i.min(8);
        let lead = if i == 0 { String::new() } else { format!("{}└ ", "  ".repeat(depth - 1)) };
        let addr = p.addr.as_ref().map(|a| format!("{a} ")).unwrap_or_default();
        writeln!(out, "    {:>10}  {lead}{addr}{}", b(p.retained), p.label)?;
    }
    Ok(())
}

/// The one-dump report for a terminal.
pub fn text(r: &HeapReport, st: Style, out: &mut dyn Write) -> io::Result<()> {
    let s = &r.summary;
    writeln!(out, "{} {} ({} {})", st.bold("leakscope heap dump:"), s.file, s.go_version, s.goarch)?;
    writeln!(out)?;
    let verdict = if r.suspects.is_empty() { st.green(&r.verdict) } else { st.red(&r.verdict) };
    writeln!(out, "{}  {verdict}", st.bold("Verdict"))?;
    writeln!(out, "{}     {}", st.bold("Heap"), heap_line(s))?;
    writeln!(out, "{}  {}", st.bold("Samples"), samples_line(s))?;
    for s in &r.suspects {
        writeln!(out)?;
        suspect_text(s, st, out)?;
    }
    writeln!(out)?;
    writeln!(out, "{}", st.bold("Roots by retained size"))?;
    writeln!(out, "  {:>10} {:>6}  {:<14} ROOT", "RETAINED", "SHARE", "CATEGORY")?;
    for x in &r.roots {
        writeln!(
            out,
            "  {:>10} {:>6}  {:<14} {}",
            b(x.retained),
            pct(x.share),
            x.category.as_deref().unwrap_or("-"),
            x.label
        )?;
    }
    writeln!(out)?;
    writeln!(out, "{}", st.bold("Allocation sites by retained size"))?;
    writeln!(
        out,
        "  {:>10} {:>6} {:>9} {:>10}  {:<14} SITE  (kept by)",
        "RETAINED", "SHARE", "OBJECTS", "BYTES", "CATEGORY"
    )?;
    for x in &r.sites {
        writeln!(
            out,
            "  {:>10} {:>6} {:>9} {:>10}  {:<14} {}  {}",
            b(x.retained),
            pct(x.share),
            count(x.objects as i64),
            b(x.bytes),
            x.category.as_deref().unwrap_or("-"),
            x.function,
            st.dim(&format!("(kept by {})", x.kept_by.as_deref().unwrap_or("?")))
        )?;
    }
    writeln!(out)?;
    writeln!(out, "{}", st.bold("Categories"))?;
    for c in &r.categories {
        writeln!(
            out,
            "  {:>10} {:>6}  {} ({} objects allocated)",
            b(c.retained),
            pct(c.share),
            c.name,
            count(c.shallow.objects as i64)
        )?;
    }
    writeln!(out)?;
    writeln!(out, "{}", st.bold("Object shapes by retained size"))?;
    for x in &r.shapes {
        writeln!(
            out,
            "  {:>10} {:>9} objects {:>10}  {}",
            b(x.retained),
            count(x.shallow.objects as i64),
            b(x.shallow.bytes),
            x.label
        )?;
    }
    warnings_and_steps(&r.warnings, &r.next_steps, st, out)
}

/// The closing warnings and numbered next steps of a text report.
fn warnings_and_steps(warnings: &[String], steps: &[String], st: Style, out: &mut dyn Write) -> io::Result<()> {
    for w in warnings {
        writeln!(out)?;
        writeln!(out, "{} {w}", st.bold("Warning:"))?;
    }
    if !steps.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", st.bold("Next steps"))?;
        for (i, n) in steps.iter().enumerate() {
            writeln!(out, "  {}. {n}", i + 1)?;
        }
    }
    Ok(())
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn suspect_md(s: &Suspect, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "### Suspect {}: {}", s.rank, md_cell(&s.label))?;
    writeln!(out)?;
    writeln!(out, "{}", s.description)?;
    writeln!(out)?;
    if let Some(c) = &s.category {
        writeln!(out, "- Category: `{c}`")?;
    }
    if let Some(sig) = &s.signature {
        writeln!(out, "- Known leak: `{sig}`")?;
    }
    if let Some(acc) = &s.accumulation {
        writeln!(out, "- Accumulation point: `{}` ({}), dominating {} objects", acc.addr, acc.shape, acc.children)?;
        for g in &acc.groups {
            writeln!(out, "  - {} × `{}`: {}", count(g.objects as i64), md_cell(&g.label), b(g.retained))?;
        }
    }
    writeln!(out)?;
    writeln!(out, "Path from the root:")?;
    writeln!(out)?;
    writeln!(out, "```")?;
    for (i, p) in s.path.iter().enumerate() {
        let addr = p.addr.as_ref().map(|a| format!("{a} ")).unwrap_or_default();
        writeln!(out, "{:>10}  {}{addr}{}", b(p.retained), "  ".repeat(i.min(8)), p.label)?;
    }
    writeln!(out, "```")?;
    writeln!(out)
}

/// The one-dump report as Markdown, for a postmortem.
pub fn markdown(r: &HeapReport, out: &mut dyn Write) -> io::Result<()> {
    let s = &r.summary;
    writeln!(out, "## Heap dump: `{}` ({} {})", s.file, s.go_version, s.goarch)?;
    writeln!(out)?;
    writeln!(out, "**Verdict:** {}", r.verdict)?;
    writeln!(out)?;
    writeln!(out, "- Heap: {}", heap_line(s))?;
    writeln!(out, "- Samples: {}", samples_line(s))?;
    writeln!(out)?;
    for x in &r.suspects {
        suspect_md(x, out)?;
    }
    writeln!(out, "### Roots by retained size")?;
    writeln!(out)?;
    writeln!(out, "| retained | share | category | root |")?;
    writeln!(out, "|---:|---:|---|---|")?;
    for x in &r.roots {
        writeln!(
            out,
            "| {} | {} | {} | {} |",
            b(x.retained),
            pct(x.share),
            x.category.as_deref().unwrap_or("-"),
            md_cell(&x.label)
        )?;
    }
    writeln!(out)?;
    writeln!(out, "### Allocation sites by retained size")?;
    writeln!(out)?;
    writeln!(out, "| retained | share | objects | bytes | category | site | kept by |")?;
    writeln!(out, "|---:|---:|---:|---:|---|---|---|")?;
    for x in &r.sites {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | `{}` | {} |",
            b(x.retained),
            pct(x.share),
            count(x.objects as i64),
            b(x.bytes),
            x.category.as_deref().unwrap_or("-"),
            md_cell(&x.function),
            md_cell(x.kept_by.as_deref().unwrap_or("?"))
        )?;
    }
    writeln!(out)?;
    writeln!(out, "### Categories")?;
    writeln!(out)?;
    writeln!(out, "| retained | share | category |")?;
    writeln!(out, "|---:|---:|---|")?;
    for c in &r.categories {
        writeln!(out, "| {} | {} | {} |", b(c.retained), pct(c.share), c.name)?;
    }
    writeln!(out)?;
    for w in &r.warnings {
        writeln!(out, "> **Warning:** {w}")?;
        writeln!(out)?;
    }
    markdown_next_steps(&r.next_steps, out)
}

/// The one-dump report as JSON (`leakscope.heap/v1`).
pub fn json(r: &HeapReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r)?;
    writeln!(out)
}

fn delta_table(title: &str, rows: &[DeltaRow], st: Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "{}", st.bold(title))?;
    if rows.is_empty() {
        writeln!(out, "  (no change)")?;
        return Ok(());
    }
    let live = rows.iter().any(|r| r.bytes_delta.is_some());
    writeln!(
        out,
        "  {:>11} {:>10} {:>10} {:>11} {:>13}  {:<14} WHAT",
        "RETAINED Δ",
        "BASE",
        "NEW",
        if live { "LIVE Δ" } else { "" },
        "OBJECTS",
        "CATEGORY"
    )?;
    for r in rows {
        let objs = format!("{}→{}", count(r.base_objects as i64), count(r.new_objects as i64));
        let paint = |v: i64| {
            let t = signed(v, "bytes");
            if v > 0 {
                st.red(&t)
            } else {
                st.green(&t)
            }
        };
        let live = r.bytes_delta.map(paint).unwrap_or_default();
        writeln!(
            out,
            "  {:>11} {:>10} {:>10} {:>11} {:>13}  {:<14} {}{}",
            paint(r.delta),
            b(r.base),
            b(r.new),
            live,
            objs,
            r.category.as_deref().unwrap_or("-"),
            r.label,
            r.kept_by.as_ref().map(|k| st.dim(&format!("  (kept by {k})"))).unwrap_or_default()
        )?;
    }
    Ok(())
}

/// The diff of two dumps for a terminal.
pub fn diff_text(r: &HeapDiffReport, st: Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{} {} → {}", st.bold("leakscope heap dump diff:"), r.base.file, r.new.file)?;
    writeln!(out)?;
    let verdict = if r.grew { st.red(&r.verdict) } else { st.green(&r.verdict) };
    writeln!(out, "{}  {verdict}", st.bold("Verdict"))?;
    writeln!(out, "{}     base: {}", st.bold("Heap"), heap_line(&r.base))?;
    writeln!(out, "          new:  {}", heap_line(&r.new))?;
    delta_table("Allocation sites by growth of their live bytes", &r.sites, st, out)?;
    delta_table("Roots by growth of retained size", &r.roots, st, out)?;
    delta_table("Categories by growth of retained size", &r.categories, st, out)?;
    delta_table("Object shapes by growth of their live bytes", &r.shapes, st, out)?;
    if !r.suspects.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", st.bold("Leak suspects in the new dump"))?;
        for s in &r.suspects {
            suspect_text(s, st, out)?;
        }
    }
    warnings_and_steps(&r.warnings, &r.next_steps, st, out)
}

fn delta_md(title: &str, rows: &[DeltaRow], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "### {title}")?;
    writeln!(out)?;
    writeln!(out, "| retained Δ | base | new | live Δ | objects | category | what | kept by |")?;
    writeln!(out, "|---:|---:|---:|---:|---:|---|---|---|")?;
    for r in rows {
        writeln!(
            out,
            "| {} | {} | {} | {} | {}→{} | {} | `{}` | {} |",
            signed(r.delta, "bytes"),
            b(r.base),
            b(r.new),
            r.bytes_delta.map(|d| signed(d, "bytes")).unwrap_or_default(),
            r.base_objects,
            r.new_objects,
            r.category.as_deref().unwrap_or("-"),
            md_cell(&r.label),
            md_cell(r.kept_by.as_deref().unwrap_or(""))
        )?;
    }
    writeln!(out)
}

/// The diff of two dumps as Markdown.
pub fn diff_markdown(r: &HeapDiffReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## Heap dump diff: `{}` → `{}`", r.base.file, r.new.file)?;
    writeln!(out)?;
    writeln!(out, "**Verdict:** {}", r.verdict)?;
    writeln!(out)?;
    writeln!(out, "- Base: {}", heap_line(&r.base))?;
    writeln!(out, "- New: {}", heap_line(&r.new))?;
    writeln!(out)?;
    delta_md("Allocation sites by growth", &r.sites, out)?;
    delta_md("Roots by growth", &r.roots, out)?;
    delta_md("Categories", &r.categories, out)?;
    for s in &r.suspects {
        suspect_md(s, out)?;
    }
    for w in &r.warnings {
        writeln!(out, "> **Warning:** {w}")?;
        writeln!(out)?;
    }
    markdown_next_steps(&r.next_steps, out)
}

/// The diff as JSON (`leakscope.heapdiff/v1`).
pub fn diff_json(r: &HeapDiffReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r)?;
    writeln!(out)
}

/// Renders a one-dump report in `format` (all but DOT).
pub fn render(r: &HeapReport, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Text { color } => text(r, Style { color }, out),
        Format::Markdown => markdown(r, out),
        Format::Json => json(r, out),
        Format::Html => super::html::heap::report(r, out),
        Format::Dot => Err(crate::report::unsupported(NO_DOT)),
    }
}

/// Renders a two-dump diff in `format` (all but DOT).
pub fn render_diff(r: &HeapDiffReport, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Text { color } => diff_text(r, Style { color }, out),
        Format::Markdown => diff_markdown(r, out),
        Format::Json => diff_json(r, out),
        Format::Html => super::html::heap::diff(r, out),
        Format::Dot => Err(crate::report::unsupported(NO_DOT)),
    }
}
