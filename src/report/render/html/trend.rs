//! The HTML report of a trend, with the first → last diff's sites and
//! flame graph.

use super::*;

fn slope(s: &Series, unit: &str) -> String {
    match s.slope_per_hour {
        Some(h) => format!("{}/h", signed(h as i64, unit)),
        None => format!("{}/snapshot", signed(s.slope_per_snapshot as i64, unit)),
    }
}

/// The first → last diff shown in a trend report: its report (for the
/// sites with their stacks) and folded stacks (for the flame graph).
pub struct TrendDiff<'a> {
    /// The diff report of the first and last analysed snapshots.
    pub report: &'a DiffReport,
    /// Its folded stacks.
    pub folded: &'a [Folded],
}

/// Writes the HTML report of a trend, with the diff of its first and last
/// analysed snapshots when given.
pub fn trend(r: &TrendReport, first_last: Option<TrendDiff<'_>>, out: &mut dyn Write) -> io::Result<()> {
    let u = r.sample_type.unit.as_str();
    let n = r.analyzed.1 - r.analyzed.0 + 1;
    head(out, &format!("leakscope trend: {} snapshots ({})", r.snapshots.len(), r.sample_type.name))?;
    writeln!(out, "<header><h1>Leak trend report</h1>")?;
    let first = &r.snapshots[r.analyzed.0];
    let last = &r.snapshots[r.analyzed.1];
    writeln!(out, r#"<table class="meta"><tbody>"#)?;
    for (k, s) in [("first", first), ("last", last)] {
        writeln!(
            out,
            "<tr><td>{k}</td><td><code>{}</code></td><td>{}</td><td>total {}</td></tr>",
            esc(&s.file),
            esc(&when(s.time_nanos)),
            esc(&units::human(s.total, u))
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    writeln!(
        out,
        r#"<p class="meta">{} snapshots, ordered by {}; {} analysed{}. Sample type <code>{}</code>; change {}.</p></header>"#,
        r.snapshots.len(),
        esc(r.ordered_by),
        n,
        r.interval_seconds.map_or(String::new(), |s| format!(" over {}", esc(&units::duration_ns((s * 1e9) as i64)))),
        esc(&r.sample_type.name),
        esc(&signed(r.total_delta, u))
    )?;
    writeln!(out, "<h2>Verdict</h2>")?;
    verdict(
        out,
        if r.verdict.leak { Judged::Leak } else { Judged::NoLeak },
        r.verdict.confidence,
        &r.verdict.headline,
        &r.verdict.reasons,
        &r.next_steps,
    )?;

    // Charts: the total, then one per category.
    let (x_start, x_end) = match r.interval_seconds {
        Some(s) => ("0".to_string(), format!("+{}", units::duration_ns((s * 1e9) as i64))),
        None => (format!("snapshot {}", r.analyzed.0 + 1), format!("snapshot {}", r.analyzed.1 + 1)),
    };
    writeln!(out, r#"<section id="trends"><h2>Trend per category over snapshots</h2><div class="charts">"#)?;
    let mut s = String::new();
    let _ = line_chart(
        &mut s,
        &format!("total ({}, {})", shape_name(r.total.shape), slope(&r.total, u)),
        &r.total.values,
        (&x_start, &x_end),
        u,
        "#333",
    );
    for c in &r.categories {
        let colour = if c.suspect {
            "#d32f2f"
        } else if c.delta < 0 {
            "#1e88e5"
        } else {
            "#6d7a88"
        };
        let _ = line_chart(
            &mut s,
            &format!("{}{} ({})", c.name, if c.suspect { " [leaking]" } else { "" }, signed(c.delta, u)),
            &c.series.values,
            (&x_start, &x_end),
            u,
            colour,
        );
    }
    writeln!(out, "{s}</div></section>")?;

    writeln!(out, r#"<section id="categories"><h2>Categories</h2>"#)?;
    writeln!(
        out,
        r#"<table class="sortable" id="t-categories"><thead><tr><th>category</th><th class="num">first</th><th class="num">last</th><th class="num">growth</th><th>shape</th><th class="num">slope</th><th class="num">Mann-Kendall p</th></tr></thead><tbody>"#
    )?;
    for c in &r.categories {
        writeln!(
            out,
            r#"<tr{}><td>{}{}</td>{}{}{}<td>{}</td><td class="num" data-v="{}">{}</td><td class="num" data-v="{p}">{p:.3}</td></tr>"#,
            if c.suspect { r#" class="suspect""# } else { "" },
            esc(&c.name),
            if c.suspect { r#"<span class="tag">leaking</span>"# } else { "" },
            val_td(c.series.values.first().copied().unwrap_or(0), u),
            val_td(c.series.values.last().copied().unwrap_or(0), u),
            delta_td(c.delta, u),
            esc(shape_name(c.series.shape)),
            c.series.slope_per_hour.unwrap_or(c.series.slope_per_snapshot),
            esc(&slope(&c.series, u)),
            p = c.series.mann_kendall_p
        )?;
    }
    writeln!(out, "</tbody></table></section>")?;

    if !r.sites.is_empty() {
        writeln!(out, r#"<section id="trend-sites"><h2>Growing sites over snapshots</h2>"#)?;
        writeln!(
            out,
            r#"<table class="sortable" id="t-trend-sites"><thead><tr><th>allocating function</th><th class="num">growth</th><th>shape</th><th class="num">slope</th><th>category</th></tr></thead><tbody>"#
        )?;
        for st in &r.sites {
            let via = if st.frame == st.function {
                String::new()
            } else {
                format!(r#"<br><small>via <code>{}</code></small>"#, esc(&st.frame))
            };
            writeln!(
                out,
                r#"<tr><td class="name"><code>{}</code></td>{}<td>{}</td><td class="num" data-v="{}">{}</td><td>{}{via}</td></tr>"#,
                esc(&st.function),
                delta_td(st.delta, u),
                esc(shape_name(st.series.shape)),
                st.series.slope_per_hour.unwrap_or(st.series.slope_per_snapshot),
                esc(&slope(&st.series, u)),
                esc(&st.category),
            )?;
        }
        writeln!(out, "</tbody></table></section>")?;
    }

    if let Some(fl) = &first_last {
        writeln!(
            out,
            r#"<section id="sites"><h2>Top growing sites with their stacks</h2><p class="note">From the diff of the first and last analysed snapshots.</p>"#
        )?;
        if fl.report.sites.is_empty() {
            writeln!(out, "<p>Nothing grew.</p>")?;
        } else {
            sites_table(out, "t-sites", &fl.report.sites, u)?;
        }
        writeln!(out, "</section>")?;
        flame_section(out, fl.folded, u, &format!("{} → {}", first.file, last.file))?;
    }

    if let Some(g) = &r.goroutines {
        writeln!(
            out,
            r#"<section id="goroutines"><h2>Goroutines</h2><p>{} goroutine profiles; total {}.</p>"#,
            g.snapshots,
            esc(shape_name(g.total.shape))
        )?;
        if !g.growing.is_empty() {
            writeln!(
                out,
                r#"<table class="sortable" id="t-goroutines"><thead><tr><th class="num">growth</th><th>category</th><th>frame</th></tr></thead><tbody>"#
            )?;
            for grp in &g.growing {
                writeln!(
                    out,
                    r#"<tr>{}<td>{}</td><td class="name"><code>{}</code></td></tr>"#,
                    delta_td(grp.delta, "count"),
                    esc(&grp.category),
                    esc(&grp.frame)
                )?;
            }
            writeln!(out, "</tbody></table>")?;
        }
        writeln!(out, "</section>")?;
    }
    if let Some(w) = &r.per_work {
        writeln!(out, r#"<section id="per-work"><h2>Per unit of work</h2><ul>"#)?;
        if let (Some(n), Some(g)) = (w.reloads, w.growth_per_reload) {
            writeln!(out, "<li>{} per config reload ({n} reloads)</li>", esc(&signed(g as i64, u)))?;
        }
        if let (Some(n), Some(g)) = (w.requests, w.growth_per_1000_requests) {
            writeln!(out, "<li>{} per 1,000 requests ({n} requests)</li>", esc(&signed(g as i64, u)))?;
        }
        writeln!(out, "</ul></section>")?;
    }
    if !r.restarts.is_empty() || !r.skipped.is_empty() {
        writeln!(out, r#"<section id="notes"><h2>Notes</h2><ul>"#)?;
        if !r.restarts.is_empty() {
            writeln!(
                out,
                "<li>Restarts detected before snapshot(s) {:?}; analysed {}..={}</li>",
                r.restarts, r.analyzed.0, r.analyzed.1
            )?;
        }
        for s in &r.skipped {
            writeln!(out, "<li>skipped: {}</li>", esc(s))?;
        }
        writeln!(out, "</ul></section>")?;
    }
    foot(out)
}
