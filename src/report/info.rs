//! The `info` report: what a profile or a heap dump holds, as text or as
//! JSON (schemas `leakscope.info/v1` and `leakscope.heapinfo/v1`). The
//! model is the decoded input itself.

use std::io::{self, Write};

use serde::Serialize;

use crate::heapdump::HeapDump;
use crate::profile::{MemStats, Profile};
use crate::report::reconcile::Reconciliation;
use crate::units;

#[derive(Debug, Serialize)]
struct InfoJson<'a> {
    schema: &'static str,
    file: String,
    sample_types: Vec<TypeJson<'a>>,
    default_sample_type: Option<&'a str>,
    period_type: TypeNoTotal<'a>,
    period: i64,
    time_nanos: i64,
    duration_nanos: i64,
    samples: usize,
    locations: usize,
    functions: usize,
    mappings: usize,
    strings: usize,
    comments: Vec<&'a str>,
    drop_frames: &'a str,
    keep_frames: &'a str,
    doc_url: &'a str,
    /// The `# runtime.MemStats` trailer of a legacy text heap profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    memstats: Option<MemStatsJson<'a>>,
    /// The heap profile beside MemStats, when both are present.
    #[serde(skip_serializing_if = "Option::is_none")]
    reconciliation: Option<Reconciliation>,
    /// The main binary (the first mapping), when the profile names it: what
    /// to compare to tell whether two profiles come from one program.
    #[serde(skip_serializing_if = "Option::is_none")]
    program: Option<Program<'a>>,
}

#[derive(Debug, Serialize)]
struct Program<'a> {
    file: &'a str,
    build_id: &'a str,
}

fn program(p: &Profile) -> Option<Program<'_>> {
    let m = p.mappings.first()?;
    let (file, build_id) = (p.str(m.filename), p.str(m.build_id));
    (!file.is_empty() || !build_id.is_empty()).then_some(Program { file, build_id })
}

/// `runtime.MemStats` under Go's field names; absent fields are omitted.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct MemStatsJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    alloc: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_alloc: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sys: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lookups: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mallocs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frees: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    heap_alloc: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    heap_sys: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    heap_idle: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    heap_inuse: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    heap_released: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    heap_objects: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stack_inuse: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stack_sys: Option<u64>,
    #[serde(rename = "MSpanInuse", skip_serializing_if = "Option::is_none")]
    mspan_inuse: Option<u64>,
    #[serde(rename = "MSpanSys", skip_serializing_if = "Option::is_none")]
    mspan_sys: Option<u64>,
    #[serde(rename = "MCacheInuse", skip_serializing_if = "Option::is_none")]
    mcache_inuse: Option<u64>,
    #[serde(rename = "MCacheSys", skip_serializing_if = "Option::is_none")]
    mcache_sys: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    buck_hash_sys: Option<u64>,
    #[serde(rename = "GCSys", skip_serializing_if = "Option::is_none")]
    gc_sys: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    other_sys: Option<u64>,
    #[serde(rename = "NextGC", skip_serializing_if = "Option::is_none")]
    next_gc: Option<u64>,
    #[serde(rename = "LastGC", skip_serializing_if = "Option::is_none")]
    last_gc: Option<u64>,
    #[serde(rename = "NumGC", skip_serializing_if = "Option::is_none")]
    num_gc: Option<u64>,
    #[serde(rename = "NumForcedGC", skip_serializing_if = "Option::is_none")]
    num_forced_gc: Option<u64>,
    #[serde(rename = "GCCPUFraction", skip_serializing_if = "Option::is_none")]
    gc_cpu_fraction: Option<f64>,
    #[serde(rename = "MaxRSS", skip_serializing_if = "Option::is_none")]
    max_rss: Option<u64>,
    /// Every other `# Name = value` line, value as printed (`PauseNs`, …).
    #[serde(rename = "other")]
    other: std::collections::BTreeMap<&'a str, &'a str>,
}

/// Trailer names that [`MemStatsJson`] has a field for.
const MEMSTATS_FIELDS: [&str; 24] = [
    "Alloc",
    "TotalAlloc",
    "Sys",
    "Lookups",
    "Mallocs",
    "Frees",
    "HeapAlloc",
    "HeapSys",
    "HeapIdle",
    "HeapInuse",
    "HeapReleased",
    "HeapObjects",
    "Stack",
    "MSpan",
    "MCache",
    "BuckHashSys",
    "GCSys",
    "OtherSys",
    "NextGC",
    "LastGC",
    "NumGC",
    "NumForcedGC",
    "GCCPUFraction",
    "MaxRSS",
];

impl<'a> MemStatsJson<'a> {
    fn new(m: &'a MemStats) -> Self {
        MemStatsJson {
            alloc: m.alloc,
            total_alloc: m.total_alloc,
            sys: m.sys,
            lookups: m.lookups,
            mallocs: m.mallocs,
            frees: m.frees,
            heap_alloc: m.heap_alloc,
            heap_sys: m.heap_sys,
            heap_idle: m.heap_idle,
            heap_inuse: m.heap_inuse,
            heap_released: m.heap_released,
            heap_objects: m.heap_objects,
            stack_inuse: m.stack_inuse,
            stack_sys: m.stack_sys,
            mspan_inuse: m.mspan_inuse,
            mspan_sys: m.mspan_sys,
            mcache_inuse: m.mcache_inuse,
            mcache_sys: m.mcache_sys,
            buck_hash_sys: m.buck_hash_sys,
            gc_sys: m.gc_sys,
            other_sys: m.other_sys,
            next_gc: m.next_gc,
            last_gc: m.last_gc,
            num_gc: m.num_gc,
            num_forced_gc: m.num_forced_gc,
            gc_cpu_fraction: m.gc_cpu_fraction,
            max_rss: m.max_rss,
            other: m
                .entries
                .iter()
                .filter(|(k, _)| !MEMSTATS_FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
        }
    }
}

/// The MemStats lines of `info`'s text output: Go's name and the value,
/// sizes in IEC units.
fn memstats_rows(m: &MemStats) -> Vec<(&'static str, String)> {
    let b = |v: Option<u64>| v.map(|v| units::bytes(i64::try_from(v).unwrap_or(i64::MAX)));
    let c = |v: Option<u64>| v.map(|v| units::count(i64::try_from(v).unwrap_or(i64::MAX)));
    let rows = [
        ("HeapAlloc", b(m.heap_alloc)),
        ("HeapInuse", b(m.heap_inuse)),
        ("HeapIdle", b(m.heap_idle)),
        ("HeapReleased", b(m.heap_released)),
        ("HeapSys", b(m.heap_sys)),
        ("HeapObjects", c(m.heap_objects)),
        ("TotalAlloc", b(m.total_alloc)),
        ("Mallocs", c(m.mallocs)),
        ("Frees", c(m.frees)),
        ("StackInuse", b(m.stack_inuse)),
        ("StackSys", b(m.stack_sys)),
        ("MSpanInuse", b(m.mspan_inuse)),
        ("MCacheInuse", b(m.mcache_inuse)),
        ("BuckHashSys", b(m.buck_hash_sys)),
        ("GCSys", b(m.gc_sys)),
        ("OtherSys", b(m.other_sys)),
        ("Sys", b(m.sys)),
        // With GOGC=off the runtime reports a goal of about 2^64.
        (
            "NextGC",
            m.next_gc.map(|v| if v >= 1 << 62 { "none (GOGC=off)".to_string() } else { units::bytes(v as i64) }),
        ),
        ("NumGC", c(m.num_gc)),
        ("MaxRSS", b(m.max_rss)),
    ];
    rows.into_iter().filter_map(|(k, v)| Some((k, v?))).collect()
}

#[derive(Debug, Serialize)]
struct TypeJson<'a> {
    name: &'a str,
    unit: &'a str,
    total: i64,
}

#[derive(Debug, Serialize)]
struct TypeNoTotal<'a> {
    name: &'a str,
    unit: &'a str,
}

/// Writes what profile `p`, read from `file`, holds: as JSON (schema
/// `leakscope.info/v1`) or as text.
pub fn profile(p: &Profile, file: &str, json: bool, out: &mut dyn Write) -> io::Result<()> {
    let totals = p.totals();
    let dflt = p.default_sample_index();
    if json {
        let doc = InfoJson {
            schema: "leakscope.info/v1",
            file: file.to_string(),
            sample_types: (0..p.sample_types.len())
                .map(|i| TypeJson { name: p.sample_type_name(i), unit: p.sample_type_unit(i), total: totals[i] })
                .collect(),
            default_sample_type: dflt.map(|i| p.sample_type_name(i)),
            period_type: TypeNoTotal { name: p.str(p.period_type.ty), unit: p.str(p.period_type.unit) },
            period: p.period,
            time_nanos: p.time_nanos,
            duration_nanos: p.duration_nanos,
            samples: p.num_samples(),
            locations: p.locations.len(),
            functions: p.functions.len(),
            mappings: p.mappings.len(),
            strings: p.strings.len(),
            comments: p.comments.iter().map(|&c| p.str(c)).collect(),
            drop_frames: p.str(p.drop_frames),
            keep_frames: p.str(p.keep_frames),
            doc_url: p.str(p.doc_url),
            memstats: p.memstats.as_ref().map(MemStatsJson::new),
            program: program(p),
            reconciliation: p
                .memstats
                .as_ref()
                .zip(p.sample_type_index("inuse_space"))
                .map(|(m, t)| Reconciliation::from_memstats(totals[t], m)),
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)?;
    } else {
        writeln!(out, "File:         {}", file)?;
        let kind = if p.is_heap() { "Go heap profile" } else { "profile" };
        writeln!(out, "Kind:         {kind}")?;
        if let Some(pr) = program(p) {
            let id = if pr.build_id.is_empty() { String::new() } else { format!(" (build ID {})", pr.build_id) };
            writeln!(out, "Program:      {}{id}", pr.file)?;
        }
        if p.time_nanos != 0 {
            writeln!(out, "Time:         {}", units::utc(p.time_nanos))?;
        }
        if p.duration_nanos != 0 {
            writeln!(out, "Duration:     {}", units::duration_ns(p.duration_nanos))?;
        }
        let (pt, pu) = (p.str(p.period_type.ty), p.str(p.period_type.unit));
        if !pt.is_empty() || p.period != 0 {
            writeln!(out, "Period:       {} ({pt}/{pu})", units::count(p.period))?;
        }
        writeln!(
            out,
            "Contents:     {} samples, {} locations, {} functions, {} mappings, {} strings",
            units::count(p.num_samples() as i64),
            units::count(p.locations.len() as i64),
            units::count(p.functions.len() as i64),
            units::count(p.mappings.len() as i64),
            units::count(p.strings.len() as i64),
        )?;
        writeln!(out, "Sample types:")?;
        let w = (0..p.sample_types.len()).map(|i| p.sample_type_name(i).len()).max().unwrap_or(0);
        for (i, total) in totals.iter().enumerate() {
            let mark = if Some(i) == dflt { "  (default)" } else { "" };
            writeln!(
                out,
                "  {:<w$}  {:<8}  total {}{mark}",
                p.sample_type_name(i),
                p.sample_type_unit(i),
                units::human(*total, p.sample_type_unit(i)),
            )?;
        }
        if let Some(m) = &p.memstats {
            writeln!(out, "MemStats:     runtime.MemStats when the profile was written")?;
            for (k, v) in memstats_rows(m) {
                writeln!(out, "  {k:<12}  {v}")?;
            }
            if let Some(t) = p.sample_type_index("inuse_space") {
                writeln!(out, "Reconciliation:")?;
                for l in Reconciliation::from_memstats(totals[t], m).text_lines() {
                    writeln!(out, "  {l}")?;
                }
            }
        }
        for &c in &p.comments {
            writeln!(out, "Comment:      {}", p.str(c))?;
        }
        if p.drop_frames != 0 {
            writeln!(out, "Drop frames:  {}", p.str(p.drop_frames))?;
        }
        if p.keep_frames != 0 {
            writeln!(out, "Keep frames:  {}", p.str(p.keep_frames))?;
        }
        if p.doc_url != 0 {
            writeln!(out, "Doc:          {}", p.str(p.doc_url))?;
        }
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct DumpInfo<'a> {
    schema: &'static str,
    file: String,
    params: &'a crate::heapdump::parse::Params,
    bytes: u64,
    records: std::collections::BTreeMap<&'static str, u64>,
    objects: u64,
    object_bytes: u64,
    goroutines: usize,
    frames: usize,
    memprof_buckets: usize,
    alloc_samples: usize,
    memstats: std::collections::BTreeMap<&'static str, u64>,
}

/// Writes what heap dump `d`, read from `file`, holds (parse only, no
/// graph): as JSON (schema `leakscope.heapinfo/v1`) or as text.
pub fn heap_dump(d: &HeapDump, file: &str, json: bool, out: &mut dyn Write) -> io::Result<()> {
    let records = crate::heapdump::parse::tag::NAMES.iter().zip(d.record_counts).map(|(n, c)| (*n, c)).collect();
    let memstats = match d.memstats {
        Some(m) => crate::heapdump::parse::MEMSTATS_NAMES.iter().zip(m).map(|(n, v)| (*n, v)).collect(),
        None => Default::default(),
    };
    let doc = DumpInfo {
        schema: "leakscope.heapinfo/v1",
        file: file.to_string(),
        params: &d.params,
        bytes: d.data.len() as u64,
        records,
        objects: d.objects.len() as u64,
        object_bytes: d.objects.size.iter().map(|&s| s as u64).sum(),
        goroutines: d.goroutines.len(),
        frames: d.frames.len(),
        memprof_buckets: d.buckets.len(),
        alloc_samples: d.samples.len(),
        memstats,
    };
    match json {
        true => {
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        false => {
            use crate::units::{bytes, count};
            writeln!(out, "File:          {}", doc.file)?;
            writeln!(
                out,
                "Format:        Go heap dump (runtime/debug.WriteHeapDump), {} bytes",
                count(doc.bytes as i64)
            )?;
            writeln!(
                out,
                "Written by:    {} {} ({}-bit, {}-endian, {} CPUs)",
                d.params.build_version,
                d.params.goarch,
                d.params.ptr_size * 8,
                if d.params.big_endian { "big" } else { "little" },
                d.params.ncpu
            )?;
            writeln!(out, "Objects:       {} ({})", count(doc.objects as i64), bytes(doc.object_bytes as i64))?;
            writeln!(out, "Goroutines:    {} ({} frames)", doc.goroutines, count(doc.frames as i64))?;
            writeln!(
                out,
                "Alloc sites:   {} memprof buckets, {} sampled live objects",
                count(doc.memprof_buckets as i64),
                count(doc.alloc_samples as i64)
            )?;
            if let (Some(ha), Some(ho), Some(gc)) =
                (d.memstat("HeapAlloc"), d.memstat("HeapObjects"), d.memstat("NumGC"))
            {
                writeln!(
                    out,
                    "MemStats:      HeapAlloc {}, HeapObjects {}, NumGC {gc}",
                    bytes(ha as i64),
                    count(ho as i64)
                )?;
            }
            let recs: Vec<String> =
                doc.records.iter().filter(|(_, &c)| c > 0).map(|(n, c)| format!("{n} {}", count(*c as i64))).collect();
            writeln!(out, "Records:       {}", recs.join(", "))?;
        }
    }
    Ok(())
}
