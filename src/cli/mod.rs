//! Command-line definitions (clap) and dispatch, one file per subcommand.

mod capture;
pub mod common;
pub mod diff;
mod flamegraph;
pub mod fleet;
mod heap;
mod info;
mod rules;
mod top;
pub mod trend;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use capture::CaptureArgs;
pub use common::Format;
pub use diff::DiffArgs;
pub use flamegraph::FlamegraphArgs;
pub use heap::{HeapArgs, HeapFormat};
pub use info::InfoArgs;
pub use rules::RulesArgs;
pub use top::TopArgs;
pub use trend::TrendArgs;

/// leakscope: find memory leaks in Go services from heap profiles.
#[derive(Debug, Parser)]
#[command(name = "leakscope", version, about, long_about = None, disable_help_flag = true)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
    /// Print help (`-h` and `--help` print the same, on every subcommand).
    #[arg(short = 'h', long = "help", action = clap::ArgAction::HelpLong, global = true)]
    help: Option<bool>,
    /// Most bytes one compressed input may inflate to, or one pipe or stdin
    /// may send (e.g. 8GiB); default 32× the compressed size (64 MiB to 4 GiB), 256 MiB from a pipe.
    #[arg(long, global = true, value_name = "SIZE", value_parser = common::parse_size)]
    pub max_inflated: Option<i64>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Leak report: what grew between two heap snapshots, where, and why.
    Diff(DiffArgs),
    /// Flat and cumulative values per function, as `go tool pprof -top`.
    Top(TopArgs),
    /// What a profile holds: sample types, counts, period, time, totals.
    Info(InfoArgs),
    /// Print the effective attribution rules (built-in pack, plus --rules).
    Rules(RulesArgs),
    /// Judge the trend over many snapshots: shapes, slopes, restarts, verdict.
    Trend(TrendArgs),
    /// Save heap snapshots from a live Go process at an interval (/debug/pprof/heap?gc=1).
    Capture(CaptureArgs),
    /// Leak suspects in a Go heap dump (runtime/debug.WriteHeapDump): who keeps memory alive.
    Heap(HeapArgs),
    /// Flame graph SVG of a profile, or a differential one with --base (red = growth, blue = shrinkage).
    Flamegraph(FlamegraphArgs),
    /// Judge every series in Pyroscope separately: which services and pods leak, since when, in what.
    Fleet(fleet::FleetArgs),
}

/// Runs the parsed command, writing the report to `out`.
///
/// Returns the process exit code: 0 on success. Errors propagate as
/// `anyhow::Error`; `main` prints them on one line and exits 2.
pub fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    crate::limits::set_current(crate::limits::Limits::from_flag(cli.max_inflated));
    match cli.command {
        Command::Diff(a) => diff::run(a, out),
        Command::Top(a) => top::run(a, out),
        Command::Rules(a) => rules::run(a, out),
        Command::Trend(a) => trend::run(a, out),
        Command::Info(a) => info::run(a, out),
        Command::Capture(a) => capture::run(a, out),
        Command::Flamegraph(a) => flamegraph::run(a, out),
        Command::Heap(a) => heap::run(a, out),
        Command::Fleet(a) => fleet::run(a, out),
    }
}
