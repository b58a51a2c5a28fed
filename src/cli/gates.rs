//! Exit-code gates shared by `diff` and `trend`: `--fail-on-growth`,
//! `--fail-on-category` and `--fail-on-leak`, and the colour decision.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use clap::Args;

use super::diff::{parse_size, Color};
use crate::attribute::{RuleSet, UNATTRIBUTED};
use crate::report::units;

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
        RuleSet::load_with(self.rules.as_deref(), &super::limits()).map_err(|e| anyhow!("rules: {e}"))
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
}

/// Gates checked against a report's numbers.
#[derive(Debug)]
pub struct Checked {
    growth: Option<i64>,
    categories: Vec<(String, Option<i64>)>,
    leak: bool,
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
        Ok(Checked { growth: self.fail_on_growth, categories, leak: self.fail_on_leak })
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
