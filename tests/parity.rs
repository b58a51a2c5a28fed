//! `leakscope top` against `go tool pprof -raw`, exactly, for every sample
//! type of every protobuf profile in testdata/ and ../shared/corpus/.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// Compares every sample type at granularity `g` for each file; collects
/// all mismatches so one run shows every problem.
fn check_files(files: &[PathBuf], granularities: &[&str]) {
    let Some(go) = go() else { return };
    assert!(!files.is_empty(), "no profiles to check");
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in files {
        let raw = pprof_raw(&go, f, None);
        for t in 0..raw.sample_types.len() {
            let ty = &raw.sample_types[t].0;
            for g in granularities {
                let (total, want) = expected_top(&raw, t, g);
                let doc = leakscope_json(&[
                    "top",
                    "--format",
                    "json",
                    "--nodecount",
                    "0",
                    "--sample-type",
                    ty,
                    "--granularity",
                    g,
                    f.to_str().unwrap(),
                ]);
                let got = json_rows(&doc);
                checked += 1;
                if doc["total"].as_i64() != Some(total) {
                    failures.push(format!("{} {ty} {g}: total {} != pprof {total}", f.display(), doc["total"]));
                }
                if doc["sample_type"]["name"] != *ty || doc["sample_type"]["unit"] != raw.sample_types[t].1 {
                    failures.push(format!("{} {ty}: sample_type {}", f.display(), doc["sample_type"]));
                }
                if got != want {
                    let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).take(5).collect();
                    let extra: Vec<_> = got.iter().filter(|w| !want.contains(w)).take(5).collect();
                    failures.push(format!(
                        "{} {ty} {g}: {} rows vs pprof {}; pprof-only {missing:?}; ours-only {extra:?}",
                        f.display(),
                        got.len(),
                        want.len()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {checked} comparisons differ:\n{}", failures.len(), failures.join("\n"));
    visible(&format!("parity: {checked} (file, sample type, granularity) comparisons equal to go tool pprof"));
}

#[test]
fn top_matches_pprof_on_testdata() {
    let files = testdata_profiles();
    check_files(&files, &["functions", "filefunctions", "files", "lines", "addresses"]);
}

#[test]
fn top_matches_pprof_on_corpus() {
    let Some(dir) = corpus() else { return };
    let files = corpus_protobufs(&dir);
    check_files(&files, &["functions", "lines", "files"]);
}

/// Recursion: a function twice in one stack counts once in its cum. The
/// generated heap profile with every third sample's leaf location repeated
/// as its outermost caller (written with prost, read back by pprof).
#[test]
fn top_matches_pprof_on_recursive_stacks() {
    use prost::Message;
    use std::io::Read;
    let gz = std::fs::read(root().join("testdata/profiles/gen-heap.pb.gz")).unwrap();
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut raw).unwrap();
    let mut p = leakscope::pprof::proto::Profile::decode(&raw[..]).unwrap();
    let mut made = 0;
    for (i, s) in p.sample.iter_mut().enumerate() {
        if i % 3 == 0 && s.location_id.len() >= 2 {
            s.location_id.push(s.location_id[0]);
            made += 1;
        }
    }
    assert!(made > 0, "no sample to make recursive");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recursive.pb.gz");
    leakscope::pprof::encode::write_gzip(&p, std::fs::File::create(&path).unwrap()).unwrap();
    check_files(&[path], &["functions", "filefunctions", "files", "lines", "addresses"]);
}

/// The default sample type is the one `go tool pprof` reports.
#[test]
fn default_sample_type_is_pprofs() {
    let Some(go) = go() else { return };
    let mut files = testdata_profiles();
    if let Some(dir) = corpus() {
        files.extend(corpus_protobufs(&dir));
    }
    for f in files {
        let out = std::process::Command::new(&go)
            .args(["tool", "pprof", "-symbolize=none", "-top", "-nodecount=1"])
            .arg(&f)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let pprof_type = text.lines().find_map(|l| l.strip_prefix("Type: ")).expect("pprof prints Type:").to_string();
        let doc = leakscope_json(&["top", "--format", "json", "--nodecount", "1", f.to_str().unwrap()]);
        assert_eq!(doc["sample_type"]["name"], pprof_type.as_str(), "{}", Path::new(&f).display());
    }
}

/// Tests find the corpus only through `common::corpus()`, which
/// `LEAKSCOPE_HIDE_CORPUS` hides: `.ci/run`'s run without the corpus
/// then covers every test, so none can need `../shared` unnoticed.
#[test]
fn the_corpus_is_found_only_through_common() {
    // A string literal naming the corpus's folder or its manifest (written
    // so that this line does not match itself).
    let lit = regex::Regex::new(r#""[^"]*(shar[e]d/|MANIFEST[.]tsv)[^"]*"|"shar[e]d""#).unwrap();
    let mut offenders = Vec::new();
    let mut stack = vec![root().join("tests"), root().join("fuzz/fuzz_targets")];
    let mut scanned = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") || p.ends_with("tests/common/mod.rs") {
                continue;
            }
            scanned += 1;
            let text = std::fs::read_to_string(&p).unwrap();
            for (n, line) in text.lines().enumerate() {
                if !line.trim_start().starts_with("//") && lit.is_match(line) {
                    offenders.push(format!("{}:{}: {}", p.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(scanned > 10, "scanned only {scanned} files");
    assert!(offenders.is_empty(), "use common::corpus() instead:\n{}", offenders.join("\n"));
}
