//! `leakscope diff`: parity with `go tool pprof -base`, reconciliation of
//! categories, exit codes, and golden output.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Pairs that are the same process at two times.
fn pairs() -> Vec<(PathBuf, PathBuf)> {
    let mut v =
        vec![(root().join("testdata/profiles/gen-heap.pb.gz"), root().join("testdata/profiles/gen-heap-later.pb.gz"))];
    for s in ["http-request", "config-reload", "metrics", "all-three", "fixed"] {
        let d = root().join("testdata/leaks").join(s);
        v.push((d.join("00-heap.pb.gz"), d.join("05-heap.pb.gz")));
    }
    if let Some(c) = corpus() {
        v.push((c.join("parca__heap-1644509272.pb.gz"), c.join("parca__heap-1644509299.pb.gz")));
        v.push((c.join("ddtrace__heap.before.pprof"), c.join("ddtrace__heap.after.pprof")));
    }
    v
}

fn diff_json(base: &Path, new: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["diff", "--format", "json", "--nodecount", "0"];
    args.extend_from_slice(extra);
    args.push(base.to_str().unwrap());
    args.push(new.to_str().unwrap());
    let o = leakscope(&args);
    assert!(o.status.code() == Some(0), "leakscope {args:?}: {:?} {}", o.status, String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn check_parity(normalize: bool) {
    let Some(go) = go() else { return };
    let mut failures = Vec::new();
    let mut checked = 0;
    for (b, n) in pairs() {
        // pprof's merged profile: NEW plus BASE scaled by -1 (and NEW
        // normalized first with -normalize).
        let mut cmd = Command::new(&go);
        cmd.args(["tool", "pprof", "-raw", "-symbolize=none"]);
        if normalize {
            cmd.arg("-normalize");
        }
        let o = cmd.arg("-base").arg(&b).arg(&n).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let raw = parse_raw(&String::from_utf8_lossy(&o.stdout));
        for (t, (ty, _)) in raw.sample_types.iter().enumerate() {
            for g in ["functions", "lines"] {
                let (_, want) = expected_top(&raw, t, g);
                let mut extra = vec!["--sample-type", ty.as_str(), "--granularity", g];
                if normalize {
                    extra.push("--normalize");
                }
                let doc = diff_json(&b, &n, &extra);
                checked += 1;
                let got = delta_rows(&doc);
                if got != want {
                    let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).take(4).collect();
                    let extra: Vec<_> = got.iter().filter(|w| !want.contains(w)).take(4).collect();
                    failures.push(format!(
                        "{} -> {} {ty} {g}: pprof-only {missing:?}; ours-only {extra:?}",
                        b.display(),
                        n.display()
                    ));
                }
                // total_delta is the net change: pprof's merged samples summed.
                let net: i64 = raw.samples.iter().map(|(v, _)| v[t]).sum();
                if doc["total_delta"].as_i64() != Some(net) {
                    failures.push(format!(
                        "{} {ty}: total_delta {} != pprof net {net}",
                        n.display(),
                        doc["total_delta"]
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {checked} differ:\n{}", failures.len(), failures.join("\n"));
    visible(&format!("diff parity (normalize={normalize}): {checked} comparisons equal to go tool pprof -base"));
}

#[test]
fn deltas_match_pprof_base() {
    check_parity(false);
}

#[test]
fn normalized_deltas_match_pprof() {
    check_parity(true);
}

#[test]
fn categories_add_up_to_the_total() {
    for (b, n) in pairs() {
        for ty in ["inuse_space", "inuse_objects", "alloc_space", "alloc_objects"] {
            let doc = diff_json(&b, &n, &["--sample-type", ty]);
            let cats = doc["categories"].as_array().unwrap();
            let sum = |k: &str| cats.iter().map(|c| c[k].as_i64().unwrap()).sum::<i64>();
            assert_eq!(sum("delta"), doc["total_delta"].as_i64().unwrap(), "{} {ty}", n.display());
            assert_eq!(sum("base"), doc["base"]["total"].as_i64().unwrap(), "{} {ty}", b.display());
            assert_eq!(sum("new"), doc["new"]["total"].as_i64().unwrap(), "{} {ty}", n.display());
            for c in cats {
                assert_eq!(c["delta"].as_i64(), Some(c["new"].as_i64().unwrap() - c["base"].as_i64().unwrap()));
            }
        }
    }
}

#[test]
fn json_contract() {
    let d = root().join("testdata/leaks/config-reload");
    let doc = diff_json(&d.join("00-heap.pb.gz"), &d.join("05-heap.pb.gz"), &[]);
    assert_eq!(doc["schema"], "leakscope.diff/v1");
    assert!(doc["total_delta"].is_i64());
    assert!(doc["verdict"]["leak"].is_boolean());
    assert!(doc["verdict"]["category"].is_string() || doc["verdict"]["category"].is_null());
    for c in doc["categories"].as_array().unwrap() {
        assert!(c["name"].is_string() && c["delta"].is_i64());
    }
    for f in doc["functions"].as_array().unwrap() {
        assert!(f["name"].is_string() && f["flat_delta"].is_i64() && f["cum_delta"].is_i64());
        assert!(!f["name"].as_str().unwrap().ends_with(" (inline)"));
    }
    let sigs = doc["signatures"].as_array().unwrap();
    assert!(!sigs.is_empty(), "the config-reload scenario uses a logrus writer per proxy per reload");
    for s in sigs {
        for k in ["id", "title", "category", "fixed_in"] {
            assert!(s[k].is_string(), "{k}");
        }
        assert!(s["delta"].is_i64());
    }
    // every attributed site says which frame and rule decided it
    for s in doc["sites"].as_array().unwrap() {
        assert!(s["frame"].is_string() && s["rule"].is_string());
        if s["category"] != "unattributed" {
            let r = s["rule"].as_str().unwrap();
            assert!(r.starts_with("rule ") || r.starts_with("signature "), "{r}");
        }
    }
}

#[test]
fn exit_codes_gate_on_growth_and_category() {
    let d = root().join("testdata/leaks/metrics");
    let (b, n) = (d.join("00-heap.pb.gz"), d.join("05-heap.pb.gz"));
    let (b, n) = (b.to_str().unwrap(), n.to_str().unwrap());
    let doc = diff_json(Path::new(b), Path::new(n), &[]);
    let growth = doc["total_delta"].as_i64().unwrap();
    assert!(growth > 0);
    let metrics = doc["categories"].as_array().unwrap().iter().find(|c| c["name"] == "metrics").unwrap()["delta"]
        .as_i64()
        .unwrap();

    let code = |args: &[&str]| leakscope(args).status.code();
    let below = (growth - 1).to_string();
    let above = (growth + 1).to_string();
    assert_eq!(code(&["diff", "--format", "json", "--fail-on-growth", &below, b, n]), Some(1));
    assert_eq!(code(&["diff", "--format", "json", "--fail-on-growth", &above, b, n]), Some(0));
    let cat_below = format!("metrics:{}", metrics - 1);
    let cat_above = format!("metrics:{}", metrics + 1);
    assert_eq!(code(&["diff", "--fail-on-category", &cat_below, b, n]), Some(1));
    assert_eq!(code(&["diff", "--fail-on-category", &cat_above, b, n]), Some(0));
    assert_eq!(code(&["diff", "--fail-on-leak", b, n]), Some(1));
    // the stderr line says why
    let o = leakscope(&["diff", "--format", "json", "--fail-on-growth", "1KiB", b, n]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("exceeds --fail-on-growth"));
    // usage and input errors are 2
    assert_eq!(code(&["diff", "--fail-on-category", "nosuch", b, n]), Some(2));
    assert_eq!(code(&["diff", "--fail-on-growth", "lots", b, n]), Some(2));
    assert_eq!(code(&["diff", b]), Some(2));
    assert_eq!(code(&["diff", b, "/nonexistent.pb.gz"]), Some(2));
    assert_eq!(code(&["diff", "--sample-type", "bogus", b, n]), Some(2));
    // the fixed scenario passes the leak gate
    let f = root().join("testdata/leaks/fixed");
    let (fb, fnn) = (f.join("00-heap.pb.gz"), f.join("05-heap.pb.gz"));
    assert_eq!(code(&["diff", "--fail-on-leak", fb.to_str().unwrap(), fnn.to_str().unwrap()]), Some(0));
}

/// Golden output, run from the repository root with relative paths so the
/// files are stable. `INSTA_UPDATE=always cargo test` re-blesses them.
fn golden(format: &str, scenario: &str) -> String {
    let base = format!("testdata/leaks/{scenario}/00-heap.pb.gz");
    let new = format!("testdata/leaks/{scenario}/05-heap.pb.gz");
    let o = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .current_dir(root())
        .args(["diff", "--color", "never", "--format", format, &base, &new])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn golden_text() {
    insta::assert_snapshot!("config_reload_text", golden("text", "config-reload"));
    insta::assert_snapshot!("fixed_text", golden("text", "fixed"));
}

#[test]
fn golden_markdown() {
    insta::assert_snapshot!("all_three_markdown", golden("markdown", "all-three"));
}

#[test]
fn golden_json() {
    let v: serde_json::Value = serde_json::from_str(&golden("json", "metrics")).unwrap();
    insta::assert_json_snapshot!("metrics_json", v);
}

#[test]
fn color_only_when_asked() {
    let d = root().join("testdata/leaks/metrics");
    let args = |c: &'static str| {
        let o = Command::new(env!("CARGO_BIN_EXE_leakscope"))
            .args(["diff", "--color", c])
            .arg(d.join("00-heap.pb.gz"))
            .arg(d.join("05-heap.pb.gz"))
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap()
    };
    assert!(args("always").contains("\x1b["));
    assert!(!args("never").contains("\x1b["));
    assert!(!args("auto").contains("\x1b["), "stdout is a pipe here, so auto means plain");
}

/// A legacy text heap profile carries runtime.MemStats: the report sets
/// the profile's heap beside them and says how much it explains.
#[test]
fn reconciliation_with_memstats() {
    let new = root().join("testdata/profiles/gen-heap.debug1.txt");
    let base = root().join("testdata/profiles/gen-heap.debug1.crlf.txt");
    let doc = diff_json(&base, &new, &[]);
    let info = leakscope_json(&["info", "--format", "json", new.to_str().unwrap()]);
    let r = &doc["reconciliation"];
    assert_eq!(r["heap_inuse"], info["memstats"]["HeapInuse"], "{r}");
    assert_eq!(r["sys"], info["memstats"]["Sys"]);
    assert_eq!(r["profile_inuse"], doc["new"]["total"]);
    let explained = r["explained"].as_f64().unwrap();
    let want = r["profile_inuse"].as_f64().unwrap() / r["sys"].as_f64().unwrap();
    assert!((explained - want).abs() < 1e-12);
    assert_eq!(info["reconciliation"], *r);
    // protobuf profiles carry no MemStats
    let d = root().join("testdata/leaks/fixed");
    assert!(diff_json(&d.join("00-heap.pb.gz"), &d.join("05-heap.pb.gz"), &[])["reconciliation"].is_null());
}

/// Two runs of the leaky proxy: BASE late in the config-reload run, NEW
/// early in the next run (the fixed scenario, started after the first was
/// killed). The diff must say the process restarted and must not say "no
/// leak"; every pair from one run must say it did not (issue 18, section 2).
#[test]
fn restart_between_snapshots_is_not_read_as_no_leak() {
    let leaks = root().join("testdata/leaks");
    let base = leaks.join("config-reload/05-heap.pb.gz");
    let new = leaks.join("fixed/00-heap.pb.gz");
    let (b, n) = (base.to_str().unwrap(), new.to_str().unwrap());
    let doc = leakscope_json(&["diff", "--format", "json", b, n]);
    assert_eq!(doc["restarted"], true, "{}", doc["verdict"]);
    assert!(doc["schema_minor"].as_u64().unwrap() >= 1);
    assert_eq!(doc["verdict"]["leak"], false);
    let headline = doc["verdict"]["headline"].as_str().unwrap();
    assert!(!headline.to_lowercase().contains("no leak"), "{headline}");
    assert!(headline.contains("CANNOT JUDGE"), "{headline}");
    let reasons = doc["verdict"]["reasons"].to_string();
    assert!(reasons.contains("alloc_space fell"), "{reasons}");
    let steps = doc["next_steps"].to_string();
    assert!(steps.contains("leakscope trend"), "the next step says what to compare instead: {steps}");
    // Every format says it; the text is not green "No leak".
    for f in ["text", "markdown", "html"] {
        let out = leakscope(&["diff", "--color", "never", "--format", f, b, n]);
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(s.contains("CANNOT JUDGE") && !s.contains("No leak"), "{f}");
    }
    // The gates: --fail-on-leak does not trip (no leak is claimed);
    // --fail-on-restart does.
    assert_eq!(leakscope(&["diff", "--fail-on-leak", b, n]).status.code(), Some(0));
    let out = leakscope(&["diff", "--fail-on-restart", b, n]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fail-on-restart"));

    // One process: never restarted.
    for s in ["http-request", "config-reload", "metrics", "all-three", "fixed"] {
        for (i, j) in [(0, 5), (0, 1), (2, 4)] {
            let d = leaks.join(s);
            let (b, n) = (d.join(format!("0{i}-heap.pb.gz")), d.join(format!("0{j}-heap.pb.gz")));
            let doc = leakscope_json(&["diff", "--format", "json", b.to_str().unwrap(), n.to_str().unwrap()]);
            assert_eq!(doc["restarted"], false, "{s} {i}->{j}: {}", doc["verdict"]["reasons"]);
            assert_eq!(doc["warnings"], serde_json::json!([]), "{s}: one program");
        }
    }
}

/// `new` with its main mapping's file and build ID replaced.
fn other_program(src: &Path, file: Option<&str>, build_id: Option<&str>) -> tempfile::NamedTempFile {
    use prost::Message;
    use std::io::Read;
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(&std::fs::read(src).unwrap()[..]).read_to_end(&mut raw).unwrap();
    let mut p = leakscope::pprof::proto::Profile::decode(raw.as_slice()).unwrap();
    let m = p.mapping.first().cloned().unwrap();
    for (want, idx) in [(file, m.filename), (build_id, m.build_id)] {
        if let Some(w) = want {
            p.string_table[idx as usize] = w.to_string();
        }
    }
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), p.encode_to_vec()).unwrap();
    f
}

/// Two programs: the header warns and names both; a changed build ID is a
/// new process (issue 18, section 2).
#[test]
fn different_programs_are_named() {
    let d = root().join("testdata/leaks/config-reload");
    let base = d.join("00-heap.pb.gz");
    let b = base.to_str().unwrap();
    let info = String::from_utf8(leakscope(&["info", b]).stdout).unwrap();
    assert!(info.contains("Program:") && info.contains("build ID"), "{info}");

    let renamed = other_program(&d.join("05-heap.pb.gz"), Some("/usr/local/bin/traefik"), None);
    let doc = leakscope_json(&["diff", "--format", "json", b, renamed.path().to_str().unwrap()]);
    let w = doc["warnings"].to_string();
    assert!(
        w.contains("different programs") && w.contains("/usr/local/bin/traefik") && w.contains("leakyproxy"),
        "{w}"
    );
    assert_eq!(doc["restarted"], false, "same build ID: the file was only moved");
    let text = String::from_utf8(leakscope(&["diff", "--color", "never", b, renamed.path().to_str().unwrap()]).stdout)
        .unwrap();
    assert!(text.contains("warning: BASE and NEW come from different programs"), "{text}");

    let rebuilt = other_program(&d.join("05-heap.pb.gz"), None, Some("0123456789abcdef"));
    let doc = leakscope_json(&["diff", "--format", "json", b, rebuilt.path().to_str().unwrap()]);
    assert_eq!(doc["restarted"], true, "{}", doc["verdict"]);
    assert!(doc["verdict"]["reasons"].to_string().contains("main binary changed"));
}
