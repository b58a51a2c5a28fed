//! `NAME profile: total N` text (`/debug/pprof/goroutine?debug=1`, also
//! `threadcreate`), read as pprof's `parseGoCount` reads it, plus the `#`
//! frames and `# labels:` lines it skips.
//!
//! ```text
//! goroutine profile: total 14
//! 4 @ 0x47e58e 0x4159ee 0x415532 0x4e7cfc 0x484f01
//! # labels: {"pool":"orders"}
//! #    0x4e7cfb    main.waitOnOrders+0x1b    main.go:165
//! ```
//!
//! (Tabs, which separate the fields, are shown as spaces.)

use std::sync::LazyLock;

use regex::Regex;

use super::{err, is_space_or_comment, parse_frame, parse_label_set, snippet, Builder, Frame, Lines};
use crate::pprof::error::DecodeError;
use crate::profile::{Label, LegacyFormat, Profile};

// pprof's countStartRE and countRE; Go's `\S` is `[^\t\n\f\r ]`.
static START: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\A([^\t\n\x0C\r ]+) profile: total [0-9]+\z").unwrap());
static RECORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\A([0-9]+) @((?: 0x[0-9a-f]+)+)\z").unwrap());

/// True if `line` is a count profile's header.
pub(super) fn is_header(line: &str) -> bool {
    START.is_match(line)
}

/// Go's `strconv.ParseInt(s, 0, 64)` on `[0-9]+`: a leading 0 means octal.
fn parse_count(s: &str) -> Option<i64> {
    if s.len() > 1 && s.starts_with('0') {
        i64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

/// Parses a count profile whose header is the next line of `lines`.
pub(super) fn parse(mut lines: Lines<'_>) -> Result<Profile, DecodeError> {
    let (_, first) = lines.next().expect("caller peeked the header");
    let name = START.captures(first).expect("caller checked the header")[1].to_string();
    let mut b = Builder::new();
    b.p.legacy = Some(LegacyFormat::Count);
    let vt = b.value_type(&name, "count");
    b.p.sample_types.push(vt);
    b.p.period_type = vt;
    b.p.period = 1;

    // The current record, which is pushed once its comment lines are read.
    let mut value: Option<i64> = None;
    let mut addrs: Vec<u64> = Vec::new();
    let mut locs: Vec<u32> = Vec::new();
    let mut frames: Vec<Frame<'_>> = Vec::new();
    let mut labels: Vec<Label> = Vec::new();

    for (no, line) in lines {
        if is_space_or_comment(line) {
            let t = line.trim();
            if let Some(set) = t.strip_prefix("# labels:") {
                // Written by Go as {"k":"v", …}; pprof skips the line.
                let set = parse_label_set(set).ok_or_else(|| {
                    err(no, format!("expected a label set `# labels: {{\"key\":\"value\", …}}`, found {}", snippet(t)))
                })?;
                for (k, v) in set {
                    let l = b.label(&k, &v);
                    labels.push(l);
                }
            } else if let Some(f) = parse_frame(t) {
                frames.push(f);
            }
            continue;
        }
        if line.starts_with("---") {
            // pprof reads a memory map from here on; Go never writes one.
            break;
        }
        flush(&mut b, &mut value, &addrs, &locs, &mut frames, &mut labels)?;
        let bad = || err(no, format!("expected a record `COUNT @ 0xADDR …`, found {}", snippet(line)));
        let c = RECORD.captures(line).ok_or_else(bad)?;
        let n = parse_count(&c[1]).ok_or_else(bad)?;
        addrs.clear();
        locs.clear();
        for a in c[2].split_whitespace() {
            let a = u64::from_str_radix(&a[2..], 16)
                .map_err(|_| err(no, format!("address {a} does not fit in 64 bits")))?;
            addrs.push(a);
            // Adjust every frame by -1 to land on the call, as pprof does.
            locs.push(b.location_at(a.wrapping_sub(1))?);
        }
        value = Some(n);
    }
    flush(&mut b, &mut value, &addrs, &locs, &mut frames, &mut labels)?;
    b.finish()
}

/// Pushes the pending record, if any, with its frames and labels.
fn flush(
    b: &mut Builder,
    value: &mut Option<i64>,
    addrs: &[u64],
    locs: &[u32],
    frames: &mut Vec<Frame<'_>>,
    labels: &mut Vec<Label>,
) -> Result<(), DecodeError> {
    if let Some(v) = value.take() {
        b.symbolize(addrs, locs, frames)?;
        b.push_sample(locs, &[v], labels)?;
    }
    frames.clear();
    labels.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parse_as_go_base_0() {
        assert_eq!(parse_count("10"), Some(10));
        assert_eq!(parse_count("010"), Some(8));
        assert_eq!(parse_count("0"), Some(0));
        assert_eq!(parse_count("08"), None);
        assert_eq!(parse_count("99999999999999999999"), None);
    }

    #[test]
    fn header() {
        assert!(is_header("goroutine profile: total 7046"));
        assert!(is_header("threadcreate profile: total 12"));
        assert!(!is_header("goroutine profile: total 7046 "));
        assert!(!is_header(" goroutine profile: total 1"));
    }
}
