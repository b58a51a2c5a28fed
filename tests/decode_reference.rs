//! Our streaming decoder against prost's generated decoder, field by field,
//! on every protobuf profile in testdata/ and the corpus. prost is an
//! independent implementation of the same schema, so any disagreement is a
//! bug in one of them.

mod common;

use std::io::Read;
use std::path::Path;

use common::*;
use leakscope::pprof::proto;
use leakscope::profile::NONE;
use prost::Message;

fn check(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let raw = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut v = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut v).unwrap();
        v
    } else {
        bytes.clone()
    };
    let r = proto::Profile::decode(&raw[..]).unwrap_or_else(|e| panic!("prost: {}: {e}", path.display()));
    let p = leakscope::pprof::parse(&bytes).unwrap_or_else(|e| panic!("ours: {}: {e}", path.display()));
    let s = |i: i64| r.string_table[i as usize].as_str();
    let ctx = path.display();

    assert_eq!(p.strings.len(), r.string_table.len(), "{ctx}: strings");
    for (i, want) in r.string_table.iter().enumerate() {
        assert_eq!(p.str(i as u64), want, "{ctx}: string {i}");
    }
    assert_eq!(p.sample_types.len(), r.sample_type.len(), "{ctx}");
    for (i, st) in r.sample_type.iter().enumerate() {
        assert_eq!(p.sample_type_name(i), s(st.r#type), "{ctx}");
        assert_eq!(p.sample_type_unit(i), s(st.unit), "{ctx}");
    }
    assert_eq!(p.period, r.period, "{ctx}");
    assert_eq!(p.time_nanos, r.time_nanos, "{ctx}");
    assert_eq!(p.duration_nanos, r.duration_nanos, "{ctx}");
    assert_eq!(p.default_sample_type as i64, r.default_sample_type, "{ctx}");
    assert_eq!(p.doc_url as i64, r.doc_url, "{ctx}");
    assert_eq!(p.comments.iter().map(|&c| c as i64).collect::<Vec<_>>(), r.comment, "{ctx}");
    if let Some(pt) = &r.period_type {
        assert_eq!(p.str(p.period_type.ty), s(pt.r#type), "{ctx}");
        assert_eq!(p.str(p.period_type.unit), s(pt.unit), "{ctx}");
    }

    assert_eq!(p.functions.len(), r.function.len(), "{ctx}");
    for (f, g) in p.functions.iter().zip(&r.function) {
        assert_eq!(
            (f.id, f.name as i64, f.system_name as i64, f.filename as i64, f.start_line),
            (g.id, g.name, g.system_name, g.filename, g.start_line),
            "{ctx}"
        );
    }
    assert_eq!(p.mappings.len(), r.mapping.len(), "{ctx}");
    for (m, g) in p.mappings.iter().zip(&r.mapping) {
        assert_eq!(
            (m.id, m.memory_start, m.memory_limit, m.file_offset, m.filename as i64, m.build_id as i64),
            (g.id, g.memory_start, g.memory_limit, g.file_offset, g.filename, g.build_id),
            "{ctx}"
        );
        assert_eq!(
            (m.has_functions, m.has_filenames, m.has_line_numbers, m.has_inline_frames),
            (g.has_functions, g.has_filenames, g.has_line_numbers, g.has_inline_frames),
            "{ctx}"
        );
    }
    assert_eq!(p.locations.len(), r.location.len(), "{ctx}");
    for (l, g) in p.locations.iter().zip(&r.location) {
        assert_eq!((l.id, l.address, l.is_folded), (g.id, g.address, g.is_folded), "{ctx}");
        let mid = if l.mapping == NONE { 0 } else { p.mappings[l.mapping as usize].id };
        assert_eq!(mid, g.mapping_id, "{ctx}: location {}", l.id);
        let lines: Vec<_> =
            p.lines[l.lines()].iter().map(|ln| (p.functions[ln.function as usize].id, ln.line, ln.column)).collect();
        let want: Vec<_> = g.line.iter().map(|ln| (ln.function_id, ln.line, ln.column)).collect();
        assert_eq!(lines, want, "{ctx}: location {}", l.id);
    }

    assert_eq!(p.num_samples(), r.sample.len(), "{ctx}");
    let pruned = !s(r.drop_frames).is_empty();
    for (i, g) in r.sample.iter().enumerate() {
        assert_eq!(p.sample_values(i), &g.value[..], "{ctx}: sample {i}");
        if !pruned {
            let ids: Vec<u64> = p.stack(i).iter().map(|&l| p.locations[l as usize].id).collect();
            assert_eq!(ids, g.location_id, "{ctx}: sample {i}");
        }
        let labels: Vec<_> =
            p.sample_labels(i).iter().map(|l| (l.key as i64, l.str as i64, l.num, l.num_unit as i64)).collect();
        let want: Vec<_> = g.label.iter().map(|l| (l.key, l.str, l.num, l.num_unit)).collect();
        assert_eq!(labels, want, "{ctx}: sample {i} labels");
    }
}

#[test]
fn decoder_agrees_with_prost_on_testdata() {
    let files = testdata_profiles();
    assert!(files.len() >= 5, "expected the generated fixtures under testdata/");
    for f in files {
        check(&f);
    }
}

#[test]
fn decoder_agrees_with_prost_on_corpus() {
    let Some(dir) = corpus() else { return };
    for f in corpus_protobufs(&dir) {
        check(&f);
    }
}

#[test]
fn decoder_agrees_with_prost_on_synthetic() {
    let mut spec = leakscope::synth::Spec::default();
    spec.samples = 3000;
    spec.functions = 500;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("synth.pb.gz");
    std::fs::write(&f, leakscope::synth::gzip_bytes(&spec)).unwrap();
    check(&f);
}
