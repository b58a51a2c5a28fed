//! Aggregation into pprof's function nodes (flat and cum for every sample
//! type), the core of `top`, on the deterministic synthetic heap profile
//! (`leakscope::synth`, 200k samples, 30k functions).
//!
//! `cargo bench --bench aggregate`. Decoding is `--bench decode`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leakscope::graph::{aggregate, aggregate_types, Granularity};

/// The benchmark input, generated once into benches/data/ (gitignored).
fn input() -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/data");
    let path = dir.join("synth-1x.pb.gz");
    if let Ok(b) = std::fs::read(&path) {
        return b;
    }
    std::fs::create_dir_all(&dir).expect("create benches/data");
    let b = leakscope::synth::gzip_bytes(&leakscope::synth::Spec::default());
    std::fs::write(&path, &b).expect("write benchmark input");
    b
}

fn benches(c: &mut Criterion) {
    let gz = input();
    let p = leakscope::pprof::parse(&gz).expect("decode");
    let t = p.default_sample_index().expect("sample type");
    let mut g = c.benchmark_group("synth-1x");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(gz.len() as u64));
    g.bench_function("aggregate functions (all sample types)", |b| {
        b.iter(|| aggregate(black_box(&p), Granularity::Functions))
    });
    g.bench_function("aggregate functions (one sample type, as top)", |b| {
        b.iter(|| aggregate_types(black_box(&p), Granularity::Functions, &[t]))
    });
    g.bench_function("aggregate lines (all sample types)", |b| b.iter(|| aggregate(black_box(&p), Granularity::Lines)));
    g.bench_function("top: decode + aggregate + sort", |b| {
        b.iter(|| {
            let p = leakscope::pprof::parse(black_box(&gz)).unwrap();
            let a = aggregate_types(&p, Granularity::Functions, &[t]);
            a.top(0).len()
        })
    });
    g.finish();
}

criterion_group!(aggregate_bench, benches);
criterion_main!(aggregate_bench);
