//! The `leakscope` binary: parse arguments, run, map errors to exit codes.
//!
//! Exit status: 0 success; 1 a `--fail-on-*` threshold was exceeded;
//! 2 usage or input error. A closed stdout (e.g. `| head`) exits 0.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOC: leakscope::alloc::Allocator = leakscope::alloc::Allocator;

fn main() -> ExitCode {
    leakscope::alloc::init();
    let cli = leakscope::cli::Cli::parse();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let res = leakscope::cli::run(cli, &mut out).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    match res {
        Ok(code) => code,
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("leakscope: {e:#}");
            ExitCode::from(2)
        }
    }
}
