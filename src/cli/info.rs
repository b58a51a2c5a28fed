//! `leakscope info FILE`: what a profile holds.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Args;

use super::common::Format;
use crate::report;
use crate::source::Input;

/// Arguments of `leakscope info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Profile to read; `-` reads standard input.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub(crate) fn run(a: InfoArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let input = Input::open(&a.file)?;
    let name = a.file.display().to_string();
    let json = a.format == Format::Json;
    if input.is_heap_dump() {
        let d = input.into_heap_dump().map_err(|e| anyhow!(e))?;
        report::info::heap_dump(&d, &name, json, out)?;
    } else {
        let p = input.into_profile()?;
        report::info::profile(&p, &name, json, out)?;
    }
    Ok(ExitCode::SUCCESS)
}
