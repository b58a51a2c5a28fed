//! Times the stages of `leakscope diff` on one pair of profiles, one line
//! per run: read, parse of each side, `diff_types`, the retention graph
//! alone, the report (which builds the graph again) and the JSON.
//!
//! `cargo run --release --example stages -- BASE NEW`. On a shared machine
//! take the minimum of several runs; benches/RESULTS.md did.

use std::time::Instant;

use leakscope::attribute::RuleSet;
use leakscope::diff::report::{build, Options as ReportOptions};
use leakscope::diff::retention::RetentionGraph;
use leakscope::diff::{diff_types, Options, Types};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: stages BASE NEW");
        std::process::exit(2);
    }
    let rules = RuleSet::load(None).expect("built-in rules");
    let t0 = Instant::now();
    let a = std::fs::read(&args[1]).expect("read BASE");
    let b = std::fs::read(&args[2]).expect("read NEW");
    let t1 = Instant::now();
    let pa = leakscope::pprof::parse(&a).expect("parse BASE");
    let t2 = Instant::now();
    let pb = leakscope::pprof::parse(&b).expect("parse NEW");
    let t3 = Instant::now();
    // What `leakscope diff` diffs by default.
    let types = Types::Only(vec!["inuse_space".into(), "inuse_objects".into()]);
    let d = diff_types(pa, pb, &rules, Options::default(), &types).expect("diff");
    let t4 = Instant::now();
    let g = RetentionGraph::build(&d, 0, |_| true);
    let t5 = Instant::now();
    let ro = ReportOptions::new(args[1].clone(), args[2].clone());
    let r = build(&d, &rules, &ro);
    let t6 = Instant::now();
    let mut out = Vec::new();
    leakscope::report::render::diff::json(&r, &mut out).expect("json");
    let t7 = Instant::now();
    let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
    println!(
        "read {:.1} ms, parse A {:.1} ms, parse B {:.1} ms, diff {:.1} ms, graph {:.1} ms ({} nodes, {} edges), report {:.1} ms, json {:.1} ms; {} stacks",
        ms(t0, t1),
        ms(t1, t2),
        ms(t2, t3),
        ms(t3, t4),
        ms(t4, t5),
        g.graph.node_count(),
        g.graph.edge_count(),
        ms(t5, t6),
        ms(t6, t7),
        d.stacks.len()
    );
}
