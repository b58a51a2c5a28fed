//! Differential fuzzing of the decoder against a reference validator.
//!
//! The fuzz input drives the construction of a small, mostly well-formed
//! prost `Profile`: ids come from a small range (so references usually
//! resolve, sometimes dangle or collide), string indexes sometimes point
//! one past the table or are negative, sample value counts sometimes differ
//! from the sample types, and the strings include non-ASCII function names
//! and regex syntax for `drop_frames`/`keep_frames`. The profile is encoded
//! with prost (and sometimes gzipped), then:
//!
//! - leakscope must accept it exactly when the reference validator below
//!   (pprof's `CheckValid` and `postDecode` rules) does: accepting a
//!   dangling reference is a bug, and so is rejecting a valid profile;
//! - when accepted, the decoded profile must agree with the prost message
//!   (samples, values, labels, tables and ids), with stacks and lines cut
//!   only as `drop_frames` allows, and must pass the shared invariants.
#![no_main]

use std::collections::HashSet;
use std::io::Write;

use leakscope::pprof::proto;
use leakscope::profile::{Profile, NONE};
use libfuzzer_sys::arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use prost::Message;

mod invariants;

/// Strings worth having in a table: function names pprof's `simplifyFunc`
/// treats specially, multi-byte UTF-8 next to '(', regexes valid and not,
/// file names that `filepath.Clean` rewrites, and sample type names.
const WORDS: &[&str] = &[
    "",
    "main.main",
    "runtime.mallocgc",
    "runtime\\..*",
    ".*",
    "main.(*T).m",
    "(anonymous namespace)::f(int)",
    "a::operator()(x)",
    "é(ü",
    ".é",
    "漢字(x)",
    "ü",
    "(",
    ")",
    "[",
    "a{2,}",
    "é|.*",
    "inuse_space",
    "bytes",
    "alloc_space",
    "/usr/lib/go/src/x.go",
    "../a/./b.go",
    "C:\\x\\y.go",
    "\u{2028}",
    "line\nbreak",
    "\u{0}",
];

fn string(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1, 8)? {
        String::arbitrary(u)
    } else {
        Ok(u.choose(WORDS)?.to_string())
    }
}

/// A table id: mostly small and non-zero, sometimes 0 or beyond `u32`.
fn id(u: &mut Unstructured<'_>) -> Result<u64> {
    Ok(match u.int_in_range(0..=15)? {
        0..=10 => u.int_in_range(1..=6)?,
        11 => 0,
        12 => u64::from(u32::MAX),
        13 => u64::from(u32::MAX) + 1,
        14 => u64::MAX,
        _ => u.arbitrary()?,
    })
}

/// A string-table index: mostly in range, sometimes one past, negative or
/// anything.
fn sidx(u: &mut Unstructured<'_>, nstr: usize) -> Result<i64> {
    Ok(match u.int_in_range(0..=19)? {
        0..=16 => u.int_in_range(0..=nstr.saturating_sub(1))? as i64,
        17 => nstr as i64,
        18 => -1,
        _ => u.arbitrary()?,
    })
}

/// A string-table index that is 0 (unset) half the time.
fn opt_sidx(u: &mut Unstructured<'_>, nstr: usize) -> Result<i64> {
    if u.arbitrary()? {
        Ok(0)
    } else {
        sidx(u, nstr)
    }
}

fn value_type(u: &mut Unstructured<'_>, nstr: usize) -> Result<proto::ValueType> {
    Ok(proto::ValueType { r#type: sidx(u, nstr)?, unit: sidx(u, nstr)? })
}

fn generate(u: &mut Unstructured<'_>) -> Result<proto::Profile> {
    let mut p = proto::Profile::default();
    let nstr = u.int_in_range(0..=8)?;
    for i in 0..nstr {
        let s = if i == 0 && !u.ratio(1, 32)? { String::new() } else { string(u)? };
        p.string_table.push(s);
    }
    for _ in 0..u.int_in_range(0..=3)? {
        p.sample_type.push(value_type(u, nstr)?);
    }
    let ntypes = p.sample_type.len();
    for _ in 0..u.int_in_range(0..=3)? {
        p.mapping.push(proto::Mapping {
            id: id(u)?,
            memory_start: u.arbitrary()?,
            memory_limit: u.arbitrary()?,
            file_offset: u.arbitrary()?,
            filename: sidx(u, nstr)?,
            build_id: sidx(u, nstr)?,
            has_functions: u.arbitrary()?,
            has_filenames: u.arbitrary()?,
            has_line_numbers: u.arbitrary()?,
            has_inline_frames: u.arbitrary()?,
        });
    }
    for _ in 0..u.int_in_range(0..=6)? {
        p.function.push(proto::Function {
            id: id(u)?,
            name: sidx(u, nstr)?,
            system_name: sidx(u, nstr)?,
            filename: sidx(u, nstr)?,
            start_line: u.arbitrary()?,
        });
    }
    for _ in 0..u.int_in_range(0..=8)? {
        let mut line = Vec::new();
        for _ in 0..u.int_in_range(0..=3)? {
            line.push(proto::Line { function_id: id(u)?, line: u.int_in_range(-1..=100)?, column: u.arbitrary()? });
        }
        p.location.push(proto::Location {
            id: id(u)?,
            mapping_id: if u.arbitrary()? { 0 } else { id(u)? },
            address: if u.arbitrary()? { u.int_in_range(0..=4)? } else { u.arbitrary()? },
            line,
            is_folded: u.arbitrary()?,
        });
    }
    for _ in 0..u.int_in_range(0..=8)? {
        let mut location_id = Vec::new();
        for _ in 0..u.int_in_range(0..=5)? {
            location_id.push(id(u)?);
        }
        let nvalues = if u.ratio(1, 16)? { u.int_in_range(0..=4)? } else { ntypes };
        let mut value = Vec::new();
        for _ in 0..nvalues {
            value.push(if u.arbitrary()? { u.int_in_range(-3..=1000)? } else { u.arbitrary()? });
        }
        let mut label = Vec::new();
        for _ in 0..u.int_in_range(0..=2)? {
            label.push(proto::Label {
                key: sidx(u, nstr)?,
                str: opt_sidx(u, nstr)?,
                num: u.arbitrary()?,
                num_unit: opt_sidx(u, nstr)?,
            });
        }
        p.sample.push(proto::Sample { location_id, value, label });
    }
    p.drop_frames = if u.ratio(1, 3)? { sidx(u, nstr)? } else { 0 };
    p.keep_frames = if u.ratio(1, 4)? { sidx(u, nstr)? } else { 0 };
    p.time_nanos = u.arbitrary()?;
    p.duration_nanos = u.arbitrary()?;
    if u.arbitrary()? {
        p.period_type = Some(value_type(u, nstr)?);
    }
    p.period = u.arbitrary()?;
    for _ in 0..u.int_in_range(0..=2)? {
        p.comment.push(sidx(u, nstr)?);
    }
    p.default_sample_type = opt_sidx(u, nstr)?;
    p.doc_url = opt_sidx(u, nstr)?;
    Ok(p)
}

/// pprof's validity rules, written independently of leakscope's decoder.
fn reference(p: &proto::Profile) -> std::result::Result<(), String> {
    let n = p.string_table.len() as u64;
    if p.string_table.first().map(String::as_str) != Some("") {
        return Err("string table must start with \"\"".into());
    }
    let s = |what: &str, x: i64| if (x as u64) < n { Ok(()) } else { Err(format!("{what} string {x} of {n}")) };
    for vt in p.sample_type.iter().chain(&p.period_type) {
        s("value type", vt.r#type)?;
        s("value type unit", vt.unit)?;
    }
    for &c in &p.comment {
        s("comment", c)?;
    }
    s("drop_frames", p.drop_frames)?;
    s("keep_frames", p.keep_frames)?;
    s("default_sample_type", p.default_sample_type)?;
    s("doc_url", p.doc_url)?;
    fn ids(what: &str, it: impl Iterator<Item = u64>) -> std::result::Result<HashSet<u64>, String> {
        let mut set = HashSet::new();
        for id in it {
            if id == 0 || !set.insert(id) {
                return Err(format!("{what} id {id} zero or duplicate"));
            }
        }
        Ok(set)
    }
    let maps = ids("mapping", p.mapping.iter().map(|m| m.id))?;
    let funcs = ids("function", p.function.iter().map(|f| f.id))?;
    let locs = ids("location", p.location.iter().map(|l| l.id))?;
    for m in &p.mapping {
        s("mapping filename", m.filename)?;
        s("mapping build_id", m.build_id)?;
    }
    for f in &p.function {
        s("function name", f.name)?;
        s("function system_name", f.system_name)?;
        s("function filename", f.filename)?;
    }
    for l in &p.location {
        if l.mapping_id != 0 && !maps.contains(&l.mapping_id) {
            return Err(format!("location mapping {} dangles", l.mapping_id));
        }
        for line in &l.line {
            if !funcs.contains(&line.function_id) {
                return Err(format!("line function {} dangles", line.function_id));
            }
        }
    }
    for (i, smp) in p.sample.iter().enumerate() {
        if smp.value.len() != p.sample_type.len() {
            return Err(format!("sample {i} has {} values", smp.value.len()));
        }
        for id in &smp.location_id {
            if !locs.contains(id) {
                return Err(format!("sample {i} location {id} dangles"));
            }
        }
        for l in &smp.label {
            s("label key", l.key)?;
            s("label str", l.str)?;
            s("label num_unit", l.num_unit)?;
        }
    }
    if p.drop_frames != 0 {
        let re = |x: i64| regex::Regex::new(&format!("^({})$", p.string_table[x as usize])).map(drop);
        re(p.drop_frames).map_err(|e| format!("drop_frames: {e}"))?;
        if p.keep_frames != 0 {
            re(p.keep_frames).map_err(|e| format!("keep_frames: {e}"))?;
        }
    }
    Ok(())
}

/// The decoded profile says what the prost message says.
fn compare(got: &Profile, want: &proto::Profile) {
    let pruned = want.drop_frames != 0;
    assert_eq!(got.strings.len(), want.string_table.len());
    for (i, w) in want.string_table.iter().enumerate() {
        assert_eq!(got.str(i as u64), w, "string {i}");
    }
    let vt = |a: &leakscope::profile::ValueType, b: &proto::ValueType| {
        assert_eq!((a.ty, a.unit), (b.r#type as u64, b.unit as u64));
    };
    assert_eq!(got.sample_types.len(), want.sample_type.len());
    for (a, b) in got.sample_types.iter().zip(&want.sample_type) {
        vt(a, b);
    }
    vt(&got.period_type, &want.period_type.unwrap_or_default());
    assert_eq!(got.period, want.period);
    assert_eq!(got.time_nanos, want.time_nanos);
    assert_eq!(got.duration_nanos, want.duration_nanos);
    assert_eq!(got.comments, want.comment.iter().map(|&c| c as u64).collect::<Vec<_>>());
    assert_eq!(got.drop_frames, want.drop_frames as u64);
    assert_eq!(got.keep_frames, want.keep_frames as u64);
    assert_eq!(got.default_sample_type, want.default_sample_type as u64);
    assert_eq!(got.doc_url, want.doc_url as u64);

    assert_eq!(got.mappings.len(), want.mapping.len());
    for (a, b) in got.mappings.iter().zip(&want.mapping) {
        assert_eq!(
            (a.id, a.memory_start, a.memory_limit, a.file_offset),
            (b.id, b.memory_start, b.memory_limit, b.file_offset)
        );
        assert_eq!((a.filename, a.build_id), (b.filename as u64, b.build_id as u64));
        assert_eq!(
            (a.has_functions, a.has_filenames, a.has_line_numbers, a.has_inline_frames),
            (b.has_functions, b.has_filenames, b.has_line_numbers, b.has_inline_frames)
        );
    }
    assert_eq!(got.functions.len(), want.function.len());
    for (a, b) in got.functions.iter().zip(&want.function) {
        assert_eq!((a.id, a.start_line), (b.id, b.start_line));
        assert_eq!((a.name, a.system_name, a.filename), (b.name as u64, b.system_name as u64, b.filename as u64));
    }
    assert_eq!(got.locations.len(), want.location.len());
    for (a, b) in got.locations.iter().zip(&want.location) {
        assert_eq!((a.id, a.address, a.is_folded), (b.id, b.address, b.is_folded));
        let mid = if a.mapping == NONE { 0 } else { got.mappings[a.mapping as usize].id };
        assert_eq!(mid, b.mapping_id, "location {} mapping", b.id);
        let lines: Vec<(u64, i64, i64)> =
            got.lines[a.lines()].iter().map(|l| (got.functions[l.function as usize].id, l.line, l.column)).collect();
        let wlines: Vec<(u64, i64, i64)> = b.line.iter().map(|l| (l.function_id, l.line, l.column)).collect();
        if pruned {
            // drop_frames may cut inlined frames from the leaf side only,
            // and never all of them.
            assert!(wlines.ends_with(&lines), "location {} lines {lines:?} not a suffix of {wlines:?}", b.id);
            assert!(lines.len() == wlines.len() || !lines.is_empty());
        } else {
            assert_eq!(lines, wlines, "location {} lines", b.id);
        }
    }

    assert_eq!(got.num_samples(), want.sample.len());
    for (i, w) in want.sample.iter().enumerate() {
        assert_eq!(got.sample_values(i), &w.value[..], "sample {i} values");
        let ids: Vec<u64> = got.stack(i).iter().map(|&l| got.locations[l as usize].id).collect();
        if pruned {
            assert!(w.location_id.ends_with(&ids), "sample {i} stack {ids:?} not a suffix of {:?}", w.location_id);
        } else {
            assert_eq!(ids, w.location_id, "sample {i} stack");
        }
        let labels: Vec<_> = got.sample_labels(i).iter().map(|l| (l.key, l.str, l.num, l.num_unit)).collect();
        let wlabels: Vec<_> = w.label.iter().map(|l| (l.key as u64, l.str as u64, l.num, l.num_unit as u64)).collect();
        assert_eq!(labels, wlabels, "sample {i} labels");
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).expect("write to Vec");
    gz.finish().expect("finish gzip into Vec")
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(want) = generate(&mut u) else { return };
    let bytes = want.encode_to_vec();
    let back = proto::Profile::decode(&bytes[..]).expect("prost decodes its own encoding");
    assert_eq!(back, want);
    let input = if u.ratio(1, 4).unwrap_or(false) { gzip(&bytes) } else { bytes };
    // To save what `parse` saw (for testdata/fuzz-regressions/), run the
    // target binary on an artifact with LEAKSCOPE_FUZZ_DUMP=<file>.
    if let Some(path) = std::env::var_os("LEAKSCOPE_FUZZ_DUMP") {
        std::fs::write(path, &input).expect("write LEAKSCOPE_FUZZ_DUMP");
    }
    match (leakscope::pprof::parse(&input), reference(&want)) {
        (Ok(got), Ok(())) => {
            invariants::check_profile(&got);
            compare(&got, &want);
        }
        (Err(e), Err(_)) => invariants::check_error(&e),
        (Ok(_), Err(why)) => panic!("leakscope accepted an invalid profile: {why}"),
        (Err(e), Ok(())) => panic!("leakscope rejected a valid profile: {e}"),
    }
});
