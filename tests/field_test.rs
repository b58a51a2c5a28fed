//! What a new user hit in the field test (issue 18, section 5): each case
//! here failed before its fix.

mod common;

use prost::Message;

use common::*;
use leakscope::pprof::proto;

/// A CPU profile (samples/count, cpu/nanoseconds) of one stack.
fn cpu_profile(dir: &std::path::Path, name: &str) -> String {
    let strings: Vec<String> =
        ["", "samples", "count", "cpu", "nanoseconds", "main.spin"].iter().map(|s| s.to_string()).collect();
    let p = proto::Profile {
        sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }, proto::ValueType { r#type: 3, unit: 4 }],
        period_type: Some(proto::ValueType { r#type: 3, unit: 4 }),
        period: 10_000_000,
        time_nanos: 1_700_000_000_000_000_000,
        function: vec![proto::Function { id: 1, name: 5, system_name: 5, ..Default::default() }],
        location: vec![proto::Location {
            id: 1,
            line: vec![proto::Line { function_id: 1, line: 3, ..Default::default() }],
            ..Default::default()
        }],
        sample: vec![proto::Sample { location_id: vec![1], value: vec![100, 1_000_000_000], label: vec![] }],
        string_table: strings,
        ..Default::default()
    };
    let path = dir.join(name);
    std::fs::write(&path, p.encode_to_vec()).unwrap();
    path.display().to_string()
}

#[test]
fn cpu_profiles_are_refused_by_diff_and_trend() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (cpu_profile(t.path(), "a.cpu.pb"), cpu_profile(t.path(), "b.cpu.pb"));
    let out = leakscope(&["diff", &a, &b]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("a.cpu.pb") && err.contains("a CPU profile"), "{err}");
    assert!(out.stdout.is_empty(), "no 'No leak: cpu did not grow' verdict");

    let heap = root().join("testdata/leaks/metrics");
    let (h0, h1) = (heap.join("00-heap.pb.gz"), heap.join("01-heap.pb.gz"));
    let out = leakscope(&["trend", h0.to_str().unwrap(), h1.to_str().unwrap(), &a]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("a CPU profile") && err.contains("trend judges heap profiles"), "{err}");
}

#[test]
fn shrinking_memory_is_said_as_shrinking() {
    // The fixed build's heap shrinks from 00 to 05.
    let f = root().join("testdata/leaks/fixed");
    let doc = leakscope_json(&[
        "diff",
        "--format",
        "json",
        f.join("00-heap.pb.gz").to_str().unwrap(),
        f.join("05-heap.pb.gz").to_str().unwrap(),
    ]);
    assert!(doc["total_delta"].as_i64().unwrap() < 0, "the fixture shrinks");
    let headline = doc["verdict"]["headline"].as_str().unwrap();
    assert!(headline.contains("shrank by") && !headline.contains('-'), "{headline}");
    let reasons = doc["verdict"]["reasons"].to_string();
    assert!(!reasons.contains("grew by -") && reasons.contains("shrank by"), "{reasons}");
    assert!(!reasons.contains("of the growth is in"), "no share of a growth that did not happen: {reasons}");
}

#[test]
fn help_is_the_same_however_it_is_asked() {
    for c in ["diff", "top", "info", "rules", "trend", "capture", "heap", "flamegraph"] {
        let h = leakscope(&[c, "-h"]);
        let help = leakscope(&[c, "--help"]);
        let sub = leakscope(&["help", c]);
        assert_eq!(h.status.code(), Some(0), "{c} -h");
        assert_eq!(h.stdout, help.stdout, "{c}: -h and --help differ");
        assert_eq!(sub.status.code(), Some(0), "leakscope help {c}");
        assert_eq!(sub.stdout, help.stdout, "{c}: `help {c}` differs from --help");
    }
    let trend = String::from_utf8(leakscope(&["trend", "--help"]).stdout).unwrap();
    assert!(trend.contains("leakscope.trend/v1"), "{trend}");
    let top = String::from_utf8(leakscope(&["top", "--help"]).stdout).unwrap();
    for f in ["protobuf", "legacy text", "debug=2", "heap dump", "gzip"] {
        assert!(top.contains(f), "top --help does not list {f}: {top}");
    }
}

/// `flamegraph FILE` with stdout on a terminal refuses, as gzip does; with
/// stdout redirected it writes the SVG.
#[test]
fn flamegraph_does_not_write_svg_to_a_terminal() {
    let bin = env!("CARGO_BIN_EXE_leakscope");
    let f = root().join("testdata/leaks/metrics/00-heap.pb.gz");
    // script(1) gives the command a pseudo-terminal as stdout.
    let out = std::process::Command::new("script")
        .args(["-qec", &format!("'{bin}' flamegraph '{}'", f.display()), "/dev/null"])
        .output();
    let Ok(out) = out else {
        assert!(!in_ci(), "CI=true but script(1) is missing");
        visible("SKIPPED: script(1) not found; the terminal case of flamegraph is not tested");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("refusing to write an SVG to the terminal") && text.contains("-o"), "{text}");
    assert!(!text.contains("<svg"), "{text}");
    let piped = leakscope(&["flamegraph", f.to_str().unwrap()]);
    assert_eq!(piped.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&piped.stdout).contains("<svg"));
}
