//! Bad input: one clear line on stderr naming the file and the problem,
//! exit status 2, never a panic or a hang.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use leakscope::pprof::proto;
use prost::Message;

/// A small valid profile: one sample, one location, one function.
fn valid() -> proto::Profile {
    proto::Profile {
        sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }],
        sample: vec![proto::Sample { location_id: vec![1], value: vec![42], label: vec![] }],
        mapping: vec![proto::Mapping { id: 1, filename: 4, ..Default::default() }],
        location: vec![proto::Location {
            id: 1,
            mapping_id: 1,
            address: 0x1000,
            line: vec![proto::Line { function_id: 1, line: 7, column: 0 }],
            is_folded: false,
        }],
        function: vec![proto::Function { id: 1, name: 3, system_name: 3, filename: 0, start_line: 1 }],
        string_table: vec!["".into(), "inuse_space".into(), "bytes".into(), "main.f".into(), "/bin/x".into()],
        ..Default::default()
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Runs `leakscope top FILE` and checks the error contract; returns stderr.
fn expect_error(path: &Path, must_contain: &str) -> String {
    let o = leakscope(&["top", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{}: exit status {:?}, stderr {err}", path.display(), o.status);
    assert!(o.stdout.is_empty(), "{}: printed to stdout on error", path.display());
    assert!(!err.contains("panicked"), "{}: panic: {err}", path.display());
    assert_eq!(err.trim_end().lines().count(), 1, "{}: not one line: {err:?}", path.display());
    assert!(err.starts_with("leakscope: "), "{err}");
    assert!(err.contains(&path.display().to_string()), "error does not name the file: {err}");
    assert!(
        err.to_lowercase().contains(&must_contain.to_lowercase()),
        "{}: expected {must_contain:?} in {err:?}",
        path.display()
    );
    err
}

#[test]
fn malformed_inputs_get_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = valid().encode_to_vec();
    let heap_gz = std::fs::read(root().join("testdata/profiles/gen-heap.pb.gz")).unwrap();

    // Deterministic "random" bytes that do not start with any magic.
    let mut x = 0x1234_5678_9abc_def0u64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();

    let mut overlong = vec![0x48u8]; // field 9 (time_nanos), varint
    overlong.extend([0xff; 10]);
    overlong.push(0x01);

    let mut p = valid();
    p.sample[0].location_id = vec![99];
    let dangling_loc = p.encode_to_vec();
    let mut p = valid();
    p.location[0].line[0].function_id = 7;
    let dangling_fn = p.encode_to_vec();
    let mut p = valid();
    p.location[0].mapping_id = 5;
    let dangling_map = p.encode_to_vec();
    let mut p = valid();
    p.function[0].name = 40;
    let bad_string = p.encode_to_vec();
    let mut p = valid();
    p.sample[0].value = vec![1, 2];
    let value_count = p.encode_to_vec();
    let mut p = valid();
    p.string_table.clear();
    let no_strings = p.encode_to_vec();

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "empty"),
        ("random", random, "not a pprof profile"),
        ("bad-gzip", vec![0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x01, 0x02], "gzip"),
        ("truncated-gzip", heap_gz[..heap_gz.len() / 2].to_vec(), "gzip"),
        ("truncated-gzip-profile", gzip(&good[..good.len() - 3]), "truncated"),
        ("truncated", good[..good.len() - 3].to_vec(), "truncated"),
        ("overlong-varint", overlong, "varint"),
        ("wrong-wire-type", vec![0x10, 0x01], "wire type"),
        ("group-wire-type", vec![0x13, 0x14], "wire type"),
        ("dangling-location", dangling_loc, "location id 99"),
        ("dangling-function", dangling_fn, "function_id 7"),
        ("dangling-mapping", dangling_map, "mapping_id 5"),
        ("bad-string-index", bad_string, "string 40"),
        ("value-count", value_count, "2 values"),
        ("no-string-table", no_strings, "string table"),
        (
            "legacy-text",
            b"heap profile: 1: 2 [3: 4] @ heap/1048576\nnot a record\n".to_vec(),
            "legacy text profile, line 2",
        ),
        ("heap-dump", b"go1.7 heap dump\n\x01\x02".to_vec(), "heap dump"),
    ];
    for (name, bytes, want) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let err = expect_error(&path, want);
        // byte offsets are given where they apply
        if ["truncated", "overlong-varint", "wrong-wire-type", "random"].contains(&name) {
            assert!(err.contains("at byte "), "{name}: no offset in {err}");
        }
    }
}

#[test]
fn missing_path_and_directory() {
    let dir = tempfile::tempdir().unwrap();
    expect_error(&dir.path().join("nope.pb.gz"), "no such file");
    expect_error(dir.path(), "directory");
}

#[test]
fn corrupt_corpus_file() {
    let Some(c) = corpus() else { return };
    expect_error(&c.join("chaosmesh-fork__heap.txt.CORRUPT"), "corrupt gzip");
}

#[test]
fn unknown_sample_type_is_an_error() {
    let f = root().join("testdata/profiles/gen-heap.pb.gz");
    let o = leakscope(&["top", "--sample-type", "bogus", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bogus") && err.contains("inuse_space"), "{err}");
}

#[test]
fn stdin_dash_reads_the_profile() {
    let f = root().join("testdata/profiles/gen-heap.pb.gz");
    let bytes = std::fs::read(&f).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(["top", "--format", "json", "--nodecount", "0", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let from_stdin: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let from_file = leakscope_json(&["top", "--format", "json", "--nodecount", "0", f.to_str().unwrap()]);
    assert_eq!(from_stdin["functions"], from_file["functions"]);
    assert_eq!(from_stdin["total"], from_file["total"]);
    assert!(from_file["total"].as_i64().unwrap() > 0);
}

#[test]
fn closed_stdout_is_not_an_error() {
    let f = root().join("testdata/profiles/gen-heap.pb.gz");
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(["top", "--nodecount", "0", f.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // like `| head -0`
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}
