//! Test helpers: the `go tool pprof -raw` oracle, the corpus, and running
//! the built binary.
//!
//! Expected values are never typed by hand: they are computed here from
//! the text that `go tool pprof -raw` prints for the same file, i.e. from
//! pprof's own parse of the profile (after its validation and
//! drop_frames pruning), aggregated with pprof's graph rules.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// True when running under CI, where skipping is not allowed.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Prints a line that `cargo test` does not capture, so a skip is visible.
pub fn visible(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// The `go` binary, or `None` (after a visible message) when absent.
/// Under CI a missing `go` is a failure.
pub fn go() -> Option<PathBuf> {
    let candidates = [PathBuf::from("go"), PathBuf::from("/usr/local/go/bin/go")];
    for c in candidates {
        if Command::new(&c).arg("version").output().is_ok_and(|o| o.status.success()) {
            return Some(c);
        }
    }
    assert!(!in_ci(), "CI=true but `go` is not installed: parity tests cannot run");
    visible("SKIPPED: `go` not found; pprof parity tests need `go tool pprof`");
    None
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Set (to anything but empty or `0`) to hide `../shared/corpus` from the
/// tests, as on a fresh clone: `.ci/run` runs `cargo test` once this way.
pub const HIDE_CORPUS: &str = "LEAKSCOPE_HIDE_CORPUS";

/// Whether [`HIDE_CORPUS`] hides the corpus.
pub fn corpus_hidden() -> bool {
    std::env::var_os(HIDE_CORPUS).is_some_and(|v| !v.is_empty() && v != "0")
}

/// The one way tests find the shared corpus: `../shared/corpus`, or `None`
/// (after a visible `SKIPPED:` line) when it is absent or hidden by
/// [`HIDE_CORPUS`]. Under CI a missing or hidden corpus is a failure.
/// Every test that uses corpus files must get them from here, and must
/// pass without them.
pub fn corpus() -> Option<PathBuf> {
    let dir = root().join("../shared/corpus");
    let hidden = corpus_hidden();
    if !hidden && dir.join("MANIFEST.tsv").is_file() {
        return Some(dir);
    }
    let why = if hidden { format!("hidden by {HIDE_CORPUS}") } else { "not found".to_string() };
    assert!(!in_ci(), "CI=true but ../shared/corpus is {why}: corpus tests cannot run");
    visible(&format!("SKIPPED: ../shared/corpus {why}; corpus tests need it"));
    None
}

/// `../shared/pyroscope/run.sh`, which starts the real Pyroscope server the
/// Pyroscope tests use, or `None` (after a visible `SKIPPED:` line) when it
/// is absent or hidden by [`HIDE_CORPUS`] (as on a fresh clone). Under CI a
/// missing or hidden one is a failure.
pub fn pyroscope_run_sh() -> Option<PathBuf> {
    let f = root().join("../shared/pyroscope/run.sh");
    let hidden = corpus_hidden();
    if !hidden && f.is_file() {
        return Some(f);
    }
    let why = if hidden { format!("hidden by {HIDE_CORPUS}") } else { "not found".to_string() };
    assert!(!in_ci(), "CI=true but ../shared/pyroscope/run.sh is {why}: the Pyroscope tests cannot run");
    visible(&format!("SKIPPED: ../shared/pyroscope/run.sh {why}; the Pyroscope tests need the real server"));
    None
}

/// One row of the corpus manifest.
#[derive(Debug, Clone)]
pub struct CorpusFile {
    pub path: PathBuf,
    pub kind: String,
    pub format: String,
}

/// The corpus manifest's rows.
pub fn corpus_files(dir: &Path) -> Vec<CorpusFile> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("read MANIFEST.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (cf, ck, cfmt) = (col("file"), col("kind"), col("format"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            CorpusFile { path: dir.join(f[cf]), kind: f[ck].to_string(), format: f[cfmt].to_string() }
        })
        .collect()
}

/// Protobuf profiles (raw or gzip) in the corpus.
pub fn corpus_protobufs(dir: &Path) -> Vec<PathBuf> {
    corpus_files(dir).into_iter().filter(|f| f.format == "pb" || f.format == "pb.gz").map(|f| f.path).collect()
}

/// Our own generated profiles under testdata/ (any depth).
pub fn testdata_profiles() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root().join("testdata")];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "gen") {
                    continue;
                }
                stack.push(p);
            } else {
                let n = p.file_name().unwrap().to_string_lossy().to_string();
                if n.ends_with(".pb.gz") || n.ends_with(".pb") {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// Runs the built `leakscope` binary.
pub fn leakscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakscope")).args(args).output().expect("run leakscope")
}

/// Runs `leakscope` and parses its stdout as JSON; panics with stderr on failure.
pub fn leakscope_json(args: &[&str]) -> serde_json::Value {
    let o = leakscope(args);
    assert!(o.status.success(), "leakscope {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("leakscope printed JSON")
}

/// One source line of a location, as `-raw` prints it.
#[derive(Debug, Clone)]
pub struct RawLine {
    pub name: String,
    pub file: String,
    pub line: i64,
    pub column: i64,
    pub start_line: i64,
}

/// A location from `-raw`.
#[derive(Debug, Clone)]
pub struct RawLocation {
    pub address: u64,
    pub mapping: Option<u64>,
    pub lines: Vec<RawLine>,
}

/// A profile as `go tool pprof -raw` shows it.
#[derive(Debug, Clone, Default)]
pub struct RawProfile {
    pub sample_types: Vec<(String, String)>,
    pub samples: Vec<(Vec<i64>, Vec<u64>)>,
    pub locations: BTreeMap<u64, RawLocation>,
    pub mapping_files: BTreeMap<u64, String>,
}

/// Runs `go tool pprof -raw` on `path` (with `-base` when given) and parses it.
pub fn pprof_raw(go: &Path, path: &Path, base: Option<&Path>) -> RawProfile {
    let mut cmd = Command::new(go);
    cmd.args(["tool", "pprof", "-raw", "-symbolize=none"]);
    if let Some(b) = base {
        cmd.arg("-base").arg(b);
    }
    cmd.arg(path);
    let o = cmd.output().expect("run go tool pprof");
    assert!(o.status.success(), "go tool pprof -raw {} failed: {}", path.display(), String::from_utf8_lossy(&o.stderr));
    parse_raw(&String::from_utf8_lossy(&o.stdout))
}

fn parse_line(s: &str) -> RawLine {
    // "NAME FILE:LINE:COL s=START" optionally followed by "(SYSTEMNAME)".
    // Names may contain spaces (Go generic shapes); files are taken to have
    // none, which holds for every profile we test.
    let re = regex::Regex::new(r"^(.*) (\S*):(-?\d+):(-?\d+) s=(-?\d+)(\(.*\))?$").unwrap();
    let c = re.captures(s).unwrap_or_else(|| panic!("unparsed -raw line {s:?}"));
    RawLine {
        name: c[1].to_string(),
        file: c[2].to_string(),
        line: c[3].parse().unwrap(),
        column: c[4].parse().unwrap(),
        start_line: c[5].parse().unwrap(),
    }
}

/// Parses the text of `Profile.String()`.
pub fn parse_raw(text: &str) -> RawProfile {
    #[derive(PartialEq)]
    enum Sec {
        Head,
        Types,
        Samples,
        Locations,
        Mappings,
    }
    let sample_re = regex::Regex::new(r"^((?:\s+-?\d+)+): ((?:\d+ )*)$").unwrap();
    let loc_re = regex::Regex::new(r"^\s*(\d+): 0x([0-9a-f]+) (?:M=(\d+) )?(?:\[F\] )?(.*)$").unwrap();
    let map_re = regex::Regex::new(r"^(\d+): 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ (.*)$").unwrap();
    let mut p = RawProfile::default();
    let mut sec = Sec::Head;
    let mut last_loc: Option<u64> = None;
    for line in text.lines() {
        match line {
            "Samples:" => {
                sec = Sec::Types;
                continue;
            }
            "Locations" => {
                sec = Sec::Locations;
                continue;
            }
            "Mappings" => {
                sec = Sec::Mappings;
                continue;
            }
            _ => {}
        }
        match sec {
            Sec::Head => {}
            Sec::Types => {
                for t in line.split_whitespace() {
                    let t = t.trim_end_matches("[dflt]");
                    let (ty, unit) = t.split_once('/').expect("type/unit");
                    p.sample_types.push((ty.to_string(), unit.to_string()));
                }
                sec = Sec::Samples;
            }
            Sec::Samples => {
                if let Some(c) = sample_re.captures(line) {
                    let vals = c[1].split_whitespace().map(|v| v.parse().unwrap()).collect();
                    let ids = c[2].split_whitespace().map(|v| v.parse().unwrap()).collect();
                    p.samples.push((vals, ids));
                } else {
                    assert!(line.starts_with("                "), "unexpected -raw sample line {line:?}");
                }
            }
            Sec::Locations => {
                if let Some(c) = loc_re.captures(line) {
                    let id: u64 = c[1].parse().unwrap();
                    let address = u64::from_str_radix(&c[2], 16).unwrap();
                    let mapping = c.get(3).map(|m| m.as_str().parse().unwrap());
                    let rest = &c[4];
                    let mut lines = Vec::new();
                    if !rest.is_empty() {
                        assert_ne!(rest, "??", "line without function in -raw");
                        lines.push(parse_line(rest));
                    }
                    p.locations.insert(id, RawLocation { address, mapping, lines });
                    last_loc = Some(id);
                } else {
                    let cont = line.strip_prefix("             ").expect("inline continuation line");
                    let id = last_loc.expect("continuation after a location");
                    p.locations.get_mut(&id).unwrap().lines.push(parse_line(cont));
                }
            }
            Sec::Mappings => {
                if let Some(c) = map_re.captures(line) {
                    let file = c[2].split(' ').next().unwrap_or("").to_string();
                    p.mapping_files.insert(c[1].parse().unwrap(), file);
                }
            }
        }
    }
    p
}

/// Go's `filepath.Clean` (Unix), as pprof applies it to file names.
pub fn go_clean(p: &str) -> String {
    leakscope::graph::clean_path(p)
}

/// pprof's node key for one line at a granularity, rendered as the
/// printable name, plus the distinguishing fields it hides.
fn node_key(g: &str, loc: &RawLocation, l: Option<&RawLine>, objfile: &str) -> (String, String) {
    let (function, filename, linenumber, address) = match g {
        "functions" => (true, false, false, false),
        "filefunctions" => (true, true, false, false),
        "files" => (false, true, false, false),
        "lines" => (true, true, true, false),
        "addresses" => (true, true, true, true),
        _ => panic!("granularity {g}"),
    };
    let addr = if address { loc.address } else { 0 };
    let (name, file, line, col, start) = match l {
        None => (String::new(), String::new(), 0, 0, 0),
        Some(l) => (
            if function { l.name.clone() } else { String::new() },
            if filename && !l.file.is_empty() { go_clean(&l.file) } else { String::new() },
            if linenumber { l.line } else { 0 },
            if address { l.column } else { 0 },
            l.start_line,
        ),
    };
    let (obj, start) = if name.is_empty() { (objfile.to_string(), start) } else { (String::new(), 0) };
    let mut parts = Vec::new();
    if addr != 0 {
        parts.push(format!("{addr:016x}"));
    }
    if !name.is_empty() {
        parts.push(name.clone());
    }
    if line != 0 {
        let mut s = format!("{file}:{line}");
        if col != 0 {
            s += &format!(":{col}");
        }
        parts.push(s);
    } else if !file.is_empty() {
        parts.push(file.clone());
    } else if !name.is_empty() {
    } else if !obj.is_empty() {
        parts.push(format!("[{}]", obj.rsplit('/').next().unwrap()));
    } else {
        parts.push("<unknown>".into());
    }
    let printable = parts.join(" ");
    let hidden = format!("{addr}|{name}|{file}|{line}|{col}|{obj}|{start}");
    (printable, hidden)
}

/// Expected `top` rows (name, flat, cum), sorted, for sample type `t` at
/// granularity `g`, computed from a `-raw` profile with pprof's rules:
/// every line of every location is a node; cum once per sample per node;
/// flat to the innermost line of the leaf location; rows with zero flat
/// and cum are not shown. Also returns pprof's total (sum of |value|).
pub fn expected_top(p: &RawProfile, t: usize, g: &str) -> (i64, Vec<(String, i64, i64)>) {
    let mut loc_nodes: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
    for (id, loc) in &p.locations {
        let obj = loc.mapping.and_then(|m| p.mapping_files.get(&m)).cloned().unwrap_or_default();
        let nodes = if loc.lines.is_empty() {
            vec![node_key(g, loc, None, &obj)]
        } else {
            loc.lines.iter().map(|l| node_key(g, loc, Some(l), &obj)).collect()
        };
        loc_nodes.insert(*id, nodes);
    }
    let mut acc: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    let mut total = 0i64;
    for (vals, ids) in &p.samples {
        let v = vals[t];
        total += v.abs();
        if v == 0 {
            continue;
        }
        let mut seen = std::collections::HashSet::new();
        for id in ids {
            for k in &loc_nodes[id] {
                if seen.insert(k.clone()) {
                    acc.entry(k.clone()).or_default().1 += v;
                }
            }
        }
        if let Some(first) = ids.first() {
            acc.entry(loc_nodes[first][0].clone()).or_default().0 += v;
        }
    }
    let mut rows: Vec<(String, i64, i64)> =
        acc.into_iter().filter(|(_, (f, c))| *f != 0 || *c != 0).map(|((name, _), (f, c))| (name, f, c)).collect();
    rows.sort();
    (total, rows)
}

/// Rows of a `top --format json` document, sorted.
pub fn json_rows(doc: &serde_json::Value) -> Vec<(String, i64, i64)> {
    let mut rows: Vec<(String, i64, i64)> = doc["functions"]
        .as_array()
        .expect("functions array")
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_string(), r["flat"].as_i64().unwrap(), r["cum"].as_i64().unwrap()))
        .collect();
    rows.sort();
    rows
}

/// Rows of a `diff --format json` document: (name, flat_delta, cum_delta), sorted.
pub fn delta_rows(doc: &serde_json::Value) -> Vec<(String, i64, i64)> {
    let mut rows: Vec<(String, i64, i64)> = doc["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["flat_delta"].as_i64().unwrap(),
                r["cum_delta"].as_i64().unwrap(),
            )
        })
        .collect();
    rows.sort();
    rows
}
