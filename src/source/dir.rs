//! The snapshots of a trend: files named on the command line, or every
//! file of a directory (what `leakscope capture` writes), split into
//! profiles and the `/metrics` scrapes saved beside them.

use std::path::{Path, PathBuf};

use crate::trend::Inputs;

/// Expands directories into their files, sorted by name.
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|f| f.is_file() && !f.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
                .collect();
            v.sort();
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn is_scrape_name(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n.to_string_lossy().contains("metrics"))
}

/// Lists the snapshots of `inputs` and reads the scrapes among them (a
/// scrape is small; a profile is read later, by whoever reduces it).
///
/// In a directory, reports (`.json`, `.md`) and text files other than
/// scrapes are left out, and files named `*metrics*` are scrapes. Files
/// named one by one are all profiles.
pub fn snapshot_files(inputs: &[PathBuf]) -> Result<Inputs, String> {
    let files = expand_inputs(inputs)?;
    let explicit = inputs.iter().all(|p| !p.is_dir());
    let (scrapes, profiles): (Vec<PathBuf>, Vec<PathBuf>) = files
        .into_iter()
        .filter(|f| {
            let n = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            explicit || !(n.ends_with(".json") || n.ends_with(".md") || n.ends_with(".txt") && !n.contains("metrics"))
        })
        .partition(|f| is_scrape_name(f) && !explicit);
    let scrapes = scrapes
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).map_err(|e| e.to_string());
            (f, bytes)
        })
        .collect();
    Ok(Inputs { profiles, scrapes, explicit })
}
