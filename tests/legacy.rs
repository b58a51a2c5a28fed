//! Legacy text profiles (`?debug=1` heap and goroutine, `?debug=2`
//! goroutine dumps) against `go tool pprof -raw` and against their twins.
//!
//! Expected values come from pprof's own parse of the same file, from the
//! file's text (the `#` frames, the MemStats trailer), or from a twin
//! written by the same program; none is typed by hand.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use leakscope::profile::{LegacyFormat, Profile};

fn read(path: &Path) -> Profile {
    leakscope::source::read_profile(path).unwrap_or_else(|e| panic!("{e}"))
}

/// Legacy text files: the corpus's `legacy-text` rows (when the corpus is
/// there) and testdata/profiles/*.txt.
fn legacy_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("testdata/profiles"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    assert!(files.len() >= 4, "testdata/profiles/*.txt fixtures are missing (testdata/gen/regen-goroutinedump.sh)");
    if let Some(dir) = corpus() {
        let rows: Vec<PathBuf> =
            corpus_files(&dir).into_iter().filter(|f| f.format == "legacy-text").map(|f| f.path).collect();
        assert!(rows.len() >= 4, "the corpus lists fewer legacy-text files than expected");
        files.extend(rows);
    }
    files.sort();
    files
}

/// The files `go tool pprof` reads (everything but goroutine dumps).
fn debug1_files() -> Vec<PathBuf> {
    legacy_files().into_iter().filter(|f| read(f).legacy != Some(LegacyFormat::GoroutineDump)).collect()
}

fn testdata(name: &str) -> PathBuf {
    root().join("testdata/profiles").join(name)
}

/// `go tool pprof -raw` output.
fn raw_text(go: &Path, path: &Path) -> String {
    let o = Command::new(go).args(["tool", "pprof", "-raw", "-symbolize=none"]).arg(path).output().unwrap();
    assert!(o.status.success(), "go tool pprof -raw {}: {}", path.display(), String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// One sample: values, stack addresses (leaf first), labels as `-raw`
/// prints them (`key:[value]`, sorted).
type Sample = (Vec<i64>, Vec<u64>, Vec<String>);

/// Everything `-raw` shows that a legacy parse decides: period type and
/// period, sample types, and the samples as a sorted multiset.
#[derive(Debug, PartialEq)]
struct Shape {
    period_type: String,
    period: i64,
    sample_types: Vec<(String, String)>,
    samples: Vec<Sample>,
}

fn pprof_shape(text: &str) -> Shape {
    let raw = parse_raw(text);
    let head = |k: &str| text.lines().find_map(|l| l.strip_prefix(k)).unwrap_or("").trim().to_string();
    // Label lines follow their sample, indented 16 spaces.
    let mut labels: Vec<Vec<String>> = Vec::new();
    let mut in_samples = false;
    for l in text.lines() {
        match l {
            "Samples:" => in_samples = true,
            "Locations" => break,
            _ if in_samples && l.contains(": ") && !l.starts_with("                ") => labels.push(Vec::new()),
            _ if in_samples && l.starts_with("                ") => {
                let last = labels.last_mut().expect("labels after a sample");
                last.extend(l.split_whitespace().map(str::to_string));
                last.sort();
            }
            _ => {}
        }
    }
    assert_eq!(labels.len(), raw.samples.len());
    let mut samples: Vec<Sample> = raw
        .samples
        .iter()
        .zip(labels)
        .map(|((v, ids), l)| (v.clone(), ids.iter().map(|id| raw.locations[id].address).collect(), l))
        .collect();
    samples.sort();
    Shape {
        period_type: head("PeriodType:").replace(' ', "/"),
        period: head("Period:").parse().unwrap(),
        sample_types: raw.sample_types,
        samples,
    }
}

fn our_shape(p: &Profile) -> Shape {
    let mut samples: Vec<Sample> = (0..p.num_samples())
        .map(|i| {
            let addrs = p.stack(i).iter().map(|&l| p.locations[l as usize].address).collect();
            let mut labels: Vec<String> = p
                .sample_labels(i)
                .iter()
                .map(|l| {
                    let v = if l.str != 0 { p.str(l.str).to_string() } else { l.num.to_string() };
                    format!("{}:[{v}]", p.str(l.key))
                })
                .collect();
            labels.sort();
            (p.sample_values(i).to_vec(), addrs, labels)
        })
        .collect();
    samples.sort();
    Shape {
        period_type: format!("{}/{}", p.str(p.period_type.ty), p.str(p.period_type.unit)),
        period: p.period,
        sample_types: (0..p.sample_types.len())
            .map(|i| (p.sample_type_name(i).to_string(), p.sample_type_unit(i).to_string()))
            .collect(),
        samples,
    }
}

/// Our shape without the labels pprof does not read (`# labels:`).
fn without_text_labels(mut s: Shape) -> Shape {
    for x in &mut s.samples {
        x.2.retain(|l| l.starts_with("bytes:["));
    }
    s.samples.sort();
    s
}

fn compare(path: &Path, want: &Shape, got: &Shape) -> Option<String> {
    if want == got {
        return None;
    }
    let mut msg = format!("{}:", path.display());
    if (&want.period_type, want.period) != (&got.period_type, got.period) {
        msg += &format!(" period {} {} != pprof {} {};", got.period_type, got.period, want.period_type, want.period);
    }
    if want.sample_types != got.sample_types {
        msg += &format!(" sample types {:?} != pprof {:?};", got.sample_types, want.sample_types);
    }
    let only_pprof: Vec<_> = want.samples.iter().filter(|s| !got.samples.contains(s)).take(3).collect();
    let only_ours: Vec<_> = got.samples.iter().filter(|s| !want.samples.contains(s)).take(3).collect();
    msg += &format!(
        " {} samples vs pprof {}; pprof-only {only_pprof:?}; ours-only {only_ours:?}",
        got.samples.len(),
        want.samples.len()
    );
    Some(msg)
}

/// Every `?debug=1` file: period, sample types, and every sample's values,
/// addresses and `bytes` label equal to `go tool pprof -raw`'s, exactly.
#[test]
fn debug1_matches_pprof_raw() {
    let Some(go) = go() else { return };
    let files = debug1_files();
    let mut failures = Vec::new();
    let mut samples = 0;
    for f in &files {
        let want = pprof_shape(&raw_text(&go, f));
        let p = read(f);
        let got = without_text_labels(our_shape(&p));
        samples += got.samples.len();
        // Totals as pprof computes them (sum of |value|).
        let totals: Vec<i64> =
            (0..want.sample_types.len()).map(|t| want.samples.iter().map(|s| s.0[t].abs()).sum()).collect();
        if p.totals() != totals {
            failures.push(format!("{}: totals {:?} != pprof {totals:?}", f.display(), p.totals()));
        }
        failures.extend(compare(f, &want, &got));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    visible(&format!("legacy parity: {} files, {samples} samples equal to go tool pprof -raw", files.len()));
}

/// A tiny deterministic generator (no dependency on a random crate).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 11
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Synthetic heap profiles for every header variant pprof distinguishes,
/// with counts and sizes over many orders of magnitude, odd averages,
/// negative and overflowing values: the scaling (1 / (1 - exp(-avg/rate)),
/// truncated) must give pprof's integers exactly.
#[test]
fn heap_scaling_matches_pprof_on_synthetic_records() {
    let Some(go) = go() else { return };
    let dir = tempfile::tempdir().unwrap();
    let headers = [
        "heap profile: 1: 2 [3: 4] @ heap/1048576",
        "heap profile: 1: 2 [3: 4] @ heap/32768",
        "heap profile: 1: 2 [3: 4] @ heap/1025",
        "heap profile: 1: 2 [3: 4] @ heap/3",
        "heap profile: 1: 2 [3: 4] @ heap/2",
        "heap profile: 1: 2 [3: 4] @ heap",
        "heap profile: 1: 2 [3: 4] @ heap_v2/524288",
        "heap profile: 1: 2 [3: 4] @ heapz_v2/4096",
        "heap profile: 1: 2 [3: 4] @ heapprofile",
        "heap profile: 1: 2 [1: 2] @ heap/1048576",
        "heap profile: 5: 6 [0: 0] @ heap_v2/512",
        "heap profile:1:2[ 3:4 ]@heap/1048576",
    ];
    let mut rng = Lcg(0x1e9a_c5c0);
    let mut failures = Vec::new();
    let mut records = 0;
    for (h, header) in headers.iter().enumerate() {
        let mut text = format!("{header}\n");
        for r in 0..400 {
            let mut pair = |allow_neg: bool| -> (i64, i64) {
                let count = match rng.below(6) {
                    0 => 0,
                    1 => 1 + rng.below(3) as i64,
                    2 => 1 + rng.below(1000) as i64,
                    _ => {
                        let bits = 1 + rng.below(40);
                        1 + rng.below(1 << bits) as i64
                    }
                };
                if count == 0 {
                    return (0, 0);
                }
                let bits = 1 + rng.below(30);
                let avg = 1 + rng.below(1 << bits) as i64;
                let size = count.saturating_mul(avg).saturating_add(rng.below(count as u64) as i64);
                if allow_neg && rng.below(20) == 0 {
                    (-count, -size)
                } else {
                    (count, size)
                }
            };
            let (ic, is) = pair(true);
            let (ac, asz) = if r % 50 == 7 {
                // Products that overflow int64 after scaling.
                (i64::MAX / 2, i64::MAX - 7)
            } else {
                pair(false)
            };
            text += &format!("{ic}: {is} [{ac}: {asz}] @");
            for _ in 0..rng.below(5) {
                text += &format!(" 0x{:x}", rng.below(1 << 40));
            }
            if r % 97 == 3 {
                text += " 0x0"; // pprof wraps 0 - 1 to 0xffffffffffffffff
            }
            text += if r % 3 == 0 { "\r\n" } else { "\n" };
            records += 1;
        }
        let path = dir.path().join(format!("synthetic-{h}.heap"));
        std::fs::write(&path, &text).unwrap();
        let want = pprof_shape(&raw_text(&go, &path));
        let got = without_text_labels(our_shape(&read(&path)));
        failures.extend(compare(&path, &want, &got).map(|m| format!("{header}: {m}")));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    visible(&format!(
        "legacy heap scaling: {records} synthetic records in {} header variants equal to pprof",
        headers.len()
    ));
}

/// A source line: function, file, line number.
type SrcLine = (String, String, i64);

/// The `#` frames of a debug=1 file: PC to the (function, file, line) list
/// printed for it, innermost first, once per distinct PC.
fn frames_in_text(text: &str) -> HashMap<u64, Vec<SrcLine>> {
    let mut out: HashMap<u64, Vec<SrcLine>> = HashMap::new();
    let mut run: Option<(u64, Vec<SrcLine>)> = None;
    let mut flush = |run: &mut Option<(u64, Vec<SrcLine>)>| {
        if let Some((pc, v)) = run.take() {
            out.entry(pc).or_insert(v);
        }
    };
    for l in text.lines() {
        let l = l.trim_end_matches('\r');
        let fields: Vec<&str> = l.split('\t').filter(|f| !f.is_empty()).collect();
        if fields.len() != 4 || fields[0] != "#" {
            flush(&mut run);
            continue;
        }
        let pc = u64::from_str_radix(fields[1].trim_start_matches("0x"), 16).unwrap();
        let func = fields[2].rsplit_once("+0x").unwrap().0.to_string();
        let (file, line) = fields[3].rsplit_once(':').unwrap();
        let frame = (func, file.to_string(), line.parse().unwrap());
        match &mut run {
            // Consecutive frames at one PC: inlined calls, unless the same
            // frame repeats (recursion), which starts a new run.
            Some((p, v)) if *p == pc && !v.contains(&frame) => v.push(frame),
            _ => {
                flush(&mut run);
                run = Some((pc, vec![frame]));
            }
        }
    }
    flush(&mut run);
    out
}

/// Locations get exactly the frames the runtime printed for their PC, and
/// every printed frame lands on a location.
#[test]
fn symbolized_frames_match_the_text() {
    let mut failures = Vec::new();
    for f in debug1_files() {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        let want = frames_in_text(&text);
        let p = read(&f);
        let mut named = 0;
        for loc in &p.locations {
            let got: Vec<SrcLine> = loc
                .lines()
                .map(|i| {
                    let l = &p.lines[i];
                    let func = &p.functions[l.function as usize];
                    (p.str(func.name).to_string(), p.str(func.filename).to_string(), l.line)
                })
                .collect();
            match want.get(&loc.address) {
                Some(w) if *w == got => named += 1,
                None if got.is_empty() => {}
                w => failures.push(format!("{} {:#x}: lines {got:?}, text {w:?}", f.display(), loc.address)),
            }
        }
        if named != want.len() {
            failures.push(format!("{}: {named} symbolized locations, text names {} PCs", f.display(), want.len()));
        }
        for s in all_strings(&p) {
            if s.contains('\r') {
                failures.push(format!("{}: string {s:?} keeps a CR", f.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The profile's string table.
fn all_strings(p: &Profile) -> Vec<&str> {
    (0..p.strings.len() as u64).map(|i| p.str(i)).collect()
}

/// The CRLF copy reads exactly as the original.
#[test]
fn crlf_reads_as_lf() {
    let lf = read(&testdata("gen-heap.debug1.txt"));
    let crlf = read(&testdata("gen-heap.debug1.crlf.txt"));
    assert_eq!(our_shape(&lf), our_shape(&crlf));
    assert_eq!(all_strings(&lf), all_strings(&crlf));
    assert_eq!(lf.memstats, crlf.memstats);
    assert!(lf.memstats.is_some());
    // And goroutine text converted on the fly, with labels and frames.
    let text = std::fs::read_to_string(testdata("gen-goroutine.debug1.txt")).unwrap();
    let a = leakscope::pprof::parse(text.as_bytes()).unwrap();
    let b = leakscope::pprof::parse(text.replace('\n', "\r\n").as_bytes()).unwrap();
    assert_eq!(our_shape(&a), our_shape(&b));
    assert_eq!(all_strings(&a), all_strings(&b));
    let text = std::fs::read_to_string(testdata("gen-goroutine.debug2.txt")).unwrap();
    let a = leakscope::pprof::parse(text.as_bytes()).unwrap();
    let b = leakscope::pprof::parse(text.replace('\n', "\r\n").as_bytes()).unwrap();
    assert_eq!(our_shape(&a), our_shape(&b));
    assert_eq!(all_strings(&a), all_strings(&b));
}

/// `# Name = value` lines of a file's MemStats trailer.
fn trailer(text: &str) -> BTreeMap<String, String> {
    let Some(start) = text.find("# runtime.MemStats") else { return BTreeMap::new() };
    text[start..]
        .lines()
        .filter_map(|l| l.trim_end_matches('\r').strip_prefix("# ")?.split_once(" = "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The MemStats trailer is read into the profile and shown by `info`.
#[test]
fn memstats_trailer() {
    let corpus = corpus();
    let (mut checked, mut ours) = (0, 0);
    for f in debug1_files() {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        let want = trailer(&text);
        let p = read(&f);
        let in_corpus = corpus.as_ref().is_some_and(|c| f.starts_with(c));
        // runtime/pprof ends every debug=1 heap profile with the trailer,
        // so each of ours has one.
        if !in_corpus && p.legacy == Some(LegacyFormat::Heap) {
            assert!(!want.is_empty(), "{}: our debug=1 heap profile has no MemStats trailer", f.display());
            ours += 1;
        }
        let Some(ms) = &p.memstats else {
            assert!(want.is_empty(), "{}: trailer not read", f.display());
            continue;
        };
        checked += 1;
        let entries: BTreeMap<String, String> = ms.entries.iter().cloned().collect();
        assert_eq!(entries, want, "{}", f.display());
        let num = |k: &str| want.get(k).map(|v| v.parse::<u64>().unwrap());
        let pair = |k: &str, i: usize| want.get(k).map(|v| v.split(" / ").nth(i).unwrap().parse::<u64>().unwrap());
        assert_eq!(ms.heap_alloc, num("HeapAlloc"));
        assert_eq!(ms.heap_inuse, num("HeapInuse"));
        assert_eq!(ms.heap_objects, num("HeapObjects"));
        assert_eq!(ms.total_alloc, num("TotalAlloc"));
        assert_eq!(ms.next_gc, num("NextGC"));
        assert_eq!(ms.num_gc, num("NumGC"));
        assert_eq!(ms.stack_inuse, pair("Stack", 0));
        assert_eq!(ms.stack_sys, pair("Stack", 1));
        assert_eq!(ms.mspan_sys, pair("MSpan", 1));
        assert_eq!(ms.max_rss, num("MaxRSS"));
        assert!(ms.alloc.is_some() && ms.sys.is_some() && ms.gc_sys.is_some() && ms.gc_cpu_fraction.is_some());

        let doc = leakscope_json(&["info", "--format", "json", f.to_str().unwrap()]);
        assert_eq!(doc["memstats"]["HeapAlloc"].as_u64(), num("HeapAlloc"), "{}", f.display());
        assert_eq!(doc["memstats"]["StackInuse"].as_u64(), pair("Stack", 0));
        assert_eq!(doc["memstats"]["other"]["PauseNs"].as_str(), want.get("PauseNs").map(String::as_str));
        let o = leakscope(&["info", f.to_str().unwrap()]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("MemStats:") && out.contains("HeapAlloc"), "{out}");
    }
    assert!(ours >= 1, "testdata/profiles has no debug=1 heap profile");
    if corpus.is_some() {
        // The corpus adds real ones from other programs.
        assert!(checked >= 3, "only {checked} files with a MemStats trailer");
    } else {
        assert_eq!(checked, ours, "without the corpus, the trailers are our heap profiles'");
    }
    let doc = leakscope_json(&["info", "--format", "json", testdata("gen-goroutine.debug1.txt").to_str().unwrap()]);
    assert!(doc.get("memstats").is_none());
}

/// Per-function cum (goroutines whose stack holds the function) from
/// `leakscope top --format json`.
fn cum_by_function(path: &Path) -> (i64, BTreeMap<String, i64>) {
    let doc = leakscope_json(&["top", "--format", "json", "--nodecount", "0", path.to_str().unwrap()]);
    let rows = json_rows(&doc).into_iter().map(|(n, _, cum)| (n, cum)).collect();
    (doc["total"].as_i64().unwrap(), rows)
}

/// The debug=2 dump and the debug=1 profile written right before it by the
/// same process: the same goroutines, so the same total and the same
/// count per function outside the goroutine that wrote them; every
/// goroutine but main has a `created_by` label and all have a `state`.
#[test]
fn goroutine_dump_matches_its_debug1_twin() {
    let d1 = testdata("gen-goroutine.debug1.txt");
    let d2 = testdata("gen-goroutine.debug2.txt");
    let p = read(&d2);
    assert_eq!(p.legacy, Some(LegacyFormat::GoroutineDump));
    assert_eq!((p.sample_type_name(0), p.sample_type_unit(0)), ("goroutine", "count"));
    let text = std::fs::read_to_string(&d2).unwrap();
    let headers = text.lines().filter(|l| l.starts_with("goroutine ") && l.ends_with("]:")).count() as i64;
    let (t1, cum1) = cum_by_function(&d1);
    let (t2, cum2) = cum_by_function(&d2);
    assert_eq!(t2, headers);
    assert_eq!(t1, t2, "debug=1 total vs debug=2 goroutines");
    let writer = |cum: &BTreeMap<String, i64>| -> BTreeSet<String> {
        // Functions on the writing goroutine's stack (its count is 1).
        // debug=2 tracebacks also hide runtime.main.
        cum.keys().filter(|k| k.starts_with("runtime") || *k == "main.lookup" || *k == "main.main").cloned().collect()
    };
    let skip: BTreeSet<String> = writer(&cum1).union(&writer(&cum2)).cloned().collect();
    for (name, c1) in cum1.iter().filter(|(n, _)| !skip.contains(*n) && *n != "<unknown>") {
        assert_eq!(cum2.get(name), Some(c1), "{name}: debug=1 {c1}, debug=2 {:?}", cum2.get(name));
    }
    assert!(cum1.keys().any(|k| k == "main.handleRequest.func1"));

    // Labels: state on every sample, created_by on all but goroutine 1.
    let mut created = BTreeMap::new();
    let mut without = 0;
    for i in 0..p.num_samples() {
        let labels: HashMap<&str, &str> = p.sample_labels(i).iter().map(|l| (p.str(l.key), p.str(l.str))).collect();
        assert!(labels.get("state").is_some_and(|s| !s.is_empty()), "sample {i} has no state");
        match labels.get("created_by") {
            Some(c) => *created.entry(c.to_string()).or_insert(0) += p.sample_values(i)[0],
            None => without += p.sample_values(i)[0],
        }
    }
    assert_eq!(without, 1, "only the main goroutine has no creator");
    assert_eq!(created.values().sum::<i64>(), headers - 1);
    // The leaked goroutines run main.handleRequest.func1, created by main.handleRequest.
    assert_eq!(created.get("main.handleRequest"), cum2.get("main.handleRequest.func1"));
    let states: BTreeSet<&str> = p.labels.iter().filter(|l| p.str(l.key) == "state").map(|l| p.str(l.str)).collect();
    for s in ["running", "chan receive", "sync.Mutex.Lock", "sleep"] {
        assert!(states.contains(s), "no goroutine in state {s:?}: {states:?}");
    }
    // Identical goroutines were merged: fewer samples than goroutines.
    assert!((p.num_samples() as i64) < headers);
}

/// profiler-notes' goroutine profile as debug=1 text and as protobuf, from
/// the same process: same total and labels; the same functions except
/// that debug=1 hides each stack's leading runtime frames (runtime.gopark
/// and its callers inside the runtime), and except the goroutine that
/// wrote each file (main.glob..func3 wrote the protobuf, func4 the text).
#[test]
fn goroutine_debug1_agrees_with_its_protobuf_twin() {
    let Some(dir) = corpus() else { return };
    let text = read(&dir.join("profiler-notes__goroutine.debug1.txt"));
    let pb = read(&dir.join("profiler-notes__goroutine.debug0.pb.gz"));
    assert_eq!(text.totals(), pb.totals());
    let names = |p: &Profile| -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for i in 0..p.num_samples() {
            let fns: Vec<String> = p
                .stack(i)
                .iter()
                .flat_map(|&l| p.locations[l as usize].lines())
                .map(|li| p.str(p.functions[p.lines[li].function as usize].name).to_string())
                .collect();
            if !fns.iter().any(|f| f == "runtime/pprof.writeGoroutine") {
                out.extend(fns);
            }
        }
        out
    };
    let (n1, n0) = (names(&text), names(&pb));
    assert!(n1.len() > 10, "{n1:?}");
    let extra: Vec<_> = n1.difference(&n0).collect();
    assert!(extra.is_empty(), "debug=1 names not in the protobuf: {extra:?}");
    let hidden: Vec<_> = n0.difference(&n1).collect();
    assert!(hidden.iter().all(|n| n.starts_with("runtime.")), "{hidden:?}");
    assert!(hidden.iter().any(|n| *n == "runtime.gopark"));
    let labelled = |p: &Profile, key: &str| -> i64 {
        (0..p.num_samples())
            .filter(|&i| p.sample_labels(i).iter().any(|l| p.str(l.key) == key))
            .map(|i| p.sample_values(i)[0])
            .sum()
    };
    assert_eq!(labelled(&text, "test_label"), labelled(&pb, "test_label"));
    assert!(labelled(&text, "test_label") > 0);
}

/// `leakscope top --format json` works on every legacy file, and its total
/// is the profile's.
#[test]
fn top_json_on_legacy_files() {
    for f in legacy_files() {
        let p = read(&f);
        let doc = leakscope_json(&["top", "--format", "json", "--nodecount", "0", f.to_str().unwrap()]);
        let t = p.default_sample_index().unwrap();
        assert_eq!(doc["total"].as_i64(), Some(p.totals()[t]), "{}", f.display());
        assert!(!json_rows(&doc).is_empty(), "{}", f.display());
        let o = leakscope(&["top", f.to_str().unwrap()]);
        assert!(o.status.success(), "{}: {}", f.display(), String::from_utf8_lossy(&o.stderr));
    }
}

/// Detection is by content: a byte order mark, leading blank lines and a
/// misleading file name do not matter.
#[test]
fn detected_by_content() {
    let text = std::fs::read(testdata("gen-goroutine.debug1.txt")).unwrap();
    let want = our_shape(&leakscope::pprof::parse(&text).unwrap());
    for prefix in [&b"\xef\xbb\xbf"[..], b"\n\n", b"\r\n  \n", b"\xef\xbb\xbf\r\n"] {
        let data = [prefix, &text].concat();
        assert_eq!(leakscope::pprof::sniff(&data), leakscope::pprof::Format::LegacyText);
        assert_eq!(our_shape(&leakscope::pprof::parse(&data).unwrap()), want);
    }
    let leak = b"goroutineleak profile: total 2\n2 @ 0x10 0x20\n";
    assert_eq!(leakscope::pprof::sniff(leak), leakscope::pprof::Format::LegacyText);
    let p = leakscope::pprof::parse(leak).unwrap();
    assert_eq!((p.sample_type_name(0), p.totals()[0]), ("goroutineleak", 2));
    let dir = tempfile::tempdir().unwrap();
    for name in ["heap.pb.gz", "profile"] {
        let path = dir.path().join(name);
        std::fs::copy(testdata("gen-heap.debug1.txt"), &path).unwrap();
        let doc = leakscope_json(&["top", "--format", "json", path.to_str().unwrap()]);
        assert_eq!(doc["sample_type"]["name"], "inuse_space");
    }
}

/// Malformed text: a one-line error naming the line, exit status 2, never
/// a panic.
#[test]
fn malformed_text_is_a_one_line_error() {
    let heap = "heap profile: 1: 2 [3: 4] @ heap/1048576\n";
    let count = "goroutine profile: total 3\n";
    let cases: Vec<(String, &str)> = vec![
        (format!("{heap}1: 2 [3: 4] @ 0x1\nnot a record\n"), "line 3"),
        (format!("{heap}0: 5 [3: 4] @ 0x1\n"), "inuse count was 0 but inuse bytes was 5"),
        (format!("{heap}1: 2 [0: 4] @ 0x1\n"), "allocation count was 0"),
        (format!("{heap}1: 2 [3: 4] @ 0x10000000000000000\n"), "does not fit in 64 bits"),
        (format!("{heap}99999999999999999999: 2 [3: 4] @ 0x1\n"), "out of range"),
        ("heap profile: 1: 2 [3: 4] @ heapx/1\n".to_string(), "line 1"),
        (format!("{count}3 @\n"), "line 2"),
        (format!("{count}3 @ 0x1 \n"), "line 2"),
        (format!("{count}08 @ 0x1\n"), "line 2"),
        (format!("{count}\r\n\r\n3 @ 0x1\r\n# labels: {{\"a\"}}\r\n"), "line 5"),
        ("goroutine 1 [running]:\n\tmain.go:1 +0x1\n".to_string(), "line 2"),
        ("goroutine 1 [running]:\nmain.main()\n\tmain.go:3\n\nstray text\n".to_string(), "line 5"),
        ("goroutine 1 [running labels:{oops}]:\nmain.main()\n".to_string(), "line 1"),
        ("--- mutex:\ncycles/second=1\n".to_string(), "not supported"),
        ("goroutine 1 running\n".to_string(), "line 1"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (text, want)) in cases.iter().enumerate() {
        let e = leakscope::pprof::parse(text.as_bytes()).err().unwrap_or_else(|| panic!("accepted {text:?}"));
        let msg = e.to_string();
        assert!(msg.contains(want), "{text:?}: {msg}");
        assert!(msg.starts_with("legacy text profile") && !msg.contains('\n'), "{msg}");
        let path = dir.path().join(format!("case-{i}.txt"));
        std::fs::write(&path, text).unwrap();
        let o = leakscope(&["top", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{text:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(want), "{err}");
    }
    // Truncations of real files never panic.
    for f in legacy_files() {
        let data = std::fs::read(&f).unwrap();
        for cut in (0..data.len()).step_by(97) {
            let _ = leakscope::pprof::parse(&data[..cut]);
        }
    }
}

/// Labels of `# labels:` lines (which pprof skips) become sample labels.
#[test]
fn debug1_labels_are_read() {
    let p = read(&testdata("gen-goroutine.debug1.txt"));
    let text = std::fs::read_to_string(testdata("gen-goroutine.debug1.txt")).unwrap();
    // The count of each record followed by a labels line.
    let mut want = 0;
    let mut last = 0;
    for l in text.lines() {
        if let Some((n, _)) = l.split_once(" @ ") {
            last = n.parse::<i64>().unwrap();
        } else if l.starts_with("# labels: {\"pool\":\"orders\"}") {
            want += last;
        }
    }
    let got: i64 = (0..p.num_samples())
        .filter(|&i| p.sample_labels(i).iter().any(|l| p.str(l.key) == "pool" && p.str(l.str) == "orders"))
        .map(|i| p.sample_values(i)[0])
        .sum();
    assert!(want > 0);
    assert_eq!(got, want);
}

/// pprof reads gzipped legacy text too; so do we, with the same result.
#[test]
fn gzipped_legacy_text_reads_like_plain() {
    use std::io::Write;
    for name in ["gen-heap.debug1.txt", "gen-goroutine.debug1.txt", "gen-goroutine.debug2.txt"] {
        let plain = std::fs::read(root().join("testdata/profiles").join(name)).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&plain).unwrap();
        let gz = gz.finish().unwrap();
        let a = leakscope::pprof::parse(&plain).unwrap();
        let b = leakscope::pprof::parse(&gz).unwrap();
        assert_eq!(a.totals(), b.totals(), "{name}");
        assert_eq!(a.num_samples(), b.num_samples(), "{name}");
        assert_eq!(a.legacy, b.legacy, "{name}");
    }
}
