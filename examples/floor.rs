//! Floors for `leakscope diff`'s wall time and memory (issue 7): what it
//! costs just to decode both profiles, in parallel as the diff does, and
//! then to sum each side's function-level flat and cum of the two types
//! `leakscope diff` diffs by default, the least a diff reports. Peak RSS
//! comes from `/usr/bin/time -f %M`.
//!
//! `cargo run --release --example floor -- parse|funcs BASE NEW`

use std::path::Path;
use std::time::Instant;

use leakscope::graph::{aggregate_types, Granularity};
use leakscope::profile::Profile;
use leakscope::source::read_profile as read_path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 || !["parse", "funcs"].contains(&args[1].as_str()) {
        eprintln!("usage: floor parse|funcs BASE NEW");
        std::process::exit(2);
    }
    let t0 = Instant::now();
    let (a, b) = rayon::join(
        || read_path(Path::new(&args[2])).expect("read BASE"),
        || read_path(Path::new(&args[3])).expect("read NEW"),
    );
    let t1 = Instant::now();
    let nodes = if args[1] == "funcs" {
        let funcs = |p: &Profile| {
            let types: Vec<usize> =
                ["inuse_space", "inuse_objects"].iter().filter_map(|t| p.sample_type_index(t)).collect();
            aggregate_types(p, Granularity::Functions, &types)
        };
        let (x, y) = rayon::join(|| funcs(&a), || funcs(&b));
        x.nodes.len() + y.nodes.len()
    } else {
        0
    };
    let t2 = Instant::now();
    let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
    println!("parse both {:.1} ms, function tables {:.1} ms ({nodes} nodes)", ms(t0, t1), ms(t1, t2));
    // Not freed: freeing is part of neither floor.
    std::mem::forget((a, b));
}
