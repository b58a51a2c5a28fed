//! What the subcommands share: argument types (formats, colour, sizes),
//! the judging flags, and the exit-code gates. Subcommand files import only
//! this module, never each other. [`pyroscope`] holds the Pyroscope
//! source's flags (issue 21).

pub mod pyroscope;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use clap::Args;

use crate::attribute::{RuleSet, UNATTRIBUTED};
use crate::report;
use crate::units;
pub use crate::units::parse_size;

/// Output format of `top` and `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for a terminal.
    #[default]
    Text,
    /// Stable JSON for scripts (schema in README).
    Json,
}

/// Output formats of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// For a terminal (coloured when it is one and NO_COLOR is unset).
    Text,
    /// For a postmortem document.
    Markdown,
    /// For scripts (see README): schema leakscope.diff/v1 from diff,
    /// leakscope.trend/v1 from trend (and diff of 3+ snapshots),
    /// leakscope.heapdiff/v1 from diff of two heap dumps.
    Json,
    /// One self-contained HTML page: verdict, tables, charts, stacks and a
    /// differential flame graph (no network needed to open it).
    Html,
    /// The growth retention graph in Graphviz DOT.
    Dot,
}

/// When to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl DiffFormat {
    /// The report format, with colour decided for text.
    pub fn report(self, color: Color) -> report::Format {
        match self {
            DiffFormat::Text => report::Format::Text { color: use_color(color) },
            DiffFormat::Markdown => report::Format::Markdown,
            DiffFormat::Json => report::Format::Json,
            DiffFormat::Html => report::Format::Html,
            DiffFormat::Dot => report::Format::Dot,
        }
    }
}

/// How growth is judged: rules and verdict thresholds, as flags.
#[derive(Debug, Clone, Args)]
pub struct Judging {
    /// Extra or overriding attribution rules (TOML or JSON; see `leakscope rules`).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<std::path::PathBuf>,
    /// Growth below this is never called a leak (bytes sample types). The
    /// sampling noise floor, 4 sampling periods, applies when larger.
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = parse_size)]
    pub min_growth: i64,
    /// Growth must also be at least this percentage of the base (the first
    /// snapshot, for a trend).
    #[arg(long, value_name = "PCT", default_value_t = 10.0)]
    pub min_growth_pct: f64,
}

impl Judging {
    /// The built-in rules merged with `--rules`.
    pub fn rules(&self) -> anyhow::Result<RuleSet> {
        RuleSet::load_with(self.rules.as_deref(), &crate::limits::current()).map_err(|e| anyhow!("rules: {e}"))
    }
}

/// The gates, as flags.
#[derive(Debug, Clone, Args)]
pub struct Gates {
    /// Exit 1 when the total grows by more than SIZE (e.g. 50MiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub fail_on_growth: Option<i64>,
    /// Exit 1 when category NAME grows by more than SIZE (default: the
    /// verdict's absolute threshold). Repeatable.
    #[arg(long, value_name = "NAME[:SIZE]")]
    pub fail_on_category: Vec<String>,
    /// Exit 1 when the verdict is a leak.
    #[arg(long)]
    pub fail_on_leak: bool,
    /// Exit 1 when the snapshots come from different processes (a restart
    /// or an upgrade between them; for a trend, a restart within it).
    #[arg(long)]
    pub fail_on_restart: bool,
}

/// Gates checked against a report's numbers.
#[derive(Debug)]
pub struct Checked {
    growth: Option<i64>,
    categories: Vec<(String, Option<i64>)>,
    leak: bool,
    restart: bool,
}

/// What a report offers the gates.
pub struct Outcome<'a> {
    /// Net growth of the judged total.
    pub total_delta: i64,
    /// Unit of the judged sample type.
    pub unit: &'a str,
    /// The verdict's absolute threshold.
    pub min_growth: i64,
    /// The verdict.
    pub leak: bool,
    /// The snapshots span more than one process.
    pub restarted: bool,
    /// Growth of a category by name (0 if absent).
    pub category_delta: &'a dyn Fn(&str) -> i64,
}

impl Gates {
    /// Validates the flags against the rules before any work is done, so a
    /// typo in a category name is a usage error (exit 2), not a silent pass.
    pub fn validate(&self, rules: &RuleSet) -> anyhow::Result<Checked> {
        let mut categories = Vec::new();
        for spec in &self.fail_on_category {
            let (name, size) = match spec.split_once(':') {
                Some((n, s)) => (n, Some(parse_size(s).map_err(|e| anyhow!("--fail-on-category {spec}: {e}"))?)),
                None => (spec.as_str(), None),
            };
            if name != UNATTRIBUTED && rules.category_index(name).is_none() {
                let known: Vec<&str> = rules.category_names().collect();
                bail!("--fail-on-category: unknown category {name:?} (known: {}, {UNATTRIBUTED})", known.join(", "));
            }
            categories.push((name.to_string(), size));
        }
        Ok(Checked { growth: self.fail_on_growth, categories, leak: self.fail_on_leak, restart: self.fail_on_restart })
    }
}

impl Checked {
    /// Exit 1 with one stderr line per tripped gate, else 0.
    pub fn exit_code(&self, o: &Outcome<'_>) -> ExitCode {
        let mut failed = Vec::new();
        if let Some(limit) = self.growth {
            if o.total_delta > limit {
                failed.push(format!(
                    "total growth {} exceeds --fail-on-growth {}",
                    units::human(o.total_delta, o.unit),
                    units::human(limit, o.unit)
                ));
            }
        }
        for (name, size) in &self.categories {
            let limit = size.unwrap_or(o.min_growth);
            let delta = (o.category_delta)(name);
            if delta > limit {
                failed.push(format!(
                    "category {name} grew {} (limit {})",
                    units::human(delta, o.unit),
                    units::human(limit, o.unit)
                ));
            }
        }
        if self.leak && o.leak {
            failed.push("the verdict is a leak (--fail-on-leak)".to_string());
        }
        if self.restart && o.restarted {
            failed.push("the snapshots come from different processes (--fail-on-restart)".to_string());
        }
        if failed.is_empty() {
            return ExitCode::SUCCESS;
        }
        for f in failed {
            eprintln!("leakscope: {f}");
        }
        ExitCode::from(1)
    }
}

/// Whether to colour text output: `auto` means a terminal without `NO_COLOR`.
pub fn use_color(c: Color) -> bool {
    match c {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// What `trend` (and `diff` with three or more inputs) runs: judge the
/// snapshots, render, and gate.
pub struct TrendRun<'a> {
    /// Snapshot files or directories.
    pub inputs: &'a [std::path::PathBuf],
    /// `--limit`.
    pub limit: Option<i64>,
    /// `--sample-type`: the heap profiles' type to judge (default `inuse_space`).
    pub sample_type: Option<&'a str>,
    /// `--nodecount`.
    pub nodecount: usize,
    /// `--format`.
    pub format: DiffFormat,
    /// `--color`.
    pub color: Color,
    /// Rules and thresholds.
    pub judging: &'a Judging,
    /// Exit-code gates.
    pub gates: &'a Gates,
    /// `--strict`: any unreadable snapshot is an error.
    pub strict: bool,
}

impl TrendRun<'_> {
    /// Runs it, writing the report to `out`; returns the exit code.
    pub fn run(&self, out: &mut dyn std::io::Write) -> anyhow::Result<ExitCode> {
        let rules = self.judging.rules()?;
        let gates = self.gates.validate(&rules)?;
        let o = crate::trend::Options {
            min_growth: self.judging.min_growth,
            min_growth_ratio: self.judging.min_growth_pct / 100.0,
            limit: self.limit,
            nodecount: self.nodecount,
            strict: self.strict,
            sample_type: self.sample_type.map(str::to_string),
        };
        let format = self.format.report(self.color);
        let doc = crate::trend(self.inputs, &rules, &o, format.needs()).map_err(|e| anyhow!("{e}"))?;
        finish_trend(&doc, format, &gates, out)
    }
}

/// The end of every trend run (files or Pyroscope): warnings on stderr,
/// the report on `out`, and the exit code from the gates.
pub(crate) fn finish_trend(
    doc: &report::trend::TrendDocument,
    format: report::Format,
    gates: &Checked,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<ExitCode> {
    for s in &doc.report.skipped {
        eprintln!("leakscope: warning: skipped {s}");
    }
    for w in &doc.warnings {
        eprintln!("leakscope: warning: {w}");
    }
    report::render::trend::render(doc, format, out)?;
    out.flush()?;
    let r = &doc.report;
    let category_delta = |n: &str| r.categories.iter().find(|c| c.name == n).map_or(0, |c| c.delta);
    Ok(gates.exit_code(&Outcome {
        total_delta: r.total_delta,
        unit: &r.sample_type.unit,
        min_growth: r.min_growth,
        leak: r.verdict.leak,
        restarted: !r.restarts.is_empty(),
        category_delta: &category_delta,
    }))
}

/// Refuses two inputs read from standard input.
pub fn one_stdin(files: &[&std::path::Path]) -> anyhow::Result<()> {
    if files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        bail!("only one input can be read from stdin ('-')");
    }
    Ok(())
}
