//! `leakscope trend` (and `diff` with more than two inputs) on the
//! ground-truth scenarios.

mod common;

use std::path::PathBuf;

use common::*;

fn dir(s: &str) -> PathBuf {
    root().join("testdata/leaks").join(s)
}

fn trend_json(args: &[&str]) -> serde_json::Value {
    let mut a = vec!["trend", "--format", "json", "--nodecount", "0"];
    a.extend_from_slice(args);
    leakscope_json(&a)
}

fn heaps(s: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir(s))
        .unwrap()
        .flatten()
        .map(|e| e.path().display().to_string())
        .filter(|p| p.ends_with("-heap.pb.gz"))
        .collect();
    v.sort();
    v
}

#[test]
fn scenarios_trend_verdicts() {
    for s in ["http-request", "config-reload", "metrics", "all-three", "fixed"] {
        let doc = trend_json(&[dir(s).to_str().unwrap()]);
        assert_eq!(doc["schema"], "leakscope.trend/v1");
        let exp: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir(s).join("expected.json")).unwrap()).unwrap();
        let exp: Vec<&str> =
            exp["leaking_categories"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(
            doc["snapshots"].as_array().unwrap().len(),
            6,
            "{s}: six heap snapshots, scrapes paired not counted"
        );
        if exp.is_empty() {
            assert_eq!(doc["verdict"]["leak"], false, "{s}: {}", doc["verdict"]);
        } else {
            assert_eq!(doc["verdict"]["leak"], true, "{s}: {}", doc["verdict"]);
            let c = doc["verdict"]["category"].as_str().unwrap();
            assert!(exp.contains(&c), "{s}: {c} not in {exp:?}");
            assert_eq!(doc["total"]["shape"], "monotonic-growth", "{s}");
        }
        // Series are in the JSON, one value per analysed snapshot.
        for c in doc["categories"].as_array().unwrap() {
            assert_eq!(c["series"]["values"].as_array().unwrap().len(), 6);
            assert_eq!(c["objects"]["values"].as_array().unwrap().len(), 6, "inuse_objects series too");
        }
        assert_eq!(doc["total_objects"]["values"].as_array().unwrap().len(), 6);
        for s in doc["sites"].as_array().unwrap() {
            assert_eq!(s["objects"]["values"].as_array().unwrap().len(), 6, "site inuse_objects series");
        }
        // /metrics scrapes beside the snapshots give growth per unit of work.
        assert!(doc["per_work"]["reloads"].as_f64().unwrap() > 0.0, "{s}");
        assert!(doc["per_work"]["requests"].as_f64().unwrap() > 0.0, "{s}");
        assert!(
            doc["reconciliation"]["rss"].as_i64().unwrap() > doc["reconciliation"]["profile_inuse"].as_i64().unwrap()
        );
    }
}

#[test]
fn diff_with_more_than_two_inputs_is_a_trend() {
    let files = heaps("metrics");
    let mut args = vec!["diff", "--format", "json"];
    args.extend(files.iter().map(|s| s.as_str()));
    let via_diff = leakscope_json(&args);
    let mut args = vec!["trend", "--format", "json"];
    args.extend(files.iter().map(|s| s.as_str()));
    let via_trend = leakscope_json(&args);
    assert_eq!(via_diff, via_trend);
}

#[test]
fn order_comes_from_profile_time_not_argument_order() {
    let mut files = heaps("config-reload");
    let forward = trend_json(&files.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    files.reverse();
    let backward = trend_json(&files.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    assert_eq!(forward["ordered_by"], "time");
    assert_eq!(forward["total"], backward["total"]);
    assert_eq!(forward["verdict"], backward["verdict"]);
}

#[test]
fn names_that_disagree_with_times_are_reported() {
    // Copy the snapshots under names whose order is the reverse of time.
    let tmp = tempfile::tempdir().unwrap();
    let files = heaps("metrics");
    let n = files.len();
    for (i, f) in files.iter().enumerate() {
        std::fs::copy(f, tmp.path().join(format!("{:02}-heap.pb.gz", n - 1 - i))).unwrap();
    }
    let doc = trend_json(&[tmp.path().to_str().unwrap()]);
    assert_eq!(doc["ordered_by"], "time");
    assert_eq!(doc["verdict"]["leak"], true, "still judged in time order");
    assert!(doc["verdict"]["reasons"].to_string().contains("do not follow their file names"));
}

#[test]
fn restart_splits_the_series() {
    // http-request's process, then the fixed build's process (captured
    // later): alloc_space falls at the boundary.
    let mut files = heaps("http-request");
    files.extend(heaps("fixed"));
    let doc = trend_json(&files.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    assert_eq!(doc["restarts"], serde_json::json!([6]), "{}", doc["restarts"]);
    assert_eq!(doc["analyzed"], serde_json::json!([6, 11]));
    assert_eq!(doc["verdict"]["leak"], false, "only the fixed build's snapshots are judged");
    let reasons = doc["verdict"]["reasons"].to_string();
    assert!(reasons.contains("restart"), "{reasons}");
}

#[test]
fn goroutine_groups_that_grow_are_flagged_beside_the_heap() {
    let doc = trend_json(&[dir("config-reload").to_str().unwrap()]);
    let g = &doc["goroutines"];
    assert_eq!(g["snapshots"], 6);
    let groups = g["growing"].as_array().unwrap();
    let logrus = groups
        .iter()
        .find(|x| x["frame"].as_str().unwrap().contains("logrus"))
        .unwrap_or_else(|| panic!("no growing logrus goroutine group in {groups:?}"));
    assert!(logrus["delta"].as_i64().unwrap() > 0);
    assert!(logrus["heap_same_package_delta"].as_i64().unwrap() > 0, "logrus heap grows alongside");
    // and none in the fixed build
    let doc = trend_json(&[dir("fixed").to_str().unwrap()]);
    assert!(doc["goroutines"]["growing"].as_array().unwrap().is_empty(), "{}", doc["goroutines"]);
}

#[test]
fn limit_projection_and_gates() {
    let d = dir("metrics");
    let doc = trend_json(&["--limit", "512MiB", d.to_str().unwrap()]);
    let h = doc["projection"]["heap_hours"].as_f64().unwrap();
    // hours = (limit - last) / slope, recomputed from the report's own numbers
    let last = doc["total"]["values"].as_array().unwrap().last().unwrap().as_i64().unwrap() as f64;
    let slope = doc["total"]["slope_per_hour"].as_f64().unwrap();
    assert!(((512.0 * 1048576.0 - last) / slope - h).abs() < 1e-6);
    let code = |args: &[&str]| leakscope(args).status.code();
    assert_eq!(code(&["trend", "--fail-on-leak", d.to_str().unwrap()]), Some(1));
    assert_eq!(code(&["trend", "--fail-on-category", "metrics:1KiB", d.to_str().unwrap()]), Some(1));
    assert_eq!(code(&["trend", "--fail-on-leak", dir("fixed").to_str().unwrap()]), Some(0));
    assert_eq!(code(&["trend", root().join("testdata/leaks/fixed/00-heap.pb.gz").to_str().unwrap()]), Some(2));
}

/// A snapshot directory with `bad` of its heap profiles replaced by junk.
fn with_corrupt(s: &str, bad: &[usize]) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    for (i, h) in heaps(s).iter().enumerate() {
        let to = t.path().join(std::path::Path::new(h).file_name().unwrap());
        if bad.contains(&i) {
            std::fs::write(&to, b"<html>502 Bad Gateway</html>").unwrap();
        } else {
            std::fs::copy(h, &to).unwrap();
        }
    }
    t
}

/// Unreadable snapshots in a directory are listed on stderr, counted in the
/// verdict, and refused when they are many (issue 19, item 8).
#[test]
fn corrupt_snapshots_are_reported_and_many_are_refused() {
    // One of six unreadable: judged on five, said on stderr and in the verdict.
    let t = with_corrupt("metrics", &[2]);
    let d = t.path().to_str().unwrap();
    let out = leakscope(&["trend", "--format", "json", d]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning: skipped") && err.contains("02-heap.pb.gz"), "stderr: {err}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reasons = doc["verdict"]["reasons"].to_string();
    assert!(reasons.contains("5 of 6 snapshots judged"), "{reasons}");
    assert_eq!(doc["verdict"]["leak"], true, "five snapshots still show the metrics leak");

    // Four of six unreadable: refused, exit 2, one line.
    let t = with_corrupt("metrics", &[1, 2, 3, 4]);
    let out = leakscope(&["trend", t.path().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("4 of 6 snapshots could not be read"), "{err}");
    assert!(out.stdout.is_empty(), "no verdict on what is left");

    // Two of six left: fewer than three, refused.
    let t = with_corrupt("metrics", &[0, 1, 2, 5]);
    let out = leakscope(&["trend", t.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));

    // --strict: any unreadable snapshot fails, naming it.
    let t = with_corrupt("metrics", &[2]);
    let out = leakscope(&["trend", "--strict", t.path().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("02-heap.pb.gz") && err.contains("--strict"), "{err}");
}

/// `trend --sample-type` judges that type of the heap profiles, and agrees
/// with `diff` of the first and last snapshot on it (issue 18, section 5).
#[test]
fn trend_judges_the_sample_type_asked_for() {
    let files = heaps("config-reload");
    let d = dir("config-reload");
    for t in ["inuse_objects", "alloc_space"] {
        let doc = trend_json(&["--sample-type", t, d.to_str().unwrap()]);
        assert_eq!(doc["sample_type"]["name"], t, "{}", doc["sample_type"]);
        let pair = leakscope_json(&["diff", "--format", "json", "--sample-type", t, &files[0], &files[5]]);
        assert_eq!(doc["total_delta"], pair["total_delta"], "{t}: the trend's growth is the first/last diff's");
        assert_eq!(doc["snapshots"][0]["total"], pair["base"]["total"], "{t}");
    }
    // Counts are judged as diff judges them: ten is the floor, not 1 MiB.
    let doc = trend_json(&["--sample-type", "inuse_objects", d.to_str().unwrap()]);
    assert_eq!(doc["min_growth"], 10);
    assert_eq!(doc["verdict"]["leak"], true, "{}", doc["verdict"]);
    // A type the heap profiles lack: one line naming a file, exit 2, even
    // for snapshots found in a directory.
    let out = leakscope(&["trend", "--sample-type", "inuse_bogus", d.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("-heap.pb.gz") && err.contains("inuse_bogus") && err.contains("inuse_space"), "{err}");
    // And --help says so, outside the Pyroscope flags.
    let help = String::from_utf8(leakscope(&["trend", "--help"]).stdout).unwrap();
    let at = help.find("--sample-type").expect("trend --help lists --sample-type");
    assert!(help.find("Pyroscope source").is_none_or(|p| at < p), "{help}");
}

/// `diff --sample-type` with three or more inputs is honoured, as in `trend`.
#[test]
fn diff_of_many_snapshots_honours_sample_type() {
    let files = heaps("config-reload");
    let mut args = vec!["diff", "--format", "json", "--sample-type", "inuse_objects"];
    args.extend(files.iter().map(|s| s.as_str()));
    let via_diff = leakscope_json(&args);
    assert_eq!(via_diff["sample_type"]["name"], "inuse_objects", "{}", via_diff["sample_type"]);
    let mut args = vec!["trend", "--format", "json", "--sample-type", "inuse_objects"];
    args.extend(files.iter().map(|s| s.as_str()));
    assert_eq!(via_diff, leakscope_json(&args));
}

/// `diff --limit` with three or more inputs is trend's `--limit`; with two
/// it is refused in one line (two snapshots give no projection).
#[test]
fn diff_of_many_snapshots_takes_limit() {
    let files = heaps("metrics");
    let mut args = vec!["diff", "--format", "json", "--limit", "512MiB"];
    args.extend(files.iter().map(|s| s.as_str()));
    let out = leakscope(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let via_diff: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(via_diff["projection"]["limit"], 512 << 20);
    assert!(via_diff["projection"]["heap_hours"].as_f64().unwrap() > 0.0, "{}", via_diff["projection"]);
    let mut args = vec!["trend", "--format", "json", "--limit", "512MiB"];
    args.extend(files.iter().map(|s| s.as_str()));
    assert_eq!(via_diff, leakscope_json(&args));

    let out = leakscope(&["diff", "--limit", "512MiB", &files[0], &files[5]]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--limit") && err.contains("three or more"), "{err}");
}
