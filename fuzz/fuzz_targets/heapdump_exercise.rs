//! The heap-dump pipeline the `heapdump` fuzz targets drive, shared with
//! `tests/fuzz_regressions.rs`: parse, analyse with the built-in rules,
//! build the Leak Suspects report (and a diff of the dump with itself),
//! render it in every format, and export the retention profile.
//!
//! A parse error must be one line and name the byte offset; a parsed dump
//! must go through every later stage without a panic.
#![allow(dead_code)]

use leakscope::attribute::RuleSet;
use leakscope::heap::analysis::Analysis;
use leakscope::heap::report::{self as model, Options};
use leakscope::heapdump::parse::{self, Bytes, DumpError, HeapDump, HEADER};
use leakscope::report::render::heap as render;
use leakscope::report::style::Style;

/// `data`, with the dump header put in front when it is missing, so that
/// the fuzzer does not spend its time finding those 16 bytes.
pub fn with_header(data: &[u8]) -> Vec<u8> {
    if data.starts_with(HEADER) {
        data.to_vec()
    } else {
        let mut v = Vec::with_capacity(HEADER.len() + data.len());
        v.extend_from_slice(HEADER);
        v.extend_from_slice(data);
        v
    }
}

/// Checks the error contract: one line, naming the byte offset.
pub fn check_error(e: &DumpError, len: usize) {
    let s = e.to_string();
    assert!(!s.contains('\n') && !s.contains('\r'), "multi-line error: {s:?}");
    assert!(s.contains(&format!("at byte {}", e.offset)), "error does not name its offset: {s}");
    assert!(e.offset <= len as u64, "offset {} past the end ({len} bytes): {s}", e.offset);
}

/// Parses `data` as it is (no header added) and runs every later stage on
/// a dump that parses. Returns the parse result.
pub fn exercise(data: &[u8]) -> Result<HeapDump, DumpError> {
    let len = data.len();
    match parse::parse(Bytes::Owned(data.to_vec())) {
        Err(e) => {
            check_error(&e, len);
            Err(e)
        }
        Ok(dump) => {
            analyse(&dump);
            Ok(dump)
        }
    }
}

/// The built-in rules, compiled once (compiling them took most of an
/// iteration).
pub fn rules() -> &'static RuleSet {
    static RULES: std::sync::OnceLock<RuleSet> = std::sync::OnceLock::new();
    RULES.get_or_init(|| RuleSet::load(None).expect("built-in rules"))
}

/// Analysis, report, renderers and pprof export of a parsed dump.
pub fn analyse(dump: &HeapDump) {
    let rules = rules();
    let a = Analysis::new(dump, None, rules);
    for o in [Options::default(), Options { top: usize::MAX, suspect_share: 0.0, suspect_min: 0 }] {
        let r = model::build(&a, rules, "fuzz.heapdump", &o);
        let mut out = Vec::new();
        render::text(&r, Style { color: false }, &mut out).expect("text");
        render::markdown(&r, &mut out).expect("markdown");
        render::json(&r, &mut out).expect("json");
        leakscope::report::render::html::heap::report(&r, &mut out).expect("html");
    }
    let d = model::build_diff(&a, "a", &a, "b", rules, &Options::default());
    let mut out = Vec::new();
    render::diff_text(&d, Style { color: false }, &mut out).expect("diff text");
    render::diff_json(&d, &mut out).expect("diff json");
    let p = leakscope::heap::export::profile(&a);
    // inuse_space and retained_space both partition the reachable heap.
    let total = |t: usize| p.sample.iter().map(|s| s.value[t]).sum::<i64>();
    assert_eq!(total(1) as u64, a.totals().1.bytes, "inuse_space totals the reachable heap");
    assert_eq!(total(2), total(1), "retained_space totals the reachable heap");
}
