//! `fleet`, `trend --pyroscope` and `diff --pyroscope` against a real
//! Grafana Pyroscope server (v1.21.1, `../shared/pyroscope/run.sh`), never
//! a mock of its API.
//!
//! Each test starts its own server on free ports, pushes the ground-truth
//! scenarios of `testdata/leaks/` as pods of one service (each profile's
//! `time_nanos` rewritten to a recent time, one profile per 5-minute
//! window), waits as the server's README says, and checks the answers
//! against the scenarios' own `expected.json` and against the same
//! snapshots read as files. The server is killed (-9) and its data
//! directory removed when the test ends, failing or not.
//!
//! The server is found through `common::pyroscope_run_sh()`: under
//! `CI=true` a missing one is a failure; elsewhere (or hidden by
//! `LEAKSCOPE_HIDE_CORPUS`, as on a fresh clone) the tests print `SKIPPED:`
//! and pass.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{leakscope, leakscope_json, pyroscope_run_sh, root};
use serde_json::Value;

/// A running server; killed and cleaned up on drop.
struct Server {
    pid: i32,
    url: String,
    data: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the pid run.sh printed; the server runs detached
        // from us, so there is no child to reap.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
        }
        // Give the kernel a moment to close its files before removing them.
        for _ in 0..50 {
            // SAFETY: signal 0 only checks that the process exists.
            if unsafe { libc::kill(self.pid, 0) } != 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// A port whose HTTP, gRPC (+5055) and gossip (+3906) ports are all free,
/// different for each test binary and each `slot` within it.
fn free_port(slot: u16) -> u16 {
    let start = 21_000 + ((std::process::id() % 997) as u16) * 7 + slot * 3;
    let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
    (0..300u16)
        .map(|i| start.wrapping_add(i * 11) % 24_000 + 16_000)
        .find(|&p| free(p) && free(p + 5055) && free(p + 3906))
        .expect("a free port for Pyroscope")
}

/// Starts a server, or returns `None` (after a visible SKIPPED line)
/// outside CI when `../shared/pyroscope` is absent.
fn start(slot: u16) -> Option<Server> {
    let run = pyroscope_run_sh()?;
    let port = free_port(slot);
    // One run.sh at a time: on a cold cache each unpacks the binary to the
    // same `pyroscope.tmp` and renames it, and two at once race (a fresh
    // machine's CI failed with "mv: cannot stat .../pyroscope.tmp").
    static RUN_SH: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let out = {
        let _one = RUN_SH.lock().unwrap_or_else(|e| e.into_inner());
        Command::new("bash").arg(&run).arg(port.to_string()).output().expect("run run.sh")
    };
    assert!(
        out.status.success(),
        "Pyroscope did not start on port {port}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let f: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(f.len(), 3, "run.sh printed {line:?}, not PID URL DATA_DIR");
    let s = Server { pid: f[0].parse().expect("pid"), url: f[1].to_string(), data: PathBuf::from(f[2]) };
    // The README: profiles pushed in the first seconds after /ready went
    // missing; 5 s was enough.
    std::thread::sleep(Duration::from_secs(5));
    Some(s)
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Pushes `file` (a gzip heap profile) as `app{pod=POD}` at `t_ms`: the raw
/// profile gets field 9 (time_nanos) appended, which wins over the old one.
fn push(url: &str, app: &str, pod: &str, file: &Path, t_ms: i64) {
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(file).expect("fixture"))
        .read_to_end(&mut raw)
        .expect("gunzip fixture");
    raw.push(9 << 3);
    varint(t_ms as u64 * 1_000_000, &mut raw);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    let body = gz.finish().unwrap();
    let name = url_encode(&format!("{app}{{pod={pod}}}"));
    let resp = ureq::post(&format!("{url}/ingest?name={name}&format=pprof"))
        .send(&body[..])
        .unwrap_or_else(|e| panic!("push {} as {pod}: {e}", file.display()));
    assert_eq!(resp.status().as_u16(), 200, "push {} as {pod}", file.display());
}

fn heaps(scenario: &str) -> Vec<PathBuf> {
    let dir = root().join("testdata/leaks").join(scenario);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenario dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().ends_with("-heap.pb.gz")))
        .collect();
    v.sort();
    v
}

fn expected_categories(scenario: &str) -> Vec<String> {
    let p = root().join("testdata/leaks").join(scenario).join("expected.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    v["leaking_categories"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect()
}

const APP: &str = "leaktest";
const STEP_S: i64 = 300;
const WINDOWS: i64 = 12;

/// The pods: name, then its snapshots from window 12 - len onwards.
fn pods() -> Vec<(&'static str, Vec<PathBuf>)> {
    let cr = heaps("config-reload");
    let mut restart = cr.clone();
    restart.extend(cr.iter().cloned()); // OOM-killed and started again
    vec![
        ("reload", cr),
        ("metrics", heaps("metrics")),
        ("clean-a", heaps("fixed")),
        ("clean-b", heaps("fixed")),
        ("restart", restart),
    ]
}

/// Pushes every pod; returns the range end (Unix seconds): window i is
/// (to - (12 - i) * 5m, to - (11 - i) * 5m], each profile in its middle.
fn push_fleet(url: &str) -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let to = now - 30;
    for (pod, files) in pods() {
        let first = WINDOWS - files.len() as i64;
        for (i, f) in files.iter().enumerate() {
            let end = to - (WINDOWS - 1 - (first + i as i64)) * STEP_S;
            push(url, APP, pod, f, (end - STEP_S / 2) * 1000);
        }
    }
    // The README: 8 s after the last push before querying.
    std::thread::sleep(Duration::from_secs(8));
    to
}

fn range(to: i64) -> [String; 4] {
    ["--from".into(), (to - WINDOWS * STEP_S).to_string(), "--to".into(), to.to_string()]
}

fn run(args: &[String]) -> Output {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    leakscope(&a)
}

fn json(args: &[String]) -> Value {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    leakscope_json(&a)
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Exit 2 with exactly one `leakscope: …` line on stderr; returns it.
fn one_line_error(o: &Output, what: &str) -> String {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{what}: exit {:?}, stderr {err:?}", o.status.code());
    assert_eq!(err.trim_end().lines().count(), 1, "{what}: not one line: {err:?}");
    assert!(err.starts_with("leakscope: "), "{what}: {err:?}");
    assert!(o.stdout.is_empty(), "{what}: printed a report: {}", String::from_utf8_lossy(&o.stdout));
    err
}

fn series_by_pod(v: &Value) -> BTreeMap<String, Value> {
    v["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["labels"]["pod"].as_str().unwrap().to_string(), s.clone()))
        .collect()
}

#[test]
fn fleet_trend_diff_and_errors_against_a_real_server() {
    let Some(srv) = start(0) else { return };
    let to = push_fleet(&srv.url);
    let url = srv.url.clone();
    let mut fleet = strs(&["fleet", "--pyroscope", &url, "--query", "{service_name=\"leaktest\"}", "--by", "pod"]);
    fleet.extend(range(to));
    fleet.extend(strs(&["--step", "5m", "--limit", "512MiB", "--quiet"]));

    // fleet names exactly the leaking pods, with their categories.
    let mut a = fleet.clone();
    a.extend(strs(&["--format", "json"]));
    let v = json(&a);
    assert_eq!(v["schema"], "leakscope.fleet/v1");
    let by_pod = series_by_pod(&v);
    assert_eq!(by_pod.keys().cloned().collect::<Vec<_>>(), ["clean-a", "clean-b", "metrics", "reload", "restart"]);
    let leaking: BTreeMap<String, String> = by_pod
        .iter()
        .filter(|(_, s)| s["verdict"]["leak"] == true)
        .map(|(p, s)| (p.clone(), s["verdict"]["category"].as_str().unwrap_or("?").to_string()))
        .collect();
    let mut want = BTreeMap::new();
    for (pod, scenario) in [("reload", "config-reload"), ("metrics", "metrics"), ("restart", "config-reload")] {
        let cats = expected_categories(scenario);
        assert_eq!(cats.len(), 1, "{scenario}: one leaking category");
        want.insert(pod.to_string(), cats[0].clone());
    }
    assert!(expected_categories("fixed").is_empty());
    assert_eq!(leaking, want, "leaking pods and categories");
    assert_eq!(v["verdict"]["leak"], true);
    assert_eq!(v["verdict"]["category"], "config-reload", "the category leaking in most pods");
    assert_eq!(v["verdict"]["leaking"], 3);
    assert_eq!(v["clean"]["count"], 2);
    for (pod, s) in &by_pod {
        assert_eq!(s["labels"], serde_json::json!({ "pod": pod }), "labels are an object of the --by labels");
        let leak = s["verdict"]["leak"] == true;
        if leak {
            assert_eq!(s["shape"], "monotonic-growth", "{pod}");
            assert!(s["hours_to_limit"].as_f64().is_some_and(|h| h > 0.0), "{pod}: time to --limit");
            let sites = s["sites"].as_array().unwrap();
            assert!(!sites.is_empty(), "{pod}: sites");
            assert_eq!(sites[0]["category"], s["verdict"]["category"], "{pod}: top site in the leaking category");
            assert!(sites[0]["function"].as_str().is_some_and(|f| !f.is_empty() && !f.starts_with("runtime.")));
        } else {
            assert!(s["verdict"]["category"].is_null(), "{pod}");
        }
    }
    // The Traefik signature on the reload leakers, not on the metrics one.
    let sig_ids = |pod: &str| -> Vec<String> {
        by_pod[pod]["signatures"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap().to_string()).collect()
    };
    assert!(
        sig_ids("reload").contains(&"traefik-11423-logrus-writer-per-proxy".to_string()),
        "{:?}",
        sig_ids("reload")
    );
    assert!(sig_ids("restart").contains(&"traefik-11423-logrus-writer-per-proxy".to_string()));
    assert!(sig_ids("metrics").is_empty(), "{:?}", sig_ids("metrics"));
    // The restart: a new process from window 6 on, judged since then.
    for (pod, s) in &by_pod {
        assert_eq!(s["restarted"], pod == "restart", "{pod}: restarted");
    }
    assert_eq!(by_pod["restart"]["restarts"], serde_json::json!([6]));
    assert_eq!(by_pod["restart"]["judged"], serde_json::json!([6, 11]));
    // Gaps are null, not zeros: the other pods start at window 6.
    let values = by_pod["reload"]["values"].as_array().unwrap();
    assert_eq!(values.len(), 12);
    assert!(values[..6].iter().all(Value::is_null) && values[6..].iter().all(Value::is_i64), "{values:?}");
    assert_eq!(by_pod["reload"]["gaps"], 6);
    // Only growing series had profiles fetched; the clean ones did not.
    assert_eq!(by_pod["clean-a"]["profiles"], 0);
    assert_eq!(by_pod["reload"]["profiles"], 6);

    // --all judges every series from its profiles, with the same verdicts.
    let mut a = fleet.clone();
    a.extend(strs(&["--format", "json", "--all"]));
    let all = json(&a);
    assert_eq!(series_by_pod(&all)["clean-a"]["profiles"], 6);
    let leaking_all: BTreeMap<String, String> = series_by_pod(&all)
        .iter()
        .filter(|(_, s)| s["verdict"]["leak"] == true)
        .map(|(p, s)| (p.clone(), s["verdict"]["category"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(leaking_all, want);

    // Gates and the other formats.
    let mut a = fleet.clone();
    a.push("--fail-on-leak".into());
    let o = run(&a);
    assert_eq!(o.status.code(), Some(1), "--fail-on-leak: {}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("LEAK: 3 of 5 series leak"), "{text}");
    assert!(text.contains("known leak traefik-11423-logrus-writer-per-proxy"), "{text}");
    assert!(text.contains("restarted"), "{text}");
    let mut a = fleet.clone();
    a.extend(strs(&["--format", "html"]));
    let o = run(&a);
    assert!(o.status.success());
    let html = String::from_utf8(o.stdout).unwrap();
    assert_eq!(html.matches("<svg").count(), 3, "one chart per leaking series");
    for external in ["<script src", "<link", "url(", "<img"] {
        assert!(!html.contains(external), "the page must be self-contained: {external}");
    }
    let mut a = fleet.clone();
    a.extend(strs(&["--format", "markdown"]));
    let o = run(&a);
    assert!(o.status.success());
    assert!(String::from_utf8(o.stdout).unwrap().contains("| pod=reload | config-reload |"));
    // The default --by is service_name,pod.
    let mut a = strs(&["fleet", "--pyroscope", &url, "--query", "{service_name=\"leaktest\"}", "--format", "json"]);
    a.extend(range(to));
    a.extend(strs(&["--step", "5m"]));
    let v = json(&a);
    assert_eq!(v["series"][0]["labels"]["service_name"], APP);

    // trend --pyroscope on one pod equals trend on the same files.
    for (pod, scenario) in [("reload", "config-reload"), ("metrics", "metrics"), ("clean-a", "fixed")] {
        let mut a = strs(&["trend", "--pyroscope", &url, "--query"]);
        a.push(format!("{{service_name=\"{APP}\", pod=\"{pod}\"}}"));
        a.extend(range(to));
        a.extend(strs(&["--step", "5m", "--format", "json"]));
        let p = json(&a);
        let mut b = strs(&["trend", "--format", "json"]);
        b.extend(heaps(scenario).iter().map(|f| f.display().to_string()));
        let f = json(&b);
        assert_eq!(p["verdict"]["leak"], f["verdict"]["leak"], "{pod}: verdict");
        assert_eq!(p["verdict"]["category"], f["verdict"]["category"], "{pod}: category");
        assert_eq!(p["total"]["shape"], f["total"]["shape"], "{pod}: total shape");
        assert_eq!(p["total"]["values"], f["total"]["values"], "{pod}: totals");
        assert_eq!(p["analyzed"], f["analyzed"], "{pod}: analysed snapshots");
        let cats = |v: &Value| -> Vec<(String, i64, bool, String)> {
            v["categories"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap().to_string(),
                        c["delta"].as_i64().unwrap(),
                        c["suspect"].as_bool().unwrap(),
                        c["series"]["shape"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        };
        assert_eq!(cats(&p), cats(&f), "{pod}: categories, deltas, shapes");
        let sites = |v: &Value| -> Vec<(String, String, i64, String)> {
            v["sites"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["frame"].as_str().unwrap().to_string(),
                        s["category"].as_str().unwrap().to_string(),
                        s["delta"].as_i64().unwrap(),
                        s["series"]["shape"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        };
        assert_eq!(sites(&p), sites(&f), "{pod}: sites");
        let gaps = p["skipped"].as_array().unwrap();
        assert_eq!(gaps.len(), 6, "{pod}: the six windows before the pod started are gaps: {gaps:?}");
        assert!(gaps.iter().all(|g| g.as_str().unwrap().contains("a gap, not a zero")));
    }
    // HTML and DOT carry the diff of the first and last analysed windows.
    for format in ["html", "dot"] {
        let mut a = strs(&["trend", "--pyroscope", &url, "--query", "{service_name=\"leaktest\", pod=\"reload\"}"]);
        a.extend(range(to));
        a.extend(strs(&["--step", "5m", "--format", format]));
        let o = run(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "trend --pyroscope --format {format}: {err}");
        assert!(!err.contains("no first/last diff"), "{format}: {err}");
        let page = String::from_utf8_lossy(&o.stdout);
        assert!(page.contains("writerScanner"), "{format}: the first/last diff names the growing site");
    }
    // The restarted pod: a restart found at window 6, judged since.
    let mut a = strs(&["trend", "--pyroscope", &url, "--query", "{service_name=\"leaktest\", pod=\"restart\"}"]);
    a.extend(range(to));
    a.extend(strs(&["--step", "5m", "--format", "json"]));
    let p = json(&a);
    assert_eq!(p["restarts"], serde_json::json!([6]));
    assert_eq!(p["verdict"]["leak"], true);

    // diff --pyroscope of two windows equals diff of the same files.
    let end = |i: i64| (to - (WINDOWS - 1 - i) * STEP_S).to_string();
    let mut a = strs(&["diff", "--pyroscope", &url, "--query", "{service_name=\"leaktest\", pod=\"reload\"}"]);
    a.extend(strs(&["--base", &end(6), "--new", &end(11), "--step", "5m", "--format", "json"]));
    let p = json(&a);
    let cr = heaps("config-reload");
    let f = json(&strs(&["diff", &cr[0].display().to_string(), &cr[5].display().to_string(), "--format", "json"]));
    for k in ["total_delta", "verdict"] {
        let (mut x, mut y) = (p[k].clone(), f[k].clone());
        if k == "verdict" {
            // The rate per hour differs: the windows are 25 min apart, the
            // files 10 s.
            for v in [&mut x, &mut y] {
                v["headline"] = Value::Null;
                v["reasons"] = Value::Null;
            }
        }
        assert_eq!(x, y, "diff {k}");
    }
    let rows = |v: &Value, key: &str, name: &str| -> Vec<(String, i64)> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r[name].as_str().unwrap().to_string(), r["delta"].as_i64().unwrap()))
            .collect()
    };
    assert_eq!(rows(&p, "categories", "name"), rows(&f, "categories", "name"));
    assert_eq!(rows(&p, "sites", "frame"), rows(&f, "sites", "frame"));
    assert_eq!(rows(&p, "signatures", "id"), rows(&f, "signatures", "id"));

    // Errors against the real server: one line each, exit 2.
    let q = |query: &str| {
        let mut a = strs(&["fleet", "--pyroscope", &url, "--query", query, "--step", "5m"]);
        a.extend(range(to));
        a
    };
    let mut a = q("{service_name=\"leaktest\"}");
    a[2] = format!("{url}/not/pyroscope");
    let e = one_line_error(&run(&a), "wrong URL path");
    assert!(e.contains("404") && e.contains("not a Pyroscope"), "{e}");
    let e = one_line_error(&run(&q("{service_name=leaktest}")), "bad selector");
    assert!(e.contains("rejected the query {service_name=leaktest}: ") && e.contains("parse error"), "{e}");
    let e = one_line_error(&run(&q("{service_name=\"no-such-service\"}")), "unknown service");
    assert!(e.contains("no series matched") && e.contains("leaktest"), "{e}");
    let e = one_line_error(&run(&q("service_name=\"leaktest\"")), "no braces");
    assert!(e.contains("not a label selector"), "{e}");
    let mut a = q("{service_name=\"leaktest\"}");
    a.extend(strs(&["--sample-type", "memory:nope:bytes:space:bytes"]));
    let e = one_line_error(&run(&a), "unknown profile type");
    assert!(e.contains("inuse_space"), "{e}");
    let mut a = strs(&["diff", "--pyroscope", &url, "--query", "{service_name=\"leaktest\", pod=\"reload\"}"]);
    a.extend(strs(&["--base", &end(2), "--new", &end(11), "--step", "5m"]));
    let e = one_line_error(&run(&a), "diff with an empty base window");
    assert!(e.contains("base window") && e.contains("a gap, not a zero"), "{e}");
    drop(srv);
}

#[test]
fn server_killed_mid_run_is_one_line_and_exit_2() {
    let Some(srv) = start(1) else { return };
    // Freeze the server, so that leakscope's first request is accepted by
    // the kernel and waits for an answer; then kill the server under it.
    // SAFETY: signals to the server's pid.
    unsafe {
        libc::kill(srv.pid, libc::SIGSTOP);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(["fleet", "--pyroscope", &srv.url, "--query", "{service_name=\"x\"}", "--from", "1h", "--step", "5m"])
        .args(["--retries", "2", "--timeout", "30s", "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn leakscope");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "leakscope should be waiting for the frozen server");
    // SAFETY: as above.
    unsafe {
        libc::kill(srv.pid, libc::SIGKILL);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("leakscope did not give up after the server died");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let o = child.wait_with_output().unwrap();
    let e = one_line_error(&o, "server killed mid-run");
    assert!(e.contains(&format!("cannot reach Pyroscope at {}", srv.url)), "{e}");
    drop(srv);
}
