//! `trend` over many ~1 MB synthetic snapshots of one process whose sites
//! grow slowly (`leakscope::synth` at scale 0.1, variant i, growth
//! 1 + i/1000), as `benches/compare.py --trend N` times end to end.
//!
//! `cargo bench --bench trend`.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use leakscope::attribute::RuleSet;

/// Number of snapshots in the benchmarked trend.
const N: usize = 50;

/// Writes the N snapshots once into benches/data/trend-bench/ (gitignored).
fn inputs() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/data/trend-bench");
    std::fs::create_dir_all(&dir).expect("create benches/data/trend-bench");
    for i in 0..N {
        let path = dir.join(format!("heap-{i:04}.pb.gz"));
        if path.exists() {
            continue;
        }
        let d = leakscope::synth::Spec::default();
        let mut spec = leakscope::synth::Spec::default();
        spec.samples = (d.samples as f64 * 0.1).round() as usize;
        spec.functions = (d.functions as f64 * 0.1).round() as usize;
        spec.variant = i as u64;
        spec.time_nanos += i as i64 * 3_600_000_000_000;
        spec.growth = 1.0 + i as f64 / 1000.0;
        std::fs::write(&path, leakscope::synth::gzip_bytes(&spec)).expect("write snapshot");
    }
    dir
}

fn benches(c: &mut Criterion) {
    let dir = inputs();
    let rules = RuleSet::load(None).expect("built-in rules");
    let o = leakscope::trend::Options {
        min_growth: 0,
        min_growth_ratio: 0.1,
        limit: None,
        nodecount: 10,
        strict: false,
        sample_type: None,
    };
    let one = dir.join("heap-0000.pb.gz");
    let mut g = c.benchmark_group("trend");
    g.sample_size(10);
    g.bench_function("decode one ~1 MB snapshot", |b| b.iter(|| leakscope::source::read_profile(&one).unwrap()));
    g.bench_function(format!("trend over {N} snapshots"), |b| {
        b.iter(|| leakscope::trend(std::slice::from_ref(&dir), &rules, &o, Default::default()).unwrap())
    });
    g.finish();
}

criterion_group!(trend, benches);
criterion_main!(trend);
