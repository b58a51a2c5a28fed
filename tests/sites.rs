//! Sites name the function that allocated (issue 18, section 1).
//!
//! The oracle is `go tool pprof -top -base BASE NEW -hide=PLUMBING`: with the
//! frames leakscope calls plumbing hidden, pprof moves each sample's flat
//! value to its first remaining frame from the leaf, which is exactly the
//! allocating function. So for every function, the sum of leakscope's
//! `sites[].delta` over its categories must equal pprof's flat delta, and
//! `sites[0].function` must be pprof's top row. The plumbing patterns are
//! read from `leakscope rules`, never typed here.
//!
//! Inputs: every bundled leak scenario (`testdata/leaks/*`), and a real
//! net/http service leaking in its own handler (`testdata/gen/handlerleak`,
//! built and run here).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The built-in plumbing patterns, as one RE2 alternation for `-hide`.
fn plumbing() -> String {
    let o = common::leakscope(&["rules"]);
    assert!(o.status.success());
    let rules: toml::Value = toml::from_str(&String::from_utf8(o.stdout).unwrap()).expect("rules are TOML");
    let pats: Vec<&str> =
        rules["plumbing"].as_array().expect("plumbing list").iter().map(|p| p.as_str().unwrap()).collect();
    assert!(pats.len() > 10, "{pats:?}");
    pats.join("|")
}

/// pprof's flat delta per function (exact bytes), with plumbing hidden,
/// largest first.
fn pprof_flat(go: &Path, base: &Path, new: &Path, sample: &str) -> Vec<(String, i64)> {
    let o = Command::new(go)
        .args(["tool", "pprof", "-top", "-unit=B", "-nodefraction=0", "-edgefraction=0", "-nodecount=100000"])
        .arg(format!("-sample_index={sample}"))
        .arg(format!("-hide={}", plumbing()))
        .arg("-base")
        .arg(base)
        .arg(new)
        .output()
        .expect("run go tool pprof");
    assert!(o.status.success(), "pprof: {}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let mut rows = Vec::new();
    let mut table = false;
    for line in text.lines() {
        if line.trim_start().starts_with("flat") {
            table = true;
            continue;
        }
        if !table {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 {
            continue;
        }
        let flat: i64 = f[0].trim_end_matches('B').parse().unwrap_or_else(|_| panic!("flat in {line:?}"));
        let name = f[5..].join(" ");
        let name = name.strip_suffix(" (inline)").unwrap_or(&name).to_string();
        rows.push((name, flat));
    }
    assert!(!rows.is_empty(), "no rows in pprof's output:\n{text}");
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows
}

/// leakscope's site deltas summed per function.
fn by_function(sites: &serde_json::Value) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for s in sites.as_array().unwrap() {
        *m.entry(s["function"].as_str().unwrap().to_string()).or_default() += s["delta"].as_i64().unwrap();
    }
    m
}

/// Checks a diff of `base` → `new` against pprof; returns its JSON.
fn check_diff(go: &Path, base: &Path, new: &Path, what: &str) -> serde_json::Value {
    let (b, n) = (base.to_str().unwrap(), new.to_str().unwrap());
    let v = common::leakscope_json(&["diff", b, n, "--format", "json", "--nodecount", "0"]);
    assert!(v["schema_minor"].as_u64().unwrap() >= 3, "{what}: sites[].function is schema minor 3");
    let sites = &v["sites"];
    let top = &sites[0];
    for s in sites.as_array().unwrap() {
        assert!(s["frame"].is_string() && s["rule"].is_string(), "{what}: frame and rule kept: {s}");
    }
    let theirs = pprof_flat(go, base, new, "inuse_space");
    assert_eq!(
        top["function"],
        theirs[0].0.as_str(),
        "{what}: sites[0].function is pprof's top; pprof: {:?}",
        &theirs[..3]
    );
    // Growing and shrinking sites together cover every function that changed.
    let mut ours = by_function(sites);
    for (f, d) in by_function(&v["shrank"]) {
        *ours.entry(f).or_default() += d;
    }
    for (name, flat) in theirs.iter().filter(|r| r.1 != 0).take(5) {
        assert_eq!(ours.get(name), Some(flat), "{what}: {name}: leakscope's site delta is pprof's flat delta");
    }
    v
}

fn scenarios() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(common::root().join("testdata/leaks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != "fixed"))
        .collect();
    v.sort();
    assert!(v.len() >= 4, "{v:?}");
    v
}

fn heaps(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-heap.pb.gz"))
        .collect();
    v.sort();
    v
}

#[test]
fn bundled_scenarios_name_pprofs_top_function() {
    let Some(go) = common::go() else { return };
    for dir in scenarios() {
        let h = heaps(&dir);
        let what = dir.file_name().unwrap().to_string_lossy().to_string();
        let d = check_diff(&go, &h[0], &h[h.len() - 1], &what);
        assert_eq!(d["verdict"]["leak"], true, "{what}");
        // trend ranks sites by last − first: its top is the same function.
        let t = common::leakscope_json(&["trend", dir.to_str().unwrap(), "--format", "json"]);
        assert!(t["schema_minor"].as_u64().unwrap() >= 1, "{what}");
        assert_eq!(t["sites"][0]["function"], d["sites"][0]["function"], "{what}: trend's top site");
        assert!(t["sites"].as_array().unwrap().iter().all(|s| s["frame"].is_string()), "{what}");
    }
}

/// Builds and runs testdata/gen/handlerleak once: three heap profiles.
fn handlerleak(go: &Path) -> &'static [PathBuf] {
    static OUT: OnceLock<Vec<PathBuf>> = OnceLock::new();
    OUT.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("handlerleak");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("handlerleak");
        let o = Command::new(go)
            .args(["build", "-o"])
            .arg(&bin)
            .arg(".")
            .current_dir(common::root().join("testdata/gen/handlerleak"))
            .env("GOTOOLCHAIN", "local")
            .output()
            .expect("run go build");
        assert!(o.status.success(), "go build handlerleak: {}", String::from_utf8_lossy(&o.stderr));
        let snaps = dir.join("snapshots");
        std::fs::create_dir_all(&snaps).unwrap();
        let o = Command::new(&bin).arg("-out").arg(&snaps).args(["-phases", "3"]).output().unwrap();
        assert!(o.status.success(), "handlerleak: {}", String::from_utf8_lossy(&o.stderr));
        heaps(&snaps)
    })
}

#[test]
fn a_net_http_service_leaking_in_its_handler_is_blamed_on_the_handler() {
    let Some(go) = common::go() else { return };
    let h = handlerleak(&go);
    assert_eq!(h.len(), 3);
    let v = check_diff(&go, &h[0], &h[2], "handlerleak");
    let top = &v["sites"][0];
    // The user's closure, not the net/http frame that decided the category.
    assert_eq!(top["function"], "main.(*server).audit.func1");
    assert_eq!(top["category"], "http-request");
    assert_eq!(top["frame"], "net/http.HandlerFunc.ServeHTTP");
    assert_eq!(top["stack"][0], "main.(*server).audit.func1");
    // The upload handler allocates inside io.ReadAll: still the handler.
    let upload = v["sites"].as_array().unwrap().iter().find(|s| s["function"] == "main.(*server).upload");
    assert!(upload.is_some_and(|s| s["category"] == "http-request"), "{}", v["sites"]);

    // Every output leads the row with the function.
    let (b, n) = (h[0].to_str().unwrap(), h[2].to_str().unwrap());
    let text = String::from_utf8(common::leakscope(&["diff", b, n, "--color", "never"]).stdout).unwrap();
    let row = text
        .lines()
        .skip_while(|l| !l.starts_with("Top growing sites"))
        .find(|l| l.trim_start().starts_with("1. "))
        .expect("a site row");
    assert!(row.contains("main.(*server).audit.func1  http-request"), "{row}");
    let md = String::from_utf8(common::leakscope(&["diff", b, n, "--format", "markdown"]).stdout).unwrap();
    assert!(md.contains("`main.(*server).audit.func1` (http-request"), "{md}");
    let html = String::from_utf8(common::leakscope(&["diff", b, n, "--format", "html"]).stdout).unwrap();
    let first_row = html.split(r#"id="t-sites""#).nth(1).and_then(|t| t.split("<tr>").nth(2)).expect("a site row");
    let func_at = first_row.find("main.(*server).audit.func1").expect("function in the first row");
    // After the row number, before the numbers.
    let numbers_at = first_row.match_indices("<td class=\"num").nth(1).map_or(usize::MAX, |m| m.0);
    assert!(func_at < numbers_at, "the function leads the row: {first_row}");

    // DOT draws the user's function in the report's category.
    let dot = String::from_utf8(common::leakscope(&["diff", b, n, "--format", "dot"]).stdout).unwrap();
    let node = dot
        .lines()
        .find(|l| l.contains("label=\"main.(*server).audit.func1"))
        .unwrap_or_else(|| panic!("no node for the handler:\n{dot}"));
    assert!(node.contains("(http-request)") && node.contains("\\nhttp-request\""), "{node}");

    // trend over the three snapshots names it too.
    let dir = h[0].parent().unwrap().to_str().unwrap();
    let t = common::leakscope_json(&["trend", dir, "--format", "json"]);
    assert_eq!(t["sites"][0]["function"], "main.(*server).audit.func1", "{}", t["sites"]);
    assert_eq!(t["sites"][0]["frame"], "net/http.HandlerFunc.ServeHTTP");
    let tt = String::from_utf8(common::leakscope(&["trend", dir, "--color", "never"]).stdout).unwrap();
    assert!(tt.contains("main.(*server).audit.func1  http-request via net/http.HandlerFunc.ServeHTTP"), "{tt}");
}
