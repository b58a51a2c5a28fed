//! `leakscope capture URL`: heap snapshots (and optionally goroutine
//! profiles and `/metrics` scrapes) from a live Go process at a fixed
//! interval, into a directory.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::source::capture::{self, files, format_duration, Endpoints, Event, Kind, Options, SystemClock, UreqFetcher};
use crate::units;

/// Arguments of `leakscope capture`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    leakscope capture --every 5m --duration 2h http://127.0.0.1:9000\n  \
    leakscope capture --count 2 --every 10m --goroutines --metrics --out snaps http://127.0.0.1:6060\n\n\
    Traefik serves /debug/pprof/ only with --api.debug=true (port 9000 on the 2.11 chart, 8080 on 3.x).\n\
    Exit status: 0 when at least one heap snapshot was saved; 2 on a usage error or when nothing could be captured.")]
pub struct CaptureArgs {
    /// The process: a base URL such as http://127.0.0.1:9000 (then
    /// /debug/pprof/heap?gc=1 is fetched), or the heap profile's own URL.
    #[arg(value_name = "URL")]
    pub url: String,
    /// Time between snapshots: 500ms, 30s, 5m, 2h, 1h30m.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = positive_duration)]
    pub every: Duration,
    /// Stop after N snapshots.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Stop after this long (the snapshot due at the end is taken).
    /// Without --count or --duration, capture runs until Ctrl-C.
    #[arg(long, value_name = "DURATION", value_parser = positive_duration)]
    pub duration: Option<Duration>,
    /// Directory for the files (created if missing).
    #[arg(long, value_name = "DIR", default_value = "./leakscope-snapshots")]
    pub out: PathBuf,
    /// Also save the goroutine profile (/debug/pprof/goroutine) at each snapshot.
    #[arg(long)]
    pub goroutines: bool,
    /// Also save a /metrics scrape (gzipped text) at each snapshot; another
    /// path or URL with --metrics=PATH.
    #[arg(long, value_name = "PATH", num_args = 0..=1, require_equals = true)]
    pub metrics: Option<Option<String>>,
    /// Time limit for each request (a heap profile with gc=1 can take a while).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = positive_duration)]
    pub timeout: Duration,
    /// Print only errors: no progress, no per-file lines, no summary.
    #[arg(long, short)]
    pub quiet: bool,
}

fn positive_duration(s: &str) -> Result<Duration, String> {
    let d = files::parse_duration(s)?;
    if d.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(d)
}

/// Where progress goes: a live bar on a terminal, plain lines otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Progress {
    /// A line that always shows (errors).
    fn error(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(msg),
            None => {
                let _ = writeln!(std::io::stderr(), "{msg}");
            }
        }
    }

    /// A line that shows unless --quiet.
    fn info(&self, msg: &str) {
        if !self.quiet {
            self.error(msg);
        }
    }

    fn message(&self, msg: String) {
        if let Some(b) = &self.bar {
            b.set_message(msg);
        }
    }
}

pub(crate) fn run(a: CaptureArgs, _out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let endpoints = Endpoints::from_url(&a.url, a.goroutines, a.metrics.as_ref().map(|m| m.as_deref()))
        .map_err(anyhow::Error::msg)?;
    let mut o = Options::new(endpoints, a.out.clone());
    o.every = a.every;
    o.count = a.count;
    o.duration = a.duration;
    o.limits = crate::limits::current();

    // Snapshots expected, when known, for the bar.
    let expected = match (a.count, a.duration) {
        (c, Some(d)) => {
            let by_time = (d.as_nanos() / a.every.as_nanos()) as u64 + 1;
            Some(c.map_or(by_time, |c| c.min(by_time)))
        }
        (c, None) => c,
    };
    let bar = (!a.quiet && std::io::stderr().is_terminal()).then(|| new_bar(expected));
    let progress = Progress { bar, quiet: a.quiet };

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        let bar = progress.bar.clone();
        let dir = a.out.clone();
        // A second Ctrl-C quits at once; before that, the loop finishes the
        // file in flight. Failing to install the handler (only possible when
        // one exists already) leaves Ctrl-C at its default.
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                files::remove_temp_files(&dir, std::process::id());
                let _ = writeln!(std::io::stderr(), "leakscope: interrupted");
                std::process::exit(130);
            }
            let msg = "stopping after the current file (Ctrl-C again to quit now)";
            match &bar {
                Some(b) => b.println(msg),
                None => {
                    let _ = writeln!(std::io::stderr(), "{msg}");
                }
            }
        });
    }

    let mut also = Vec::new();
    if o.endpoints.goroutine.is_some() {
        also.push("goroutines".to_string());
    }
    if let Some(m) = &o.endpoints.metrics {
        also.push(m.clone());
    }
    let until = match (a.count, a.duration) {
        (Some(1), _) => "once".to_string(),
        (Some(c), Some(d)) => format!("{c} times or for {}", format_duration(d)),
        (Some(c), None) => format!("{c} times"),
        (None, Some(d)) => format!("for {}", format_duration(d)),
        (None, None) => "until Ctrl-C".to_string(),
    };
    progress.info(&format!(
        "capturing {}{} every {}, {until}, into {}",
        o.endpoints.heap,
        if also.is_empty() { String::new() } else { format!(" (+ {})", also.join(", ")) },
        format_duration(a.every),
        a.out.display()
    ));

    let fetch = UreqFetcher::with_tls(a.timeout, None).map_err(|e| anyhow::anyhow!(e))?;
    let res = capture::run(&o, &fetch, &SystemClock::new(), &stop, &mut |e| on_event(&progress, e));
    if let Some(b) = &progress.bar {
        b.finish_and_clear();
    }
    let s = res?;

    if !a.quiet {
        let mut kinds = vec![format!("{} heap", s.count(Kind::Heap))];
        if o.endpoints.goroutine.is_some() {
            kinds.push(format!("{} goroutine", s.count(Kind::Goroutine)));
        }
        if o.endpoints.metrics.is_some() {
            kinds.push(format!("{} metrics", s.count(Kind::Metrics)));
        }
        let failures = if s.failures == 0 { "no failures".to_string() } else { plural(s.failures, "failure") };
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "{}: {} ({}) in {}, {}, {failures}",
            if s.interrupted { "stopped" } else { "done" },
            plural(s.saved.len() as u64, "file"),
            kinds.join(", "),
            a.out.display(),
            plural(s.ticks, "snapshot"),
        )?;
        writeln!(err, "next: {}", next_step(&a.out))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `1 file`, `3 files`.
fn plural(n: u64, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

fn new_bar(expected: Option<u64>) -> ProgressBar {
    let (bar, template) = match expected {
        Some(n) => (ProgressBar::new(n), "{spinner} {elapsed_precise} [{bar:24}] {pos}/{len} {msg}"),
        None => (ProgressBar::new_spinner(), "{spinner} {elapsed_precise} {pos} snapshots · {msg}"),
    };
    let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = bar.with_style(style.progress_chars("=> "));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn on_event(p: &Progress, e: Event<'_>) {
    match e {
        Event::Tick { tick, .. } => {
            if let Some(b) = &p.bar {
                b.set_position(tick - 1);
            }
        }
        Event::Fetching { kind, .. } => p.message(format!("fetching {}", kind.name())),
        Event::Saved(s) => {
            if let Some(b) = &p.bar {
                if s.kind == Kind::Heap {
                    b.set_position(s.tick);
                }
            }
            let detail = s.detail.as_deref().map(|d| format!(", {d}")).unwrap_or_default();
            p.info(&format!("saved {} ({}{detail})", s.path.display(), units::bytes(s.bytes as i64)));
        }
        Event::Retrying { kind, attempt, tries, wait, error } => {
            p.info(&format!("{}: {error}; retrying in {} (try {attempt}/{tries})", kind.name(), format_duration(wait)));
            p.message(format!("retrying {} in {}", kind.name(), format_duration(wait)));
        }
        Event::Failed { tick, kind, error } => p.error(&format!("snapshot {tick}: {} failed: {error}", kind.name())),
        Event::Dropped { kind, error } => {
            p.error(&format!("leakscope: warning: {error}; going on without {}", kind.name()))
        }
        Event::Waiting { next_in } => p.message(countdown(next_in)),
        Event::Stopping => p.message("stopping".into()),
    }
}

/// The bar's countdown: `next in 30s`, in whole seconds rounded up, as
/// the loop reports a change of them ([`Event::Waiting`]).
fn countdown(next_in: Duration) -> String {
    let secs = next_in.as_secs() + u64::from(next_in.subsec_nanos() > 0);
    format!("next in {}", format_duration(Duration::from_secs(secs)))
}

/// What to run next, from the heap snapshots now in `dir`.
fn next_step(dir: &Path) -> String {
    let mut heaps: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().is_some_and(|n| {
                        let n = n.to_string_lossy();
                        !n.starts_with('.') && n.ends_with("-heap.pb.gz")
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    heaps.sort();
    match heaps.len() {
        0 | 1 => format!(
            "take a later snapshot into the same directory, then: leakscope diff {} LATER",
            heaps.first().map_or_else(|| "FIRST".to_string(), |p| quote(p))
        ),
        2 => format!("leakscope diff {} {}", quote(&heaps[0]), quote(&heaps[1])),
        _ => format!("leakscope trend {}", quote(dir)),
    }
}

/// `p` as a shell word.
fn quote(p: &Path) -> String {
    let s = p.display().to_string();
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=+@%,".contains(c)) {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_steps() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert!(next_step(d).contains("leakscope diff FIRST LATER"));
        std::fs::write(d.join("20261128T061530.123Z-heap.pb.gz"), b"").unwrap();
        std::fs::write(d.join("20261128T061530.123Z-goroutine.pb.gz"), b"").unwrap();
        std::fs::write(d.join(".20261128T061531.123Z-heap.pb.gz.tmp-1"), b"").unwrap();
        let one = next_step(d);
        assert!(one.starts_with("take a later snapshot into the same directory, then: leakscope diff "), "{one}");
        assert!(one.ends_with("/20261128T061530.123Z-heap.pb.gz LATER"), "{one}");
        std::fs::write(d.join("20261128T061600.000Z-heap.pb.gz"), b"").unwrap();
        assert_eq!(
            next_step(d),
            format!(
                "leakscope diff {} {}",
                quote(&d.join("20261128T061530.123Z-heap.pb.gz")),
                quote(&d.join("20261128T061600.000Z-heap.pb.gz"))
            )
        );
        std::fs::write(d.join("20261128T061630.000Z-heap.pb.gz"), b"").unwrap();
        assert_eq!(next_step(d), format!("leakscope trend {}", quote(d)));
        assert_eq!(quote(Path::new("a b/it's")), r"'a b/it'\''s'");
        assert_eq!(quote(Path::new("./snaps/x-heap.pb.gz")), "./snaps/x-heap.pb.gz");
    }

    #[test]
    fn durations_must_be_positive() {
        assert_eq!(positive_duration("200ms"), Ok(Duration::from_millis(200)));
        assert!(positive_duration("0s").unwrap_err().contains("more than zero"));
        assert!(positive_duration("30").unwrap_err().contains("missing unit"));
    }
}
