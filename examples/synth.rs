//! Writes a deterministic synthetic heap profile (see `leakscope::synth`).
//!
//! Usage: `cargo run --release --example synth -- [--shape tree|random] OUT.pb.gz [SCALE] [VARIANT] [GROWTH] [LIVE]`
//!
//! `--shape random` writes issue #22's unstructured profile
//! (`leakscope::synth::Shape::Random`): its later snapshot is the same
//! file with GROWTH > 1, which grows 5% of its stacks.

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut shape = leakscope::synth::Shape::Tree;
    if let Some(i) = args.iter().position(|a| a == "--shape") {
        let Some(s) = args.get(i + 1) else {
            eprintln!("--shape needs a value: tree or random");
            std::process::exit(2);
        };
        shape = s.parse().unwrap_or_else(|e: String| {
            eprintln!("{e}");
            std::process::exit(2);
        });
        args.drain(i..i + 2);
    }
    let Some(out) = args.first() else {
        eprintln!("usage: synth [--shape tree|random] OUT.pb.gz [SCALE] [VARIANT] [GROWTH] [LIVE]");
        std::process::exit(2);
    };
    // SCALE multiplies the default 200k samples and 30k functions; it may
    // be fractional (0.08 gives a profile of about 1 MB).
    let scale: f64 = args.get(1).map_or(1.0, |s| s.parse().expect("SCALE is a number"));
    let mut spec = leakscope::synth::Spec::default();
    spec.shape = shape;
    spec.samples = ((spec.samples as f64) * scale).round().max(1.0) as usize;
    spec.functions = ((spec.functions as f64) * scale).round().max(2.0) as usize;
    spec.variant = args.get(2).map_or(0, |s| s.parse().expect("VARIANT is an integer"));
    // Snapshots of one process an hour apart, so a trend has times.
    spec.time_nanos += spec.variant as i64 * 3_600_000_000_000;
    spec.growth = args.get(3).map_or(1.0, |s| s.parse().expect("GROWTH is a number"));
    // LIVE: share of sites with live objects (see Spec::live).
    spec.live = args.get(4).map_or(1.0, |s| s.parse().expect("LIVE is a number"));
    let bytes = leakscope::synth::gzip_bytes(&spec);
    std::fs::write(out, &bytes).expect("write output");
    eprintln!("wrote {out}: {} bytes, {} samples, {} functions", bytes.len(), spec.samples, spec.functions);
}
