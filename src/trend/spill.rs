//! Each snapshot's packed sites, kept in a temporary file while a trend
//! reads the rest.
//!
//! Which sites a trend shows depends on the first and last snapshot of its
//! final segment, and their series need every snapshot's values: none of
//! that is known until all snapshots are read. Kept in memory, the sites
//! grow with the number of snapshots (a service with 4,000 allocating
//! functions adds ~35 KB per snapshot); written to an unnamed temporary
//! file as each snapshot is reduced, they cost the process nothing and
//! are read back in two passes at the end: the first and last snapshot to
//! rank the sites, then each snapshot once for the series shown. The file
//! is in `$TMPDIR` and is gone when the run ends. Without one (a read-only
//! or full temporary directory) the sites stay in memory, as before.

use std::borrow::Cow;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Mutex;

use super::reduce::Sites;

/// Where a run's sites go: a temporary file, or nowhere (kept in memory).
#[derive(Debug)]
pub struct Spill {
    /// The file and its length, or `None` to keep sites in memory.
    file: Option<Mutex<(File, u64)>>,
}

impl Spill {
    /// A spill to a new unnamed temporary file; in memory if none can be
    /// made.
    pub fn temp_file() -> Spill {
        Spill { file: tempfile::tempfile().ok().map(|f| Mutex::new((f, 0))) }
    }

    /// No spill: sites stay where they are.
    pub fn in_memory() -> Spill {
        Spill { file: None }
    }

    /// Bytes written to the file so far.
    pub fn written(&self) -> u64 {
        self.file.as_ref().and_then(|f| f.lock().ok().map(|g| g.1)).unwrap_or(0)
    }

    /// Moves `sites` to the file, returning what stands for them there;
    /// on any error writing, `sites` themselves (kept in memory).
    pub fn put(&self, sites: Sites) -> Sites {
        let Some(file) = &self.file else { return sites };
        if sites.is_empty() {
            return sites;
        }
        let Ok(mut guard) = file.lock() else { return sites };
        let (f, end) = &mut *guard;
        let at = *end;
        let wrote = f.seek(SeekFrom::Start(at)).and_then(|_| f.write_all(sites.packed()));
        match wrote {
            Ok(()) => {
                *end += sites.packed().len() as u64;
                sites.spilled_at(at)
            }
            Err(_) => sites,
        }
    }

    /// The sites `sites` stands for: themselves when in memory, else read
    /// back from the file. The error names the temporary file.
    pub fn get<'a>(&self, sites: &'a Sites) -> Result<Cow<'a, Sites>, String> {
        let Some((at, nbytes)) = sites.spilled() else { return Ok(Cow::Borrowed(sites)) };
        let err = |e: std::io::Error| format!("reading back the sites kept in a temporary file: {e}");
        let file = self.file.as_ref().ok_or_else(|| err(std::io::Error::other("no temporary file")))?;
        let mut guard = file.lock().map_err(|_| err(std::io::Error::other("lock poisoned")))?;
        let mut bytes = vec![0u8; nbytes];
        guard.0.seek(SeekFrom::Start(at)).and_then(|_| guard.0.read_exact(&mut bytes)).map_err(err)?;
        Ok(Cow::Owned(sites.with_packed(bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::RuleSet;
    use std::path::{Path, PathBuf};

    #[test]
    fn put_and_get_round_trip() {
        let spill = Spill::temp_file();
        let a = Sites::pack(&[(1, 10, 1, 7), (5, -3, 2, 8)]);
        let b = Sites::pack(&[(2, 4, 0, 9)]);
        let (pa, pb) = (spill.put(a.clone()), spill.put(b.clone()));
        assert!(pa.spilled().is_some() && pb.spilled().is_some(), "a temporary file is expected here");
        let got_b: Vec<_> = spill.get(&pb).unwrap().iter_with_frames().collect();
        let got_a: Vec<_> = spill.get(&pa).unwrap().iter_with_frames().collect();
        assert_eq!(got_a, a.iter_with_frames().collect::<Vec<_>>());
        assert_eq!(got_b, b.iter_with_frames().collect::<Vec<_>>());
        // In memory: the same sites, untouched.
        let mem = Spill::in_memory();
        let kept = mem.put(a.clone());
        assert!(kept.spilled().is_none());
        assert_eq!(mem.get(&kept).unwrap().iter().collect::<Vec<_>>(), a.iter().collect::<Vec<_>>());
    }

    /// Sites kept in a temporary file give the report they give in memory,
    /// on every bundled scenario (heap, goroutine and /metrics files), and
    /// the file is really used.
    #[test]
    fn spilled_sites_report_as_in_memory() {
        let rules = RuleSet::load(None).unwrap();
        let o = super::super::Options {
            min_growth: 0,
            min_growth_ratio: 0.0,
            limit: None,
            nodecount: 0,
            strict: false,
            sample_type: None,
        };
        let load =
            |p: &Path| crate::pprof::parse(&std::fs::read(p).map_err(|e| e.to_string())?).map_err(|e| e.to_string());
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/leaks");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
        dirs.sort();
        assert!(dirs.len() >= 4);
        for dir in dirs {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
            files.sort();
            let name = |f: &PathBuf| f.file_name().unwrap().to_string_lossy().into_owned();
            let inputs = super::super::Inputs {
                profiles: files.iter().filter(|f| name(f).ends_with(".pb.gz")).cloned().collect(),
                scrapes: files
                    .iter()
                    .filter(|f| name(f).contains("metrics"))
                    .map(|f| (f.clone(), std::fs::read(f).map_err(|e| e.to_string())))
                    .collect(),
                explicit: false,
            };
            let spill = Spill::temp_file();
            let spilled = super::super::run_inner(&inputs, &load, None, &spill, &rules, &o).unwrap();
            assert!(spill.written() > 0, "{}: nothing was spilled", dir.display());
            let kept = super::super::run_inner(&inputs, &load, None, &Spill::in_memory(), &rules, &o).unwrap();
            assert!(!spilled.sites.is_empty(), "{}: no sites to compare", dir.display());
            assert_eq!(
                serde_json::to_string(&spilled).unwrap(),
                serde_json::to_string(&kept).unwrap(),
                "{}",
                dir.display()
            );
        }
    }
}
