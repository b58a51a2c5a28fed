//! `heap profile: …` text (`/debug/pprof/heap?debug=1`), read as pprof's
//! `parseHeap` reads it, plus the `#` frames and `# runtime.MemStats`.
//!
//! ```text
//! heap profile: 63: 211552 [409: 1205672] @ heap/32768
//! 1: 4096 [1: 4096] @ 0x47cc2c 0x4800c9 0x4e7b45 0x44d115 0x484f01
//! #    0x4e7b44    main.fillCache+0x64    main.go:144
//! …
//! # runtime.MemStats
//! # Alloc = 2467312
//! ```
//!
//! (Tabs, which separate the fields, are shown as spaces.)
//!
//! Each record is `INUSE_OBJECTS: INUSE_BYTES [ALLOC_OBJECTS: ALLOC_BYTES]
//! @ STACK`. The header's `heap/N` is twice `runtime.MemProfileRate` (a
//! convention inherited from the C++ heap profiler), so the period is N/2;
//! `heap_v2/N` is the rate itself. Values are unsampled as pprof does: a
//! record of `count` objects totalling `size` bytes, average `a = size /
//! count`, was sampled with probability `1 - exp(-a/period)`, so both are
//! divided by it and truncated ([`scale`]).

use std::sync::LazyLock;

use regex::Regex;

use super::goexp::{exp, go_f64_to_i64};
use super::{err, parse_frame, snippet, Builder, Frame, Lines};
use crate::pprof::error::DecodeError;
use crate::profile::{Label, LegacyFormat, MemStats, Profile};

// pprof's regexes, with `\d` spelled `[0-9]` (Go's `\d` is ASCII only).
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"heap profile: *([0-9]+): *([0-9]+) *\[ *([0-9]+): *([0-9]+) *\] *@ *(heap[_a-z0-9]*)/?([0-9]*)")
        .unwrap()
});
static GROWTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"heap profile: *([0-9]+): *([0-9]+) *\[ *([0-9]+): *([0-9]+) *\] @ growthz?").unwrap()
});
static FRAGMENTATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"heap profile: *([0-9]+): *([0-9]+) *\[ *([0-9]+): *([0-9]+) *\] @ fragmentationz?").unwrap()
});
static SAMPLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(-?[0-9]+): *(-?[0-9]+) *\[ *([0-9]+): *([0-9]+) *\] @([ x0-9a-f]*)").unwrap());
static HEX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"0x[0-9a-f]+").unwrap());

/// True if `line` is a header pprof's legacy heap parser accepts.
pub(super) fn is_header(line: &str) -> bool {
    HEADER.is_match(line) || GROWTH.is_match(line) || FRAGMENTATION.is_match(line)
}

/// pprof's `isMemoryMapSentinel`.
fn is_memory_map_sentinel(line: &str) -> bool {
    line.contains("--- Memory map: ---") || line.contains("MAPPED_LIBRARIES:")
}

/// pprof's `scaleHeapSample`, bit for bit on amd64: the `count` objects of
/// `size` bytes of one record, unsampled at average sampling `rate`.
pub(super) fn scale(count: i64, size: i64, rate: i64) -> (i64, i64) {
    if count == 0 || size == 0 {
        return (0, 0);
    }
    if rate <= 1 {
        // rate 1: every allocation was recorded; below 1: unknown.
        return (count, size);
    }
    let avg = size as f64 / count as f64;
    let s = 1.0 / (1.0 - exp(-avg / rate as f64));
    (go_f64_to_i64(count as f64 * s), go_f64_to_i64(size as f64 * s))
}

/// The header's sampling: `(v2, period, has_alloc)`, as pprof's
/// `parseHeapHeader`.
fn header(no: u64, line: &str) -> Result<(bool, i64, bool), DecodeError> {
    if let Some(c) = HEADER.captures(line) {
        let mut period = 0i64;
        if !c[6].is_empty() {
            period = c[6].parse().map_err(|_| err(no, format!("sampling rate {} is out of range", &c[6])))?;
        }
        // Compared as text, as pprof does.
        let has_alloc = (c[3] != c[1] && &c[3] != "0") || (c[4] != c[2] && &c[4] != "0");
        return match &c[5] {
            "heapz_v2" | "heap_v2" => Ok((true, period, has_alloc)),
            "heapprofile" => Ok((false, 1, has_alloc)),
            "heap" => Ok((true, period / 2, has_alloc)),
            other => {
                Err(err(no, format!("unknown heap profile sampling {other:?} (expected heap, heap_v2 or heapprofile)")))
            }
        };
    }
    // growthz and fragmentationz: unsampled, objects and space only.
    Ok((false, 1, false))
}

/// Parses a heap profile whose header is the next line of `lines`.
pub(super) fn parse(mut lines: Lines<'_>) -> Result<Profile, DecodeError> {
    let (no, first) = lines.next().expect("caller peeked the header");
    let (v2, period, has_alloc) = header(no, first)?;
    let mut b = Builder::new();
    b.p.legacy = Some(LegacyFormat::Heap);
    b.p.period_type = b.value_type("space", "bytes");
    b.p.period = period;
    let types: &[(&str, &str)] = if has_alloc {
        // Alloc before inuse, so that pprof's default (the last) is inuse_space.
        &[("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"), ("inuse_space", "bytes")]
    } else {
        &[("objects", "count"), ("space", "bytes")]
    };
    for (t, u) in types {
        let vt = b.value_type(t, u);
        b.p.sample_types.push(vt);
    }
    let bytes_key = b.str("bytes");

    // The current record: its addresses, locations and `#` frames.
    let mut addrs: Vec<u64> = Vec::new();
    let mut locs: Vec<u32> = Vec::new();
    let mut frames: Vec<Frame<'_>> = Vec::new();
    let mut memstats: Option<MemStats> = None;
    let mut in_memstats = false;
    let mut values = Vec::with_capacity(4);

    for (no, raw) in lines {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            if line == "# runtime.MemStats" {
                memstats = Some(MemStats::default());
                in_memstats = true;
            } else if let Some(f) = parse_frame(line) {
                frames.push(f);
            } else if let (true, Some(ms)) = (in_memstats, memstats.as_mut()) {
                memstats_line(ms, line);
            }
            continue;
        }
        if is_memory_map_sentinel(line) {
            // pprof reads mappings from here on; they change no value or
            // address, and Go never writes them.
            break;
        }
        b.symbolize(&addrs, &locs, &frames)?;
        frames.clear();
        in_memstats = false;

        let Some(c) = SAMPLE.captures(line) else {
            return Err(err(
                no,
                format!(
                    "expected a heap record `INUSE_OBJECTS: INUSE_BYTES [ALLOC_OBJECTS: ALLOC_BYTES] @ 0xADDR …`, found {}",
                    snippet(line)
                ),
            ));
        };
        values.clear();
        let mut blocksize = 0i64;
        if has_alloc {
            add_values(no, &c[3], &c[4], "allocation", v2, period, &mut values, &mut blocksize)?;
        }
        add_values(no, &c[1], &c[2], "inuse", v2, period, &mut values, &mut blocksize)?;

        addrs.clear();
        locs.clear();
        for m in HEX.find_iter(&c[5]) {
            let a = u64::from_str_radix(&m.as_str()[2..], 16)
                .map_err(|_| err(no, format!("address {} does not fit in 64 bits", m.as_str())))?;
            addrs.push(a);
            // Return addresses: back up by one to land on the call.
            locs.push(b.location_at(a.wrapping_sub(1))?);
        }
        let label = Label { key: bytes_key, str: 0, num: blocksize, num_unit: 0 };
        b.push_sample(&locs, &values, &[label])?;
    }
    b.symbolize(&addrs, &locs, &frames)?;
    b.p.memstats = memstats;
    b.finish()
}

/// pprof's `addValues`: parses one `COUNT: BYTES` pair, checks it, sets the
/// block size, scales it and appends it.
#[allow(clippy::too_many_arguments)]
fn add_values(
    no: u64,
    count: &str,
    size: &str,
    what: &str,
    v2: bool,
    rate: i64,
    values: &mut Vec<i64>,
    blocksize: &mut i64,
) -> Result<(), DecodeError> {
    let num = |s: &str| -> Result<i64, DecodeError> {
        s.parse().map_err(|_| err(no, format!("{what} value {s} is out of range")))
    };
    let (mut count, mut size) = (num(count)?, num(size)?);
    if count == 0 && size != 0 {
        return Err(err(no, format!("{what} count was 0 but {what} bytes was {size}")));
    }
    if count != 0 {
        *blocksize = size.wrapping_div(count);
        if v2 {
            (count, size) = scale(count, size, rate);
        }
    }
    values.push(count);
    values.push(size);
    Ok(())
}

/// Reads one `# Name = value` line of the MemStats trailer.
fn memstats_line(ms: &mut MemStats, line: &str) {
    let Some((name, value)) = line.trim_start_matches('#').trim().split_once(" = ") else { return };
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() || name.contains(char::is_whitespace) {
        return;
    }
    ms.entries.push((name.to_string(), value.to_string()));
    let n = value.parse::<u64>().ok();
    // "Stack = INUSE / SYS" and the like.
    let pair = || {
        let (a, b) = value.split_once(" / ")?;
        Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?))
    };
    let (first, second) = match pair() {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    };
    match name {
        "Alloc" => ms.alloc = n,
        "TotalAlloc" => ms.total_alloc = n,
        "Sys" => ms.sys = n,
        "Lookups" => ms.lookups = n,
        "Mallocs" => ms.mallocs = n,
        "Frees" => ms.frees = n,
        "HeapAlloc" => ms.heap_alloc = n,
        "HeapSys" => ms.heap_sys = n,
        "HeapIdle" => ms.heap_idle = n,
        "HeapInuse" => ms.heap_inuse = n,
        "HeapReleased" => ms.heap_released = n,
        "HeapObjects" => ms.heap_objects = n,
        "Stack" => (ms.stack_inuse, ms.stack_sys) = (first, second),
        "MSpan" => (ms.mspan_inuse, ms.mspan_sys) = (first, second),
        "MCache" => (ms.mcache_inuse, ms.mcache_sys) = (first, second),
        "BuckHashSys" => ms.buck_hash_sys = n,
        "GCSys" => ms.gc_sys = n,
        "OtherSys" => ms.other_sys = n,
        "NextGC" => ms.next_gc = n,
        "LastGC" => ms.last_gc = n,
        "NumGC" => ms.num_gc = n,
        "NumForcedGC" => ms.num_forced_gc = n,
        "GCCPUFraction" => ms.gc_cpu_fraction = value.parse::<f64>().ok(),
        "MaxRSS" => ms.max_rss = n,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_as_pprof() {
        // From pprof's own parse of google-pprof__gobench.heap (period 524288).
        assert_eq!(scale(1, 524288, 524288), (1, 829411));
        assert_eq!(scale(3, 1572864, 524288), (4, 2488234));
        assert_eq!(scale(0, 0, 524288), (0, 0));
        assert_eq!(scale(5, 10, 1), (5, 10));
        assert_eq!(scale(5, 10, 0), (5, 10));
    }

    #[test]
    fn header_variants() {
        assert_eq!(header(1, "heap profile: 1: 2 [3: 4] @ heap/1048576").unwrap(), (true, 524288, true));
        assert_eq!(header(1, "heap profile: 1: 2 [1: 2] @ heap_v2/4096").unwrap(), (true, 4096, false));
        assert_eq!(header(1, "heap profile: 1: 2 [0: 0] @ heapprofile").unwrap(), (false, 1, false));
        assert_eq!(header(1, "heap profile: 1: 2 [3: 4] @ growthz").unwrap(), (false, 1, false));
        assert!(header(1, "heap profile: 1: 2 [3: 4] @ heapx/1").is_err());
        assert!(header(1, "heap profile: 1: 2 [3: 4] @ heap/99999999999999999999").is_err());
    }
}
