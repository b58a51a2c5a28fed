//! The HTML leak report of a two-snapshot diff.

use super::*;

/// Writes the HTML report of a diff. `folded` are the diff's stacks (see
/// [`crate::diff::fold::from_diff`]) for the differential flame graph.
pub fn diff(r: &DiffReport, folded: &[Folded], out: &mut dyn Write) -> io::Result<()> {
    let u = r.sample_type.unit.as_str();
    head(out, &format!("leakscope: {} → {} ({})", r.base.file, r.new.file, r.sample_type.name))?;
    writeln!(out, "<header><h1>Leak report</h1>")?;
    writeln!(out, r#"<table class="meta"><tbody>"#)?;
    writeln!(
        out,
        "<tr><td>base</td><td><code>{}</code></td><td>{}</td><td>total {}</td></tr>",
        esc(&r.base.file),
        esc(&when(r.base.time_nanos)),
        esc(&units::human(r.base.total, u))
    )?;
    let later =
        r.interval_seconds.map_or(String::new(), |s| format!(" ({} later)", units::duration_ns((s * 1e9) as i64)));
    writeln!(
        out,
        "<tr><td>new</td><td><code>{}</code></td><td>{}{}</td><td>total {}</td></tr>",
        esc(&r.new.file),
        esc(&when(r.new.time_nanos)),
        esc(&later),
        esc(&units::human(r.new.total, u))
    )?;
    writeln!(out, "</tbody></table>")?;
    writeln!(
        out,
        r#"<p class="meta">Sample type <code>{}</code> ({}); change {}{}{}.</p></header>"#,
        esc(&r.sample_type.name),
        esc(u),
        esc(&signed(r.total_delta, u)),
        r.delta_per_hour.map_or(String::new(), |h| esc(&format!(", {}/h", signed(h as i64, u)))),
        if r.normalized { "; NEW normalized to BASE's total" } else { "" }
    )?;

    for w in &r.warnings {
        writeln!(out, r#"<p class="meta"><strong>Warning:</strong> {}</p>"#, esc(w))?;
    }
    writeln!(out, "<h2>Verdict</h2>")?;
    let judged = match (r.restarted, r.verdict.leak) {
        (true, _) => Judged::CannotJudge,
        (false, true) => Judged::Leak,
        (false, false) => Judged::NoLeak,
    };
    verdict(out, judged, r.verdict.confidence, &r.verdict.headline, &r.verdict.reasons, &r.next_steps)?;

    writeln!(out, r#"<section id="categories"><h2>Categories</h2>"#)?;
    writeln!(out, r#"<table class="sortable" id="t-categories">"#)?;
    writeln!(
        out,
        r#"<thead><tr><th>category</th><th class="num">base</th><th class="num">new</th><th class="num">delta</th><th class="num">share of growth</th></tr></thead><tbody>"#
    )?;
    for c in &r.categories {
        write!(
            out,
            r#"<tr{}><td>{}{}</td>"#,
            if c.suspect { r#" class="suspect""# } else { "" },
            esc(&c.name),
            if c.suspect { r#"<span class="tag">leaking</span>"# } else { "" }
        )?;
        write!(out, "{}{}{}", val_td(c.base, u), val_td(c.new, u), delta_td(c.delta, u))?;
        writeln!(
            out,
            r#"<td class="num" data-v="{:.6}"><span class="share" style="width:{:.0}px"></span>{:.0}%</td></tr>"#,
            c.share_of_growth,
            c.share_of_growth * 80.0,
            c.share_of_growth * 100.0
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    let rows: Vec<(String, i64)> =
        r.categories.iter().filter(|c| c.delta != 0).map(|c| (c.name.clone(), c.delta)).collect();
    writeln!(out, r#"<div class="charts">"#)?;
    delta_bars(out, &rows, u, "Change per category, base → new")?;
    writeln!(out, "</div></section>")?;

    if !r.signatures.is_empty() {
        writeln!(out, r#"<section id="signatures"><h2>Known leak signatures</h2>"#)?;
        writeln!(
            out,
            r#"<table class="sortable" id="t-signatures"><thead><tr><th class="num">delta</th><th>signature</th><th>affected</th><th>fixed in</th><th>advice</th></tr></thead><tbody>"#
        )?;
        for s in &r.signatures {
            writeln!(
                out,
                "<tr>{}<td><b>{}</b><br><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                delta_td(s.delta, u),
                esc(&s.title),
                esc(&s.id),
                s.caveat().map_or(String::new(), |c| format!(" ({})", esc(&c))),
                esc(&s.affected),
                esc(&s.fixed_in),
                if s.growing { esc(&s.advice) } else { String::from("—") },
                if s.references.is_empty() { String::new() } else { format!(" ({})", esc(&s.references.join(", "))) }
            )?;
        }
        writeln!(out, "</tbody></table></section>")?;
    }

    writeln!(out, r#"<section id="sites"><h2>Top growing sites</h2>"#)?;
    if r.sites.is_empty() {
        writeln!(out, "<p>Nothing grew.</p>")?;
    } else {
        sites_table(out, "t-sites", &r.sites, u)?;
    }
    if let Some(h) = &r.unattributed_hint {
        writeln!(
            out,
            "<p>Unattributed: {:.0}% of unattributed growth ({}) flows through <code>{}</code>.</p>",
            h.share * 100.0,
            esc(&signed(h.delta, u)),
            esc(&h.frame)
        )?;
    }
    writeln!(out, "</section>")?;

    flame_section(out, folded, u, &format!("{} → {}", r.base.file, r.new.file))?;

    if !r.growth_paths.is_empty() {
        writeln!(
            out,
            r#"<section id="paths"><h2>Heaviest growth paths</h2><p class="note">Retention graph, root to leaf.</p><ol>"#
        )?;
        for p in &r.growth_paths {
            let names: Vec<String> = p.frames.iter().map(|f| format!("<code>{}</code>", esc(&f.name))).collect();
            writeln!(out, r#"<li><span class="pos">{}</span>: {}</li>"#, esc(&signed(p.delta, u)), names.join(" → "))?;
        }
        writeln!(out, "</ol></section>")?;
    }

    if !r.shrank.is_empty() {
        writeln!(out, r#"<section id="shrank"><h2>Shrank</h2>"#)?;
        sites_table(out, "t-shrank", &r.shrank, u)?;
        writeln!(out, "</section>")?;
    }

    writeln!(
        out,
        r#"<section id="functions"><h2>Functions</h2><p class="note">{} of {} changed functions, by |flat Δ|, as <code>go tool pprof -top -base</code>.</p>"#,
        r.functions.len(),
        r.functions_total
    )?;
    writeln!(
        out,
        r#"<table class="sortable" id="t-functions"><thead><tr><th class="num">flat Δ</th><th class="num">cum Δ</th><th class="num">flat new</th><th class="num">cum new</th><th>function</th></tr></thead><tbody>"#
    )?;
    for f in &r.functions {
        writeln!(
            out,
            r#"<tr>{}{}{}{}<td class="name"><code>{}</code></td></tr>"#,
            delta_td(f.flat_delta, u),
            delta_td(f.cum_delta, u),
            val_td(f.flat_new, u),
            val_td(f.cum_new, u),
            esc(&f.name)
        )?;
    }
    writeln!(out, "</tbody></table></section>")?;
    foot(out)
}
