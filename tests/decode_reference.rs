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

/// Issue #22's unstructured pair (`synth::Shape::Random`) is valid pprof:
/// prost and our decoder agree on every field, `go tool pprof -raw` agrees
/// with our decoder on every sample type's total (of each side, and of the
/// diff with `-base`), and the pair has the shape the issue describes.
#[test]
fn random_shape_pair_is_valid_pprof() {
    use leakscope::synth::{Shape, Spec};
    let mut spec = Spec::default();
    spec.shape = Shape::Random;
    spec.samples = 4000;
    spec.functions = 600;
    let mut later = spec.clone();
    later.growth = 1.5;
    later.variant = 1;
    later.time_nanos += 3_600_000_000_000;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("random-a.pb.gz"), dir.path().join("random-b.pb.gz"));
    std::fs::write(&a, leakscope::synth::gzip_bytes(&spec)).unwrap();
    std::fs::write(&b, leakscope::synth::gzip_bytes(&later)).unwrap();
    check(&a);
    check(&b);

    // The shape: 4-32 frames, one single-line location per function, one
    // numeric label per sample; B has A's stacks, 5% of them grown.
    let (pa, pb) = (leakscope::synth::profile(&spec), leakscope::synth::profile(&later));
    assert_eq!(pa.location.len(), pa.function.len());
    assert!(pa.location.iter().all(|l| l.line.len() == 1));
    let mut grown = 0;
    for (x, y) in pa.sample.iter().zip(&pb.sample) {
        assert!((4..=32).contains(&x.location_id.len()));
        assert_eq!(x.location_id, y.location_id);
        assert_eq!(x.label.len(), 1);
        assert!(x.label[0].num > 0 && x.label[0].str == 0);
        if x.value != y.value {
            grown += 1;
            assert!(y.value[2] > x.value[2] && y.value[3] > x.value[3] && y.value[0] >= y.value[2]);
        }
    }
    assert!((180..=200).contains(&grown), "{grown} of 4000 samples grown");
    let depths: usize = pa.sample.iter().map(|s| s.location_id.len()).sum();
    assert!((64_000..80_000).contains(&depths), "{depths} frames: stacks of 18 frames on average");

    let Some(go) = go() else { return };
    let totals = |p: &leakscope::profile::Profile| -> Vec<i64> {
        (0..p.sample_types.len()).map(|t| (0..p.num_samples()).map(|i| p.sample_values(i)[t]).sum()).collect()
    };
    let raw_totals = |r: &RawProfile| -> Vec<i64> {
        (0..r.sample_types.len()).map(|t| r.samples.iter().map(|s| s.0[t]).sum()).collect()
    };
    let ours_a = totals(&leakscope::pprof::parse(&std::fs::read(&a).unwrap()).unwrap());
    let ours_b = totals(&leakscope::pprof::parse(&std::fs::read(&b).unwrap()).unwrap());
    let ra = pprof_raw(&go, &a, None);
    assert_eq!(ra.samples.len(), 4000);
    assert_eq!(raw_totals(&ra), ours_a);
    assert_eq!(raw_totals(&pprof_raw(&go, &b, None)), ours_b);
    let want: Vec<i64> = ours_b.iter().zip(&ours_a).map(|(b, a)| b - a).collect();
    assert_eq!(raw_totals(&pprof_raw(&go, &b, Some(&a))), want);
    assert!(want[3] > 0, "B grew");
}
