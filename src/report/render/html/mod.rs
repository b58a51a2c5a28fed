//! The HTML leak report: one self-contained file (no network, no external
//! fonts, scripts or styles) that opens offline and attaches to a ticket.
//!
//! Everything is rendered on the server side, so the page reads without
//! JavaScript: the verdict, tables, stacks (`<details>`), charts (inline
//! SVG written here) and the differential flame graph (inline SVG from
//! inferno). A small inline script adds click-to-sort on table headers, a
//! filter box per table, and the flame graph's zoom and search. Every
//! string from a profile or a rules file is escaped as it is written.

use std::fmt::Write as _;
use std::io::{self, Write};

pub mod diff;
pub mod heap;
pub mod trend;

use crate::report::diff::{DiffReport, Site};
use crate::report::flame::{self, Folded};
pub use crate::report::markup::esc;
use crate::report::style::signed;
use crate::report::trend::{shape_name, Series, TrendReport};
use crate::units;

const STYLE: &str = r#"
:root { color-scheme: light; --fg: #1d1f23; --muted: #5f6670; --line: #d9dde3; --bg2: #f5f7fa; --red: #c62828; --blue: #1f5fbf; --green: #2e7d32; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1280px; padding: 16px 24px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: #fff; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 16px 0 6px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
.meta { color: var(--muted); margin: 2px 0; }
.meta td { padding: 1px 12px 1px 0; }
.verdict { border-left: 6px solid var(--green); background: #f1f8f2; padding: 10px 16px; border-radius: 4px; }
.verdict.leak { border-left-color: var(--red); background: #fdf2f2; }
.verdict .headline { font-size: 17px; font-weight: 650; margin: 4px 0 8px; }
.verdict.leak .headline { color: var(--red); }
.verdict:not(.leak) .headline { color: var(--green); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #e8eaee; color: var(--fg); }
.badge.leak { background: var(--red); color: #fff; }
.badge.ok { background: var(--green); color: #fff; }
table { border-collapse: collapse; margin: 6px 0 4px; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg2); font-weight: 600; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { word-break: break-all; }
.pos { color: var(--red); }
.neg { color: var(--blue); }
.suspect { font-weight: 650; }
.tag { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 8px; background: var(--red); color: #fff; margin-left: 6px; }
.share { display: inline-block; height: 8px; background: #e57373; border-radius: 2px; vertical-align: middle; margin-right: 6px; }
details > summary { cursor: pointer; }
details pre { margin: 6px 0 2px; padding: 6px 8px; background: var(--bg2); border-radius: 4px; white-space: pre-wrap; word-break: break-all; }
.attributed { color: var(--red); font-weight: 600; }
.note { color: var(--muted); font-size: 13px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.chart { border: 1px solid var(--line); border-radius: 4px; background: #fff; }
.chart text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #333; }
.chart text.t { font-weight: 600; font-size: 12px; }
.flame { border: 1px solid var(--line); border-radius: 4px; overflow-x: auto; }
.flame svg { display: block; }
#flamegraph #search { opacity: 1; }
input.flame-search { margin: 4px 0; padding: 3px 8px; width: 360px; max-width: 100%; border: 1px solid var(--line); border-radius: 4px; font: inherit; }
.legend span { display: inline-block; width: 12px; height: 12px; vertical-align: middle; margin: 0 4px 0 12px; border: 1px solid #999; }
th.sortable-h { cursor: pointer; user-select: none; }
th.sortable-h::after { content: " \2195"; color: #aab; font-weight: 400; }
th[aria-sort="ascending"]::after { content: " \2191"; color: var(--fg); }
th[aria-sort="descending"]::after { content: " \2193"; color: var(--fg); }
input.filter { margin: 4px 0; padding: 3px 8px; width: 280px; max-width: 100%; border: 1px solid var(--line); border-radius: 4px; font: inherit; }
#js-errors { color: var(--red); }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
@media print { .flame, input.filter, input.flame-search { display: none; } }
"#;

/// Records script errors in the page itself (the browser test reads them
/// from the DOM), before anything else runs.
const ERROR_CAPTURE: &str = r#"
(function () {
  var errs = [];
  var root = document.documentElement;
  root.setAttribute("data-js-errors", "0");
  function show() {
    var el = document.getElementById("js-errors");
    if (el && errs.length) { el.textContent = errs.join("\n"); el.hidden = false; }
  }
  function rec(m) { errs.push(String(m)); root.setAttribute("data-js-errors", String(errs.length)); show(); }
  window.addEventListener("error", function (e) { rec("Uncaught " + (e.message || e)); });
  window.addEventListener("unhandledrejection", function (e) { rec("Unhandled rejection: " + e.reason); });
  var ce = console.error;
  console.error = function () { rec("console.error: " + Array.prototype.join.call(arguments, " ")); return ce.apply(console, arguments); };
  document.addEventListener("DOMContentLoaded", show);
})();
"#;

/// Sorting and filtering of tables, and the flame graph's start-up.
const SCRIPT: &str = r#"
(function () {
  function key(td) {
    if (!td) return "";
    var v = td.getAttribute("data-v");
    if (v !== null && v !== "" && !isNaN(+v)) return +v;
    return td.textContent.trim().toLowerCase();
  }
  function sortBy(table, col, th) {
    var dir = th.getAttribute("aria-sort") === "descending" ? "ascending" : "descending";
    var ths = table.tHead.rows[0].cells;
    for (var i = 0; i < ths.length; i++) ths[i].removeAttribute("aria-sort");
    th.setAttribute("aria-sort", dir);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col]), y = key(b.cells[col]);
      var c = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
      return dir === "ascending" ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    if (!table.tHead || !table.tBodies.length) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.classList.add("sortable-h");
      th.tabIndex = 0;
      th.title = "Sort";
      th.addEventListener("click", function () { sortBy(table, col, th); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, col, th); } });
    });
    if (table.tBodies[0].rows.length < 4) return;
    var box = document.createElement("input");
    box.type = "search";
    box.className = "filter";
    box.placeholder = "Filter rows\u2026";
    box.setAttribute("aria-label", "Filter rows of this table");
    box.addEventListener("input", function () {
      var q = box.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
    table.parentNode.insertBefore(box, table);
  });
  if (document.getElementById("flamegraph") && typeof init === "function") {
    init(null);
    // Lay the labels out again in this page's font, as the standalone SVG
    // does when it loads: what does not fit is cut from the left, so the
    // function's name stays (leakscope already wrote them so, by estimate).
    if (typeof update_text_for_elements === "function") update_text_for_elements(document.getElementById("frames").children);
    // A search box in the page, above the graph: inferno's own Search
    // button sits at the graph's right edge, often out of view, and asks
    // for a regular expression in a prompt. This one highlights the frames
    // whose name contains what is typed, as it is typed.
    var graph = document.getElementById("flamegraph").parentNode;
    var find = document.createElement("input");
    find.type = "search";
    find.className = "flame-search";
    find.id = "flame-search";
    find.placeholder = "Search the flame graph\u2026";
    find.setAttribute("aria-label", "Highlight the frames whose name contains this text");
    find.addEventListener("input", function () {
      var q = find.value;
      if (searching) search_prompt();
      if (q !== "") search(q.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    });
    graph.parentNode.insertBefore(find, graph);
  }
  document.documentElement.setAttribute("data-js", "ready");
})();
"#;

pub(crate) fn delta_td(v: i64, unit: &str) -> String {
    let class = if v > 0 {
        "num pos"
    } else if v < 0 {
        "num neg"
    } else {
        "num"
    };
    format!(r#"<td class="{class}" data-v="{v}">{}</td>"#, esc(&signed(v, unit)))
}

pub(crate) fn val_td(v: i64, unit: &str) -> String {
    format!(r#"<td class="num" data-v="{v}">{}</td>"#, esc(&units::human(v, unit)))
}

fn when(ns: i64) -> String {
    if ns > 0 {
        units::utc(ns)
    } else {
        "time unknown".to_string()
    }
}

pub(crate) fn head(out: &mut dyn Write, title: &str) -> io::Result<()> {
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(out, r#"<html lang="en">"#)?;
    writeln!(out, "<head>")?;
    writeln!(out, r#"<meta charset="utf-8">"#)?;
    writeln!(out, r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#)?;
    writeln!(out, r#"<meta name="generator" content="leakscope {}">"#, env!("CARGO_PKG_VERSION"))?;
    writeln!(out, "<title>{}</title>", esc(title))?;
    writeln!(out, "<script>{ERROR_CAPTURE}</script>")?;
    writeln!(out, "<style>{STYLE}</style>")?;
    writeln!(out, "</head>")?;
    writeln!(out, "<body>")?;
    writeln!(out, r#"<pre id="js-errors" hidden></pre>"#)
}

pub(crate) fn foot(out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "<footer>Generated by leakscope {}. This page is self-contained: it loads nothing from the network. \
         Tables sort when a header is clicked; the flame graph zooms on click, and the box above it highlights frames by name.</footer>",
        env!("CARGO_PKG_VERSION")
    )?;
    writeln!(out, "<script>{SCRIPT}</script>")?;
    writeln!(out, "</body>")?;
    writeln!(out, "</html>")
}

/// What a verdict says: a leak, no leak, or nothing (two processes).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Judged {
    Leak,
    NoLeak,
    CannotJudge,
}

fn verdict(
    out: &mut dyn Write,
    judged: Judged,
    confidence: &str,
    headline: &str,
    reasons: &[String],
    next_steps: &[String],
) -> io::Result<()> {
    let (class, badge, text) = match judged {
        Judged::Leak => (" leak", "leak", "leak suspected"),
        Judged::NoLeak => ("", "ok", "no leak"),
        Judged::CannotJudge => (" leak", "leak", "cannot judge: process restarted"),
    };
    writeln!(out, r#"<section id="verdict" class="verdict{class}">"#)?;
    writeln!(
        out,
        r#"<span class="badge {badge}">{text}</span> <span class="badge">{} confidence</span>"#,
        esc(confidence)
    )?;
    writeln!(out, r#"<p class="headline">{}</p>"#, esc(headline))?;
    if !reasons.is_empty() {
        writeln!(out, "<ul>")?;
        for r in reasons {
            writeln!(out, "<li>{}</li>", esc(r))?;
        }
        writeln!(out, "</ul>")?;
    }
    if !next_steps.is_empty() {
        writeln!(out, "<h3>Next steps</h3>\n<ol>")?;
        for s in next_steps {
            writeln!(out, "<li>{}</li>", esc(s))?;
        }
        writeln!(out, "</ol>")?;
    }
    writeln!(out, "</section>")
}

/// A horizontal bar chart of each category's change, centred on zero.
pub(crate) fn delta_bars(out: &mut dyn Write, rows: &[(String, i64)], unit: &str, title: &str) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let (w, label_w, value_w, row_h, top) = (760.0f64, 150.0f64, 90.0f64, 22.0f64, 28.0f64);
    let h = top + row_h * rows.len() as f64 + 10.0;
    let max = rows.iter().map(|r| r.1.unsigned_abs()).max().unwrap_or(1).max(1) as f64;
    let has_neg = rows.iter().any(|r| r.1 < 0);
    let plot_l = label_w;
    let plot_w = w - label_w - value_w;
    let zero = if has_neg { plot_l + plot_w / 2.0 } else { plot_l };
    let scale = if has_neg { plot_w / 2.0 } else { plot_w } / max;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}">"#,
        esc(title)
    );
    let _ = write!(s, r#"<text class="t" x="8" y="18">{}</text>"#, esc(title));
    let _ = write!(s, r##"<line x1="{zero}" y1="{top}" x2="{zero}" y2="{}" stroke="#888"/>"##, h - 6.0);
    for (i, (name, v)) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let len = (v.unsigned_abs() as f64 * scale).max(if *v != 0 { 1.0 } else { 0.0 });
        let x = if *v < 0 { zero - len } else { zero };
        let fill = if *v > 0 { "#e53935" } else { "#1e88e5" };
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            plot_l - 6.0,
            y + 15.0,
            esc(&truncate(name, 24))
        );
        let _ = write!(
            s,
            r#"<rect x="{x:.1}" y="{:.1}" width="{len:.1}" height="{:.1}" fill="{fill}"><title>{}: {}</title></rect>"#,
            y + 4.0,
            row_h - 8.0,
            esc(name),
            esc(&signed(*v, unit))
        );
        let _ = write!(s, r#"<text x="{}" y="{}">{}</text>"#, w - value_w + 6.0, y + 15.0, esc(&signed(*v, unit)));
    }
    s.push_str("</svg>");
    writeln!(out, "{s}")
}

pub(crate) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n.saturating_sub(1)).collect();
        t + "\u{2026}"
    }
}

/// A line chart of one series over snapshots, with axis labels.
fn line_chart(
    out: &mut String,
    title: &str,
    values: &[i64],
    x_labels: (&str, &str),
    unit: &str,
    colour: &str,
) -> std::fmt::Result {
    let (w, h) = (300.0f64, 150.0f64);
    let (l, r, t, b) = (62.0f64, 10.0f64, 26.0f64, 24.0f64);
    let lo = values.iter().copied().min().unwrap_or(0).min(0);
    let hi = values.iter().copied().max().unwrap_or(0).max(lo + 1);
    let pw = w - l - r;
    let ph = h - t - b;
    let n = values.len().max(2) - 1;
    let px = |i: usize| l + pw * i as f64 / n as f64;
    let py = |v: i64| t + ph * (1.0 - (v - lo) as f64 / (hi - lo) as f64);
    write!(
        out,
        r#"<svg class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}">"#,
        esc(title)
    )?;
    write!(out, r#"<text class="t" x="8" y="16">{}</text>"#, esc(&truncate(title, 44)))?;
    write!(out, r##"<line x1="{l}" y1="{t}" x2="{l}" y2="{}" stroke="#999"/>"##, t + ph)?;
    write!(out, r##"<line x1="{l}" y1="{}" x2="{}" y2="{}" stroke="#999"/>"##, t + ph, l + pw, t + ph)?;
    if lo < 0 {
        let z = py(0);
        write!(
            out,
            r##"<line x1="{l}" y1="{z:.1}" x2="{}" y2="{z:.1}" stroke="#ccc" stroke-dasharray="3,3"/>"##,
            l + pw
        )?;
    }
    write!(out, r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#, l - 4.0, t + 4.0, esc(&units::human(hi, unit)))?;
    write!(out, r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#, l - 4.0, t + ph, esc(&units::human(lo, unit)))?;
    write!(out, r#"<text x="{l}" y="{}">{}</text>"#, h - 6.0, esc(x_labels.0))?;
    write!(out, r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#, l + pw, h - 6.0, esc(x_labels.1))?;
    let pts: Vec<String> = values.iter().enumerate().map(|(i, &v)| format!("{:.1},{:.1}", px(i), py(v))).collect();
    write!(out, r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#, pts.join(" "))?;
    for (i, &v) in values.iter().enumerate() {
        write!(
            out,
            r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{colour}"><title>snapshot {}: {}</title></circle>"#,
            px(i),
            py(v),
            i + 1,
            esc(&units::human(v, unit))
        )?;
    }
    out.push_str("</svg>");
    Ok(())
}

fn site_stack(s: &Site) -> String {
    let mut p = String::new();
    for (f, mark) in s.marked_stack() {
        match mark {
            None => {
                let _ = writeln!(p, "{}", esc(f));
            }
            Some(mark) => {
                let _ = writeln!(p, r#"<span class="attributed">{}</span>   &lt;- {mark}"#, esc(f));
            }
        }
    }
    if s.stack_elided > 0 {
        let _ = writeln!(p, "... {} more frames toward the root", s.stack_elided);
    }
    p
}

fn sites_table(out: &mut dyn Write, id: &str, sites: &[Site], unit: &str) -> io::Result<()> {
    let objs = sites.iter().any(|s| s.objects_delta.is_some());
    writeln!(out, r#"<table class="sortable" id="{id}">"#)?;
    write!(
        out,
        r#"<thead><tr><th class="num">#</th><th>allocating function (click for the stack)</th><th class="num">delta</th>"#
    )?;
    if objs {
        write!(out, r#"<th class="num">objects Δ</th>"#)?;
    }
    writeln!(out, r#"<th class="num">base</th><th class="num">new</th><th>category</th><th>why</th></tr></thead>"#)?;
    writeln!(out, "<tbody>")?;
    for (i, s) in sites.iter().enumerate() {
        write!(out, r#"<tr><td class="num" data-v="{}">{}</td>"#, i + 1, i + 1)?;
        if s.stack.is_empty() {
            write!(out, r#"<td class="name"><code>{}</code></td>"#, esc(&s.function))?;
        } else {
            write!(
                out,
                r#"<td class="name"><details><summary><code>{}</code></summary><pre>{}</pre></details></td>"#,
                esc(&s.function),
                site_stack(s)
            )?;
        }
        write!(out, "{}", delta_td(s.delta, unit))?;
        if objs {
            match s.objects_delta {
                Some(o) => write!(out, "{}", delta_td(o, "count"))?,
                None => write!(out, "<td></td>")?,
            }
        }
        write!(out, "{}{}", val_td(s.base, unit), val_td(s.new, unit))?;
        if s.frame == s.function {
            write!(out, "<td>{}</td>", esc(&s.category))?;
        } else {
            write!(out, r#"<td>{}<br><small>via <code>{}</code></small></td>"#, esc(&s.category), esc(&s.frame))?;
        }
        writeln!(
            out,
            r#"<td class="name" title="{}"><code>{}</code></td></tr>"#,
            esc(&s.rule),
            esc(&crate::report::diff::short_rule(&s.rule))
        )?;
    }
    writeln!(out, "</tbody></table>")
}

pub(crate) fn flame_section(out: &mut dyn Write, folded: &[Folded], unit: &str, what: &str) -> io::Result<()> {
    writeln!(out, r#"<section id="flame"><h2>Differential flame graph of the growth</h2>"#)?;
    writeln!(
        out,
        r#"<p class="note legend">{}. Width = how much memory changed through the frame (|NEW − BASE| of its stacks); colour = direction of the net change:<span style="background:rgb(255,40,40)"></span>grew <span style="background:rgb(40,40,255)"></span>shrank <span style="background:rgb(224,224,224)"></span>no net change; intensity = relative change (pale: a few percent; full: appeared from nothing or vanished). Hover for numbers, click to zoom, type in the search box to highlight frames by name.</p>"#,
        esc(what)
    )?;
    let st = flame::Style {
        title: "Differential flame graph".to_string(),
        subtitle: Some(format!("{what}: width = |change|, red = growth, blue = shrinkage")),
        unit: unit.to_string(),
        width: Some(1200),
    };
    let mut svg = Vec::new();
    flame::write_diff_svg(folded, &st, &mut svg)?;
    let svg = String::from_utf8_lossy(&svg);
    writeln!(out, r#"<div class="flame">{}</div>"#, flame::inline_svg(&svg))?;
    writeln!(out, "</section>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(esc(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn rules_have_a_short_form() {
        use crate::report::diff::short_rule;
        let mux = r"rule ^github\.com/gorilla/mux\.(NewRouter|newRouteRegexp|\(\*Router\)\.(NewRoute|Use))";
        assert_eq!(short_rule(mux), "rule github.com/gorilla/mux.…");
        assert_eq!(short_rule(r"rule ^main\.switchRouter\.func1$"), "rule main.switchRouter.func1");
        assert_eq!(short_rule(r"rule ^net/http\.\(\*persistConn\)\.\w+"), "rule net/http.(*persistConn).…");
        assert_eq!(short_rule(r"rule ^runtime\.malgs?$"), "rule runtime.malg…");
        assert_eq!(short_rule(r"rule (a|b)"), "rule (a|b)");
        assert_eq!(
            short_rule("signature traefik-11423-logrus-writer-per-proxy"),
            "signature traefik-11423-logrus-writer-per-proxy"
        );
        assert_eq!(short_rule("no rule matched"), "no rule matched");
    }

    #[test]
    fn chart_is_svg() {
        let mut s = String::new();
        line_chart(&mut s, "a<b", &[1, 5, 3], ("0 h", "1 h"), "bytes", "#000").unwrap();
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert!(s.contains("a&lt;b") && s.contains("<polyline"));
    }
}
