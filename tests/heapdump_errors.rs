//! Broken heap dumps on the command line: `heap`, `info` and `diff` each
//! print one line on stderr, `leakscope: PATH: at byte N of the heap dump:
//! ...`, and exit with status 2; never a panic or a hang.

mod common;

use std::io::{Read, Write};
use std::path::Path;

use common::*;

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data).read_to_end(&mut out).unwrap();
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Runs `args` and checks the error contract for `bad`; returns stderr.
fn expect_dump_error(args: &[&str], bad: &Path) -> String {
    let o = leakscope(args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let what = format!("leakscope {}", args.join(" "));
    assert_eq!(o.status.code(), Some(2), "{what}: exit status {:?}, stderr {err}", o.status);
    assert!(!err.contains("panicked"), "{what}: panic: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{what}: not one line: {err:?}");
    let prefix = format!("leakscope: {}: ", bad.display());
    assert!(err.starts_with(&prefix), "{what}: stderr does not start with {prefix:?}: {err:?}");
    err
}

#[test]
fn broken_heap_dumps_get_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let good_gz_path = root().join("testdata/heapdumps/control/1.heapdump.gz");
    let good_gz = std::fs::read(&good_gz_path).unwrap();
    let good = gunzip(&good_gz);
    assert_eq!(*good.last().unwrap(), 0, "a dump ends with its EOF record");
    let header = b"go1.7 heap dump\n".to_vec();
    let mut bad_tag = good[..good.len() - 1].to_vec();
    bad_tag.push(42);

    // (name, bytes, expected in the message, whether it names a byte offset)
    let cases: Vec<(&str, Vec<u8>, &str, bool)> = vec![
        ("truncated.heapdump", good[..good.len() / 2].to_vec(), "at byte ", true),
        ("no-eof.heapdump", good[..good.len() - 1].to_vec(), "EOF record", true),
        ("bad-tag.heapdump", bad_tag, "unknown record tag 42", true),
        ("header-only.heapdump", header, "at byte 16", true),
        ("truncated.heapdump.gz", good_gz[..good_gz.len() / 2].to_vec(), "gzip", false),
        ("truncated-dump.heapdump.gz", gzip(&good[..good.len() / 2]), "at byte ", true),
    ];
    for (name, bytes, want, offset) in cases {
        let bad = dir.path().join(name);
        std::fs::write(&bad, &bytes).unwrap();
        let b = bad.to_str().unwrap();
        let g = good_gz_path.to_str().unwrap();
        for args in [vec!["heap", b], vec!["info", b], vec!["diff", b, g], vec!["diff", g, b]] {
            let err = expect_dump_error(&args, &bad);
            assert!(err.contains(want), "{name}: {args:?}: expected {want:?} in {err:?}");
            if offset {
                assert!(err.contains("of the heap dump"), "{name}: {args:?}: no byte offset in {err:?}");
            }
        }
    }
}
