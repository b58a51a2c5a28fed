//! The two-snapshot diff on the deterministic synthetic pair
//! (`leakscope::synth`, 200k samples and 30k functions each; the later one
//! has other values and one site in 64 grown 1.5×), the pair that
//! `benches/compare.py --diff` times end to end; then the same pair with
//! only 10% of its sites live (the rest zero in inuse_*, as in real heap
//! profiles), the pair of `compare.py --live 0.1`; then issue #22's
//! unstructured pair (`synth::Shape::Random`: stacks that are random walks
//! sharing no prefixes, 5% of them grown), the pair of `compare.py
//! --random`.
//!
//! `cargo bench --bench diff`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leakscope::attribute::RuleSet;
use leakscope::diff::report::{build, Options as ReportOptions};
use leakscope::diff::{diff_types, Options, Types};

/// The synthetic profile of `variant` (0 = base, 1 = later, grown) with
/// the share `live` of its sites live, generated once into benches/data/
/// (gitignored) with the names compare.py uses.
fn input(name: &str, variant: u64, live: f64) -> Vec<u8> {
    input_shaped(name, variant, live, leakscope::synth::Shape::Tree)
}

/// [`input`] with stacks of the given shape.
fn input_shaped(name: &str, variant: u64, live: f64, shape: leakscope::synth::Shape) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/data");
    let path = dir.join(name);
    if let Ok(b) = std::fs::read(&path) {
        return b;
    }
    std::fs::create_dir_all(&dir).expect("create benches/data");
    let mut spec = leakscope::synth::Spec::default();
    spec.live = live;
    spec.shape = shape;
    if variant > 0 {
        spec.variant = variant;
        spec.time_nanos += variant as i64 * 3_600_000_000_000;
        spec.growth = 1.5;
    }
    let b = leakscope::synth::gzip_bytes(&spec);
    std::fs::write(&path, &b).expect("write benchmark input");
    b
}

fn benches(c: &mut Criterion) {
    pair(c, "synth-1x pair", &input("synth-1x.pb.gz", 0, 1.0), &input("synth-1x-later.pb.gz", 1, 1.0));
    pair(
        c,
        "synth-1x pair, 10% of sites live",
        &input("synth-1x-live.pb.gz", 0, 0.1),
        &input("synth-1x-live-later.pb.gz", 1, 0.1),
    );
    let random = leakscope::synth::Shape::Random;
    pair(
        c,
        "synth-1x random-shape pair",
        &input_shaped("synth-1x-random.pb.gz", 0, 1.0, random),
        &input_shaped("synth-1x-random-later.pb.gz", 1, 1.0, random),
    );
}

fn pair(c: &mut Criterion, name: &str, a: &[u8], b: &[u8]) {
    let rules = RuleSet::load(None).expect("built-in rules");
    // What `leakscope diff` diffs by default: the judged type and its
    // object count.
    let types = || Types::Only(vec!["inuse_space".into(), "inuse_objects".into()]);
    let ro = ReportOptions::new("a", "b");
    let pa = leakscope::pprof::parse(a).expect("decode");
    let pb = leakscope::pprof::parse(b).expect("decode");
    let d = diff_types(pa.clone(), pb.clone(), &rules, Options::default(), &types()).expect("diff");

    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    g.throughput(Throughput::Bytes((a.len() + b.len()) as u64));
    g.bench_function("decode both (parallel)", |bn| {
        bn.iter(|| rayon::join(|| leakscope::pprof::parse(black_box(a)), || leakscope::pprof::parse(black_box(b))))
    });
    g.bench_function("diff (decoded profiles)", |bn| {
        bn.iter(|| diff_types(pa.clone(), pb.clone(), &rules, Options::default(), &types()).unwrap())
    });
    g.bench_function("report (from the diff)", |bn| bn.iter(|| build(black_box(&d), &rules, &ro)));
    g.bench_function("diff end to end: decode + diff + report + JSON", |bn| {
        bn.iter(|| {
            let (pa, pb) = rayon::join(|| leakscope::pprof::parse(a).unwrap(), || leakscope::pprof::parse(b).unwrap());
            let d = diff_types(pa, pb, &rules, Options::default(), &types()).unwrap();
            let r = build(&d, &rules, &ro);
            let mut out = Vec::new();
            leakscope::report::render::diff::json(&r, &mut out).unwrap();
            out.len()
        })
    });
    g.finish();
}

criterion_group!(diff, benches);
criterion_main!(diff);
