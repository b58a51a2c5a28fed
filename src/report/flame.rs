//! Flame graphs (SVG, drawn by `inferno`): of one profile, and
//! differential ones of the change between two.
//!
//! Stacks arrive folded (root to leaf, frames named as the diff names them:
//! function-granularity printable names, inlined frames expanded) from the
//! analysis layer: [`crate::diff::fold`] and [`crate::graph::fold`]. This
//! module only draws them.
//!
//! **Differential graphs.** Growth is red, shrinkage blue, and grey means
//! no net change. Width is the *magnitude of the change*: each stack is
//! fed to inferno with the value `|NEW − BASE|`, so a frame is as wide as
//! the total change of the stacks through it (growth and shrinkage both
//! count, so churn that cancels out shows as a grey frame, not as nothing).
//! Colour intensity is the *relative change* of the frame, from its summed
//! BASE and NEW values (stacks that did not change included):
//! `|NEW − BASE| / max(BASE, NEW)`, which is 0 for no change, 0.5 for a
//! doubling or a halving, 0.9 for ×10 or ÷10 and 1 for memory that appeared
//! from nothing or vanished entirely. inferno's own differential mode sizes
//! frames by the NEW count and colours only leaf frames by their absolute
//! delta, so the colours are applied here after inferno lays out the graph:
//! its layout is replayed on the same sorted lines to know each frame's
//! BASE and NEW, and every frame's title says them (`name (net +1.50 MiB:
//! 3.00 MiB → 4.50 MiB, +50%)`). Colours are a pure function of the
//! numbers, so output is deterministic.

use std::io::{self, Write};

use inferno::flamegraph::{self, color::BackgroundColor, color::BasicPalette, Options, Palette};

use crate::units;

/// One folded stack with its value on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    /// Frame names from the root to the leaf, joined by `;`.
    pub stack: String,
    /// Value in BASE (0 for a single profile).
    pub base: i64,
    /// Value in NEW (the profile's value for a single profile).
    pub new: i64,
}

/// A frame name made safe for the folded format: no `;`, no control
/// characters, no surrounding blanks, and never a trailing number after a
/// space (inferno would read it as a sample count).
pub fn clean_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c == ';' {
                ':'
            } else if c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect();
    let s = s.trim();
    if s.is_empty() {
        return "<unknown>".to_string();
    }
    match s.rfind(' ') {
        Some(i) if s[i + 1..].chars().all(|c| c.is_ascii_digit() || c == '.') => s.replace(' ', "\u{a0}"),
        _ => s.to_string(),
    }
}

/// Titles and units of a graph.
#[derive(Debug, Clone)]
pub struct Style {
    /// Title at the top.
    pub title: String,
    /// Line under the title.
    pub subtitle: Option<String>,
    /// Unit of the values (`bytes`, `count`, ...).
    pub unit: String,
    /// A fixed width in pixels; `None` makes the graph as wide as the
    /// window it is opened in.
    pub width: Option<usize>,
}

fn options(st: &Style) -> Options<'static> {
    let mut o = Options::default();
    o.title = st.title.clone();
    o.subtitle = st.subtitle.clone();
    o.count_name = if st.unit.is_empty() { "count".to_string() } else { st.unit.clone() };
    o.name_type = "Function:".to_string();
    o.deterministic = true;
    o.no_sort = true;
    o.min_width = 0.05;
    o.image_width = st.width;
    o
}

/// Writes the flame graph of one profile (width = value; colours by name,
/// deterministic). Negative values count as zero.
pub fn write_profile_svg(stacks: &[Folded], st: &Style, out: &mut dyn Write) -> io::Result<()> {
    let mut lines: Vec<String> =
        stacks.iter().filter(|f| f.new > 0).map(|f| format!("{} {}", f.stack, f.new)).collect();
    if lines.is_empty() {
        return empty_svg(st, "no samples with a positive value", out);
    }
    lines.sort_unstable();
    let mut o = options(st);
    o.colors = Palette::Basic(BasicPalette::Mem);
    flamegraph::from_lines(&mut o, lines.iter().map(String::as_str), out)
}

/// One frame of the replayed layout.
#[derive(Debug, Clone, Copy)]
struct Laid {
    start: u64,
    end: u64,
    base: i64,
    new: i64,
}

/// Replays inferno's frame merging (`flamegraph::merge::frames`) on sorted
/// lines: frames in the order inferno emits them, with the BASE and NEW
/// sums of the lines under each.
fn layout(lines: &[(&str, u64, i64, i64)]) -> Vec<(Laid, String)> {
    let mut open: Vec<(&str, u64, i64, i64)> = Vec::new();
    let mut out = Vec::new();
    let mut time = 0u64;
    let close = |open: &mut Vec<(&str, u64, i64, i64)>, keep: usize, time: u64, out: &mut Vec<(Laid, String)>| {
        for f in open.split_off(keep) {
            out.push((Laid { start: f.1, end: time, base: f.2, new: f.3 }, f.0.to_string()));
        }
    };
    for &(stack, v, b, n) in lines {
        let path: Vec<&str> = std::iter::once("").chain(stack.split(';')).collect();
        let shared = open.iter().zip(&path).take_while(|(o, p)| o.0 == **p).count();
        close(&mut open, shared, time, &mut out);
        for p in &path[shared..] {
            open.push((p, time, 0, 0));
        }
        for f in &mut open {
            f.2 += b;
            f.3 += n;
        }
        time += v;
    }
    close(&mut open, 0, time, &mut out);
    out
}

/// Fill colour of a frame that went from `base` to `new`: red for growth,
/// blue for shrinkage, intensity = `|new − base| / max(|base|, |new|)`.
pub fn diff_colour(base: i64, new: i64) -> (u8, u8, u8) {
    let d = new.saturating_sub(base);
    if d == 0 {
        return (224, 224, 224);
    }
    let m = base.unsigned_abs().max(new.unsigned_abs()).max(1) as f64;
    let r = (d.unsigned_abs() as f64 / m).clamp(0.0, 1.0);
    let c = (225.0 - 185.0 * r).round() as u8;
    if d > 0 {
        (255, c, c)
    } else {
        (c, c, 255)
    }
}

fn signed(v: i64, unit: &str) -> String {
    let h = units::human(v, unit);
    if v > 0 {
        format!("+{h}")
    } else {
        h
    }
}

/// The title of a differential frame. No `(` inside the trailing
/// parenthesis: inferno's script strips `\([^(]*\)$` to get the name.
fn diff_title(name: &str, f: &Laid, unit: &str) -> String {
    let d = f.new - f.base;
    let rel = if f.base != 0 {
        format!("{:+.0}%", d as f64 * 100.0 / f.base.unsigned_abs() as f64)
    } else if d != 0 {
        "new".to_string()
    } else {
        "0%".to_string()
    };
    let name = if name.is_empty() { "all" } else { name };
    let width = units::human((f.end - f.start).min(i64::MAX as u64) as i64, unit);
    let inner = format!(
        "net {}: {} → {}, {rel}; width {width} changed",
        signed(d, unit),
        units::human(f.base, unit),
        units::human(f.new, unit)
    );
    format!("{name} ({})", inner.replace(['(', ')'], ""))
}

/// Writes the differential flame graph of BASE → NEW (see the module
/// documentation for what width and colour mean).
pub fn write_diff_svg(stacks: &[Folded], st: &Style, out: &mut dyn Write) -> io::Result<()> {
    let mut rows: Vec<(String, u64, i64, i64)> = stacks
        .iter()
        .filter(|f| f.base != 0 || f.new != 0)
        .map(|f| {
            let v = f.new.saturating_sub(f.base).unsigned_abs();
            (format!("{} {v}", f.stack), v, f.base, f.new)
        })
        .collect();
    if rows.iter().all(|r| r.1 == 0) {
        return empty_svg(st, "no change between the two profiles", out);
    }
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let laid_in: Vec<(&str, u64, i64, i64)> =
        rows.iter().map(|r| (&r.0[..r.0.len() - r.1.to_string().len() - 1], r.1, r.2, r.3)).collect();
    let laid = layout(&laid_in);

    let mut o = options(st);
    o.bgcolors = Some(BackgroundColor::Flat(flamegraph::color::Color { r: 255, g: 255, b: 255 }));
    let mut svg = Vec::new();
    flamegraph::from_lines(&mut o, rows.iter().map(|r| r.0.as_str()), &mut svg)?;
    let svg = String::from_utf8(svg).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;

    // Recolour, retitle and relabel every frame: inferno emits frames in
    // layout order, skipping those narrower than min_width.
    let re = regex::Regex::new(
        r#"<title>[^<]*</title><rect ([^>]*?)fill="rgb\(\d+,\d+,\d+\)" fg:x="(\d+)" fg:w="(\d+)"/>(<text [^>]*>)([^<]*)</text>"#,
    )
    .expect("valid regex");
    let mut j = 0usize;
    let mut missed = 0usize;
    let recoloured = re.replace_all(&svg, |c: &regex::Captures<'_>| {
        let x: u64 = c[2].parse().unwrap_or(u64::MAX);
        let w: u64 = c[3].parse().unwrap_or(u64::MAX);
        while j < laid.len() && (laid[j].0.start != x || laid[j].0.end - laid[j].0.start != w) {
            j += 1;
        }
        let Some((f, name)) = laid.get(j) else {
            missed += 1;
            return c[0].to_string();
        };
        j += 1;
        let (r, g, b) = diff_colour(f.base, f.new);
        format!(
            r#"<title>{}</title><rect {}fill="rgb({r},{g},{b})" fg:x="{x}" fg:w="{w}"/>{}{}</text>"#,
            super::markup::esc(&diff_title(name, f, &st.unit)),
            &c[1],
            &c[4],
            super::markup::esc(&left_trimmed(name, &c[5]))
        )
    });
    if missed > 0 {
        return Err(io::Error::other(format!("flame graph: {missed} frames not matched to the layout")));
    }
    out.write_all(recoloured.as_bytes())
}

/// The label of frame `name`, where inferno wrote `label` (escaped):
/// inferno cuts a name that does not fit at its end (`github.com/trae..`),
/// losing the function; this keeps as many characters from the end
/// instead (`..(*Manager).BuildHandlers`), as its own script does when it
/// lays the labels out again in a browser (the standalone SVG, and after a
/// zoom).
fn left_trimmed(name: &str, label: &str) -> String {
    let whole = unescaped(label);
    let Some(cut) = label.strip_suffix("..").filter(|_| whole != name) else {
        return whole;
    };
    // Characters inferno kept, an entity (`&lt;`) counting as one.
    let kept = unescaped(cut).chars().count();
    let n = name.chars().count();
    if kept == 0 || n <= kept {
        return whole;
    }
    let tail: String = name.chars().skip(n - kept).collect();
    format!("..{tail}")
}

/// Undoes the XML escaping of the five characters inferno escapes.
fn unescaped(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// A small SVG that says there is nothing to draw.
fn empty_svg(st: &Style, why: &str, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, r#"<?xml version="1.0" standalone="no"?>"#)?;
    writeln!(
        out,
        r#"<svg version="1.1" width="1200" height="60" viewBox="0 0 1200 60" xmlns="http://www.w3.org/2000/svg">"#
    )?;
    writeln!(
        out,
        r#"<text x="600" y="24" text-anchor="middle" font-family="monospace" font-size="17">{}</text>"#,
        super::markup::esc(&st.title)
    )?;
    writeln!(
        out,
        r#"<text x="600" y="48" text-anchor="middle" font-family="monospace" font-size="12">{}</text>"#,
        super::markup::esc(why)
    )?;
    writeln!(out, "</svg>")
}

/// Makes an inferno SVG fit inline in an HTML page: drops the XML prolog,
/// names the root `<svg id="flamegraph">` and points inferno's script at it
/// (it would take the page's first `<svg>`), leaves initialisation to the
/// page (`init()`), and stops the graph from taking Ctrl-F from the
/// browser's own find. Its Search button still works.
pub fn inline_svg(svg: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    let body = &svg[start..];
    let body = body.replacen("<svg", r#"<svg id="flamegraph" role="img" aria-label="flame graph""#, 1);
    body.replacen(r#" onload="init(evt)""#, "", 1)
        .replacen(
            r#"svg = document.getElementsByTagName("svg")[0];"#,
            r#"svg = document.getElementById("flamegraph");"#,
            1,
        )
        .replacen("if (e.keyCode === 114 || (e.ctrlKey && e.keyCode === 70)) {", "if (false) {", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_keep_the_end_of_the_name() {
        let name = "github.com/traefik/traefik/v2/pkg/server/router.(*Manager).BuildHandlers";
        assert_eq!(left_trimmed(name, "github.com/t.."), "..uildHandlers", "as many characters as inferno kept");
        assert_eq!(left_trimmed(name, ""), "");
        assert_eq!(left_trimmed("main.main", "main.main"), "main.main");
        assert_eq!(left_trimmed("a<b>.f", "a&lt;b.."), "..>.f");
        assert_eq!(left_trimmed("x&y", "x&amp;y"), "x&y");
        assert_eq!(left_trimmed("odd..", "odd.."), "odd..", "a whole name that ends in dots");
    }

    #[test]
    fn names_are_made_safe() {
        assert_eq!(clean_name("a;b"), "a:b");
        assert_eq!(clean_name("  "), "<unknown>");
        assert_eq!(clean_name("f 12"), "f\u{a0}12");
        assert_eq!(clean_name("struct { F int }"), "struct { F int }");
    }

    #[test]
    fn colours() {
        assert_eq!(diff_colour(5, 5), (224, 224, 224));
        let (r, g, b) = diff_colour(0, 10);
        assert!(r == 255 && g < 50 && g == b);
        let (r, g, b) = diff_colour(10, 0);
        assert!(b == 255 && r < 50 && r == g);
        // a doubling is paler than appearing from nothing
        assert!(diff_colour(10, 20).1 > diff_colour(0, 20).1);
    }

    #[test]
    fn differential_svg_is_recoloured() {
        let stacks = vec![
            Folded { stack: "main;grow".into(), base: 10, new: 110 },
            Folded { stack: "main;shrink".into(), base: 50, new: 10 },
            Folded { stack: "main;same".into(), base: 7, new: 7 },
        ];
        let st = Style { title: "t".into(), subtitle: None, unit: "bytes".into(), width: None };
        let mut out = Vec::new();
        write_diff_svg(&stacks, &st, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("grow (net +100 B: 10 B → 110 B, +1000%; width 100 B changed)"), "{s}");
        assert!(s.contains("shrink (net -40 B: 50 B → 10 B, -80%; width 40 B changed)"));
        let (r, g, b) = diff_colour(10, 110);
        assert!(s.contains(&format!("rgb({r},{g},{b})")));
        let (r, g, b) = diff_colour(50, 10);
        assert!(s.contains(&format!("rgb({r},{g},{b})")));
        // main: 67 -> 127
        assert!(s.contains("main (net +60 B: 67 B → 127 B, +90%; width 140 B changed)"));
        let inline = inline_svg(&s);
        assert!(inline.starts_with(r#"<svg id="flamegraph""#));
        assert!(!inline.contains("onload"));
    }
}
