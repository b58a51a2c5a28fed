//! Decode and `top` on the deterministic synthetic heap profile
//! (`leakscope::synth`, 200k samples, 30k functions, stacks up to 32 deep).
//!
//! `cargo bench --bench decode`. For ratios against `go tool pprof` and
//! `gzip -dc` on the same file, run `benches/compare.py`.

use std::hint::black_box;
use std::io::Read;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leakscope::graph::{aggregate, Granularity};

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
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut raw).expect("gunzip");
    let p = leakscope::pprof::parse(&gz).expect("decode");
    let t = p.default_sample_index().expect("sample type");

    let mut g = c.benchmark_group("synth-1x");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(gz.len() as u64));
    g.bench_function("gunzip only (flate2 zlib-rs)", |b| {
        b.iter(|| {
            let mut sink = std::io::sink();
            std::io::copy(&mut flate2::bufread::MultiGzDecoder::new(black_box(&gz[..])), &mut sink).unwrap()
        })
    });
    g.bench_function("decode gzip", |b| b.iter(|| leakscope::pprof::parse(black_box(&gz)).unwrap()));
    g.bench_function("decode raw protobuf", |b| b.iter(|| leakscope::pprof::parse(black_box(&raw)).unwrap()));
    g.bench_function("aggregate functions (all sample types)", |b| {
        b.iter(|| aggregate(black_box(&p), Granularity::Functions))
    });
    g.bench_function("top: decode + aggregate + sort", |b| {
        b.iter(|| {
            let p = leakscope::pprof::parse(black_box(&gz)).unwrap();
            let a = aggregate(&p, Granularity::Functions);
            a.top(t).len()
        })
    });
    g.finish();
}

criterion_group!(decode, benches);
criterion_main!(decode);
