//! Writes a deterministic synthetic heap profile (see `leakscope::synth`).
//!
//! Usage: `cargo run --release --example synth -- OUT.pb.gz [SCALE] [VARIANT] [GROWTH]`

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: synth OUT.pb.gz [SCALE] [VARIANT] [GROWTH]");
        std::process::exit(2);
    };
    let scale = args.get(1).map_or(1, |s| s.parse().expect("SCALE is an integer"));
    let mut spec = leakscope::synth::Spec::scaled(scale);
    spec.variant = args.get(2).map_or(0, |s| s.parse().expect("VARIANT is an integer"));
    spec.growth = args.get(3).map_or(1.0, |s| s.parse().expect("GROWTH is a number"));
    let bytes = leakscope::synth::gzip_bytes(&spec);
    std::fs::write(out, &bytes).expect("write output");
    eprintln!("wrote {out}: {} bytes, {} samples, {} functions", bytes.len(), spec.samples, spec.functions);
}
