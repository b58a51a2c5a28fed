//! HTML pages for heap-dump reports: the same self-contained page as the
//! profile diff (no network, readable without JavaScript, sortable and
//! filterable tables), with the suspects and their paths from a root, and a
//! flame graph of reachable bytes by allocation stack (differential for a
//! diff of two dumps).

use std::io::{self, Write};

use super::{delta_bars, delta_td, esc, flame_section, foot, head, val_td};
use crate::report::flame;
use crate::report::heap::{DeltaRow, HeapDiffReport, HeapReport, Summary, Suspect};
use crate::units;

fn pct(s: f64) -> String {
    format!("{:.1}%", s * 100.0)
}

fn meta(out: &mut dyn Write, label: &str, s: &Summary) -> io::Result<()> {
    writeln!(
        out,
        "<tr><td>{}</td><td><code>{}</code></td><td>{} {}</td><td>{} reachable objects, {}; {} unreachable ({}); {} goroutines; {} of reachable bytes sampled</td></tr>",
        esc(label),
        esc(&s.file),
        esc(&s.go_version),
        esc(&s.goarch),
        units::count(s.reachable.objects as i64),
        esc(&units::bytes(s.reachable.bytes as i64)),
        units::count(s.unreachable.objects as i64),
        esc(&units::bytes(s.unreachable.bytes as i64)),
        s.goroutines,
        pct(s.sample_coverage)
    )
}

fn verdict(out: &mut dyn Write, leak: bool, headline: &str, notes: &[String], steps: &[String]) -> io::Result<()> {
    writeln!(out, r#"<section id="verdict" class="verdict{}">"#, if leak { " leak" } else { "" })?;
    writeln!(
        out,
        r#"<span class="badge {}">{}</span>"#,
        if leak { "leak" } else { "ok" },
        if leak { "leak suspected" } else { "no leak suspect" }
    )?;
    writeln!(out, r#"<p class="headline">{}</p>"#, esc(headline))?;
    if !notes.is_empty() {
        writeln!(out, "<ul>")?;
        for n in notes {
            writeln!(out, "<li>{}</li>", esc(n))?;
        }
        writeln!(out, "</ul>")?;
    }
    if !steps.is_empty() {
        writeln!(out, "<h3>Next steps</h3>\n<ol>")?;
        for s in steps {
            writeln!(out, "<li>{}</li>", esc(s))?;
        }
        writeln!(out, "</ol>")?;
    }
    writeln!(out, "</section>")
}

fn suspects(out: &mut dyn Write, list: &[Suspect]) -> io::Result<()> {
    if list.is_empty() {
        return Ok(());
    }
    writeln!(out, r#"<section id="suspects"><h2>Leak suspects</h2>"#)?;
    for s in list {
        writeln!(
            out,
            r#"<h3 class="suspect">Suspect {}: {} — {} ({}){}</h3>"#,
            s.rank,
            esc(&s.label),
            esc(&units::bytes(s.retained as i64)),
            pct(s.share),
            s.category.as_ref().map(|c| format!(r#" <span class="tag">{}</span>"#, esc(c))).unwrap_or_default()
        )?;
        writeln!(out, "<p>{}</p>", esc(&s.description))?;
        if let Some(sig) = &s.signature {
            writeln!(out, "<p>Matches the known leak <code>{}</code>.</p>", esc(sig))?;
        }
        if let Some(acc) = &s.accumulation {
            writeln!(
                out,
                "<p>Accumulation point <code>{}</code> ({}), dominating {} objects:</p><ul>",
                esc(&acc.addr),
                esc(&acc.shape),
                units::count(acc.children as i64)
            )?;
            for g in &acc.groups {
                writeln!(
                    out,
                    "<li>{} × <code>{}</code>: {}</li>",
                    units::count(g.objects as i64),
                    esc(&g.label),
                    esc(&units::bytes(g.retained as i64))
                )?;
            }
            writeln!(out, "</ul>")?;
        }
        writeln!(out, "<details open><summary>Path from the root ({} steps)</summary><pre>", s.path.len())?;
        for (i, p) in s.path.iter().enumerate() {
            let addr = p.addr.as_ref().map(|a| format!("{a} ")).unwrap_or_default();
            writeln!(
                out,
                "{:>10}  {}{}{}",
                esc(&units::bytes(p.retained as i64)),
                "  ".repeat(i.min(8)),
                esc(&addr),
                esc(&p.label)
            )?;
        }
        writeln!(out, "</pre></details>")?;
    }
    writeln!(out, "</section>")
}

fn flame_one(out: &mut dyn Write, stacks: &[flame::Folded]) -> io::Result<()> {
    writeln!(out, r#"<section id="flame"><h2>Flame graph of reachable bytes by allocation stack</h2>"#)?;
    let st = flame::Style {
        title: "Reachable bytes by allocation stack".to_string(),
        subtitle: Some("width = bytes of live objects allocated through the frame".to_string()),
        unit: "bytes".to_string(),
        width: Some(1200),
    };
    let mut svg = Vec::new();
    flame::write_profile_svg(stacks, &st, &mut svg)?;
    let svg = String::from_utf8_lossy(&svg);
    writeln!(out, r#"<div class="flame">{}</div>"#, flame::inline_svg(&svg))?;
    writeln!(out, "</section>")
}

/// Writes the HTML page of a one-dump report.
pub fn report(r: &HeapReport, out: &mut dyn Write) -> io::Result<()> {
    head(out, &format!("leakscope: heap dump {}", r.summary.file))?;
    writeln!(out, "<header><h1>Heap dump: leak suspects</h1>")?;
    writeln!(out, r#"<table class="meta"><tbody>"#)?;
    meta(out, "dump", &r.summary)?;
    writeln!(out, "</tbody></table></header>")?;
    verdict(out, !r.suspects.is_empty(), &r.verdict, &r.warnings, &r.next_steps)?;
    suspects(out, &r.suspects)?;

    writeln!(out, r#"<section id="categories"><h2>Categories</h2>"#)?;
    let rows: Vec<(String, i64)> = r.categories.iter().map(|c| (c.name.clone(), c.retained as i64)).collect();
    delta_bars(out, &rows, "bytes", "Retained bytes by category of the allocating code")?;
    writeln!(
        out,
        r#"<table class="sortable" id="categories-table"><thead><tr><th>category</th><th class="num">retained</th><th class="num">share</th><th class="num">objects</th><th class="num">bytes</th></tr></thead><tbody>"#
    )?;
    for c in &r.categories {
        writeln!(
            out,
            "<tr><td>{}</td>{}<td class=\"num\">{}</td><td class=\"num\">{}</td>{}</tr>",
            esc(&c.name),
            val_td(c.retained as i64, "bytes"),
            pct(c.share),
            c.shallow.objects,
            val_td(c.shallow.bytes as i64, "bytes")
        )?;
    }
    writeln!(out, "</tbody></table></section>")?;

    writeln!(out, r#"<section id="roots"><h2>Roots by retained size</h2>"#)?;
    writeln!(
        out,
        r#"<table class="sortable" id="roots-table"><thead><tr><th class="num">retained</th><th class="num">share</th><th>category</th><th>kind</th><th>root</th></tr></thead><tbody>"#
    )?;
    for x in &r.roots {
        writeln!(
            out,
            "<tr>{}<td class=\"num\">{}</td><td>{}</td><td>{:?}</td><td class=\"name\">{}</td></tr>",
            val_td(x.retained as i64, "bytes"),
            pct(x.share),
            esc(x.category.as_deref().unwrap_or("-")),
            x.kind,
            esc(&x.label)
        )?;
    }
    writeln!(out, "</tbody></table></section>")?;

    writeln!(out, r#"<section id="sites"><h2>Allocation sites by retained size</h2>"#)?;
    writeln!(
        out,
        r#"<table class="sortable" id="sites-table"><thead><tr><th class="num">retained</th><th class="num">share</th><th class="num">objects</th><th class="num">bytes</th><th>category</th><th>site and stack</th><th>kept by</th></tr></thead><tbody>"#
    )?;
    for x in &r.sites {
        writeln!(
            out,
            "<tr>{}<td class=\"num\">{}</td><td class=\"num\">{}</td>{}<td>{}</td><td class=\"name\"><details><summary><code>{}</code></summary><pre>{}</pre></details></td><td>{}</td></tr>",
            val_td(x.retained as i64, "bytes"),
            pct(x.share),
            x.objects,
            val_td(x.bytes as i64, "bytes"),
            esc(x.category.as_deref().unwrap_or("-")),
            esc(&x.function),
            esc(&x.stack.join("\n")),
            esc(x.kept_by.as_deref().unwrap_or("?"))
        )?;
    }
    writeln!(out, "</tbody></table></section>")?;

    writeln!(out, r#"<section id="shapes"><h2>Object shapes by retained size</h2>"#)?;
    writeln!(
        out,
        r#"<table class="sortable" id="shapes-table"><thead><tr><th class="num">retained</th><th class="num">objects</th><th class="num">bytes</th><th>shape</th></tr></thead><tbody>"#
    )?;
    for x in &r.shapes {
        writeln!(
            out,
            "<tr>{}<td class=\"num\">{}</td>{}<td class=\"name\">{}</td></tr>",
            val_td(x.retained as i64, "bytes"),
            x.shallow.objects,
            val_td(x.shallow.bytes as i64, "bytes"),
            esc(&x.label)
        )?;
    }
    writeln!(out, "</tbody></table></section>")?;
    flame_one(out, &r.flame)?;
    foot(out)
}

fn delta_table(out: &mut dyn Write, id: &str, title: &str, rows: &[DeltaRow]) -> io::Result<()> {
    writeln!(out, r#"<section id="{id}"><h2>{}</h2>"#, esc(title))?;
    writeln!(
        out,
        r#"<table class="sortable" id="{id}-table"><thead><tr><th class="num">retained Δ</th><th class="num">base</th><th class="num">new</th><th class="num">live Δ</th><th class="num">objects</th><th>category</th><th>what</th><th>kept by</th></tr></thead><tbody>"#
    )?;
    for r in rows {
        writeln!(
            out,
            "<tr>{}{}{}{}<td class=\"num\">{} → {}</td><td>{}</td><td class=\"name\"><code>{}</code></td><td>{}</td></tr>",
            delta_td(r.delta, "bytes"),
            val_td(r.base as i64, "bytes"),
            val_td(r.new as i64, "bytes"),
            r.bytes_delta.map(|d| delta_td(d, "bytes")).unwrap_or_else(|| "<td></td>".into()),
            r.base_objects,
            r.new_objects,
            esc(r.category.as_deref().unwrap_or("-")),
            esc(&r.label),
            esc(r.kept_by.as_deref().unwrap_or(""))
        )?;
    }
    writeln!(out, "</tbody></table></section>")
}

/// Writes the HTML page of a diff of two dumps.
pub fn diff(r: &HeapDiffReport, out: &mut dyn Write) -> io::Result<()> {
    head(out, &format!("leakscope: heap dumps {} → {}", r.base.file, r.new.file))?;
    writeln!(out, "<header><h1>Heap dump diff</h1>")?;
    writeln!(out, r#"<table class="meta"><tbody>"#)?;
    meta(out, "base", &r.base)?;
    meta(out, "new", &r.new)?;
    writeln!(out, "</tbody></table></header>")?;
    verdict(out, r.grew, &r.verdict, &r.warnings, &r.next_steps)?;
    writeln!(out, r#"<section id="categories"><h2>Categories</h2>"#)?;
    let rows: Vec<(String, i64)> = r.categories.iter().map(|c| (c.key.clone(), c.delta)).collect();
    delta_bars(out, &rows, "bytes", "Change of retained bytes by category")?;
    writeln!(out, "</section>")?;
    delta_table(out, "sites", "Allocation sites by growth of their live bytes", &r.sites)?;
    delta_table(out, "roots", "Roots by growth of retained size", &r.roots)?;
    delta_table(out, "shapes", "Object shapes by growth of their live bytes", &r.shapes)?;
    suspects(out, &r.suspects)?;
    flame_section(out, &r.flame, "bytes", "Reachable bytes by allocation stack")?;
    foot(out)
}
