//! Renderers of the fleet report ([`super::FleetReport`]): text
//! for a terminal, Markdown for a ticket, one self-contained HTML page
//! (one small inline-SVG chart per leaking series, no network), and JSON
//! (schema `leakscope.fleet/v1`).

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{label_text_map, FleetReport, SeriesReport};
use crate::report::markup::esc;
use crate::report::style::{signed, Style};
use crate::report::trend::{shape_name, sparkline};
use crate::units;

fn spark(s: &SeriesReport) -> String {
    // Gaps are left out of the sparkline; the JSON keeps them as null.
    let y: Vec<f64> = s.values.iter().flatten().map(|&v| v as f64).collect();
    sparkline(&y)
}

fn when_ms(ms: i64) -> String {
    units::utc(ms.saturating_mul(1_000_000))
}

fn hours(h: f64) -> String {
    if h < 48.0 {
        format!("{h:.1} h")
    } else {
        format!("{:.1} days", h / 24.0)
    }
}

/// Seconds as `15m`, `1h30m`, `2d`.
fn fmt_secs(mut s: i64) -> String {
    if s <= 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, n) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if s >= n {
            out.push_str(&format!("{}{unit}", s / n));
            s %= n;
        }
    }
    out
}

fn range_line(r: &FleetReport) -> String {
    let s = &r.source;
    format!(
        "{} windows of {} from {} to {}",
        s.window_ends_ms.len(),
        fmt_secs(s.step_seconds),
        when_ms(s.from_ms),
        when_ms(s.to_ms)
    )
}

fn restart_text(r: &FleetReport, s: &SeriesReport) -> String {
    let at: Vec<String> = s.restarts.iter().map(|&i| when_ms(r.source.window_ends_ms[i])).collect();
    format!("restarted (new process in the window ending {})", at.join(", "))
}

/// Writes the text report.
pub fn text(r: &FleetReport, st: Style, out: &mut dyn Write) -> io::Result<()> {
    let u = r.source.unit.as_str();
    writeln!(
        out,
        "leakscope fleet: {} by {} ({}), {}",
        r.source.query,
        r.source.by.join(","),
        r.source.sample_type,
        range_line(r)
    )?;
    writeln!(out, "  {}\n", r.source.url)?;
    let head = if r.verdict.leak { st.red(&r.verdict.headline) } else { st.green(&r.verdict.headline) };
    writeln!(out, "{head}")?;
    let leaking: Vec<&SeriesReport> = r.series.iter().filter(|s| s.verdict.leak).collect();
    if !leaking.is_empty() {
        writeln!(out, "\nLeaking series (fastest first)")?;
        for (i, s) in leaking.iter().enumerate() {
            let limit = s.hours_to_limit.map_or(String::new(), |h| format!("  limit in {}", hours(h)));
            writeln!(
                out,
                "  {}. {}  {}  {}  {}  {}/h{limit}",
                i + 1,
                st.bold(&label_text_map(&s.labels)),
                spark(s),
                signed(s.growth, u),
                shape_name(s.shape),
                signed(s.slope_per_hour as i64, u)
            )?;
            writeln!(out, "     category {}", s.verdict.category.as_deref().unwrap_or("-"))?;
            for site in &s.sites {
                writeln!(out, "     site {}  {}  {}", signed(site.delta, u), site.category, site.function)?;
            }
            for sig in &s.signatures {
                writeln!(
                    out,
                    "     known leak {}: {} (fixed in {}) {}",
                    sig.id,
                    sig.title,
                    sig.fixed_in,
                    signed(sig.delta, u)
                )?;
            }
            if s.restarted {
                writeln!(out, "     {}; judged since", restart_text(r, s))?;
            }
        }
    }
    let restarted: Vec<&SeriesReport> = r.series.iter().filter(|s| s.restarted && !s.verdict.leak).collect();
    if !restarted.is_empty() {
        writeln!(out, "\nRestarted series (no leak since)")?;
        for s in restarted {
            writeln!(
                out,
                "  {}  {}  {}; {}",
                label_text_map(&s.labels),
                spark(s),
                restart_text(r, s),
                s.verdict.reason
            )?;
        }
    }
    let watch: Vec<&SeriesReport> =
        r.series.iter().filter(|s| !s.verdict.leak && !s.restarted && s.profiles > 0 && s.growth > 0).collect();
    if !watch.is_empty() {
        writeln!(out, "\nGrowing, not judged a leak")?;
        for s in watch {
            writeln!(out, "  {}  {}  {}", label_text_map(&s.labels), spark(s), s.verdict.reason)?;
        }
    }
    let shapes: Vec<String> = r.clean.shapes.iter().map(|(k, v)| format!("{v} {k}")).collect();
    writeln!(
        out,
        "\nClean: {} series{}",
        r.clean.count,
        if shapes.is_empty() { String::new() } else { format!(" ({})", shapes.join(", ")) }
    )?;
    for n in &r.notes {
        writeln!(out, "note: {n}")?;
    }
    Ok(())
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Writes the Markdown report.
pub fn markdown(r: &FleetReport, out: &mut dyn Write) -> io::Result<()> {
    let u = r.source.unit.as_str();
    writeln!(out, "## Fleet leak report: `{}` by {}\n", md(&r.source.query), r.source.by.join(", "))?;
    writeln!(out, "{} ({}), {}\n", md(&r.source.url), r.source.sample_type, range_line(r))?;
    writeln!(out, "**{}**\n", md(&r.verdict.headline))?;
    let leaking: Vec<&SeriesReport> = r.series.iter().filter(|s| s.verdict.leak).collect();
    if !leaking.is_empty() {
        writeln!(out, "### Leaking series\n")?;
        writeln!(
            out,
            "| series | category | growth | slope | shape | time to limit | top site | known leak | restarted |"
        )?;
        writeln!(out, "|---|---|---:|---:|---|---:|---|---|---|")?;
        for s in &leaking {
            writeln!(
                out,
                "| {} | {} | {} | {}/h | {} | {} | {} | {} | {} |",
                md(&label_text_map(&s.labels)),
                s.verdict.category.as_deref().unwrap_or("-"),
                signed(s.growth, u),
                signed(s.slope_per_hour as i64, u),
                shape_name(s.shape),
                s.hours_to_limit.map_or("-".to_string(), hours),
                s.sites.first().map_or("-".to_string(), |x| format!("`{}` ({})", md(&x.function), x.category)),
                if s.signatures.is_empty() {
                    "-".to_string()
                } else {
                    s.signatures.iter().map(|x| format!("`{}`", x.id)).collect::<Vec<_>>().join(", ")
                },
                if s.restarted { "yes" } else { "no" }
            )?;
        }
        let sigs: Vec<_> = leaking.iter().flat_map(|s| &s.signatures).collect();
        if !sigs.is_empty() {
            writeln!(out, "\n### Known leaks\n")?;
            let mut seen = std::collections::BTreeSet::new();
            for s in sigs {
                if seen.insert(&s.id) {
                    writeln!(out, "- `{}`: {} Fixed in {}. {}", s.id, md(&s.title), md(&s.fixed_in), md(&s.advice))?;
                }
            }
        }
    }
    let restarted: Vec<&SeriesReport> = r.series.iter().filter(|s| s.restarted && !s.verdict.leak).collect();
    if !restarted.is_empty() {
        writeln!(out, "\n### Restarted series\n")?;
        for s in restarted {
            writeln!(out, "- {}: {}; {}", md(&label_text_map(&s.labels)), restart_text(r, s), md(&s.verdict.reason))?;
        }
    }
    let shapes: Vec<String> = r.clean.shapes.iter().map(|(k, v)| format!("{v} {k}")).collect();
    writeln!(
        out,
        "\n**Clean:** {} series{}",
        r.clean.count,
        if shapes.is_empty() { String::new() } else { format!(" ({})", shapes.join(", ")) }
    )?;
    if !r.notes.is_empty() {
        writeln!(out)?;
        for n in &r.notes {
            writeln!(out, "- note: {}", md(n))?;
        }
    }
    Ok(())
}

/// Writes the JSON report (schema `leakscope.fleet/v1`).
pub fn json(r: &FleetReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r)?;
    writeln!(out)
}

/// A small line chart of a series' totals: gaps break the line, restarts
/// are dashed vertical lines, the judged windows are shaded.
fn chart(r: &FleetReport, s: &SeriesReport) -> String {
    let (w, h, pad) = (560.0, 120.0, 6.0);
    let n = s.values.len().max(2);
    let vals: Vec<i64> = s.values.iter().flatten().copied().collect();
    let (lo, hi) = (vals.iter().copied().min().unwrap_or(0) as f64, vals.iter().copied().max().unwrap_or(1) as f64);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / (n - 1) as f64;
    let y = |v: i64| h - pad - (h - 2.0 * pad) * (v as f64 - lo) / span;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{} per window">"#,
        esc(&r.source.sample_type)
    );
    let (a, b) = s.judged;
    let _ = write!(
        svg,
        r##"<rect x="{:.1}" y="0" width="{:.1}" height="{h}" fill="#fdf2f2"/>"##,
        x(a),
        (x(b) - x(a)).max(1.0)
    );
    for &i in &s.restarts {
        let _ = write!(
            svg,
            r##"<line x1="{0:.1}" x2="{0:.1}" y1="0" y2="{h}" stroke="#5f6670" stroke-dasharray="4 3"><title>restart</title></line>"##,
            x(i)
        );
    }
    let mut run: Vec<String> = Vec::new();
    let flush = |run: &mut Vec<String>, svg: &mut String| {
        if run.len() > 1 {
            let _ = write!(
                svg,
                r##"<polyline fill="none" stroke="#c62828" stroke-width="2" points="{}"/>"##,
                run.join(" ")
            );
        }
        run.clear();
    };
    for (i, v) in s.values.iter().enumerate() {
        match v {
            Some(v) => {
                run.push(format!("{:.1},{:.1}", x(i), y(*v)));
                let _ = write!(
                    svg,
                    r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="#c62828"><title>{}: {}</title></circle>"##,
                    x(i),
                    y(*v),
                    esc(&when_ms(r.source.window_ends_ms.get(i).copied().unwrap_or(0))),
                    esc(&units::human(*v, &r.source.unit))
                );
            }
            None => flush(&mut run, &mut svg),
        }
    }
    flush(&mut run, &mut svg);
    svg.push_str("</svg>");
    svg
}

const STYLE: &str = r#"
body { margin: 0 auto; max-width: 1100px; padding: 16px 24px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #1d1f23; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #d9dde3; }
.meta { color: #5f6670; margin: 2px 0; } code, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
.verdict { border-left: 6px solid #2e7d32; background: #f1f8f2; padding: 10px 16px; border-radius: 4px; font-size: 17px; font-weight: 650; color: #2e7d32; }
.verdict.leak { border-left-color: #c62828; background: #fdf2f2; color: #c62828; }
.series { border: 1px solid #d9dde3; border-radius: 6px; padding: 8px 14px; margin: 12px 0; }
.series h3 { font-size: 15px; margin: 4px 0; } .chart { display: block; margin: 6px 0; background: #fafbfc; }
table { border-collapse: collapse; width: 100%; } th, td { border-bottom: 1px solid #d9dde3; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } .sig { color: #c62828; font-weight: 600; }
"#;

/// Writes the HTML report: one self-contained page.
pub fn html(r: &FleetReport, out: &mut dyn Write) -> io::Result<()> {
    let u = r.source.unit.as_str();
    let mut p = String::new();
    let _ = write!(
        p,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>leakscope fleet: {}</title><style>{STYLE}</style></head><body>",
        esc(&r.source.query)
    );
    let _ = write!(
        p,
        "<h1>Fleet leak report</h1><p class=\"meta\"><code>{}</code> by {} in {} ({}), {}</p>",
        esc(&r.source.query),
        esc(&r.source.by.join(", ")),
        esc(&r.source.url),
        esc(&r.source.sample_type),
        esc(&range_line(r))
    );
    let _ = write!(
        p,
        "<div class=\"verdict{}\">{}</div>",
        if r.verdict.leak { " leak" } else { "" },
        esc(&r.verdict.headline)
    );
    let leaking: Vec<&SeriesReport> = r.series.iter().filter(|s| s.verdict.leak).collect();
    if !leaking.is_empty() {
        p.push_str("<h2>Leaking series</h2>");
        for s in &leaking {
            let _ = write!(p, "<div class=\"series\"><h3>{}</h3>", esc(&label_text_map(&s.labels)));
            let _ = write!(
                p,
                "<p>category <b>{}</b>, {} {} ({}/h), {}{}{}</p>",
                esc(s.verdict.category.as_deref().unwrap_or("-")),
                esc(shape_name(s.shape)),
                esc(&signed(s.growth, u)),
                esc(&signed(s.slope_per_hour as i64, u)),
                esc(&format!("{} -> {}", units::human(s.first, u), units::human(s.last, u))),
                s.hours_to_limit.map_or(String::new(), |h| format!(", limit in {}", esc(&hours(h)))),
                if s.restarted { format!("; {}", esc(&restart_text(r, s))) } else { String::new() }
            );
            p.push_str(&chart(r, s));
            for sig in &s.signatures {
                let _ = write!(
                    p,
                    "<p class=\"sig\">Known leak <code>{}</code>: {} (fixed in {}). {}</p>",
                    esc(&sig.id),
                    esc(&sig.title),
                    esc(&sig.fixed_in),
                    esc(&sig.advice)
                );
            }
            if !s.sites.is_empty() {
                p.push_str("<table><thead><tr><th>growth</th><th>category</th><th>allocating function</th></tr></thead><tbody>");
                for site in &s.sites {
                    let _ = write!(
                        p,
                        "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
                        esc(&signed(site.delta, u)),
                        esc(&site.category),
                        esc(&site.function)
                    );
                }
                p.push_str("</tbody></table>");
            }
            p.push_str("</div>");
        }
    }
    let others: Vec<&SeriesReport> = r.series.iter().filter(|s| !s.verdict.leak).collect();
    let shapes: Vec<String> = r.clean.shapes.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let _ = write!(p, "<h2>Clean: {} series</h2><p>{}</p>", r.clean.count, esc(&shapes.join(", ")));
    if !others.is_empty() {
        p.push_str("<table><thead><tr><th>series</th><th>shape</th><th>growth</th><th>restarted</th><th>why</th></tr></thead><tbody>");
        for s in others {
            let _ = write!(
                p,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(&label_text_map(&s.labels)),
                esc(shape_name(s.shape)),
                esc(&signed(s.growth, u)),
                if s.restarted { "yes" } else { "no" },
                esc(&s.verdict.reason)
            );
        }
        p.push_str("</tbody></table>");
    }
    for n in &r.notes {
        let _ = write!(p, "<p class=\"meta\">note: {}</p>", esc(n));
    }
    p.push_str("</body></html>\n");
    out.write_all(p.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fleet::{Clean, FleetVerdict, SeriesVerdict, SiteGrowth, Source};
    use crate::report::trend::Shape;

    fn series(pod: &str, leak: bool, values: Vec<Option<i64>>, restarts: Vec<usize>) -> SeriesReport {
        SeriesReport {
            labels: [("pod".to_string(), pod.to_string())].into_iter().collect(),
            verdict: SeriesVerdict {
                leak,
                category: leak.then(|| "config-reload".to_string()),
                reason: "why <script>".into(),
            },
            restarted: !restarts.is_empty(),
            judged: (restarts.last().copied().unwrap_or(0), values.len().saturating_sub(1)),
            restarts,
            gaps: values.iter().filter(|v| v.is_none()).count(),
            values,
            shape: if leak { Shape::MonotonicGrowth } else { Shape::Flat },
            slope_per_hour: 1e6,
            mann_kendall_p: 0.01,
            growth: 3 << 20,
            first: 1 << 20,
            last: 4 << 20,
            hours_to_limit: leak.then_some(3.5),
            profiles: 3,
            categories: Vec::new(),
            sites: vec![SiteGrowth { function: "a|b<c>".into(), category: "config-reload".into(), delta: 1 << 20 }],
            signatures: Vec::new(),
        }
    }

    fn report(series: Vec<SeriesReport>) -> FleetReport {
        FleetReport {
            schema: crate::report::fleet::SCHEMA,
            source: Source {
                url: "http://p:4040".into(),
                query: "{a=\"<x>\"}".into(),
                profile_type: "memory:inuse_space:bytes:space:bytes".into(),
                sample_type: "inuse_space".into(),
                unit: "bytes".into(),
                by: vec!["pod".into()],
                from_ms: 0,
                to_ms: 3_600_000,
                step_seconds: 900,
                window_ends_ms: vec![900_000, 1_800_000, 2_700_000, 3_600_000],
            },
            verdict: FleetVerdict {
                leak: series.iter().any(|s| s.verdict.leak),
                category: None,
                headline: "h".into(),
                series: series.len(),
                leaking: series.iter().filter(|s| s.verdict.leak).count(),
                restarted: 0,
            },
            clean: Clean { count: series.iter().filter(|s| !s.verdict.leak).count(), shapes: Default::default() },
            series,
            min_growth: 2 << 20,
            limit: None,
            profiles_fetched: 0,
            notes: vec!["a note".into()],
        }
    }

    fn render_all(r: &FleetReport) -> [String; 4] {
        let mut t = Vec::new();
        text(r, Style { color: false }, &mut t).unwrap();
        let mut m = Vec::new();
        markdown(r, &mut m).unwrap();
        let mut h = Vec::new();
        html(r, &mut h).unwrap();
        let mut j = Vec::new();
        json(r, &mut j).unwrap();
        [t, m, h, j].map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn renders_leaks_gaps_restarts_and_nothing() {
        let r = report(vec![
            series("a", true, vec![None, Some(1 << 20), Some(2 << 20), Some(4 << 20)], vec![]),
            series("b", false, vec![Some(5 << 20), Some(1 << 20), None, Some(1 << 20)], vec![1]),
            series("c", false, vec![None, None, None, None], vec![]),
        ]);
        let [t, m, h, j] = render_all(&r);
        assert!(t.contains("1. pod=a") && t.contains("Restarted series") && t.contains("note: a note"), "{t}");
        assert!(m.contains("`a\\|b<c>`"), "markdown cells escape |: {m}");
        assert_eq!(h.matches("<svg").count(), 1, "one chart per leaking series");
        assert!(h.contains("a|b&lt;c&gt;") && !h.contains("<script") && !h.contains("<x>"), "escaped: {h}");
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["schema"], "leakscope.fleet/v1");
        assert_eq!(v["series"][0]["values"][0], serde_json::Value::Null);
        // No series at all still renders.
        let [t, _, h, _] = render_all(&report(Vec::new()));
        assert!(t.contains("Clean: 0 series") && h.ends_with("</html>\n"));
    }
}
