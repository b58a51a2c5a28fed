//! Hostile input must never panic, hang or balloon: every input saved by the
//! fuzzer in `testdata/fuzz-regressions/` is replayed through the decoder
//! (and through `aggregate` when it decodes), with the same invariants the
//! fuzz targets check, and a handful of hostile inputs built here keep the
//! test meaningful on its own: overlong varints, absurd length prefixes,
//! deep nesting, and gzip streams that inflate to megabytes.

use std::io::Write;
use std::path::{Path, PathBuf};

use leakscope::pprof::proto;
use leakscope::pprof::{parse, DecodeError, ErrorKind};
use prost::Message;

#[path = "../fuzz/fuzz_targets/heapdump_exercise.rs"]
mod heapdump_exercise;
#[path = "../fuzz/fuzz_targets/heapdump_writer.rs"]
mod heapdump_writer;
#[path = "../fuzz/fuzz_targets/invariants.rs"]
mod invariants;

const LEN: u64 = 2;
const VARINT: u64 = 0;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn tag(out: &mut Vec<u8>, field: u64, wire: u64) {
    varint(out, field << 3 | wire);
}

/// A length-delimited field whose length prefix says `claimed`.
fn len_field(out: &mut Vec<u8>, field: u64, claimed: u64, payload: &[u8]) {
    tag(out, field, LEN);
    varint(out, claimed);
    out.extend_from_slice(payload);
}

fn message(field: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    len_field(&mut out, field, payload.len() as u64, payload);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// A small valid heap-like profile: two sample types, two functions, two
/// locations (one with an inlined frame), three samples.
fn valid() -> proto::Profile {
    let vt = |t, u| proto::ValueType { r#type: t, unit: u };
    let line = |f| proto::Line { function_id: f, line: 10, column: 0 };
    proto::Profile {
        string_table: ["", "alloc_space", "bytes", "inuse_space", "main.leak", "runtime.mallocgc", "main.go"]
            .map(String::from)
            .to_vec(),
        sample_type: vec![vt(1, 2), vt(3, 2)],
        function: vec![
            proto::Function { id: 1, name: 4, system_name: 4, filename: 6, start_line: 1 },
            proto::Function { id: 2, name: 5, system_name: 5, filename: 6, start_line: 1 },
        ],
        location: vec![
            proto::Location { id: 1, address: 0x1000, line: vec![line(2), line(1)], ..Default::default() },
            proto::Location { id: 2, address: 0x2000, line: vec![line(1)], ..Default::default() },
        ],
        sample: vec![
            proto::Sample { location_id: vec![1, 2], value: vec![100, 50], label: vec![] },
            proto::Sample { location_id: vec![2], value: vec![7, 0], label: vec![] },
            proto::Sample { location_id: vec![], value: vec![1, 1], label: vec![] },
        ],
        period_type: Some(vt(1, 2)),
        period: 512 * 1024,
        ..Default::default()
    }
}

/// Decodes through the shared invariants and returns the error, which must
/// exist.
#[track_caller]
fn must_fail(data: &[u8]) -> DecodeError {
    match parse(data) {
        Ok(p) => {
            invariants::check_profile(&p);
            panic!("hostile input of {} bytes decoded", data.len());
        }
        Err(e) => {
            invariants::check_error(&e);
            e
        }
    }
}

/// The saved crash inputs in `dir` (relative to the crate), sorted; README files excluded.
fn saved_inputs(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|x| x != "md"))
        .collect();
    files.sort();
    files
}

#[test]
fn saved_fuzz_inputs_do_not_panic() {
    let files = saved_inputs("testdata/fuzz-regressions");
    for path in &files {
        // Captured, and shown only when the input below fails.
        println!("replaying {}", path.display());
        let data = std::fs::read(path).unwrap();
        invariants::exercise(&data);
        // The same bytes through the streaming (gzip) path.
        invariants::exercise(&gzip(&data));
    }
}

#[test]
fn valid_profile_decodes_raw_and_gzip() {
    let bytes = valid().encode_to_vec();
    for input in [bytes.clone(), gzip(&bytes)] {
        let p = invariants::exercise(&input).expect("valid profile decodes");
        assert_eq!(p.num_samples(), 3);
        assert_eq!(p.locations.len(), 2);
        assert_eq!(p.functions.len(), 2);
    }
}

#[test]
fn overlong_varints() {
    // time_nanos (field 9) with ten bytes whose last carries bits past 64.
    let mut over = Vec::new();
    tag(&mut over, 9, VARINT);
    over.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]);
    // Eleven continuation bytes as a tag.
    let eleven = [0x80u8; 11];
    // A packed Sample.value whose last varint overflows.
    let mut packed = vec![0x01, 0x02];
    packed.extend_from_slice(&[0xff; 9]);
    packed.push(0x7f);
    let sample = message(2, &message(2, &packed));

    for bad in [over, eleven.to_vec(), sample] {
        let mut prefixed = valid().encode_to_vec();
        prefixed.extend_from_slice(&bad);
        for input in [bad.clone(), gzip(&bad), prefixed.clone(), gzip(&prefixed)] {
            let e = must_fail(&input);
            assert_eq!(e.kind, ErrorKind::OverlongVarint, "{e}");
        }
    }
    // u64::MAX itself is a valid ten-byte varint.
    let mut max = valid().encode_to_vec();
    tag(&mut max, 9, VARINT);
    varint(&mut max, u64::MAX);
    invariants::exercise(&max).expect("u64::MAX time_nanos is valid");
}

#[test]
fn absurd_length_prefixes() {
    for claimed in [1u64 << 62, u64::MAX, 1 << 32, 1 << 31] {
        let mut top = valid().encode_to_vec();
        len_field(&mut top, 6, claimed, b"abc");
        // Inside a sample whose own length is honest.
        let mut inner = Vec::new();
        len_field(&mut inner, 1, claimed, &[1, 2, 3]);
        let mut nested = valid().encode_to_vec();
        nested.extend_from_slice(&message(2, &inner));
        for input in [top.clone(), gzip(&top), nested.clone(), gzip(&nested)] {
            let e = must_fail(&input);
            assert!(matches!(e.kind, ErrorKind::Truncated { needed, .. } if needed == claimed), "{e}");
        }
    }
}

#[test]
fn deep_nesting_is_not_recursed_into() {
    // 20,000 levels of messages in field 1, as a location's line (whose
    // field 1 is a varint, so the wrong wire type), and as an unknown field
    // (skipped whole).
    let mut m = Vec::new();
    for _ in 0..20_000 {
        m = message(1, &m);
    }
    let mut as_line = valid().encode_to_vec();
    as_line.extend_from_slice(&message(4, &message(4, &m)));
    let e = must_fail(&as_line);
    assert!(matches!(e.kind, ErrorKind::WrongWireType { field: "Line.function_id", .. }), "{e}");

    let mut unknown = valid().encode_to_vec();
    unknown.extend_from_slice(&message(100, &m));
    let p = invariants::exercise(&unknown).expect("unknown fields are skipped");
    assert_eq!(p.num_samples(), 3);
    invariants::exercise(&gzip(&unknown)).expect("unknown fields are skipped in gzip too");
}

#[test]
fn gzip_that_inflates_to_megabytes() {
    const BIG: usize = 2 << 20;
    let zeros = vec![0u8; BIG];
    // Zeros alone: field number 0 at once, after inflating one buffer.
    let e = must_fail(&gzip(&zeros));
    assert_eq!(e.kind, ErrorKind::BadFieldNumber(0));
    assert!(e.decompressed);

    // A valid profile with a 2 MiB unknown field: gathered across buffer
    // refills, then skipped.
    let mut padded = valid().encode_to_vec();
    len_field(&mut padded, 100, BIG as u64, &zeros);
    let p = invariants::exercise(&gzip(&padded)).expect("big unknown field is skipped");
    assert_eq!(p.num_samples(), 3);

    // A string claiming 2^62 bytes followed by 2 MiB: truncated, reading no
    // more than what is there.
    let mut claim = valid().encode_to_vec();
    len_field(&mut claim, 6, 1 << 62, &zeros);
    let e = must_fail(&gzip(&claim));
    assert!(matches!(e.kind, ErrorKind::Truncated { needed, left, .. } if needed == 1 << 62 && left == BIG as u64));
}

#[test]
fn broken_gzip_streams() {
    let bytes = valid().encode_to_vec();
    let gz = gzip(&bytes);
    // Cut short, at every length: an error (or, with the whole deflate
    // stream present, possibly a profile), never a panic.
    for n in 2..gz.len() {
        invariants::exercise(&gz[..n]);
    }
    let e = must_fail(&gz[..gz.len() / 2]);
    assert!(e.to_string().contains("gzip") || matches!(e.kind, ErrorKind::Truncated { .. }), "{e}");
    // Bad CRC.
    let mut crc = gz.clone();
    let at = crc.len() - 8;
    crc[at] ^= 0xff;
    must_fail(&crc);
    // Every single-byte flip of the header and trailer.
    for i in (0..12).chain(gz.len() - 8..gz.len()) {
        let mut flipped = gz.clone();
        flipped[i] ^= 0x55;
        invariants::exercise(&flipped);
    }
    // A profile split across two gzip members decodes as the whole.
    let (a, b) = bytes.split_at(bytes.len() / 2);
    let mut two = gzip(a);
    two.extend_from_slice(&gzip(b));
    let p = invariants::exercise(&two).expect("multi-member gzip");
    assert_eq!(p.num_samples(), 3);
}

#[test]
fn hostile_tables() {
    let bad = |f: fn(&mut proto::Profile)| {
        let mut p = valid();
        f(&mut p);
        let bytes = p.encode_to_vec();
        let e = must_fail(&bytes);
        assert_eq!(must_fail(&gzip(&bytes)).kind, e.kind);
        e.kind
    };
    let k = bad(|p| p.sample[0].location_id.push(u64::MAX));
    assert!(matches!(k, ErrorKind::DanglingSampleLocation { sample: 0, id: u64::MAX }), "{k:?}");
    let k = bad(|p| p.sample[1].location_id.push(1 << 32));
    assert!(matches!(k, ErrorKind::DanglingSampleLocation { sample: 1, .. }), "{k:?}");
    // Just outside the locations' 1..=2, which take the range-checked path.
    let k = bad(|p| p.sample[2].location_id.push(0));
    assert!(matches!(k, ErrorKind::DanglingSampleLocation { sample: 2, id: 0 }), "{k:?}");
    let k = bad(|p| p.sample[1].location_id.insert(0, 3));
    assert!(matches!(k, ErrorKind::DanglingSampleLocation { sample: 1, id: 3 }), "{k:?}");
    let k = bad(|p| p.location[1].id = 1);
    assert!(matches!(k, ErrorKind::DuplicateId { table: "location", id: 1 }), "{k:?}");
    let k = bad(|p| p.function[0].id = 0);
    assert!(matches!(k, ErrorKind::ZeroId("function")), "{k:?}");
    let k = bad(|p| p.location[0].line[0].function_id = 0);
    assert!(matches!(k, ErrorKind::DanglingId { field: "Line.function_id", id: 0 }), "{k:?}");
    let k = bad(|p| p.location[0].mapping_id = 7);
    assert!(matches!(k, ErrorKind::DanglingId { field: "Location.mapping_id", id: 7 }), "{k:?}");
    let k = bad(|p| p.function[1].name = -1);
    assert!(matches!(k, ErrorKind::StringIndex { field: "Function.name", .. }), "{k:?}");
    let k = bad(|p| p.sample[2].value.push(3));
    assert!(matches!(k, ErrorKind::ValueCount { sample: 2, got: 3, want: 2 }), "{k:?}");
    let k = bad(|p| p.string_table[0] = "x".into());
    assert!(matches!(k, ErrorKind::BadStringTable), "{k:?}");

    // Huge ids far apart use the sparse index, without a huge table.
    let mut p = valid();
    p.location[0].id = u64::MAX;
    p.location[1].id = 1 << 40;
    p.sample[0].location_id = vec![u64::MAX, 1 << 40];
    p.sample[1].location_id = vec![1 << 40];
    let got = invariants::exercise(&p.encode_to_vec()).expect("sparse ids are valid");
    assert_eq!(got.locations[got.stack(0)[0] as usize].id, u64::MAX);
}

/// `valid()` with `drop_frames` set to a new string `re`.
fn with_drop_frames(re: &str) -> proto::Profile {
    let mut p = valid();
    p.string_table.push(re.to_string());
    p.drop_frames = p.string_table.len() as i64 - 1;
    p
}

#[test]
fn drop_frames_with_hostile_names_and_regexes() {
    // Non-ASCII function names next to '(' (pprof's simplifyFunc walks them
    // byte by byte): this panicked on a char boundary.
    for name in ["é(ü", ".é", "漢字(x)", "a::operator()é", "(anonymous namespace)é(", "é"] {
        let mut p = with_drop_frames("runtime\\..*");
        p.string_table[4] = name.to_string();
        let got = invariants::exercise(&p.encode_to_vec()).expect("valid profile with drop_frames");
        assert_eq!(got.num_samples(), 3);
    }
    // Invalid regexes, multi-line ones too: one-line errors, found by the
    // structured fuzzer (the regex crate's message spans four lines).
    for re in ["é(ü", "(", "a\nb(", "[", "x{99999999}", "(?P<", "a\n)\n"] {
        let e = must_fail(&with_drop_frames(re).encode_to_vec());
        assert!(matches!(e.kind, ErrorKind::BadRegex(_)), "{e}");
    }
    let mut p = with_drop_frames(".*");
    p.string_table.push("(".into());
    p.keep_frames = p.string_table.len() as i64 - 1;
    assert!(matches!(must_fail(&p.encode_to_vec()).kind, ErrorKind::BadRegex(_)));

    // Many functions sharing one long name cost one regex match, not one
    // per function (this was quadratic: functions x name length).
    let mut p = with_drop_frames("runtime\\..*");
    p.string_table.push("x".repeat(256 << 10));
    let long = p.string_table.len() as i64 - 1;
    for i in 0..1000u64 {
        let id = 100 + i;
        p.function.push(proto::Function { id, name: long, ..Default::default() });
        let line = vec![proto::Line { function_id: id, line: 1, column: 0 }];
        p.location.push(proto::Location { id, line, ..Default::default() });
    }
    let got = invariants::exercise(&gzip(&p.encode_to_vec())).expect("long shared names are valid");
    assert_eq!(got.functions.len(), 1002);
}

// ---- Heap dumps (`leakscope::heapdump`) ----

use heapdump_writer::Writer;

/// Parses a heap dump that must be refused; checks the one-line message
/// names the byte offset and returns it.
#[track_caller]
fn dump_must_fail(data: &[u8]) -> leakscope::heapdump::DumpError {
    match heapdump_exercise::exercise(data) {
        Ok(_) => panic!("hostile heap dump of {} bytes parsed", data.len()),
        Err(e) => e,
    }
}

#[test]
fn saved_heapdump_fuzz_inputs_do_not_panic() {
    let files = saved_inputs("testdata/fuzz-regressions/heapdump");
    for path in &files {
        println!("replaying {}", path.display());
        let data = std::fs::read(path).unwrap();
        // What the fuzz target does: the header added when missing.
        let _ = heapdump_exercise::exercise(&heapdump_exercise::with_header(&data));
    }
}

/// A small dump with every kind of record.
fn small_dump(ptr_size: u64, big_endian: bool) -> Vec<u8> {
    let mut w = Writer::new(ptr_size, big_endian);
    let base = if ptr_size == 8 { 0xc000000000 } else { 0x1000_0000 };
    let ps = ptr_size;
    for i in 0..8u64 {
        let mut body = w.word(base + ((i + 1) % 8) * 4 * ps);
        body.extend(w.word(base + ((i + 2) % 8) * 4 * ps + ps));
        body.extend(vec![0; 2 * ps as usize]);
        w.object(base + i * 4 * ps, &body, &[0, ps]);
    }
    w.goroutine(base, 1, base + 4 * ps, b"chan receive");
    let fr = w.word(base + 8 * ps);
    w.frame(0, &fr, b"runtime.gopark", &[0]);
    w.frame(1, &fr, b"main.worker", &[0]);
    w.defer(0x7100, base, base + 12 * ps);
    w.panic(0x7200, base, base + 16 * ps);
    let seg = w.word(base + 20 * ps);
    w.segment(12, 0x900000, &seg, &[0]);
    w.segment(13, 0xa00000, &seg, &[0]);
    w.finalizer(false, base + 24 * ps, 0);
    w.finalizer(true, base + 28 * ps, 0);
    let stk: &[(&[u8], &[u8], u64)] = &[(b"runtime.mallocgc", b"malloc.go", 1), (b"main.leak", b"main.go", 9)];
    w.memprof(0xb000, 32, stk);
    w.alloc_sample(base, 0xb000);
    w.alloc_sample(base + 4, 0xb000);
    w.finish()
}

#[test]
fn small_heapdumps_parse_and_report() {
    for (ps, be) in [(8, false), (8, true), (4, false), (4, true)] {
        let d = small_dump(ps, be);
        let dump = heapdump_exercise::exercise(&d).expect("small dump parses");
        assert_eq!(dump.objects.len(), 8);
        assert_eq!(dump.frames.len(), 2);
    }
}

#[test]
fn heapdump_cut_anywhere_is_an_error_with_offset() {
    let d = small_dump(8, false);
    for n in 0..d.len() {
        let e = dump_must_fail(&d[..n]);
        assert!(e.offset <= n as u64, "{e}");
    }
    // Trailing garbage after EOF, and a bad tag in place of EOF.
    let mut extra = d.clone();
    extra.extend_from_slice(b"xyz");
    assert!(dump_must_fail(&extra).to_string().contains("trailing"));
    let mut bad = d.clone();
    *bad.last_mut().unwrap() = 99;
    let e = dump_must_fail(&bad);
    assert_eq!(e.offset, d.len() as u64 - 1);
    assert!(e.to_string().contains("unknown record tag 99"), "{e}");
}

#[test]
fn heapdump_hostile_counts_and_lengths() {
    // A memprof bucket claiming 2^62 frames, and one claiming exactly one
    // frame more than the bytes could hold.
    for nstk in [1u64 << 62, u64::MAX, 1 << 32, 100] {
        let mut w = Writer::new(8, false);
        w.uv(16);
        w.uv(0xb000);
        w.uv(32);
        w.uv(nstk);
        w.str(b"f");
        let e = dump_must_fail(&w.finish());
        assert!(e.to_string().contains("memprof") || e.to_string().contains("truncated"), "{e}");
    }
    // An object whose contents claim 4 GiB, 2^62 and u64::MAX bytes: the
    // contents length is the size, bounded by the file.
    for len in [1u64 << 32, 1 << 62, u64::MAX] {
        let mut w = Writer::new(8, false);
        w.uv(1);
        w.uv(0xc000000000);
        w.uv(len);
        w.out.extend_from_slice(&[0; 64]);
        let e = dump_must_fail(&w.finish());
        assert!(e.to_string().contains("truncated"), "{e}");
    }
    // A frame and a segment claiming huge contents; a string claiming 2^63.
    for tag in [5u64, 12, 13, 4, 3] {
        let mut w = Writer::new(8, false);
        if tag == 5 {
            w.goroutine(0, 1, 0, b"");
        }
        w.uv(tag);
        for _ in 0..if tag == 5 { 3 } else { 1 } {
            w.uv(1);
        }
        w.uv(1 << 63);
        let e = dump_must_fail(&w.finish());
        assert!(e.to_string().contains("truncated"), "{e}");
    }
    // An object at the top of the address space; a pointer field past the
    // object; an unknown field kind; size 0; params twice; pointer size 3.
    let mut w = Writer::new(8, false);
    w.object(u64::MAX - 4, &[0; 8], &[0]);
    assert!(dump_must_fail(&w.finish()).to_string().contains("wraps"));
    let mut w = Writer::new(8, false);
    w.object(0xc000000000, &[0; 8], &[1]);
    assert!(dump_must_fail(&w.finish()).to_string().contains("outside"));
    let mut w = Writer::new(8, false);
    w.object(0xc000000000, &[0; 8], &[u64::MAX]);
    assert!(dump_must_fail(&w.finish()).to_string().contains("outside"));
    let mut w = Writer::new(8, false);
    w.uv(1);
    w.uv(0xc000000000);
    w.str(&[0; 8]);
    w.uv(9);
    w.uv(0);
    w.uv(0);
    assert!(dump_must_fail(&w.finish()).to_string().contains("field kind"));
    let mut w = Writer::new(8, false);
    w.object(0xc000000000, &[], &[]);
    assert!(dump_must_fail(&w.finish()).to_string().contains("size 0"));
    let mut w = Writer::new(8, false);
    w.out.extend_from_slice(&Writer::new(8, false).out[16..]);
    assert!(dump_must_fail(&w.finish()).to_string().contains("second params"));
    let mut w = Writer::new(3, false);
    w.object(0xc000000000, &[0; 8], &[]);
    assert!(dump_must_fail(&w.finish()).to_string().contains("pointer size 3"));
    // Overlapping objects (out of order, so after the sort).
    let mut w = Writer::new(8, false);
    w.object(0xc000000010, &[0; 16], &[]);
    w.object(0xc000000000, &[0; 32], &[]);
    assert!(dump_must_fail(&w.finish()).to_string().contains("overlap"));
    // A record before params; a frame before any goroutine.
    let mut d = b"go1.7 heap dump\n".to_vec();
    d.extend_from_slice(&[1, 0, 0, 0]);
    assert!(dump_must_fail(&d).to_string().contains("before the params"));
    let mut w = Writer::new(8, false);
    w.frame(0, &[], b"f", &[]);
    assert!(dump_must_fail(&w.finish()).to_string().contains("before any goroutine"));
    // An overlong varint as a record tag.
    let mut w = Writer::new(8, false);
    w.out.extend_from_slice(&[0xff; 11]);
    dump_must_fail(&w.finish());
}

/// One-byte objects, each in its own 64 MiB arena: the address index must
/// not give each a 32 KiB page table (this asked for 32 KiB per ~10 bytes
/// of file: 20,000 objects, 640 MiB).
#[test]
fn heapdump_objects_in_many_arenas_stay_small() {
    let n = 20_000u64;
    let mut w = Writer::new(8, false);
    for i in 0..n {
        w.object(0xc000000000 + (i << 26), &[0], &[]);
    }
    // A few pointers into them from a global.
    let mut seg = Vec::new();
    for i in [0, 1, n / 2, n - 1] {
        seg.extend(w.word(0xc000000000 + (i << 26)));
    }
    w.segment(13, 0x900000, &seg, &[0, 8, 16, 24]);
    let d = w.finish();
    let dump = heapdump_exercise::exercise(&d).expect("sparse objects parse");
    let index = leakscope::heap::graph::AddrIndex::new(&dump.objects.addr, &dump.objects.size);
    assert!(index.table_bytes() < 64 * d.len(), "index of {} bytes for a {}-byte dump", index.table_bytes(), d.len());
    for i in [0, 1, n / 2, n - 1] {
        assert_eq!(index.find(0xc000000000 + (i << 26)), Some(i as u32));
        assert_eq!(index.find(0xc000000000 + (i << 26) + 1), None);
    }
    let rules = leakscope::attribute::RuleSet::load(None).unwrap();
    let a = leakscope::heap::analysis::Analysis::new(&dump, None, &rules);
    assert_eq!(a.totals().1.objects, 4);
}

/// A goroutine 30,000 frames deep, every frame holding a pointer (so every
/// frame is a root): attributing each frame's stack from it outward was
/// quadratic in the depth.
#[test]
fn heapdump_deep_goroutine_is_linear() {
    let depth = 30_000u64;
    let mut w = Writer::new(8, false);
    let base = 0xc000000000u64;
    w.object(base, &[0; 16], &[]);
    w.goroutine(base, 7, 0, b"select");
    for d in 0..depth {
        let p = w.word(base + 8);
        let f: &[u8] = match d % 3 {
            0 => b"main.recurse",
            1 => b"net/http.(*conn).serve",
            _ => b"runtime.gopark",
        };
        w.frame(d, &p, f, &[0]);
    }
    let d = w.finish();
    let t = std::time::Instant::now();
    let dump = heapdump_exercise::exercise(&d).expect("deep goroutine parses");
    assert_eq!(dump.frames.len(), depth as usize);
    // Quadratic took minutes here; linear takes well under a second (debug build).
    assert!(t.elapsed() < std::time::Duration::from_secs(60), "{:?}", t.elapsed());
}

/// The suffix attribution of frame roots agrees with attributing each
/// suffix on its own.
#[test]
fn heapdump_frame_roots_attributed_like_their_stacks() {
    let names: [&[u8]; 6] = [
        b"runtime.gopark",
        b"main.recurse",
        b"net/http.(*conn).serve",
        b"google.golang.org/grpc.(*Server).serveStreams",
        b"sync.(*Mutex).Lock",
        b"main.main",
    ];
    let mut w = Writer::new(8, false);
    let base = 0xc000000000u64;
    w.object(base, &[0; 16], &[]);
    w.goroutine(base + 8 * 1024 * 1024, 7, 0, b"select");
    let mut x = 12345u64;
    for d in 0..200u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let p = w.word(base + 8);
        w.frame(d, &p, names[(x % 6) as usize], if x % 4 == 0 { &[] } else { &[0] });
    }
    let d = w.finish();
    let dump = heapdump_exercise::exercise(&d).unwrap();
    let rules = leakscope::attribute::RuleSet::load(None).unwrap();
    let a = leakscope::heap::analysis::Analysis::new(&dump, None, &rules);
    let mut checked = 0;
    for (i, r) in a.graph.roots.iter().enumerate() {
        let Some(f) = r.frame else { continue };
        let infos: Vec<_> = dump.frames[f as usize..].iter().map(|fr| rules.classify(dump.str(fr.func))).collect();
        assert_eq!(a.root_attr[i], rules.attribute(infos.iter()), "frame {f}");
        checked += 1;
    }
    assert!(checked > 100);
}
