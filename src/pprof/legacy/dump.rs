//! Full goroutine dumps (`/debug/pprof/goroutine?debug=2`, the output of
//! `runtime.Stack(buf, true)`), which pprof cannot read.
//!
//! ```text
//! goroutine 19 [chan receive, 12 minutes]:
//! main.handleRequest.func1()
//!     /src/main.go:159 +0x25
//! created by main.handleRequest in goroutine 1
//!     /src/main.go:158 +0x5f
//! ```
//!
//! (Tabs, which separate the fields, are shown as spaces.)
//!
//! Each goroutine becomes one sample of `goroutine/count` with value 1,
//! labelled `state` (the wait reason, without the minutes and flags) and
//! `created_by` (the function that ran the `go` statement: for a leak, the
//! place to look), plus `leaked` for goroutines the runtime found leaked
//! and the goroutine's pprof labels when the dump has them
//! (`GODEBUG=tracebacklabels=1`). Samples with the same stack and labels
//! are merged, their count added up, as `?debug=1` does. The dump has no
//! addresses: there is one location per source line, at address 0, and
//! inlined calls are frames of their own.

use std::sync::LazyLock;

use regex::Regex;
use rustc_hash::FxHashMap;

use super::{err, parse_label_set, snippet, split_file_line, Builder, Lines};
use crate::pprof::error::DecodeError;
use crate::profile::{Label, LegacyFormat, Profile, StrId};

// "goroutine 1 [running]:", "goroutine 7 gp=0x… m=nil [select, 2 minutes]:"
static HEADER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\Agoroutine ([0-9]+)(?: [^\[]*)? \[(.*)\]:\z").unwrap());

/// True if `line` starts a goroutine in a dump.
pub(super) fn is_header(line: &str) -> bool {
    HEADER.is_match(line.trim_end())
}

/// One goroutine being read.
#[derive(Default)]
struct Goroutine {
    labels: Vec<Label>,
    stack: Vec<u32>,
    /// A function line whose `\tFILE:LINE` line has not come yet.
    pending: Option<String>,
    /// The next `\tFILE:LINE` line belongs to `created by`.
    in_created_by: bool,
    /// Reading `[originating from goroutine N]:` ancestors, which are skipped.
    in_ancestors: bool,
}

/// A sample's identity: its stack and its (key, value) string labels.
type SampleKey = (Vec<u32>, Vec<(StrId, StrId)>);

/// The samples read so far, merged by (stack, labels).
struct Samples {
    index: FxHashMap<SampleKey, usize>,
}

impl Samples {
    fn add(&mut self, b: &mut Builder, mut g: Goroutine) -> Result<(), DecodeError> {
        if let Some(f) = g.pending.take() {
            let loc = b.location_of_line(&f, "", 0)?;
            g.stack.push(loc);
        }
        let key = (g.stack, g.labels.iter().map(|l| (l.key, l.str)).collect::<Vec<_>>());
        if let Some(&i) = self.index.get(&key) {
            b.p.values[i] += 1;
            return Ok(());
        }
        b.push_sample(&key.0, &[1], &g.labels)?;
        self.index.insert(key, b.p.num_samples() - 1);
        Ok(())
    }
}

/// `name(args)` → `name`. Arguments never hold parentheses, names may
/// (`main.(*T).m`), so the last balanced group is cut.
fn strip_args(s: &str) -> &str {
    let s = s.trim();
    if !s.ends_with(')') {
        return s;
    }
    let mut depth = 0i32;
    for (i, c) in s.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    return &s[..i];
                }
            }
            _ => {}
        }
    }
    s
}

/// `\tFILE:LINE +0xOFF [fp=… sp=… pc=…]` → `(FILE, LINE)`.
fn source_line(s: &str) -> (&str, i64) {
    let mut s = s.trim();
    for cut in [" +0x", " fp="] {
        if let Some(i) = s.find(cut) {
            s = &s[..i];
        }
    }
    split_file_line(s)
}

/// Parses a goroutine dump whose first goroutine header is the next line.
pub(super) fn parse(lines: Lines<'_>) -> Result<Profile, DecodeError> {
    let mut b = Builder::new();
    b.p.legacy = Some(LegacyFormat::GoroutineDump);
    let vt = b.value_type("goroutine", "count");
    b.p.sample_types.push(vt);
    b.p.period_type = vt;
    b.p.period = 1;
    let mut samples = Samples { index: FxHashMap::default() };
    let mut cur: Option<Goroutine> = None;

    for (no, line) in lines {
        if line.trim().is_empty() {
            if let Some(g) = cur.take() {
                samples.add(&mut b, g)?;
            }
            continue;
        }
        if let Some(c) = HEADER.captures(line.trim_end()) {
            if let Some(g) = cur.take() {
                samples.add(&mut b, g)?;
            }
            cur = Some(header(&mut b, no, &c[2])?);
            continue;
        }
        let Some(g) = cur.as_mut() else {
            return Err(err(
                no,
                format!("expected a goroutine header `goroutine N [STATE]:`, found {}", snippet(line)),
            ));
        };
        if g.in_ancestors {
            continue;
        }
        if line.starts_with('\t') || line.starts_with(' ') {
            if g.in_created_by {
                g.in_created_by = false;
            } else if let Some(f) = g.pending.take() {
                let (file, n) = source_line(line);
                let loc = b.location_of_line(&f, file, n)?;
                g.stack.push(loc);
            } else if line.trim() != "goroutine running on other thread; stack unavailable" {
                return Err(err(
                    no,
                    format!("expected a function line `NAME(ARGS)` before the source line, found {}", snippet(line)),
                ));
            }
            continue;
        }
        // A function line; one without its source line is kept as is.
        if let Some(f) = g.pending.take() {
            let loc = b.location_of_line(&f, "", 0)?;
            g.stack.push(loc);
        }
        g.in_created_by = false;
        if let Some(rest) = line.strip_prefix("created by ") {
            // "created by main.f in goroutine 1" (Go 1.21+), "created by main.f".
            let f = rest.split(" in goroutine ").next().unwrap_or(rest).trim();
            let l = b.label("created_by", f);
            g.labels.push(l);
            g.in_created_by = true;
        } else if line.starts_with("...") {
            // "...additional frames elided...", "...7 frames elided...".
        } else if line.starts_with("[originating from goroutine ") {
            g.in_ancestors = true;
        } else {
            g.pending = Some(strip_args(line).to_string());
        }
    }
    if let Some(g) = cur.take() {
        samples.add(&mut b, g)?;
    }
    b.finish()
}

/// A goroutine from the text between the header's brackets, e.g.
/// `chan receive (leaked), 5 minutes, locked to thread labels:{"k": "v"}`.
fn header(b: &mut Builder, no: u64, inner: &str) -> Result<Goroutine, DecodeError> {
    let mut g = Goroutine::default();
    let (status, set) = match inner.find(" labels:{") {
        Some(i) => (&inner[..i], Some(&inner[i + " labels:".len()..])),
        None => (inner, None),
    };
    // Wait reasons hold no commas; minutes and flags follow one.
    let mut state = status.split(", ").next().unwrap_or(status).replace(" (scan)", "");
    let leaked = state.contains(" (leaked)");
    if leaked {
        state = state.replace(" (leaked)", "");
    }
    let l = b.label("state", state.trim());
    g.labels.push(l);
    if leaked {
        let l = b.label("leaked", "true");
        g.labels.push(l);
    }
    if let Some(set) = set {
        let set = parse_label_set(set).ok_or_else(|| {
            err(no, format!("expected goroutine labels `labels:{{\"key\": \"value\", …}}`, found {}", snippet(set)))
        })?;
        for (k, v) in set {
            let l = b.label(&k, &v);
            g.labels.push(l);
        }
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_lines() {
        assert_eq!(
            strip_args("runtime/pprof.writeGoroutine({0x528298?, 0x38ab259b0120?}, 0x38ab25a28340?)"),
            "runtime/pprof.writeGoroutine"
        );
        assert_eq!(strip_args("internal/sync.(*Mutex).Lock(...)"), "internal/sync.(*Mutex).Lock");
        assert_eq!(strip_args("main.main()"), "main.main");
        assert_eq!(strip_args("panic({0x4a2b40?, 0xc000012345?})"), "panic");
        assert_eq!(source_line("\tC:/Go/src/runtime/proc.go:191 +0x1c4"), ("C:/Go/src/runtime/proc.go", 191));
        assert_eq!(source_line("\t/a b/x.go:7 +0x1d fp=0xc0 sp=0xc1 pc=0x4"), ("/a b/x.go", 7));
        assert_eq!(source_line("\tsync/mutex.go:46"), ("sync/mutex.go", 46));
        assert!(is_header("goroutine 1 [running]:"));
        assert!(is_header("goroutine 7 gp=0xc000007a40 m=nil [select, 2 minutes]:"));
        assert!(!is_header("goroutine profile: total 3"));
    }
}
