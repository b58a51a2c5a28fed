//! `leakscope rules`: print the effective attribution rules.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Args;

use crate::attribute::{RuleSet, TRAEFIK_PREFIX};

/// Output formats of `rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RulesFormat {
    /// The rules-file format (what `--rules` reads).
    Toml,
    /// The same, as JSON.
    Json,
}

/// Arguments of `leakscope rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// A user rules file to merge over the built-in pack.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RulesFormat::Toml)]
    pub format: RulesFormat,
}

pub(crate) fn run(a: RulesArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let rules = RuleSet::load_with(a.rules.as_deref(), &crate::limits::current()).map_err(|e| anyhow!("rules: {e}"))?;
    match a.format {
        RulesFormat::Toml => {
            writeln!(
                out,
                "# Effective leakscope attribution rules (built-in pack{}).",
                if a.rules.is_some() { " + user file" } else { "" }
            )?;
            writeln!(out, "# {{T}} stands for {TRAEFIK_PREFIX}")?;
            writeln!(out, "# Categories are tried in this order; signatures before categories.\n")?;
            write!(out, "{}", rules.to_toml())?;
        }
        RulesFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &rules.file)?;
            writeln!(out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
