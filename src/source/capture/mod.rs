//! Capturing snapshots from a live Go process at a fixed interval: the
//! heap profile (`/debug/pprof/heap?gc=1`), and optionally the goroutine
//! profile and a `/metrics` scrape, each written atomically under a
//! timestamped name that is never reused.
//!
//! Longer than 700 lines: the capture loop and its streamed, size-checked
//! downloads are about 700; the rest is their tests, which drive them with
//! a fake clock and fetcher.
//!
//! The loop is independent of the network, the clock and the signal
//! handling: it takes a [`Fetch`], a [`Clock`] and a stop flag, and
//! reports what it does through a callback, so it is tested with fakes in
//! milliseconds.
//!
//! ```no_run
//! use std::sync::atomic::AtomicBool;
//! use std::time::Duration;
//! use leakscope::source::capture::{self, Endpoints, Options, SystemClock, UreqFetcher};
//!
//! let endpoints = Endpoints::from_url("http://127.0.0.1:6060", false, None)?;
//! let mut o = Options::new(endpoints, "snapshots".into());
//! o.every = Duration::from_secs(60);
//! o.count = Some(2);
//! let fetch = UreqFetcher::new(Duration::from_secs(60));
//! let summary = capture::run(&o, &fetch, &SystemClock::new(), &AtomicBool::new(false), &mut |_e| {})?;
//! println!("{} heap snapshots", summary.heaps().count());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod files;
pub mod http;

use std::fs::File;
use std::io::{Seek, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};

pub use files::{file_name, format_duration, parse_duration, stem, write_new, Kind};
pub use http::{Endpoints, Fetch, Response, TransportError, UreqFetcher};

use crate::limits::{Budget, Exceeded, LimitError, Limits};
use crate::pprof;
use crate::units;

/// How failed requests are retried within one tick.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per file, the first included.
    pub tries: u32,
    /// Wait before the second attempt; doubled before each later one.
    pub first_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 5 tries, waiting 0.5 s, 1 s, 2 s and 4 s between them.
    fn default() -> Self {
        RetryPolicy { tries: 5, first_backoff: Duration::from_millis(500), max_backoff: Duration::from_secs(4) }
    }
}

/// What to capture, where, and for how long.
#[derive(Debug, Clone)]
pub struct Options {
    /// The URLs.
    pub endpoints: Endpoints,
    /// Directory the files go to (created if missing).
    pub out: PathBuf,
    /// Time between the starts of two ticks.
    pub every: Duration,
    /// Stop after this many ticks.
    pub count: Option<u64>,
    /// Take no tick that would start later than this after the first one.
    pub duration: Option<Duration>,
    /// Retries within a tick.
    pub retry: RetryPolicy,
    /// Give up (an error) when the heap failed in each of the first this
    /// many ticks.
    pub give_up_after: u64,
    /// Limits: the largest body (`Limits::body_budget`) and what a saved
    /// profile may inflate to when it is checked.
    pub limits: Limits,
}

impl Options {
    /// Defaults: every 30 s until stopped, default retries, give up after 3
    /// failed ticks.
    pub fn new(endpoints: Endpoints, out: PathBuf) -> Options {
        Options {
            endpoints,
            out,
            every: Duration::from_secs(30),
            count: None,
            duration: None,
            retry: RetryPolicy::default(),
            give_up_after: 3,
            limits: Limits::default(),
        }
    }
}

/// Time, for the loop: wall time for names, a monotonic clock for the
/// schedule, and sleeping.
pub trait Clock {
    /// The current wall-clock time (names the files).
    fn wall(&self) -> SystemTime;
    /// Monotonic time since some fixed start.
    fn elapsed(&self) -> Duration;
    /// Sleeps for `d`.
    fn sleep(&self, d: Duration);
}

/// The real clock.
#[derive(Debug)]
pub struct SystemClock {
    start: Instant,
}

impl SystemClock {
    /// A clock whose `elapsed` starts now.
    pub fn new() -> SystemClock {
        SystemClock { start: Instant::now() }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d)
    }
}

/// How often a wait checks the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// A file that was written.
#[derive(Debug, Clone)]
pub struct Saved {
    /// The tick it belongs to (1-based).
    pub tick: u64,
    /// What it holds.
    pub kind: Kind,
    /// Where it is.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// A short description of the content: `inuse 45.6 MiB`, `123 goroutines`.
    pub detail: Option<String>,
}

/// What the loop is doing, for progress display.
#[derive(Debug)]
pub enum Event<'a> {
    /// A tick starts.
    Tick {
        /// 1-based.
        tick: u64,
        /// `--count`, when given.
        of: Option<u64>,
    },
    /// A request is about to be sent.
    Fetching {
        /// What is fetched.
        kind: Kind,
        /// From where.
        url: &'a str,
    },
    /// A file was written.
    Saved(&'a Saved),
    /// A request failed and will be tried again.
    Retrying {
        /// What is fetched.
        kind: Kind,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// Attempts allowed.
        tries: u32,
        /// The wait before the next one.
        wait: Duration,
        /// What went wrong.
        error: &'a str,
    },
    /// A file of this tick could not be captured.
    Failed {
        /// 1-based.
        tick: u64,
        /// What was fetched.
        kind: Kind,
        /// What went wrong.
        error: &'a str,
    },
    /// Waiting for the next tick: sent when the wait starts, and again
    /// each time the whole seconds left change, so a countdown moves.
    Waiting {
        /// Until it starts.
        next_in: Duration,
    },
    /// A file that cannot be had from this process (a 4xx, or a body that
    /// is not what was asked for): it is not
    /// asked for again, and the capture goes on without it. Only a
    /// `/metrics` scrape is dropped so.
    Dropped {
        /// What is no longer fetched.
        kind: Kind,
        /// What went wrong.
        error: &'a str,
    },
    /// The stop flag was seen; the loop ends now.
    Stopping,
}

/// How a run went.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Ticks started.
    pub ticks: u64,
    /// Files written, in order.
    pub saved: Vec<Saved>,
    /// Files that could not be captured.
    pub failures: u64,
    /// The run was ended by the stop flag.
    pub interrupted: bool,
    /// From the start to the end of the run.
    pub elapsed: Duration,
}

impl Summary {
    /// The heap snapshots written.
    pub fn heaps(&self) -> impl Iterator<Item = &Saved> {
        self.saved.iter().filter(|s| s.kind == Kind::Heap)
    }

    /// Files written of `kind`.
    pub fn count(&self, kind: Kind) -> usize {
        self.saved.iter().filter(|s| s.kind == kind).count()
    }
}

/// Why one file of a tick was not captured.
#[derive(Debug)]
struct Failure {
    message: String,
    /// Retrying will not help: a 4xx, or a body that is not what was asked for.
    permanent: bool,
    /// The stop flag was set during a retry wait.
    interrupted: bool,
    /// Writing the temporary file failed: the run cannot go on.
    local: bool,
}

impl Failure {
    fn permanent(message: String) -> Failure {
        Failure { message, permanent: true, interrupted: false, local: false }
    }
}

/// Runs the capture loop until `count` ticks were taken, `duration` has
/// passed, or `stop` is set, and returns what was written.
///
/// Each tick fetches the heap profile, then the goroutine profile and the
/// scrape when asked for, all named after the tick's start time. Transient
/// failures (no connection, timeouts, HTTP 5xx and 429) are retried with
/// exponential backoff; a tick whose retries run out is reported as failed
/// and the loop goes on. When `stop` is set the file being fetched is
/// finished and written, and nothing more is started.
///
/// Errors: the output directory cannot be created or written; any file of
/// the first tick fails for good (a 4xx, or a body that is not a profile:
/// the URL is wrong), except `/metrics`; the heap failed in each of the
/// first `give_up_after` ticks; or the run ended without any heap snapshot.
///
/// A `/metrics` scrape that fails for good (the process serves none, or
/// not at that path) is reported once as [`Event::Dropped`] and not asked
/// for again: the heap snapshots go on.
pub fn run(
    o: &Options,
    fetch: &dyn Fetch,
    clock: &dyn Clock,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(Event<'_>),
) -> anyhow::Result<Summary> {
    if o.every.is_zero() {
        bail!("the interval must be positive");
    }
    std::fs::create_dir_all(&o.out).with_context(|| format!("{}: cannot create the directory", o.out.display()))?;
    if !o.out.is_dir() {
        bail!("{}: not a directory", o.out.display());
    }
    let start = clock.elapsed();
    let mut s = Summary::default();
    let mut kinds = vec![(Kind::Heap, o.endpoints.heap.as_str())];
    if let Some(u) = &o.endpoints.goroutine {
        kinds.push((Kind::Goroutine, u));
    }
    if let Some(u) = &o.endpoints.metrics {
        kinds.push((Kind::Metrics, u));
    }
    let mut due = Duration::ZERO; // since `start`
    let mut last_heap_error = String::new();
    'ticks: loop {
        if o.count.is_some_and(|c| s.ticks >= c) || o.duration.is_some_and(|d| due > d) {
            break;
        }
        if !wait_counting_down(clock, start + due, stop, on_event) {
            s.interrupted = true;
            break;
        }
        s.ticks += 1;
        let tick = s.ticks;
        on_event(Event::Tick { tick, of: o.count });
        let stem = files::stem(clock.wall());
        let mut heap_saved = false;
        let mut dropped = None;
        for &(kind, url) in &kinds {
            if stop.load(Ordering::SeqCst) {
                s.interrupted = true;
                break 'ticks;
            }
            on_event(Event::Fetching { kind, url });
            // The body goes to a hidden temporary file as it arrives, and
            // gets its real name once it has been checked.
            let cannot_write = || format!("{}: cannot write {}", o.out.display(), kind.name());
            let tmp = o.out.join(files::temp_name(&files::file_name(&stem, 0, kind), std::process::id()));
            let file = File::options().read(true).write(true).create(true).truncate(true).open(&tmp);
            let file = file.with_context(cannot_write)?;
            let got = fetch_with_retry(o, fetch, clock, stop, kind, url, &file, on_event);
            let got = match got {
                Ok(detail) => {
                    let published = file.sync_all().and_then(|()| file.metadata()).and_then(|m| {
                        drop(file);
                        Ok((files::publish(&o.out, &stem, kind, &tmp)?, m.len()))
                    });
                    match published {
                        Ok((path, bytes)) => Ok(Saved { tick, kind, path, bytes, detail }),
                        Err(e) => {
                            let _ = std::fs::remove_file(&tmp);
                            return Err(e).with_context(cannot_write);
                        }
                    }
                }
                Err(f) => {
                    drop(file);
                    let _ = std::fs::remove_file(&tmp);
                    if f.local {
                        bail!("{}: {}", cannot_write(), f.message);
                    }
                    Err(f)
                }
            };
            match got {
                Ok(saved) => {
                    on_event(Event::Saved(&saved));
                    s.saved.push(saved);
                    heap_saved |= kind == Kind::Heap;
                }
                Err(f) => {
                    if f.interrupted {
                        // Stopped while waiting to retry: no file in flight.
                        s.interrupted = true;
                        break 'ticks;
                    }
                    if f.permanent && kind == Kind::Metrics {
                        // No /metrics here: say so once and go on without.
                        s.failures += 1;
                        on_event(Event::Dropped { kind, error: &f.message });
                        dropped = Some(kind);
                        continue;
                    }
                    if f.permanent && tick == 1 {
                        bail!("{}", f.message);
                    }
                    s.failures += 1;
                    on_event(Event::Failed { tick, kind, error: &f.message });
                    if kind == Kind::Heap {
                        last_heap_error = f.message;
                        if !f.permanent {
                            // Unreachable after every retry: the other
                            // files would fail the same way, only slower.
                            break;
                        }
                    }
                }
            }
        }
        kinds.retain(|k| Some(k.0) != dropped);
        if !heap_saved && s.heaps().next().is_none() && tick >= o.give_up_after {
            bail!("no heap snapshot could be captured in {tick} attempts; last error: {last_heap_error}");
        }
        let now = clock.elapsed() - start;
        due = (due + o.every).max(now);
    }
    if s.interrupted {
        on_event(Event::Stopping);
    }
    s.elapsed = clock.elapsed() - start;
    if s.heaps().next().is_none() {
        if s.interrupted {
            bail!("interrupted before any heap snapshot was saved");
        }
        bail!("no heap snapshot was saved; last error: {last_heap_error}");
    }
    Ok(s)
}

/// [`wait_until`], reporting the time left as [`Event::Waiting`] when the
/// wait starts and each time its whole seconds (rounded up) change.
fn wait_counting_down(clock: &dyn Clock, t: Duration, stop: &AtomicBool, on_event: &mut dyn FnMut(Event<'_>)) -> bool {
    let mut shown = None;
    wait(clock, t, stop, &mut |left| {
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        if shown != Some(secs) {
            shown = Some(secs);
            on_event(Event::Waiting { next_in: left });
        }
    })
}

/// Sleeps until `clock.elapsed()` reaches `t`; false when `stop` was set.
fn wait_until(clock: &dyn Clock, t: Duration, stop: &AtomicBool) -> bool {
    wait(clock, t, stop, &mut |_| {})
}

/// [`wait_until`], calling `each` with the time left before every sleep.
fn wait(clock: &dyn Clock, t: Duration, stop: &AtomicBool, each: &mut dyn FnMut(Duration)) -> bool {
    loop {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        let now = clock.elapsed();
        if now >= t {
            return true;
        }
        each(t - now);
        clock.sleep((t - now).min(POLL));
    }
}

/// Fetches one file into `file` (a new, empty temporary file), checking
/// it as it arrives and once it is complete, and retrying transient
/// failures. Returns a description of what was saved.
#[allow(clippy::too_many_arguments)]
fn fetch_with_retry(
    o: &Options,
    fetch: &dyn Fetch,
    clock: &dyn Clock,
    stop: &AtomicBool,
    kind: Kind,
    url: &str,
    file: &File,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Option<String>, Failure> {
    let tries = o.retry.tries.max(1);
    let mut wait = o.retry.first_backoff;
    for attempt in 1..=tries {
        let local =
            |e: std::io::Error| Failure { message: e.to_string(), permanent: true, interrupted: false, local: true };
        file.set_len(0).map_err(local)?;
        let mut f = file;
        f.rewind().map_err(local)?;
        let mut spool = Spool::new(file, kind, o.limits.body_budget());
        let got = fetch.get_into(url, &mut spool);
        let message = match got {
            Ok(r) if (200..300).contains(&r.status) => {
                let head = spool.finish().map_err(|(p, head)| p.failure(url, &r, &head))?;
                return check(kind, url, &r, &head, file, &o.limits).map_err(Failure::permanent);
            }
            Ok(r) if r.status >= 500 || r.status == 429 || r.status == 408 => status_message(url, &r),
            Ok(r) => {
                let mut message = status_message(url, &r);
                if r.status == 404 && kind == Kind::Metrics {
                    message.push_str(" (give its path with --metrics=PATH)");
                }
                return Err(Failure::permanent(message));
            }
            Err(e) if e.transient => format!("GET {url}: {}", e.message),
            Err(e) => return Err(Failure::permanent(format!("GET {url}: {}", e.message))),
        };
        if attempt == tries {
            return Err(Failure {
                message: format!("{message} (gave up after {tries} tries)"),
                permanent: false,
                interrupted: false,
                local: false,
            });
        }
        on_event(Event::Retrying { kind, attempt, tries, wait, error: &message });
        let until = clock.elapsed() + wait;
        if !wait_until(clock, until, stop) {
            return Err(Failure {
                message: format!("{message} (interrupted)"),
                permanent: false,
                interrupted: true,
                local: false,
            });
        }
        wait = (wait * 2).min(o.retry.max_backoff);
    }
    unreachable!("the last attempt returns")
}

/// How many first bytes of a body are kept, for the format check and messages.
const HEAD: usize = 4096;

/// A 2xx body on its way to the temporary file: profiles as they come,
/// scrapes gzipped. It keeps the first [`HEAD`] bytes, refuses more than
/// the budget, and checks that a profile looks like one as soon as its
/// head has arrived, so an endless or wrong body is cut off early.
struct Spool<'a> {
    out: SpoolOut<'a>,
    kind: Kind,
    head: Vec<u8>,
    len: u64,
    budget: Budget,
    checked: bool,
    problem: Option<Problem>,
}

enum SpoolOut<'a> {
    Plain(&'a File),
    Gzip(Box<flate2::write::GzEncoder<&'a File>>),
}

/// Why a body was refused while it arrived.
#[derive(Debug)]
enum Problem {
    /// Larger than the budget.
    TooLarge(LimitError),
    /// A `?debug=1` text profile.
    Text,
    /// Not a pprof profile: why.
    NotProfile(String),
    /// The temporary file could not be written.
    Write(std::io::Error),
}

impl Problem {
    fn failure(self, url: &str, r: &Response, head: &[u8]) -> Failure {
        match self {
            Problem::TooLarge(e) => Failure::permanent(format!("GET {url}: {e}")),
            Problem::Text => Failure::permanent(text_profile(url)),
            Problem::NotProfile(why) => Failure::permanent(not_profile(url, r, head, &why)),
            Problem::Write(e) => Failure { message: e.to_string(), permanent: true, interrupted: false, local: true },
        }
    }
}

impl<'a> Spool<'a> {
    fn new(file: &'a File, kind: Kind, budget: Budget) -> Spool<'a> {
        let out = match kind {
            Kind::Metrics => {
                SpoolOut::Gzip(Box::new(flate2::write::GzEncoder::new(file, flate2::Compression::default())))
            }
            Kind::Heap | Kind::Goroutine => SpoolOut::Plain(file),
        };
        Spool { out, kind, head: Vec::new(), len: 0, budget, checked: false, problem: None }
    }

    fn fail(&mut self, p: Problem) -> std::io::Error {
        let e = std::io::Error::other(format!("{p:?}"));
        self.problem = Some(p);
        e
    }

    /// The body is complete: the last checks, then the file is flushed.
    /// Returns the first bytes, also with the problem.
    fn finish(mut self) -> Result<Vec<u8>, (Problem, Vec<u8>)> {
        if let Some(p) = self.problem.take() {
            return Err((p, self.head));
        }
        if !self.checked {
            if let Err(p) = early_check(self.kind, &self.head) {
                return Err((p, self.head));
            }
        }
        let res = match self.out {
            SpoolOut::Plain(mut f) => f.flush(),
            SpoolOut::Gzip(gz) => gz.finish().map(drop),
        };
        match res {
            Ok(()) => Ok(self.head),
            Err(e) => Err((Problem::Write(e), self.head)),
        }
    }
}

impl Write for Spool<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.problem.is_some() {
            return Err(std::io::Error::other("the body was refused"));
        }
        if self.len.saturating_add(buf.len() as u64) > self.budget.bytes {
            let e = self.budget.exceeded(Exceeded::Stream);
            return Err(self.fail(Problem::TooLarge(e)));
        }
        if self.head.len() < HEAD {
            let n = buf.len().min(HEAD - self.head.len());
            self.head.extend_from_slice(&buf[..n]);
            if self.head.len() == HEAD {
                self.checked = true;
                if let Err(p) = early_check(self.kind, &self.head) {
                    return Err(self.fail(p));
                }
            }
        }
        let res = match &mut self.out {
            SpoolOut::Plain(f) => f.write_all(buf),
            SpoolOut::Gzip(gz) => gz.write_all(buf),
        };
        if let Err(e) = res {
            return Err(self.fail(Problem::Write(e)));
        }
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether the first bytes of a heap or goroutine body can start a pprof
/// protobuf profile, raw or gzip: a raw text profile, or a first field
/// that no profile has (an HTML page, zeros), is refused at once. Too few
/// bytes to tell pass: the whole parse decides.
fn early_check(kind: Kind, head: &[u8]) -> Result<(), Problem> {
    if kind == Kind::Metrics {
        return Ok(());
    }
    let first_tag = |b: &[u8]| -> Result<(), Problem> {
        let bad = |e: pprof::DecodeError| Problem::NotProfile(e.kind.to_string());
        if let Ok(tag) = pprof::wire::Reader::new(b, 0).varint() {
            pprof::wire::field_number(tag, 0).map_err(bad)?;
            pprof::wire::WireType::from_tag(tag, 0).map_err(bad)?;
        }
        Ok(())
    };
    match pprof::sniff(head) {
        _ if head.is_empty() => Ok(()),
        pprof::Format::LegacyText => Err(Problem::Text),
        pprof::Format::Protobuf => first_tag(head),
        pprof::Format::Gzip => {
            // The first inflated bytes, from as much as has arrived.
            let mut inflated = [0u8; 64];
            let mut got = 0;
            let mut gz = flate2::read::MultiGzDecoder::new(head);
            while got < inflated.len() {
                match std::io::Read::read(&mut gz, &mut inflated[got..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                }
            }
            match pprof::sniff(&inflated[..got]) {
                // pprof reads gzipped text too.
                pprof::Format::LegacyText => Ok(()),
                _ => first_tag(&inflated[..got]),
            }
        }
        // Heap dumps, mangled gzip, legacy CPU: the whole parse says what they are.
        _ => Ok(()),
    }
}

fn text_profile(url: &str) -> String {
    format!(
        "GET {url}: this is a text profile (?debug=1 or 2); capture saves the protobuf format, so leave debug= out \
         of the URL"
    )
}

fn not_profile(url: &str, r: &Response, head: &[u8], why: &str) -> String {
    let ct = r.content_type.as_deref().map(|c| format!(", content-type {c}")).unwrap_or_default();
    format!(
        "GET {url}: HTTP {}{ct}, but the body is not a pprof profile ({why}); it starts with {}",
        r.status,
        first_bytes(head)
    )
}

/// `GET URL: HTTP 404 Not Found: "404 page not found"`.
fn status_message(url: &str, r: &Response) -> String {
    let mut m = format!("GET {url}: HTTP {}", r.status);
    if !r.reason.is_empty() {
        m.push(' ');
        m.push_str(&r.reason);
    }
    if !r.body.is_empty() {
        m.push_str(&format!(": {}", first_bytes(&r.body)));
    }
    m
}

/// The start of a body, quoted, for an error message.
fn first_bytes(body: &[u8]) -> String {
    const N: usize = 80;
    let head = String::from_utf8_lossy(&body[..body.len().min(N)]);
    let squeezed = head.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("{squeezed:?}{}", if body.len() > N { "..." } else { "" })
}

/// Checks a complete 2xx body, saved in `file`: a heap or goroutine
/// profile must parse (within `limits`), and a heap profile must have
/// `inuse_space`. Returns a description of the content.
fn check(
    kind: Kind,
    url: &str,
    r: &Response,
    head: &[u8],
    file: &File,
    limits: &Limits,
) -> Result<Option<String>, String> {
    match kind {
        Kind::Heap | Kind::Goroutine => {
            let p = parse_file(file, limits).map_err(|why| not_profile(url, r, head, &why))?;
            if kind == Kind::Heap {
                let Some(t) = p.sample_type_index("inuse_space") else {
                    let types: Vec<&str> = (0..p.sample_types.len()).map(|i| p.sample_type_name(i)).collect();
                    return Err(format!(
                        "GET {url}: this is not a heap profile (it has sample types: {})",
                        if types.is_empty() { "none".to_string() } else { types.join(", ") }
                    ));
                };
                Ok(Some(format!("inuse {}", units::bytes(p.totals()[t]))))
            } else {
                let n = p.default_sample_index().map(|t| p.totals()[t]).unwrap_or(0);
                Ok(Some(format!("{} goroutines", units::count(n))))
            }
        }
        Kind::Metrics => Ok(None),
    }
}

/// Parses the profile written to `file`, memory-mapped.
fn parse_file(file: &File, limits: &Limits) -> Result<crate::profile::Profile, String> {
    if file.metadata().map_err(|e| e.to_string())?.len() == 0 {
        return pprof::parse_with(&[], limits).map_err(|e| e.to_string());
    }
    // SAFETY: our own temporary file, not yet published under its name:
    // nothing else truncates it while it is mapped.
    let map = unsafe { memmap2::Mmap::map(file) }.map_err(|e| e.to_string())?;
    pprof::parse_with(&map, limits).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;
    use std::time::UNIX_EPOCH;

    use super::*;

    /// A clock that only moves when slept on.
    struct FakeClock {
        now: Cell<Duration>,
        stop_at: Option<(Duration, &'static AtomicBool)>,
    }

    impl FakeClock {
        fn new() -> FakeClock {
            FakeClock { now: Cell::new(Duration::ZERO), stop_at: None }
        }
    }

    impl Clock for FakeClock {
        fn wall(&self) -> SystemTime {
            UNIX_EPOCH + Duration::from_secs(1_795_846_530) + self.now.get()
        }
        fn elapsed(&self) -> Duration {
            self.now.get()
        }
        fn sleep(&self, d: Duration) {
            self.now.set(self.now.get() + d);
            if let Some((t, flag)) = self.stop_at {
                if self.now.get() >= t {
                    flag.store(true, Ordering::SeqCst);
                }
            }
        }
    }

    /// Answers from a script per URL kind; the default is a good response.
    struct FakeFetch {
        heap: Vec<u8>,
        goroutine: Vec<u8>,
        script: RefCell<VecDeque<Result<Response, TransportError>>>,
        log: RefCell<Vec<String>>,
        /// Advances this clock by this much per request.
        clock: Option<(&'static FakeClock, Duration)>,
        stop_during: Option<(usize, &'static AtomicBool)>,
    }

    fn ok(body: &[u8]) -> Result<Response, TransportError> {
        Ok(Response { status: 200, reason: "OK".into(), content_type: None, body: body.to_vec() })
    }

    fn status(code: u16, reason: &str, body: &str) -> Result<Response, TransportError> {
        Ok(Response { status: code, reason: reason.into(), content_type: Some("text/html".into()), body: body.into() })
    }

    fn refused() -> Result<Response, TransportError> {
        Err(TransportError { message: "connection refused".into(), transient: true })
    }

    fn profile(heap: bool) -> Vec<u8> {
        use prost::Message;
        let spec = crate::synth::Spec { samples: 40, functions: 30, max_depth: 8, ..Default::default() };
        let mut p = crate::synth::profile(&spec);
        if !heap {
            // One `goroutine/count` column, one goroutine per stack.
            let ty = p.string_table.len() as i64;
            p.string_table.push("goroutine".into());
            let unit = p.string_table.iter().position(|s| s == "count").unwrap() as i64;
            p.sample_type = vec![crate::pprof::proto::ValueType { r#type: ty, unit }];
            p.period_type = None;
            for s in &mut p.sample {
                s.value = vec![1];
            }
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&p.encode_to_vec()).unwrap();
        gz.finish().unwrap()
    }

    impl FakeFetch {
        fn new(script: Vec<Result<Response, TransportError>>) -> FakeFetch {
            FakeFetch {
                heap: profile(true),
                goroutine: profile(false),
                script: RefCell::new(script.into()),
                log: RefCell::new(Vec::new()),
                clock: None,
                stop_during: None,
            }
        }
    }

    impl Fetch for FakeFetch {
        fn get(&self, url: &str) -> Result<Response, TransportError> {
            self.log.borrow_mut().push(url.to_string());
            if let Some((c, d)) = self.clock {
                c.sleep(d);
            }
            if let Some((n, flag)) = self.stop_during {
                if self.log.borrow().len() == n {
                    flag.store(true, Ordering::SeqCst);
                }
            }
            if let Some(r) = self.script.borrow_mut().pop_front() {
                return r;
            }
            if url.contains("heap") {
                ok(&self.heap)
            } else if url.contains("goroutine") {
                ok(&self.goroutine)
            } else {
                ok(b"# TYPE up gauge\nup 1\n")
            }
        }
    }

    fn leak<T>(t: T) -> &'static T {
        Box::leak(Box::new(t))
    }

    fn opts(dir: &std::path::Path, g: bool, m: bool) -> Options {
        let e = Endpoints::from_url("http://h:1", g, m.then_some(None)).unwrap();
        let mut o = Options::new(e, dir.to_path_buf());
        o.every = Duration::from_secs(30);
        o
    }

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn count_ticks_on_schedule() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path(), true, true);
        o.count = Some(3);
        let clock = leak(FakeClock::new());
        let mut f = FakeFetch::new(vec![]);
        f.clock = Some((clock, Duration::from_millis(100)));
        let mut events = Vec::new();
        let s = run(&o, &f, clock, &AtomicBool::new(false), &mut |e| events.push(format!("{e:?}"))).unwrap();
        assert_eq!((s.ticks, s.failures, s.interrupted), (3, 0, false));
        assert_eq!((s.count(Kind::Heap), s.count(Kind::Goroutine), s.count(Kind::Metrics)), (3, 3, 3));
        // Ticks start at 0, 30 s and 60 s; each takes 300 ms of requests.
        assert_eq!(s.elapsed, Duration::from_millis(60_300));
        assert_eq!(
            names(dir.path()),
            [
                "20261128T061530.000Z-goroutine.pb.gz",
                "20261128T061530.000Z-heap.pb.gz",
                "20261128T061530.000Z-metrics.txt.gz",
                "20261128T061600.000Z-goroutine.pb.gz",
                "20261128T061600.000Z-heap.pb.gz",
                "20261128T061600.000Z-metrics.txt.gz",
                "20261128T061630.000Z-goroutine.pb.gz",
                "20261128T061630.000Z-heap.pb.gz",
                "20261128T061630.000Z-metrics.txt.gz",
            ]
        );
        let heap = s.heaps().next().unwrap();
        assert!(heap.detail.as_deref().unwrap().starts_with("inuse "), "{:?}", heap.detail);
        assert_eq!(std::fs::read(&heap.path).unwrap(), f.heap);
        let g = s.saved.iter().find(|x| x.kind == Kind::Goroutine).unwrap();
        assert!(g.detail.as_deref().unwrap().ends_with(" goroutines"), "{:?}", g.detail);
        let m = s.saved.iter().find(|x| x.kind == Kind::Metrics).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(&std::fs::read(&m.path).unwrap()[..]),
            &mut text,
        )
        .unwrap();
        assert_eq!(text, "# TYPE up gauge\nup 1\n");
        // Each 29.7 s wait counts down: 29.7 s, then every whole second left.
        assert_eq!(events.iter().filter(|e| e.starts_with("Waiting")).count(), 2 * 30);
        assert_eq!(
            f.log.borrow()[..3],
            ["http://h:1/debug/pprof/heap?gc=1", "http://h:1/debug/pprof/goroutine", "http://h:1/metrics"]
        );
    }

    #[test]
    fn duration_limit_includes_the_last_due_tick() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path(), false, false);
        o.duration = Some(Duration::from_secs(60));
        let s = run(&o, &FakeFetch::new(vec![]), &FakeClock::new(), &AtomicBool::new(false), &mut |_| {}).unwrap();
        assert_eq!(s.ticks, 3); // 0 s, 30 s, 60 s
        o.duration = Some(Duration::from_secs(59));
        let s = run(&o, &FakeFetch::new(vec![]), &FakeClock::new(), &AtomicBool::new(false), &mut |_| {}).unwrap();
        assert_eq!(s.ticks, 2);
        o.count = Some(1);
        let s = run(&o, &FakeFetch::new(vec![]), &FakeClock::new(), &AtomicBool::new(false), &mut |_| {}).unwrap();
        assert_eq!(s.ticks, 1);
    }

    #[test]
    fn slow_ticks_do_not_bunch_up() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path(), false, false);
        o.every = Duration::from_secs(1);
        o.count = Some(3);
        let clock = leak(FakeClock::new());
        let mut f = FakeFetch::new(vec![]);
        f.clock = Some((clock, Duration::from_millis(2500)));
        let s = run(&o, &f, clock, &AtomicBool::new(false), &mut |_| {}).unwrap();
        // Each tick starts as soon as the previous one ends.
        assert_eq!(s.elapsed, Duration::from_millis(7500));
    }

    #[test]
    fn transient_errors_are_retried_with_backoff() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path(), false, false);
        o.count = Some(1);
        let f = FakeFetch::new(vec![status(503, "Service Unavailable", "busy"), refused(), status(429, "", "")]);
        let clock = FakeClock::new();
        let mut waits = Vec::new();
        let s = run(&o, &f, &clock, &AtomicBool::new(false), &mut |e| {
            if let Event::Retrying { wait, error, .. } = e {
                waits.push((wait, error.to_string()));
            }
        })
        .unwrap();
        assert_eq!((s.count(Kind::Heap), s.failures), (1, 0));
        assert_eq!(f.log.borrow().len(), 4);
        let w: Vec<Duration> = waits.iter().map(|x| x.0).collect();
        assert_eq!(w, [Duration::from_millis(500), Duration::from_secs(1), Duration::from_secs(2)]);
        assert_eq!(waits[0].1, "GET http://h:1/debug/pprof/heap?gc=1: HTTP 503 Service Unavailable: \"busy\"");
        assert_eq!(waits[1].1, "GET http://h:1/debug/pprof/heap?gc=1: connection refused");
        assert_eq!(clock.elapsed(), Duration::from_millis(3500));
    }

    #[test]
    fn a_failed_tick_does_not_end_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path(), true, false);
        o.count = Some(3);
        // Tick 1 fine (heap + goroutine); tick 2: the heap is unreachable
        // for all 5 tries, so its goroutine is skipped; tick 3 fine.
        let good = FakeFetch::new(vec![]);
        let mut script = vec![ok(&good.heap), ok(&good.goroutine)];
        script.extend((0..5).map(|_| refused()));
        let f = FakeFetch::new(script);
        let mut failed = Vec::new();
        let s = run(&o, &f, &FakeClock::new(), &AtomicBool::new(false), &mut |e| {
            if let Event::Failed { tick, kind, error } = e {
                failed.push((tick, kind, error.to_string()));
            }
        })
        .unwrap();
        assert_eq!((s.ticks, s.count(Kind::Heap), s.count(Kind::Goroutine), s.failures), (3, 2, 2, 1));
        assert_eq!(failed.len(), 1);
        assert_eq!((failed[0].0, failed[0].1), (2, Kind::Heap));
        assert!(failed[0].2.ends_with("connection refused (gave up after 5 tries)"), "{}", failed[0].2);
        assert_eq!(f.log.borrow().len(), 2 + 5 + 2);
    }

    #[test]
    fn a_wrong_url_fails_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path(), false, false);
        o.count = Some(10);
        let f = FakeFetch::new(vec![status(404, "Not Found", "404 page not found\n")]);
        let e = run(&o, &f, &FakeClock::new(), &AtomicBool::new(false), &mut |_| {}).unwrap_err().to_string();
        assert_eq!(e, "GET http://h:1/debug/pprof/heap?gc=1: HTTP 404 Not Found: \"404 page not found\"");
        assert_eq!(f.log.borrow().len(), 1, "a 404 is not retried");
        assert!(names(dir.path()).is_empty());

        let f = FakeFetch::new(vec![status(200, "OK", "<html><body>Please log in</body></html>")]);
        let e = run(&o, &f, &FakeClock::new(), &AtomicBool::new(false), &mut |_| {}).unwrap_err().to_string();
        assert!(e.starts_with("GET http://h:1/debug/pprof/heap?gc=1: HTTP 200, content-type text/html, but the body is not a pprof profile ("), "{e}");
        assert!(e.ends_with("it starts with \"<html><body>Please log in</body></html>\""), "{e}");
        assert!(names(dir.path()).is_empty());

        let f = FakeFetch::new(vec![ok(b"heap profile: 1: 2 [3: 4] @ heap/1048576\n")]);
        let e = run(&o, &f, &FakeClock::new(), &AtomicBool::new(false), &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("this is a text profile (?debug=1 or 2)"), "{e}");

        let g = profile(false);
        let f = FakeFetch::new(vec![ok(&g)]);
        let e = run(&o, &f, &FakeClock::new(), &AtomicBool::new(false), &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("not a heap profile (it has sample types: goroutine)"), "{e}");
    }

    /// A process that serves no /metrics (issue 18, section 5): named once,
    /// with the flag to fix it, never asked again, and the heap snapshots
    /// go on; the run succeeds.
    #[test]
    fn a_missing_metrics_endpoint_is_dropped_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path(), false, true);
        o.count = Some(3);
        let good = FakeFetch::new(vec![]);
        let f = FakeFetch::new(vec![ok(&good.heap), status(404, "Not Found", "")]);
        let mut dropped = Vec::new();
        let s = run(&o, &f, &FakeClock::new(), &AtomicBool::new(false), &mut |e| {
            if let Event::Dropped { kind, error } = e {
                dropped.push((kind, error.to_string()));
            }
        })
        .unwrap();
        assert_eq!(
            dropped,
            [(Kind::Metrics, "GET http://h:1/metrics: HTTP 404 Not Found (give its path with --metrics=PATH)".into())]
        );
        assert_eq!((s.ticks, s.count(Kind::Heap), s.count(Kind::Metrics), s.failures), (3, 3, 0, 1));
        assert_eq!(
            *f.log.borrow(),
            [
                "http://h:1/debug/pprof/heap?gc=1",
                "http://h:1/metrics",
                "http://h:1/debug/pprof/heap?gc=1",
                "http://h:1/debug/pprof/heap?gc=1"
            ],
            "/metrics is not asked for again"
        );
        assert_eq!(names(dir.path()).len(), 3, "{:?}", names(dir.path()));
    }

    /// The wait before a tick reports the time left each time its whole
    /// seconds change, so the bar's "next in" moves (issue 18, section 5).
    #[test]
    fn the_countdown_moves() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path(), false, false);
        o.count = Some(2);
        o.every = Duration::from_secs(5);
        let clock = leak(FakeClock::new());
        let mut f = FakeFetch::new(vec![]);
        f.clock = Some((clock, Duration::from_millis(100)));
        let mut left = Vec::new();
        run(&o, &f, clock, &AtomicBool::new(false), &mut |e| {
            if let Event::Waiting { next_in } = e {
                left.push(next_in);
            }
        })
        .unwrap();
        let ms: Vec<u128> = left.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [4900, 4000, 3000, 2000, 1000], "one report per second left, from 4.9 s down");
    }

    #[test]
    fn later_permanent_errors_are_reported_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path(), false, false);
        o.count = Some(3);
        let good = FakeFetch::new(vec![]);
        let f = FakeFetch::new(vec![ok(&good.heap), status(404, "Not Found", "")]);
        let s = run(&o, &f, &FakeClock::new(), &AtomicBool::new(false), &mut |_| {}).unwrap();
        assert_eq!((s.ticks, s.count(Kind::Heap), s.failures), (3, 2, 1));
        assert_eq!(f.log.borrow().len(), 3);
    }

    #[test]
    fn gives_up_when_the_first_ticks_all_fail() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path(), false, false);
        o.retry.tries = 2;
        let f = FakeFetch::new((0..100).map(|_| refused()).collect());
        let e = run(&o, &f, &FakeClock::new(), &AtomicBool::new(false), &mut |_| {}).unwrap_err().to_string();
        assert_eq!(
            e,
            "no heap snapshot could be captured in 3 attempts; last error: \
             GET http://h:1/debug/pprof/heap?gc=1: connection refused (gave up after 2 tries)"
        );
        assert_eq!(f.log.borrow().len(), 6);
        // With --count 1, one failed tick is the end.
        o.count = Some(1);
        let f = FakeFetch::new((0..100).map(|_| refused()).collect());
        let e = run(&o, &f, &FakeClock::new(), &AtomicBool::new(false), &mut |_| {}).unwrap_err().to_string();
        assert!(e.starts_with("no heap snapshot was saved; last error: GET"), "{e}");
    }

    #[test]
    fn stop_while_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let o = opts(dir.path(), true, false);
        let flag = leak(AtomicBool::new(false));
        let mut clock = FakeClock::new();
        clock.stop_at = Some((Duration::from_secs(75), flag));
        let mut stopping = false;
        let s =
            run(&o, &FakeFetch::new(vec![]), &clock, flag, &mut |e| stopping |= matches!(e, Event::Stopping)).unwrap();
        assert!(s.interrupted && stopping);
        assert_eq!((s.ticks, s.count(Kind::Heap), s.count(Kind::Goroutine)), (3, 3, 3));
        // The wait is cut short, within one poll.
        assert!(s.elapsed < Duration::from_secs(75) + POLL * 2, "{:?}", s.elapsed);
    }

    #[test]
    fn stop_during_a_download_finishes_that_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let o = opts(dir.path(), true, true);
        let flag = leak(AtomicBool::new(false));
        let mut f = FakeFetch::new(vec![]);
        f.stop_during = Some((4, flag)); // the heap request of tick 2
        let s = run(&o, &f, &FakeClock::new(), flag, &mut |_| {}).unwrap();
        assert!(s.interrupted);
        assert_eq!((s.ticks, s.count(Kind::Heap), s.count(Kind::Goroutine), s.count(Kind::Metrics)), (2, 2, 1, 1));
        assert!(names(dir.path()).iter().all(|n| !n.contains(".tmp")));
    }

    #[test]
    fn stop_during_backoff() {
        let dir = tempfile::tempdir().unwrap();
        let o = opts(dir.path(), false, false);
        let flag = leak(AtomicBool::new(false));
        let mut clock = FakeClock::new();
        clock.stop_at = Some((Duration::from_millis(200), flag));
        let f = FakeFetch::new(vec![refused()]);
        let e = run(&o, &f, &clock, flag, &mut |_| {}).unwrap_err().to_string();
        assert_eq!(e, "interrupted before any heap snapshot was saved");
        assert_eq!(f.log.borrow().len(), 1);

        // After a saved snapshot, the same is a normal end, not a failure.
        let flag = leak(AtomicBool::new(false));
        let mut clock = FakeClock::new();
        clock.stop_at = Some((Duration::from_millis(30_200), flag));
        let good = FakeFetch::new(vec![]);
        let f = FakeFetch::new(vec![ok(&good.heap), refused()]);
        let s = run(&o, &f, &clock, flag, &mut |_| {}).unwrap();
        assert_eq!((s.ticks, s.count(Kind::Heap), s.failures, s.interrupted), (2, 1, 0, true));
    }

    #[test]
    fn bad_output_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let o = opts(&file.join("sub"), false, false);
        let e = run(&o, &FakeFetch::new(vec![]), &FakeClock::new(), &AtomicBool::new(false), &mut |_| {}).unwrap_err();
        assert!(format!("{e:#}").contains("cannot create the directory"), "{e:#}");
    }
}
