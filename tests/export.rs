//! Interop outputs: `diff --output-pprof` (round trip through
//! `go tool pprof`), `flamegraph` SVGs and `diff --format dot`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Ground-truth pairs, our generator's pair, and the corpus parca pair.
fn pairs() -> Vec<(PathBuf, PathBuf)> {
    let mut v = Vec::new();
    for sc in ["http-request", "config-reload", "metrics", "all-three", "fixed"] {
        let d = root().join("testdata/leaks").join(sc);
        v.push((d.join("00-heap.pb.gz"), d.join("05-heap.pb.gz")));
    }
    v.push((root().join("testdata/profiles/gen-heap.pb.gz"), root().join("testdata/profiles/gen-heap-later.pb.gz")));
    if let Some(c) = corpus() {
        v.push((c.join("parca__heap-1644509272.pb.gz"), c.join("parca__heap-1644509299.pb.gz")));
    }
    v
}

fn diff_json(base: &Path, new: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["diff", "--format", "json", "--nodecount", "0"];
    args.extend_from_slice(extra);
    args.push(s(base));
    args.push(s(new));
    leakscope_json(&args)
}

/// Writes `--output-pprof` for a pair and checks `go tool pprof -raw` of it
/// against our JSON for every sample type.
fn round_trip(go: &Path, b: &Path, n: &Path, normalize: bool, failures: &mut Vec<String>) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("diff.pb.gz");
    let mut extra = vec!["--output-pprof", s(&out)];
    if normalize {
        extra.push("--normalize");
    }
    diff_json(b, n, &extra);
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "--output-pprof writes gzip");

    // pprof opens it as a profile, as with -diff_base.
    let o = Command::new(go).args(["tool", "pprof", "-top", "-symbolize=none"]).arg(&out).output().unwrap();
    assert!(o.status.success(), "go tool pprof -top {}: {}", out.display(), String::from_utf8_lossy(&o.stderr));

    let raw = pprof_raw(go, &out, None);
    // Both profiles' samples are there, BASE's labelled as -diff_base labels them.
    let text = String::from_utf8_lossy(
        &Command::new(go).args(["tool", "pprof", "-raw", "-symbolize=none"]).arg(&out).output().unwrap().stdout,
    )
    .to_string();
    assert!(text.contains("pprof::base:[true]"), "BASE samples carry pprof::base=true");

    let mut checked = 0;
    for (t, (ty, _)) in raw.sample_types.iter().enumerate() {
        let (_, want) = expected_top(&raw, t, "functions");
        let mut extra = vec!["--sample-type", ty.as_str()];
        if normalize {
            extra.push("--normalize");
        }
        let doc = diff_json(b, n, &extra);
        let got = delta_rows(&doc);
        checked += 1;
        if got != want {
            let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).take(4).collect();
            let extra: Vec<_> = got.iter().filter(|w| !want.contains(w)).take(4).collect();
            failures.push(format!(
                "{} -> {} {ty} (normalize={normalize}): pprof-only {missing:?}; ours-only {extra:?}",
                b.display(),
                n.display()
            ));
        }
        let net: i64 = raw.samples.iter().map(|(v, _)| v[t]).sum();
        if doc["total_delta"].as_i64() != Some(net) {
            failures.push(format!("{} {ty}: total_delta {} != net of our file {net}", n.display(), doc["total_delta"]));
        }
    }
    checked
}

#[test]
fn output_pprof_round_trips_through_go_tool_pprof() {
    let Some(go) = go() else { return };
    let mut failures = Vec::new();
    let mut checked = 0;
    for (b, n) in pairs() {
        checked += round_trip(&go, &b, &n, false, &mut failures);
    }
    let d = root().join("testdata/leaks/all-three");
    checked += round_trip(&go, &d.join("00-heap.pb.gz"), &d.join("05-heap.pb.gz"), true, &mut failures);
    assert!(failures.is_empty(), "{} of {checked} differ:\n{}", failures.len(), failures.join("\n"));
    visible(&format!("--output-pprof: {checked} sample types equal to our JSON through go tool pprof -raw"));
}

#[test]
fn output_pprof_matches_pprof_diff_base() {
    // `go tool pprof -top` on our file prints what `-diff_base` prints.
    let Some(go) = go() else { return };
    let d = root().join("testdata/leaks/config-reload");
    let (b, n) = (d.join("00-heap.pb.gz"), d.join("05-heap.pb.gz"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("diff.pb.gz");
    diff_json(&b, &n, &["--output-pprof", s(&out)]);
    let top = |args: &[&str]| {
        let o = Command::new(&go).args(["tool", "pprof", "-top", "-nodecount=1000"]).args(args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // From the "Showing nodes" line on: the header names files and comments.
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        text[text.find("Showing nodes").expect("pprof -top header")..].to_string()
    };
    assert_eq!(top(&[s(&out)]), top(&["-diff_base", s(&b), s(&n)]));
}

#[test]
fn output_pprof_usage_errors() {
    let d = root().join("testdata/leaks/metrics");
    let (b, n) = (d.join("00-heap.pb.gz"), d.join("05-heap.pb.gz"));
    let o = leakscope(&["diff", "--output-pprof", "-", s(&b), s(&n)]);
    assert_eq!(o.status.code(), Some(2));
    let o = leakscope(&["diff", "--output-pprof", "/nonexistent-dir/x.pb.gz", s(&b), s(&n)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent-dir/x.pb.gz"));
}

fn fills(svg: &str) -> Vec<(u8, u8, u8)> {
    let re = regex::Regex::new(r#"fill="rgb\((\d+),(\d+),(\d+)\)""#).unwrap();
    re.captures_iter(svg).map(|c| (c[1].parse().unwrap(), c[2].parse().unwrap(), c[3].parse().unwrap())).collect()
}

fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[test]
fn flamegraph_of_one_profile() {
    let f = root().join("testdata/leaks/config-reload/05-heap.pb.gz");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("one.svg");
    let o = leakscope(&["flamegraph", s(&f), "-o", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    assert!(svg.trim_end().ends_with("</svg>"));
    // The heaviest functions of the profile are frames of the graph.
    let top = leakscope_json(&["top", "--format", "json", "--nodecount", "5", s(&f)]);
    for r in top["functions"].as_array().unwrap() {
        let name = r["name"].as_str().unwrap();
        assert!(svg.contains(&format!("<title>{}", xml_text(name))), "frame {name} missing");
    }
    // Deterministic: the same input gives the same bytes.
    let again = leakscope(&["flamegraph", s(&f), "-o", "-"]);
    assert_eq!(String::from_utf8_lossy(&again.stdout), svg);
}

#[test]
fn differential_flamegraph_is_red_for_growth_blue_for_shrinkage() {
    // The metrics scenario grows in some places and shrinks in others.
    let d = root().join("testdata/leaks/metrics");
    let (b, n) = (d.join("00-heap.pb.gz"), d.join("05-heap.pb.gz"));
    let doc = diff_json(&b, &n, &[]);
    assert!(!doc["sites"].as_array().unwrap().is_empty() && !doc["shrank"].as_array().unwrap().is_empty());
    let o = leakscope(&["flamegraph", "--base", s(&b), s(&n), "-o", "-"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = String::from_utf8(o.stdout).unwrap();
    assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"));
    let f = fills(&svg);
    assert!(f.iter().any(|&(r, g, b)| r == 255 && g < 230 && g == b), "no red-ish frame");
    assert!(f.iter().any(|&(r, g, b)| b == 255 && r < 230 && r == g), "no blue-ish frame");
    // The site that grew most is a red frame; the one that shrank most, blue.
    let colour_of = |name: &str| -> (u8, u8, u8) {
        let re = regex::Regex::new(&format!(
            r#"<title>{} \([^<]*</title><rect [^>]*fill="rgb\((\d+),(\d+),(\d+)\)""#,
            regex::escape(&xml_text(name))
        ))
        .unwrap();
        let c = re.captures(&svg).unwrap_or_else(|| panic!("no frame {name}"));
        (c[1].parse().unwrap(), c[2].parse().unwrap(), c[3].parse().unwrap())
    };
    let grew = doc["sites"][0]["frame"].as_str().unwrap();
    let shrank = doc["shrank"][0]["frame"].as_str().unwrap();
    let (r, g, _) = colour_of(grew);
    assert!(r == 255 && g < 255, "{grew} is not red");
    let (r, _, b) = colour_of(shrank);
    assert!(b == 255 && r < 255, "{shrank} is not blue");
    // The whole graph is as wide as the total magnitude of change.
    let total: i64 = regex::Regex::new(r#"total_samples="(\d+)""#).unwrap().captures(&svg).unwrap()[1].parse().unwrap();
    assert!(total >= doc["total_delta"].as_i64().unwrap().abs());
}

#[test]
fn flamegraph_usage_errors() {
    let f = root().join("testdata/leaks/metrics/05-heap.pb.gz");
    assert_eq!(leakscope(&["flamegraph", s(&f), "--sample-type", "bogus", "-o", "-"]).status.code(), Some(2));
    assert_eq!(leakscope(&["flamegraph", "/nonexistent.pb.gz", "-o", "-"]).status.code(), Some(2));
    assert_eq!(leakscope(&["flamegraph", s(&f), "--normalize", "-o", "-"]).status.code(), Some(2));
}

/// Strips double-quoted strings (DOT IDs) so braces inside labels do not count.
fn unquoted(dot: &str) -> String {
    let mut out = String::new();
    let mut in_str = false;
    let mut esc = false;
    for c in dot.chars() {
        if in_str {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
                out.push('"');
            }
        } else {
            if c == '"' {
                in_str = true;
            }
            out.push(c);
        }
    }
    assert!(!in_str, "unterminated string in DOT");
    out
}

#[test]
fn dot_is_a_valid_graph() {
    let d = root().join("testdata/leaks/all-three");
    let (b, n) = (d.join("00-heap.pb.gz"), d.join("05-heap.pb.gz"));
    let node_re = regex::Regex::new(r"(?m)^\s*(n\d+) \[").unwrap();
    let edge_re = regex::Regex::new(r"(?m)^\s*(n\d+) -> (n\d+) \[").unwrap();
    for nodecount in ["10", "0"] {
        let o = leakscope(&["diff", "--format", "dot", "--nodecount", nodecount, s(&b), s(&n)]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let dot = String::from_utf8(o.stdout).unwrap();
        assert!(dot.starts_with("digraph leakscope {"), "{dot}");
        assert!(dot.trim_end().ends_with('}'));
        let bare = unquoted(&dot);
        assert_eq!(bare.matches('{').count(), bare.matches('}').count(), "unbalanced braces");
        let nodes: std::collections::HashSet<&str> =
            node_re.captures_iter(&dot).map(|c| c.get(1).unwrap().as_str()).collect();
        let edges: Vec<(String, String)> =
            edge_re.captures_iter(&dot).map(|c| (c[1].to_string(), c[2].to_string())).collect();
        assert!(!nodes.is_empty() && !edges.is_empty());
        if nodecount == "10" {
            assert!(nodes.len() <= 10);
        }
        for (a, b) in &edges {
            assert!(nodes.contains(a.as_str()) && nodes.contains(b.as_str()), "edge {a} -> {b} to an undeclared node");
        }
        // The verdict's category is in the graph's colours/legend.
        let top = diff_json(&b, &n, &[]);
        let cat = top["verdict"]["category"].as_str().unwrap();
        assert!(dot.contains(&format!("({cat})")) || dot.contains(&format!("label=\"{cat}\"")), "{cat}");

        match Command::new("dot").arg("-V").output() {
            Ok(v) if v.status.success() => {
                let mut child = Command::new("dot")
                    .arg("-Tsvg")
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                use std::io::Write;
                child.stdin.take().unwrap().write_all(dot.as_bytes()).unwrap();
                let o = child.wait_with_output().unwrap();
                assert!(o.status.success(), "dot -Tsvg rejected it: {}", String::from_utf8_lossy(&o.stderr));
                assert!(String::from_utf8_lossy(&o.stdout).contains("<svg"));
            }
            _ => visible("SKIPPED: Graphviz `dot` not installed; DOT checked for shape only"),
        }
    }
}
