//! Inputs that can be read only once: standard input (`-`), named FIFOs and
//! process substitution (`<(…)`, a `/dev/fd/N` pipe). Every subcommand must
//! give the same report as for the regular file, and must not hang.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_leakscope");

/// Output of a run, with the input's name replaced by `-` (the name stdin has).
#[derive(Debug, PartialEq)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` with a deadline: a run that hangs (reading a FIFO twice) fails
/// the test instead of hanging it.
fn run_with_deadline(mut cmd: Command, feed: Option<&[u8]>, names: &[&str]) -> Run {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if feed.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().expect("spawn");
    if let Some(bytes) = feed {
        let mut stdin = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
    }
    // Drain both pipes while waiting, so a large report cannot block the child.
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut v);
            }
            v
        })
    };
    let out_t = drain(child.stdout.take().map(|r| Box::new(r) as Box<dyn std::io::Read + Send>));
    let err_t = drain(child.stderr.take().map(|r| Box::new(r) as Box<dyn std::io::Read + Send>));
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("{cmd:?} did not finish in 60 s (an input read twice?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (out_t.join().unwrap(), err_t.join().unwrap());
    let clean = |s: &[u8]| {
        let mut s = String::from_utf8_lossy(s).into_owned();
        for n in names {
            s = s.replace(n, "-");
        }
        s
    };
    Run { code: status.code(), stdout: clean(&stdout), stderr: clean(&stderr) }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A named FIFO in a fresh directory, fed `bytes` by a thread that opens
/// it once, as a producer process would.
fn fifo(bytes: Vec<u8>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.fifo");
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let p = path.clone();
    std::thread::spawn(move || {
        if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&p) {
            let _ = f.write_all(&bytes);
        }
    });
    (dir, path)
}

/// `args` with `{}` standing for the input, run on the file, on stdin, on a
/// FIFO and on a process substitution: all four must agree.
fn same_on_every_input(args: &[&str], file: &Path) {
    let bytes = std::fs::read(file).unwrap();
    let fname = file.to_str().unwrap();
    let with = |input: &str| -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(root());
        c.args(args.iter().map(|a| if *a == "{}" { input } else { a }));
        c
    };
    let want = run_with_deadline(with(fname), None, &[fname]);
    assert_eq!(want.code, Some(0), "{args:?} on the file: {}", want.stderr);

    let stdin = run_with_deadline(with("-"), Some(&bytes), &[]);
    assert_eq!(stdin, want, "{args:?} on stdin");

    let (_dir, f) = fifo(bytes.clone());
    let fifo_name = f.to_str().unwrap().to_string();
    let got = run_with_deadline(with(&fifo_name), None, &[&fifo_name]);
    assert_eq!(got, want, "{args:?} on a FIFO");

    // bash's <(cat FILE): /dev/fd/63, a pipe.
    let line: Vec<String> =
        args.iter().map(|a| if *a == "{}" { format!("<(cat '{fname}')") } else { format!("'{a}'") }).collect();
    let mut c = Command::new("bash");
    c.current_dir(root()).arg("-c").arg(format!("exec '{BIN}' {}", line.join(" ")));
    let got = run_with_deadline(c, None, &["/dev/fd/63", "/dev/fd/62"]);
    assert_eq!(got, want, "{args:?} on <(cat FILE)");
}

#[test]
fn top_and_info_read_every_kind_of_stream() {
    for f in [
        "testdata/leaks/metrics/00-heap.pb.gz",
        "testdata/profiles/gen-heap-raw.pb",
        "testdata/profiles/gen-heap.debug1.txt",
        "testdata/profiles/gen-goroutine.debug2.txt",
    ] {
        let path = root().join(f);
        same_on_every_input(&["top", "{}"], &path);
        same_on_every_input(&["info", "--format", "json", "{}"], &path);
    }
}

#[test]
fn diff_flamegraph_and_heap_read_streams() {
    let base = root().join("testdata/leaks/metrics/00-heap.pb.gz");
    let new = root().join("testdata/leaks/metrics/05-heap.pb.gz");
    let b = base.to_str().unwrap();
    same_on_every_input(&["diff", "--color", "never", b, "{}"], &new);
    same_on_every_input(&["diff", "--format", "json", b, "{}"], &new);
    same_on_every_input(&["flamegraph", "--base", b, "{}", "-o", "-"], &new);
    let dump = root().join("testdata/heapdumps/control/2.heapdump.gz");
    same_on_every_input(&["heap", "--color", "never", "{}"], &dump);
    same_on_every_input(&["info", "{}"], &dump);
}

/// The HTML trend report diffs its first and last snapshots after the
/// trend: a streamed snapshot must be kept, not read again. And a stream's
/// name (`-`, a FIFO's) says nothing of its order: no warning that the
/// snapshots' times "do not follow their file names".
#[test]
fn trend_html_keeps_a_streamed_snapshot() {
    let d = root().join("testdata/leaks/metrics");
    let files: Vec<String> = (0..5).map(|i| d.join(format!("0{i}-heap.pb.gz")).display().to_string()).collect();
    let last = d.join("05-heap.pb.gz");
    for format in ["text", "html"] {
        let mut args: Vec<&str> = vec!["trend", "--color", "never", "--format", format];
        args.extend(files.iter().map(String::as_str));
        args.push("{}");
        same_on_every_input(&args, &last);
    }
}
