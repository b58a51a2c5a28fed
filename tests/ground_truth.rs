//! End-to-end detection on the ground-truth scenarios written by the leaky
//! reverse proxy (testdata/gen/leakyproxy): `leakscope diff FIRST LAST`
//! with the defaults a user gets.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::*;

const INJECTED: [&str; 3] = ["http-request", "config-reload", "metrics"];

fn scenarios() -> Vec<(String, PathBuf)> {
    let dir = root().join("testdata/leaks");
    let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .expect("testdata/leaks exists")
        .flatten()
        .filter(|e| e.path().join("expected.json").is_file())
        .map(|e| (e.file_name().to_string_lossy().to_string(), e.path()))
        .collect();
    v.sort();
    v
}

fn heaps(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().ends_with("-heap.pb.gz"))
        .collect();
    v.sort(); // names sort in time order: 00-heap, 01-heap, ...
    v
}

fn expected(dir: &std::path::Path) -> BTreeSet<String> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    v["leaking_categories"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect()
}

#[test]
fn every_scenario_is_detected_as_injected() {
    let all = scenarios();
    let names: Vec<&str> = all.iter().map(|s| s.0.as_str()).collect();
    for want in ["http-request", "config-reload", "metrics", "all-three", "fixed"] {
        assert!(names.contains(&want), "scenario {want} missing from testdata/leaks");
    }
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let mut lines = Vec::new();
    for (name, dir) in &all {
        let hs = heaps(dir);
        assert!(hs.len() >= 2, "{name}: needs at least two heap snapshots");
        let (first, last) = (hs.first().unwrap(), hs.last().unwrap());
        let doc = leakscope_json(&["diff", "--format", "json", first.to_str().unwrap(), last.to_str().unwrap()]);
        let exp = expected(dir);
        let cats = doc["categories"].as_array().unwrap();
        let growth: i64 = cats.iter().map(|c| c["delta"].as_i64().unwrap().max(0)).sum();
        let predicted: BTreeSet<String> =
            cats.iter().filter(|c| c["suspect"] == true).map(|c| c["name"].as_str().unwrap().to_string()).collect();
        tp += predicted.intersection(&exp).count();
        fp += predicted.difference(&exp).count();
        fn_ += exp.difference(&predicted).count();
        lines.push(format!("{name}: expected {exp:?}, named {predicted:?}, verdict {}", doc["verdict"]["headline"]));

        if exp.is_empty() {
            assert_eq!(
                doc["verdict"]["leak"], false,
                "{name}: the fixed build must not be called a leak: {}",
                doc["verdict"]
            );
            continue;
        }
        assert_eq!(doc["verdict"]["leak"], true, "{name}: leak not detected: {}", doc["verdict"]);
        // The top growing category is an injected one.
        let top = cats
            .iter()
            .filter(|c| c["delta"].as_i64().unwrap() > 0)
            .max_by_key(|c| c["delta"].as_i64().unwrap())
            .unwrap();
        assert!(exp.contains(top["name"].as_str().unwrap()), "{name}: top category {} not in {exp:?}", top["name"]);
        assert_eq!(doc["verdict"]["category"], top["name"], "{name}");
        // Injected categories account for at least 60% of the growth.
        let injected: i64 = cats
            .iter()
            .filter(|c| exp.contains(c["name"].as_str().unwrap()))
            .map(|c| c["delta"].as_i64().unwrap().max(0))
            .sum();
        assert!(
            injected as f64 >= 0.6 * growth as f64,
            "{name}: injected categories hold {injected} of {growth} growth"
        );
        for e in &exp {
            assert!(INJECTED.contains(&e.as_str()), "{name}: unexpected expected category {e}");
        }
    }
    let precision = if tp + fp == 0 { 1.0 } else { tp as f64 / (tp + fp) as f64 };
    let recall = if tp + fn_ == 0 { 1.0 } else { tp as f64 / (tp + fn_) as f64 };
    visible(&format!(
        "ground truth: category attribution precision {precision:.2} ({tp}/{}), recall {recall:.2} ({tp}/{})\n  {}",
        tp + fp,
        tp + fn_,
        lines.join("\n  ")
    ));
}

/// Every pair of consecutive snapshots of the fixed build stays below the
/// verdict thresholds too, not just first and last.
#[test]
fn fixed_build_is_quiet_between_any_two_snapshots() {
    let dir = root().join("testdata/leaks/fixed");
    let hs = heaps(&dir);
    for w in hs.windows(2) {
        let doc = leakscope_json(&["diff", "--format", "json", w[0].to_str().unwrap(), w[1].to_str().unwrap()]);
        assert_eq!(doc["verdict"]["leak"], false, "{} -> {}: {}", w[0].display(), w[1].display(), doc["verdict"]);
    }
}
