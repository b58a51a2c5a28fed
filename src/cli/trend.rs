//! `leakscope trend DIR|FILES…`: judge the trend over many snapshots.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use clap::Args;

use super::diff::{parse_size, Color, DiffFormat};
use crate::attribute::{RuleSet, UNATTRIBUTED};
use crate::report::render::Style;
use crate::report::{trend as render, units};
use crate::trend::{self, Options};

/// Arguments of `leakscope trend`.
#[derive(Debug, Args)]
pub struct TrendArgs {
    /// Snapshot files, or directories of them (e.g. what `capture` wrote).
    /// /metrics scrapes beside them (`*metrics*`) are paired by name.
    #[arg(required = true, value_name = "DIR|FILE")]
    pub inputs: Vec<PathBuf>,
    /// The container memory limit, to project when it is reached (e.g. 512MiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub limit: Option<i64>,
    /// Rows per table; 0 shows all.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub nodecount: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Colour for text output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Extra or overriding attribution rules.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Growth below this is never called a leak (the sampling noise floor,
    /// 4 sampling periods, applies when larger).
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = parse_size)]
    pub min_growth: i64,
    /// Growth must also be at least this percentage of the first snapshot.
    #[arg(long, value_name = "PCT", default_value_t = 10.0)]
    pub min_growth_pct: f64,
    /// Exit 1 when the total grows by more than SIZE over the analysed snapshots.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub fail_on_growth: Option<i64>,
    /// Exit 1 when category NAME grows by more than SIZE (default: the absolute threshold).
    #[arg(long, value_name = "NAME[:SIZE]")]
    pub fail_on_category: Vec<String>,
    /// Exit 1 when the verdict is a leak.
    #[arg(long)]
    pub fail_on_leak: bool,
}

pub(crate) fn run(a: TrendArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let rules = RuleSet::load(a.rules.as_deref()).map_err(|e| anyhow!("rules: {e}"))?;
    let mut fail_cats = Vec::new();
    for spec in &a.fail_on_category {
        let (name, size) = match spec.split_once(':') {
            Some((n, s)) => (n, Some(parse_size(s).map_err(|e| anyhow!("--fail-on-category {spec}: {e}"))?)),
            None => (spec.as_str(), None),
        };
        if name != UNATTRIBUTED && rules.category_index(name).is_none() {
            bail!("--fail-on-category: unknown category {name:?}");
        }
        fail_cats.push((name.to_string(), size));
    }
    let o = Options {
        min_growth: a.min_growth,
        min_growth_ratio: a.min_growth_pct / 100.0,
        limit: a.limit,
        nodecount: a.nodecount,
    };
    let r = trend::run(&a.inputs, &rules, &o).map_err(|e| anyhow!("{e}"))?;
    match a.format {
        DiffFormat::Json => render::json(&r, out)?,
        DiffFormat::Markdown => render::markdown(&r, out)?,
        DiffFormat::Html => super::flamegraph::trend_html(&r, &rules, &o, out)?,
        DiffFormat::Dot => super::flamegraph::trend_dot(&r, &rules, a.nodecount, out)?,
        DiffFormat::Text => {
            let color = match a.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                }
            };
            render::text(&r, Style { color }, out)?
        }
    }
    out.flush()?;
    let unit = r.sample_type.unit.as_str();
    let mut failed = Vec::new();
    if let Some(limit) = a.fail_on_growth {
        if r.total_delta > limit {
            failed.push(format!(
                "total growth {} exceeds --fail-on-growth {}",
                units::human(r.total_delta, unit),
                units::human(limit, unit)
            ));
        }
    }
    for (name, size) in &fail_cats {
        let limit = size.unwrap_or(r.min_growth);
        let delta = r.categories.iter().find(|c| &c.name == name).map_or(0, |c| c.delta);
        if delta > limit {
            failed.push(format!(
                "category {name} grew {} (limit {})",
                units::human(delta, unit),
                units::human(limit, unit)
            ));
        }
    }
    if a.fail_on_leak && r.verdict.leak {
        failed.push("the verdict is a leak (--fail-on-leak)".to_string());
    }
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for f in failed {
            eprintln!("leakscope: {f}");
        }
        Ok(ExitCode::from(1))
    }
}
