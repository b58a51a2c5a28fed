//! `leakscope capture` against a real Go process on 127.0.0.1: the
//! stdlib-only server in testdata/gen/pprofserver, built here with `go build`.
//!
//! Every process is bounded: the server exits when its stdin closes (and
//! after two minutes regardless), and each capture run is killed if it
//! outlives its deadline.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The server binary, built once per test run; `None` (skipped) without Go.
fn server_bin() -> Option<&'static Path> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let Some(go) = common::go() else {
            common::visible("SKIPPED: capture tests need `go` to build testdata/gen/pprofserver");
            return None;
        };
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pprofserver");
        let o = Command::new(go)
            .args(["build", "-o"])
            .arg(&out)
            .arg(".")
            .current_dir(common::root().join("testdata/gen/pprofserver"))
            .env("GOTOOLCHAIN", "local")
            .output()
            .expect("run go build");
        assert!(o.status.success(), "go build pprofserver failed: {}", String::from_utf8_lossy(&o.stderr));
        Some(out)
    })
    .as_deref()
}

/// A running pprofserver; killed on drop.
struct Server {
    child: Child,
    _stdin: ChildStdin,
    addr: String,
    /// Lines the server printed after its address.
    lines: Receiver<String>,
}

impl Server {
    fn start(bin: &Path, flags: &[&str]) -> Server {
        let mut child = Command::new(bin)
            .args(["-addr", "127.0.0.1:0", "-exit-on-eof"])
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start pprofserver");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = rx.recv_timeout(Duration::from_secs(10)).expect("pprofserver printed its address");
        let v: serde_json::Value = serde_json::from_str(&first).expect("address line is JSON");
        let addr = v["addr"].as_str().expect("addr").to_string();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        Server { child, _stdin: stdin, addr, lines: rx }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits for the server to print a line containing `needle`.
    fn wait_for_line(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return,
                Ok(_) => {}
                Err(_) => panic!("pprofserver did not print {needle:?} within {timeout:?}"),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A finished capture run.
struct Run {
    status: ExitStatus,
    stderr: String,
    took: Duration,
}

/// Starts `leakscope capture ARGS` without waiting for it.
fn spawn_capture(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .arg("capture")
        .args(args)
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start leakscope capture")
}

/// Waits for `child` to exit, killing it (and failing) after `timeout`.
fn finish(mut child: Child, timeout: Duration) -> Run {
    let start = Instant::now();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let stderr = reader.join().unwrap();
            return Run { status, stderr, took: start.elapsed() };
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("leakscope capture did not finish within {timeout:?}: {}", reader.join().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn capture(args: &[&str]) -> Run {
    finish(spawn_capture(args), Duration::from_secs(25))
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| rd.map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn ending(dir: &Path, suffix: &str) -> Vec<String> {
    files(dir).into_iter().filter(|n| !n.starts_with('.') && n.ends_with(suffix)).collect()
}

fn no_temp_files(dir: &Path) {
    let left: Vec<String> = files(dir).into_iter().filter(|n| n.contains(".tmp")).collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// Milliseconds since the epoch from a name `20261128T061530.123Z-...`.
fn name_millis(name: &str) -> i64 {
    let (date, rest) = name.split_once('T').unwrap();
    let (y, m, d): (i64, i64, i64) =
        (date[..4].parse().unwrap(), date[4..6].parse().unwrap(), date[6..8].parse().unwrap());
    let (hh, mm, ss, ms): (i64, i64, i64, i64) = (
        rest[..2].parse().unwrap(),
        rest[2..4].parse().unwrap(),
        rest[4..6].parse().unwrap(),
        rest[7..10].parse().unwrap(),
    );
    assert_eq!(&rest[10..11], "Z", "{name}");
    // Days from civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1000) + ms
}

#[test]
fn captures_heap_goroutines_and_metrics() {
    let Some(bin) = server_bin() else { return };
    let server = Server::start(bin, &[]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snaps"); // created by capture
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let r = capture(&[
        "--every",
        "200ms",
        "--count",
        "3",
        "--goroutines",
        "--metrics",
        "--out",
        out.to_str().unwrap(),
        &server.url(),
    ]);
    let after = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!(r.status.success(), "exit {:?}: {}", r.status, r.stderr);

    let heaps = ending(&out, "-heap.pb.gz");
    let gors = ending(&out, "-goroutine.pb.gz");
    let metrics = ending(&out, "-metrics.txt.gz");
    assert_eq!((heaps.len(), gors.len(), metrics.len()), (3, 3, 3), "{:?}", files(&out));
    assert_eq!(files(&out).len(), 9, "{:?}", files(&out));
    no_temp_files(&out);

    // Names carry the time: within the run, 200 ms apart, in name order.
    let times: Vec<i64> = heaps.iter().map(|n| name_millis(n)).collect();
    for w in times.windows(2) {
        assert!(w[1] - w[0] >= 190, "snapshots closer than --every: {heaps:?}");
    }
    assert!(times[0] >= before - 1 && times[2] <= after, "{before} {times:?} {after}");
    for (h, (g, m)) in heaps.iter().zip(gors.iter().zip(&metrics)) {
        let stem = h.trim_end_matches("-heap.pb.gz");
        assert_eq!(g.trim_end_matches("-goroutine.pb.gz"), stem);
        assert_eq!(m.trim_end_matches("-metrics.txt.gz"), stem);
    }

    for h in &heaps {
        let p = leakscope::source::read_profile(&out.join(h)).expect("heap snapshot parses");
        let t = p.sample_type_index("inuse_space").expect("has inuse_space");
        assert!(p.totals()[t] > 0, "{h}: empty inuse_space");
    }
    for g in &gors {
        let p = leakscope::source::read_profile(&out.join(g)).expect("goroutine profile parses");
        assert_eq!(p.sample_type_name(0), "goroutine");
        assert!(p.totals()[0] > 1, "{g}: too few goroutines");
    }
    for m in &metrics {
        let gz = std::fs::read(out.join(m)).unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).expect("metrics are gzip");
        assert!(text.contains("\ngo_goroutines "), "{text}");
        assert!(text.contains("pprofserver_requests_total "), "{text}");
    }

    // One plain line per file (stderr is not a terminal), then the summary.
    let saved: Vec<&str> = r.stderr.lines().filter(|l| l.starts_with("saved ")).collect();
    assert_eq!(saved.len(), 9, "{}", r.stderr);
    let first = out.join(&heaps[0]);
    assert!(saved[0].starts_with(&format!("saved {} (", first.display())), "{}", saved[0]);
    assert!(saved[0].contains(", inuse ") && saved[0].ends_with("B)"), "{}", saved[0]);
    assert!(saved[1].ends_with(" goroutines)"), "{}", saved[1]);
    assert!(r.stderr.contains("done: 9 files (3 heap, 3 goroutine, 3 metrics)"), "{}", r.stderr);
    assert!(r.stderr.contains(&format!("next: leakscope trend {}", out.display())), "{}", r.stderr);
    assert!(!r.stderr.contains("\x1b["), "no terminal escapes when stderr is not a terminal");
}

#[test]
fn never_overwrites() {
    let Some(bin) = server_bin() else { return };
    let server = Server::start(bin, &[]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = capture(&["--every", "100ms", "--count", "2", "--goroutines", "--out", out, &server.url()]);
    assert!(r.status.success(), "{}", r.stderr);
    assert!(r.stderr.contains("next: leakscope diff "), "{}", r.stderr);
    let first: Vec<(String, Vec<u8>)> =
        files(dir.path()).into_iter().map(|n| (n.clone(), std::fs::read(dir.path().join(&n)).unwrap())).collect();
    assert_eq!(first.len(), 4);

    let r = capture(&["--every", "100ms", "--count", "2", "--goroutines", "--quiet", "--out", out, &server.url()]);
    assert!(r.status.success(), "{}", r.stderr);
    assert_eq!(r.stderr, "", "--quiet prints nothing on success");
    let now = files(dir.path());
    assert_eq!(now.len(), 8, "{now:?}");
    for (n, bytes) in &first {
        assert_eq!(&std::fs::read(dir.path().join(n)).unwrap(), bytes, "{n} changed");
    }
    // The second run's snapshots sort after the first run's.
    let heaps = ending(dir.path(), "-heap.pb.gz");
    assert_eq!(heaps.len(), 4);
    assert!(first.iter().any(|(n, _)| n == &heaps[0]) && first.iter().any(|(n, _)| n == &heaps[1]), "{heaps:?}");
    no_temp_files(dir.path());
}

#[test]
fn retries_transient_errors() {
    let Some(bin) = server_bin() else { return };
    let server = Server::start(bin, &["-fail-first", "2"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = capture(&["--every", "200ms", "--count", "2", "--goroutines", "--metrics", "--out", out, &server.url()]);
    assert!(r.status.success(), "{}", r.stderr);
    assert_eq!(files(dir.path()).len(), 6, "{:?}", files(dir.path()));
    let retries: Vec<&str> = r.stderr.lines().filter(|l| l.contains("retrying in")).collect();
    assert_eq!(retries.len(), 2, "{}", r.stderr);
    assert!(retries[0].contains("HTTP 503 Service Unavailable: \"temporarily unavailable\""), "{}", retries[0]);
    assert!(retries[0].contains("retrying in 500ms (try 1/5)"), "{}", retries[0]);
    assert!(retries[1].contains("retrying in 1s (try 2/5)"), "{}", retries[1]);
    assert!(r.stderr.contains("no failures"), "{}", r.stderr);
}

#[test]
fn wrong_heap_endpoint_is_exit_2() {
    let Some(bin) = server_bin() else { return };
    for (flag, want) in [
        ("-heap-404", "HTTP 404 Not Found: \"<html><head><title>404 Not Found</title>"),
        ("-heap-html", "HTTP 200, content-type text/html; charset=utf-8, but the body is not a pprof profile ("),
    ] {
        let server = Server::start(bin, &[flag]);
        let dir = tempfile::tempdir().unwrap();
        let r = capture(&["--every", "200ms", "--count", "3", "--out", dir.path().to_str().unwrap(), &server.url()]);
        assert_eq!(r.status.code(), Some(2), "{flag}: {}", r.stderr);
        let url = format!("{}/debug/pprof/heap?gc=1", server.url());
        let last = r.stderr.lines().last().unwrap_or_default();
        assert!(last.starts_with(&format!("leakscope: GET {url}: ")), "{flag}: {}", r.stderr);
        assert!(last.contains(want), "{flag}: {last}");
        assert_eq!(r.stderr.matches("leakscope:").count(), 1, "one error line: {}", r.stderr);
        assert!(r.took < Duration::from_secs(5), "{flag}: a wrong URL is not retried ({:?})", r.took);
        assert!(files(dir.path()).is_empty(), "{flag}: {:?}", files(dir.path()));
    }
}

#[test]
fn connection_refused_is_retried_then_exit_2() {
    // A port nothing listens on: bind one, then close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let r = capture(&["--count", "1", "--out", dir.path().to_str().unwrap(), &url]);
    assert_eq!(r.status.code(), Some(2), "{}", r.stderr);
    assert_eq!(r.stderr.lines().filter(|l| l.contains("connection refused; retrying in")).count(), 4, "{}", r.stderr);
    let last = r.stderr.lines().last().unwrap();
    assert_eq!(
        last,
        format!(
            "leakscope: no heap snapshot was saved; last error: GET {url}/debug/pprof/heap?gc=1: \
             connection refused (gave up after 5 tries)"
        )
    );
}

#[test]
fn https_urls_are_fetched_over_tls() {
    // https is tried (no longer a usage error): a refused connection is
    // retried and reported like an http one.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("https://127.0.0.1:{port}");
    let r = capture(&["--count", "1", "--out", dir.path().to_str().unwrap(), &url]);
    assert_eq!(r.status.code(), Some(2), "{}", r.stderr);
    let last = r.stderr.lines().last().unwrap();
    assert!(last.contains(&format!("GET {url}/debug/pprof/heap?gc=1: connection refused")), "{}", r.stderr);
}

#[test]
fn usage_errors_are_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = capture(&["--out", out, "ftp://127.0.0.1:1"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(r.stderr.starts_with("leakscope: ftp://127.0.0.1:1: unsupported scheme \"ftp\""), "{}", r.stderr);
    let r = capture(&["--every", "30", "--out", out, "http://127.0.0.1:1"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(r.stderr.contains("missing unit"), "{}", r.stderr);
    let r = capture(&["--count", "0", "--out", out, "http://127.0.0.1:1"]);
    assert_eq!(r.status.code(), Some(2), "{}", r.stderr);
    assert!(files(dir.path()).is_empty());
}

fn sigint(child: &Child) {
    // SAFETY: kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(rc, 0, "kill -INT failed");
}

#[test]
fn ctrl_c_stops_after_the_current_file() {
    let Some(bin) = server_bin() else { return };
    let server = Server::start(bin, &[]);
    let dir = tempfile::tempdir().unwrap();
    let child =
        spawn_capture(&["--every", "300ms", "--goroutines", "--out", dir.path().to_str().unwrap(), &server.url()]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while ending(dir.path(), "-heap.pb.gz").is_empty() {
        assert!(Instant::now() < deadline, "no snapshot within 15 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    sigint(&child);
    let r = finish(child, Duration::from_secs(5));
    assert_eq!(r.status.code(), Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("stopping after the current file"), "{}", r.stderr);
    assert!(r.stderr.contains("\nstopped: "), "{}", r.stderr);
    no_temp_files(dir.path());
    assert!(!ending(dir.path(), "-heap.pb.gz").is_empty());
}

#[test]
fn ctrl_c_during_a_slow_download_keeps_that_file() {
    let Some(bin) = server_bin() else { return };
    let server = Server::start(bin, &["-heap-delay", "1s", "-log-requests"]);
    let dir = tempfile::tempdir().unwrap();
    let child =
        spawn_capture(&["--every", "10s", "--goroutines", "--out", dir.path().to_str().unwrap(), &server.url()]);
    server.wait_for_line("/debug/pprof/heap", Duration::from_secs(15));
    sigint(&child);
    let r = finish(child, Duration::from_secs(5));
    assert_eq!(r.status.code(), Some(0), "{}", r.stderr);
    // The heap in flight was finished and saved; the goroutine profile of
    // that snapshot was not started.
    assert_eq!(ending(dir.path(), "-heap.pb.gz").len(), 1, "{:?}", files(dir.path()));
    assert_eq!(files(dir.path()).len(), 1, "{:?}", files(dir.path()));
    assert!(r.stderr.contains("stopped: 1 file (1 heap, 0 goroutine)"), "{}", r.stderr);
}

#[test]
fn second_ctrl_c_quits_at_once() {
    let Some(bin) = server_bin() else { return };
    let server = Server::start(bin, &["-heap-delay", "5s", "-log-requests"]);
    let dir = tempfile::tempdir().unwrap();
    let child = spawn_capture(&["--every", "10s", "--out", dir.path().to_str().unwrap(), &server.url()]);
    server.wait_for_line("/debug/pprof/heap", Duration::from_secs(15));
    sigint(&child);
    std::thread::sleep(Duration::from_millis(100));
    sigint(&child);
    let r = finish(child, Duration::from_secs(3));
    assert_eq!(r.status.code(), Some(130), "{}", r.stderr);
    assert!(r.stderr.ends_with("leakscope: interrupted\n"), "{}", r.stderr);
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
}

/// A process that serves no /metrics (issue 18, section 5): `--metrics`
/// warns once on stderr, the heap snapshots go on, and the exit is 0.
#[test]
fn a_process_without_metrics_warns_once_and_keeps_capturing() {
    let Some(bin) = server_bin() else { return };
    let server = Server::start(bin, &["-no-metrics"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = capture(&["--every", "200ms", "--count", "3", "--metrics", "--out", out, &server.url()]);
    assert_eq!(r.status.code(), Some(0), "{}", r.stderr);
    assert_eq!(ending(dir.path(), "-heap.pb.gz").len(), 3, "{:?}", files(dir.path()));
    assert!(ending(dir.path(), "-metrics.txt.gz").is_empty(), "{:?}", files(dir.path()));
    no_temp_files(dir.path());
    let warnings: Vec<&str> = r.stderr.lines().filter(|l| l.contains("/metrics")).collect();
    assert_eq!(warnings.len(), 2, "the start line and one warning: {}", r.stderr);
    assert_eq!(
        warnings[1],
        format!(
            "leakscope: warning: GET {}/metrics: HTTP 404 Not Found: \"404 page not found\" \
             (give its path with --metrics=PATH); going on without metrics",
            server.url()
        )
    );
    assert!(r.stderr.contains("done: 3 files (3 heap, 0 metrics)"), "{}", r.stderr);
}

/// On a terminal the bar's "next in …" counts down while capture waits
/// (issue 18, section 5): run under `script`, which gives it a pty.
#[test]
fn the_countdown_moves_on_a_terminal() {
    let Some(bin) = server_bin() else { return };
    if Command::new("script").arg("--version").output().is_err() {
        assert!(!common::in_ci(), "CI=true but `script` (util-linux) is missing: the terminal test cannot run");
        common::visible("SKIPPED: `script` not found; the countdown test needs a pty");
        return;
    }
    let server = Server::start(bin, &[]);
    let dir = tempfile::tempdir().unwrap();
    let cmd = format!(
        "'{}' capture --every 4s --count 2 --out '{}' {}",
        env!("CARGO_BIN_EXE_leakscope"),
        dir.path().display(),
        server.url()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start script");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        String::from_utf8_lossy(&b).into_owned()
    });
    let deadline = Instant::now() + Duration::from_secs(25);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("capture under script did not finish within 25 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let screen = reader.join().unwrap();
    assert!(status.success(), "{screen}");
    assert_eq!(ending(dir.path(), "-heap.pb.gz").len(), 2, "{:?}", files(dir.path()));
    // The bar was drawn (this is a terminal), and its message went 3s, 2s, 1s.
    // The interval is 4 s, not 3 s, so the steps are all still ahead of a
    // first fetch that takes up to 2 s: under the whole suite's parallel load
    // one took 1.3 s, and with 3 s the countdown began at "next in 2s".
    assert!(screen.contains("1/2"), "{screen}");
    for s in ["next in 3s", "next in 2s", "next in 1s"] {
        assert!(screen.contains(s), "{s:?} never shown: {screen}");
    }
    let at = |s: &str| screen.find(s).unwrap();
    assert!(at("next in 3s") < at("next in 2s") && at("next in 2s") < at("next in 1s"), "{screen}");
}
