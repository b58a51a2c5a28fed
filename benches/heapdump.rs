//! The heap-dump pipeline on the biggest committed fixture
//! (`testdata/heapdumps/*/2.heapdump.gz`, gunzipped in memory once):
//! parse, address index, graph, dominators, retained sizes, the whole
//! `Analysis::new`, and the report build.
//!
//! `cargo bench --bench heapdump`. For the 1 GiB generated dump against the
//! time to read the file, run `benches/heapdump.py` (results in
//! benches/HEAPDUMP.md).

use std::hint::black_box;
use std::io::Read;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use leakscope::attribute::RuleSet;
use leakscope::heap::analysis::Analysis;
use leakscope::heap::dominators::Dominators;
use leakscope::heap::graph::{self, AddrIndex};
use leakscope::heap::report::{self as model, Options};
use leakscope::heapdump::parse::{self, Bytes};

/// The largest gzipped `2.heapdump.gz` fixture, gunzipped.
fn fixture() -> (String, Vec<u8>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/heapdumps");
    let mut best: Option<(u64, PathBuf)> = None;
    for e in std::fs::read_dir(&dir).expect("testdata/heapdumps") {
        let p = e.expect("dir entry").path().join("2.heapdump.gz");
        if let Ok(m) = std::fs::metadata(&p) {
            if best.as_ref().is_none_or(|(len, _)| m.len() > *len) {
                best = Some((m.len(), p));
            }
        }
    }
    let (_, path) = best.expect("no testdata/heapdumps/*/2.heapdump.gz");
    let gz = std::fs::read(&path).expect("read fixture");
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(&gz[..]).read_to_end(&mut raw).expect("gunzip");
    let name = path.parent().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    (name, raw)
}

fn benches(c: &mut Criterion) {
    let (name, raw) = fixture();
    let rules = RuleSet::load(None).expect("builtin rules");
    let dump = parse::parse(Bytes::Owned(raw.clone())).expect("parse fixture");
    let index = AddrIndex::new(&dump.objects.addr, &dump.objects.size);
    let g = graph::build(&dump, &index, None);
    let doms = Dominators::semi_nca(&g.csr, g.super_root());
    let shallow: Vec<u64> = {
        let mut s = vec![0u64; g.num_nodes()];
        for (s, &sz) in s.iter_mut().zip(&dump.objects.size) {
            *s = sz as u64;
        }
        s
    };
    let an = Analysis::new(&dump, None, &rules);
    let opts = Options { top: 10, suspect_share: 0.10, suspect_min: 64 * 1024 };
    eprintln!(
        "heapdump bench: {name}/2.heapdump, {} bytes, {} objects, {} nodes, {} object edges",
        raw.len(),
        dump.objects.len(),
        g.num_nodes(),
        g.object_edges
    );

    let mut grp = c.benchmark_group(format!("heapdump-{name}"));
    grp.sample_size(10);
    grp.warm_up_time(std::time::Duration::from_millis(500));
    grp.measurement_time(std::time::Duration::from_secs(2));
    grp.throughput(Throughput::Bytes(raw.len() as u64));
    grp.bench_function("parse", |b| {
        b.iter_batched(
            || Bytes::Owned(raw.clone()),
            |bytes| parse::parse(black_box(bytes)).unwrap(),
            BatchSize::LargeInput,
        )
    });
    grp.bench_function("address index", |b| {
        b.iter(|| AddrIndex::new(black_box(&dump.objects.addr), black_box(&dump.objects.size)))
    });
    grp.bench_function("graph (given the index)", |b| b.iter(|| graph::build(black_box(&dump), &index, None)));
    grp.bench_function("dominators (semi-NCA)", |b| b.iter(|| Dominators::semi_nca(black_box(&g.csr), g.super_root())));
    grp.bench_function("retained sizes", |b| b.iter(|| doms.retained(black_box(&shallow))));
    grp.bench_function("Analysis::new (index to shapes)", |b| b.iter(|| Analysis::new(black_box(&dump), None, &rules)));
    grp.bench_function("report build", |b| b.iter(|| model::build(black_box(&an), &rules, "2.heapdump", &opts)));
    grp.bench_function("parse + analysis + report", |b| {
        b.iter_batched(
            || Bytes::Owned(raw.clone()),
            |bytes| {
                let d = parse::parse(black_box(bytes)).unwrap();
                let a = Analysis::new(&d, None, &rules);
                model::build(&a, &rules, "2.heapdump", &opts).summary.objects
            },
            BatchSize::LargeInput,
        )
    });
    grp.finish();
}

criterion_group!(heapdump, benches);
criterion_main!(heapdump);
