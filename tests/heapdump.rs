//! Heap dumps: parity with an independent reader, and the expected
//! retention of the generated scenarios.
//!
//! Expected numbers come from two places, never typed by hand:
//! - `tests/oracle/heapdump.py`, a separate straightforward Python reading
//!   of the format (bisect address lookup, Cooper–Harvey–Kennedy
//!   dominators) that prints counts, every root's retained size, the top
//!   objects and every allocation site's group retained size;
//! - `testdata/heapdumps/*/expected.json`, written by the Go program that
//!   made each dump (global addresses, stuck goroutines, payload bytes).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use leakscope::attribute::RuleSet;
use leakscope::heap::{self, analysis::Analysis};
use leakscope::heapdump::parse::tag;
use serde_json::Value;

const SCENARIOS: [&str; 4] = ["global-map", "goroutine-stack", "config-registry", "control"];

fn dumps() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for s in SCENARIOS {
        for n in 1..=2 {
            v.push(common::root().join(format!("testdata/heapdumps/{s}/{n}.heapdump.gz")));
        }
    }
    v
}

fn oracle(path: &Path) -> Value {
    let out = Command::new("python3")
        .arg(common::root().join("tests/oracle/heapdump.py"))
        .arg(path)
        .args(["--top", "200"])
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "oracle failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("oracle prints JSON")
}

/// The oracle checks itself: a hand-built dump, and random graphs against
/// brute-force definitions of dominators, retained sizes and site sums.
#[test]
fn oracle_self_test() {
    let out = Command::new("python3")
        .arg(common::root().join("tests/oracle/heapdump.py"))
        .arg("--selftest")
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "oracle self-test: {}", String::from_utf8_lossy(&out.stderr));
}

fn expected(scenario: &str) -> Value {
    let p = common::root().join(format!("testdata/heapdumps/{scenario}/expected.json"));
    serde_json::from_str(&std::fs::read_to_string(p).expect("expected.json")).expect("JSON")
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn parity_with_the_independent_reader() {
    let rules = RuleSet::load(None).unwrap();
    let mut compared = 0;
    for path in dumps() {
        let o = oracle(&path);
        let d = leakscope::source::read_heap_dump(&path).unwrap();
        let a = Analysis::new(&d, None, &rules);
        let name = path.display().to_string();

        for (i, n) in tag::NAMES.iter().enumerate() {
            assert_eq!(d.record_counts[i], u(&o["records"][*n]), "{name}: {n} records");
        }
        assert_eq!(d.objects.len() as u64, u(&o["objects"]["count"]), "{name}: objects");
        assert_eq!(d.objects.size.iter().map(|&s| s as u64).sum::<u64>(), u(&o["objects"]["bytes"]), "{name}");
        assert_eq!(a.graph.object_edges, u(&o["edges"]), "{name}: edges");
        let (_, live, dead) = a.totals();
        assert_eq!(live.objects, u(&o["reachable"]["objects"]), "{name}: reachable objects");
        assert_eq!(live.bytes, u(&o["reachable"]["bytes"]), "{name}: reachable bytes");
        assert_eq!(dead.objects, u(&o["unreachable"]["objects"]), "{name}: unreachable objects");

        // Every root, by key.
        let ours: BTreeMap<String, (String, u64)> = a
            .graph
            .roots
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let kind = serde_json::to_value(&r.kind).unwrap().as_str().unwrap().to_string();
                (r.key.clone(), (kind, a.retained[a.graph.root_node(i) as usize]))
            })
            .collect();
        let theirs: BTreeMap<String, (String, u64)> = o["roots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (r["key"].as_str().unwrap().to_string(), (r["kind"].as_str().unwrap().to_string(), u(&r["retained"])))
            })
            .collect();
        assert_eq!(ours, theirs, "{name}: roots and their retained sizes");

        // The top objects by retained size.
        for t in o["top_objects"].as_array().unwrap() {
            let addr = u64::from_str_radix(t["addr"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
            let i = d.objects.addr.binary_search(&addr).unwrap_or_else(|_| panic!("{name}: no object at {addr:#x}"));
            assert_eq!(d.objects.size[i] as u64, u(&t["size"]), "{name}: size of {addr:#x}");
            assert_eq!(a.retained[i], u(&t["retained"]), "{name}: retained of {addr:#x}");
        }

        // Every allocation site with live objects.
        let nb = d.buckets.len();
        let ret = &a.site_retained;
        let shallow = a.group_shallow(&a.obj_bucket, nb);
        let ours: BTreeMap<String, (u64, u64, u64)> = (0..nb)
            .filter(|&b| shallow[b].objects > 0)
            .map(|b| (format!("{:#x}", d.buckets[b].id), (shallow[b].objects, shallow[b].bytes, ret[b])))
            .collect();
        let theirs: BTreeMap<String, (u64, u64, u64)> = o["sites"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (s["bucket"].as_str().unwrap().to_string(), (u(&s["objects"]), u(&s["shallow"]), u(&s["retained"])))
            })
            .collect();
        assert_eq!(ours, theirs, "{name}: allocation sites (objects, bytes, group retained)");
        compared += 1;
    }
    assert_eq!(compared, 8);
}

/// `bss+0x…` / `data+0x…` key of a global's address, from the oracle's segment table.
fn global_key(o: &Value, addr: &str) -> String {
    let a = u64::from_str_radix(addr.trim_start_matches("0x"), 16).unwrap();
    for seg in ["data", "bss"] {
        let s = &o["segments"][seg];
        let start = u64::from_str_radix(s["addr"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
        if a >= start && a < start + u(&s["size"]) {
            return format!("{seg}+{:#x}", a - start);
        }
    }
    panic!("{addr} is in no segment");
}

fn report(path: &Path) -> Value {
    common::leakscope_json(&["heap", path.to_str().unwrap(), "--format", "json", "--nodecount", "0"])
}

#[test]
fn the_expected_root_and_site_come_out_on_top() {
    for s in SCENARIOS {
        let e = expected(s);
        for (n, dump) in e["dumps"].as_array().unwrap().iter().enumerate() {
            let path = common::root().join(format!("testdata/heapdumps/{s}/{}", dump["file"].as_str().unwrap()));
            let r = report(&path);
            let leak = &dump["leak"];
            let suspects = r["suspects"].as_array().unwrap();
            let what = format!("{s} dump {}", n + 1);
            match leak["kind"].as_str().unwrap() {
                "none" => {
                    assert!(suspects.is_empty(), "{what}: the control has suspects: {}", r["verdict"]);
                }
                "global" => {
                    let o = oracle(&path);
                    let g = dump["globals"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|g| g["holds_payload"] == true)
                        .expect("a payload global");
                    let key = global_key(&o, g["addr"].as_str().unwrap());
                    let top = &suspects[0];
                    assert_eq!(top["root"], key.as_str(), "{what}: top suspect {}", r["verdict"]);
                    assert!(u(&top["retained"]) >= u(&leak["root_only_bytes"]), "{what}: {top}");
                    let groups = top["accumulation"]["groups"].as_array().unwrap();
                    assert_eq!(groups[0]["label"], leak["alloc_site"], "{what}: accumulation {top}");
                    // The payload's site is kept by that global.
                    let site = r["sites"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|x| x["function"] == leak["alloc_site"])
                        .unwrap_or_else(|| panic!("{what}: no site {}", leak["alloc_site"]));
                    assert!(site["kept_by"].as_str().unwrap().contains(&key), "{what}: {site}");
                }
                "goroutine" => {
                    let top = &suspects[0];
                    assert_eq!(top["root_kind"], "goroutine", "{what}: {}", r["verdict"]);
                    assert!(top["label"].as_str().unwrap().contains(leak["root"].as_str().unwrap()), "{what}: {top}");
                    assert_eq!(u(&top["count"]), u(&leak["entries"]), "{what}: goroutines merged");
                    assert!(u(&top["retained"]) >= u(&leak["payload_bytes"]), "{what}: {top}");
                    assert_eq!(top["category"], "http-request", "{what}");
                    let path_labels: Vec<&str> =
                        top["path"].as_array().unwrap().iter().map(|p| p["label"].as_str().unwrap()).collect();
                    assert!(
                        path_labels.iter().any(|l| l.starts_with(leak["root"].as_str().unwrap())),
                        "{what}: {path_labels:?}"
                    );
                }
                k => panic!("unknown leak kind {k}"),
            }
            if s == "config-registry" {
                let top = &suspects[0];
                assert_eq!(top["category"], "config-reload", "{what}: {top}");
                let site = r["sites"].as_array().unwrap().iter().find(|x| x["function"] == leak["alloc_site"]).unwrap();
                assert_eq!(site["category"], "config-reload", "{what}: {site}");
            }
            // Transient work leaves nothing reachable.
            for t in leak["transient_sites"].as_array().unwrap() {
                assert!(
                    !r["sites"].as_array().unwrap().iter().any(|x| x["function"] == *t),
                    "{what}: transient site {t} is reachable"
                );
            }
        }
    }
}

#[test]
fn diff_of_two_dumps_names_what_grew_and_what_keeps_it() {
    for s in SCENARIOS {
        let e = expected(s);
        let dir = common::root().join(format!("testdata/heapdumps/{s}"));
        let (a, b) = (dir.join("1.heapdump.gz"), dir.join("2.heapdump.gz"));
        let r = common::leakscope_json(&["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--format", "json"]);
        assert_eq!(r["schema"], "leakscope.heapdiff/v1");
        let leak = &e["dumps"][1]["leak"];
        let base_payload = u(&e["dumps"][0]["leak"]["payload_bytes"]);
        let grew_payload = u(&leak["payload_bytes"]) as i64 - base_payload as i64;
        if leak["kind"] == "none" {
            assert_eq!(r["grew"], false, "{s}: {}", r["verdict"]);
            continue;
        }
        assert_eq!(r["grew"], true, "{s}: {}", r["verdict"]);
        assert!(r["reachable_delta"].as_i64().unwrap() >= grew_payload, "{s}: {}", r["reachable_delta"]);
        // The payload's allocation site is among the top growers, kept by the expected root.
        let sites = r["sites"].as_array().unwrap();
        let site = sites
            .iter()
            .take(3)
            .find(|x| x["label"] == leak["alloc_site"])
            .unwrap_or_else(|| panic!("{s}: {} not in the top 3 growing sites: {sites:?}", leak["alloc_site"]));
        let kept = site["kept_by"].as_str().unwrap();
        match leak["kind"].as_str().unwrap() {
            "goroutine" => assert!(kept.contains(leak["root"].as_str().unwrap()), "{s}: kept by {kept}"),
            _ => assert!(kept.contains("bss+0x"), "{s}: kept by {kept}"),
        }
        assert!(site["delta"].as_i64().unwrap() > 0);
    }
}

#[test]
fn top_and_info_read_dumps() {
    let path = common::root().join("testdata/heapdumps/global-map/2.heapdump.gz");
    let p = path.to_str().unwrap();
    let info = common::leakscope_json(&["info", p, "--format", "json"]);
    assert_eq!(info["schema"], "leakscope.heapinfo/v1");
    let o = oracle(&path);
    assert_eq!(info["objects"], o["objects"]["count"]);
    assert_eq!(info["records"]["allocsample"], o["records"]["allocsample"]);
    assert_eq!(info["memstats"]["HeapAlloc"], o["memstats"]["HeapAlloc"]);

    // top reads the dump as its retention-by-site profile: inuse_space totals the reachable heap.
    let top = common::leakscope_json(&["top", p, "--format", "json", "--sample-type", "inuse_space"]);
    assert_eq!(top["total"], o["reachable"]["bytes"], "{top}");
}

#[test]
fn exported_profile_opens_in_go_tool_pprof_with_our_numbers() {
    let Some(go) = common::go() else { return };
    let dir = tempfile::tempdir().unwrap();
    for s in SCENARIOS {
        let path = common::root().join(format!("testdata/heapdumps/{s}/2.heapdump.gz"));
        let out = dir.path().join(format!("{s}.pb.gz"));
        let o = common::leakscope(&[
            "heap",
            path.to_str().unwrap(),
            "--format",
            "json",
            "--output-pprof",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let raw = common::pprof_raw(&go, &out, None);
        // pprof's view: per sample type, the total over its samples.
        let oracle = oracle(&path);
        let names: Vec<&str> = raw.sample_types.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["objects", "inuse_space", "retained_space"], "{s}");
        let total = |t: usize| raw.samples.iter().map(|x| x.0[t]).sum::<i64>();
        assert_eq!(total(1), oracle["reachable"]["bytes"].as_i64().unwrap(), "{s}: inuse_space total");
        assert_eq!(total(0), oracle["reachable"]["objects"].as_i64().unwrap(), "{s}: objects total");
        // Stacks are as Go's own heap profiles show them (the oracle's
        // pprof_stack): the runtime's allocation frames are hidden, so the
        // leaf is the allocating function.
        let stacks = raw_stacks(&raw);
        for (stack, _) in &stacks {
            let runtime = |f: &String| f.starts_with("runtime.") || f.starts_with("internal/runtime/");
            assert!(
                stack.first().is_none_or(|f| !runtime(f)) || stack.iter().all(runtime),
                "{s}: a runtime frame leads a stack that has others: {stack:?}"
            );
        }
        // Each stack's objects and inuse_space are the oracle's for its sites.
        let by_stack = |field: &str| -> BTreeMap<Vec<String>, i64> {
            let mut want: BTreeMap<Vec<String>, i64> = BTreeMap::new();
            for site in oracle["sites"].as_array().unwrap() {
                let stack: Vec<String> =
                    site["pprof_stack"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_string()).collect();
                *want.entry(stack).or_default() += site[field].as_i64().unwrap();
            }
            want
        };
        let got = |t: usize| -> BTreeMap<Vec<String>, i64> {
            let mut m: BTreeMap<Vec<String>, i64> = BTreeMap::new();
            for (stack, values) in &stacks {
                if stack != &[heap::export::UNSAMPLED] {
                    *m.entry(stack.clone()).or_default() += values[t];
                }
            }
            m
        };
        assert_eq!(got(0), by_stack("objects"), "{s}: objects per allocation stack");
        assert_eq!(got(1), by_stack("shallow"), "{s}: inuse_space per allocation stack");
        // retained_space counts each reachable byte once, in the site of its
        // nearest dominator-tree ancestor-or-self with an allocation sample
        // (the oracle's attributed), the rest under [no allocation sample];
        // so it totals the reachable heap, as inuse_space does.
        assert_eq!(got(2), by_stack("attributed"), "{s}: retained_space per allocation stack");
        let unsampled: Vec<&Vec<i64>> =
            stacks.iter().filter(|(st, _)| st == &[heap::export::UNSAMPLED]).map(|(_, v)| v).collect();
        assert!(unsampled.len() <= 1, "{s}: {unsampled:?}");
        let unattributed = unsampled.first().map_or(0, |v| v[2]);
        assert_eq!(unattributed, oracle["unattributed"].as_i64().unwrap(), "{s}: unattributed bytes");
        assert_eq!(total(2), oracle["reachable"]["bytes"].as_i64().unwrap(), "{s}: retained_space total");
    }
}

/// `leakscope top DUMP` is `go tool pprof -top` of the dump's export, for
/// every sample type, and no byte total passes the reachable heap.
#[test]
fn top_of_a_dump_is_pprof_of_its_export_within_the_heap() {
    let Some(go) = common::go() else { return };
    let dir = tempfile::tempdir().unwrap();
    for path in dumps() {
        let p = path.to_str().unwrap();
        let out = dir.path().join("export.pb.gz");
        let heap = common::leakscope_json(&["heap", p, "--format", "json", "--output-pprof", out.to_str().unwrap()]);
        // (parity_with_the_independent_reader checks it against the oracle's)
        let reachable = heap["summary"]["reachable"]["bytes"].as_i64().unwrap();
        let raw = common::pprof_raw(&go, &out, None);
        for (t, (ty, unit)) in raw.sample_types.iter().enumerate() {
            let (total, want) = common::expected_top(&raw, t, "functions");
            let mut args = vec!["top", p, "--format", "json", "--nodecount", "0"];
            if ty != "retained_space" {
                args.extend(["--sample-type", ty]);
            }
            let doc = common::leakscope_json(&args);
            assert_eq!(doc["total"].as_i64(), Some(total), "{p} {ty}: total");
            assert_eq!(common::json_rows(&doc), want, "{p} {ty}: rows");
            if unit == "bytes" {
                assert!(total <= reachable, "{p} {ty}: {total} bytes on a {reachable}-byte reachable heap");
            }
        }
    }
}

/// The samples of a `-raw` profile as (function names innermost first, values).
fn raw_stacks(raw: &common::RawProfile) -> Vec<(Vec<String>, Vec<i64>)> {
    raw.samples
        .iter()
        .map(|(values, locs)| {
            let stack = locs.iter().flat_map(|l| raw.locations[l].lines.iter().map(|ln| ln.name.clone())).collect();
            (stack, values.clone())
        })
        .collect()
}

/// `leakscope top DUMP` puts the flat bytes in the function that
/// allocated them, as `go tool pprof -top` does on a Go heap profile, not
/// in `runtime.mallocgc`: the leak's allocating function (from the
/// generator's expected.json) has the most flat, in the default
/// retained_space and in inuse_space.
#[test]
fn top_of_a_dump_puts_flat_in_the_allocating_function() {
    for s in SCENARIOS {
        let e = expected(s);
        for dump in e["dumps"].as_array().unwrap() {
            let leak = &dump["leak"];
            if leak["kind"] == "none" {
                continue;
            }
            let path = common::root().join(format!("testdata/heapdumps/{s}/{}", dump["file"].as_str().unwrap()));
            let p = path.to_str().unwrap();
            // The default sample type (retained_space), then inuse_space.
            for extra in [&[][..], &["--sample-type", "inuse_space"]] {
                let mut args = vec!["top", p, "--format", "json", "--nodecount", "0"];
                args.extend(extra);
                let rows = common::json_rows(&common::leakscope_json(&args));
                let first = rows.iter().max_by_key(|r| (r.1, std::cmp::Reverse(r.0.clone()))).unwrap();
                assert_eq!(first.0, leak["alloc_site"].as_str().unwrap(), "{s} {p} {extra:?}: top flat {first:?}");
            }
        }
    }
}

#[test]
fn binary_names_globals_and_types() {
    let Some(go) = common::go() else { return };
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("hdgen");
    let build = Command::new(&go)
        .args(["build", "-o"])
        .arg(&exe)
        .arg(".")
        .current_dir(common::root().join("testdata/gen/heapdump"))
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));
    let run = Command::new(&exe).args(["-scenario", "global-map", "-out"]).arg(dir.path()).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let e: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("expected.json")).unwrap()).unwrap();
    let dump = dir.path().join("2.heapdump");
    let r = common::leakscope_json(&[
        "heap",
        dump.to_str().unwrap(),
        "--binary",
        exe.to_str().unwrap(),
        "--format",
        "json",
        "--nodecount",
        "0",
    ]);
    let global = e["dumps"][1]["leak"]["root"].as_str().unwrap();
    assert_eq!(r["suspects"][0]["root"], global, "{}", r["verdict"]);
    assert_eq!(r["suspects"][0]["label"], format!("global {global}"));
    // Go >= 1.22 malloc headers name the types of 513 B-32 KiB pointerful objects.
    let typed: Vec<&str> = r["shapes"].as_array().unwrap().iter().filter_map(|s| s["type_name"].as_str()).collect();
    assert!(typed.iter().any(|t| t.contains("map.group[string]*main.Session")), "{typed:?}");

    // Another executable is refused with one clear line.
    let o = common::leakscope(&["heap", dump.to_str().unwrap(), "--binary", "/bin/sh"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("leakscope: --binary /bin/sh:"), "{err}");
}

/// The renderers' output on fixed fixtures, reviewed by a person when it
/// changes (`INSTA_UPDATE=always cargo test --test heapdump`, then read the diff).
#[test]
fn golden_reports() {
    // Relative paths, run from the repository root, so the file names in the
    // reports do not depend on where the checkout is.
    let p = |s: &str, n: u8| format!("testdata/heapdumps/{s}/{n}.heapdump.gz");
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_leakscope")).args(args).current_dir(common::root()).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    insta::assert_snapshot!("heap_global_map_text", run(&["heap", &p("global-map", 2), "--color", "never"]));
    insta::assert_snapshot!(
        "heap_goroutine_stack_markdown",
        run(&["heap", &p("goroutine-stack", 2), "--format", "markdown"])
    );
    insta::assert_snapshot!(
        "heapdiff_config_registry_text",
        run(&["diff", &p("config-registry", 1), &p("config-registry", 2), "--color", "never"])
    );
    let v: Value =
        serde_json::from_str(&run(&["diff", &p("config-registry", 1), &p("config-registry", 2), "--format", "json"]))
            .unwrap();
    insta::assert_json_snapshot!("heapdiff_config_registry_json", v);
}
