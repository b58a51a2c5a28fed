//! Writes a deterministic synthetic heap profile (see `leakscope::synth`).
//!
//! Usage: `cargo run --release --example synth -- OUT.pb.gz [SCALE] [VARIANT] [GROWTH] [LIVE]`

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: synth OUT.pb.gz [SCALE] [VARIANT] [GROWTH] [LIVE]");
        std::process::exit(2);
    };
    // SCALE multiplies the default 200k samples and 30k functions; it may
    // be fractional (0.08 gives a profile of about 1 MB).
    let scale: f64 = args.get(1).map_or(1.0, |s| s.parse().expect("SCALE is a number"));
    let mut spec = leakscope::synth::Spec::default();
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
