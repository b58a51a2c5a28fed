//! A postmortem script on the library: diff two heap snapshots, print the
//! category table and the verdict, and exit 1 when it is a leak.
//!
//! ```sh
//! cargo run --example postmortem -- testdata/leaks/config-reload/00-heap.pb.gz \
//!     testdata/leaks/config-reload/05-heap.pb.gz     # exits 1: a leak
//! cargo run --example postmortem -- testdata/leaks/fixed/00-heap.pb.gz \
//!     testdata/leaks/fixed/05-heap.pb.gz             # exits 0
//! ```

use std::path::Path;
use std::process::ExitCode;

use leakscope::attribute::RuleSet;
use leakscope::units::human;
use leakscope::DiffOptions;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, new] = args.as_slice() else {
        eprintln!("usage: postmortem BASE NEW");
        return ExitCode::from(2);
    };
    let rules = RuleSet::load(None).expect("the built-in rules load");
    let report = match leakscope::diff_files([Path::new(base), Path::new(new)], &rules, &DiffOptions::new()) {
        Ok(d) => d.report,
        Err(e) => {
            eprintln!("postmortem: {e}");
            return ExitCode::from(2);
        }
    };
    let unit = &report.sample_type.unit;
    println!("{:<16} {:>12} {:>12} {:>12}", "category", "base", "new", "delta");
    for c in &report.categories {
        println!("{:<16} {:>12} {:>12} {:>12}", c.name, human(c.base, unit), human(c.new, unit), human(c.delta, unit));
    }
    println!("\n{}", report.verdict.headline);
    if report.verdict.leak {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
