//! The library's entry points: one call per report, each running the
//! pipeline in order — [`crate::source`] reads, [`crate::pprof`] or
//! [`crate::heapdump`] decodes, the analysis builds the report model — and
//! returning a document that [`crate::report`] renders in any format.
//!
//! ```no_run
//! use leakscope::{attribute::RuleSet, report::Format, DiffOptions};
//! use std::path::Path;
//!
//! let rules = RuleSet::load(None)?;
//! let opts = DiffOptions::new();
//! let d = leakscope::diff_files([Path::new("base.pb.gz"), Path::new("new.pb.gz")], &rules, &opts)?;
//! for c in &d.report.categories {
//!     println!("{:>14}  {}", c.delta, c.name);
//! }
//! leakscope::report::render::diff::render(&d, Format::Markdown, &mut std::io::stdout())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod pyroscope;

use std::path::{Path, PathBuf};

use crate::attribute::RuleSet;
use crate::diff::report::{build, Options as ReportOptions};
use crate::diff::{self, Diff};
use crate::heap::analysis::Analysis;
use crate::heapdump::elf::Binary;
use crate::heapdump::HeapDump;
use crate::profile::{Granularity, Profile};
use crate::report::diff::DiffDocument;
use crate::report::heap::{HeapDiffReport, HeapReport};
use crate::report::trend::TrendDocument;
use crate::report::Extras;
use crate::source;
use crate::source::Input;
pub use pyroscope::{fleet, trend_from_pyroscope, Selection};

/// How to diff two profiles and judge the growth.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// Sample type to judge; `None`: `inuse_space`, else the last type both
    /// profiles have.
    pub sample_type: Option<String>,
    /// Grouping of the function table, as pprof's `-granularity`.
    pub granularity: Granularity,
    /// Rows per table (0 = all).
    pub nodecount: usize,
    /// Scale NEW to BASE's total first, as pprof's `-normalize`.
    pub normalize: bool,
    /// Growth below this is never a leak (in the sample type's unit).
    pub min_growth: i64,
    /// Growth must also be at least this fraction of BASE's total.
    pub min_growth_ratio: f64,
    /// The names the report gives the inputs; `None`: their paths.
    pub names: Option<(String, String)>,
    /// What besides the model to compute (see [`crate::report::Format::needs`]).
    pub extras: Extras,
}

impl DiffOptions {
    /// The options of a trend's first/last diff: the trend's sample type,
    /// rows and thresholds, with `extras` for the HTML and DOT drawings.
    pub(crate) fn of_trend(o: &crate::trend::Options, sample_type: &str, extras: Extras) -> DiffOptions {
        DiffOptions {
            sample_type: Some(sample_type.to_string()),
            nodecount: o.nodecount,
            min_growth: o.min_growth,
            min_growth_ratio: o.min_growth_ratio,
            extras,
            ..DiffOptions::new()
        }
    }

    /// The CLI's defaults: ten rows, growth of at least 1 MiB and 10% of
    /// the base, function granularity, text output.
    pub fn new() -> DiffOptions {
        DiffOptions {
            sample_type: None,
            granularity: Granularity::Functions,
            nodecount: 10,
            normalize: false,
            min_growth: 1 << 20,
            min_growth_ratio: 0.1,
            names: None,
            extras: Extras::default(),
        }
    }
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions::new()
    }
}

/// The sample type a two-profile report judges: `wanted`, else
/// `inuse_space`, else the last type common to both.
pub fn judged_type(base: &Profile, new: &Profile, wanted: Option<&str>) -> Result<String, String> {
    let common: Vec<String> = (0..base.sample_types.len())
        .map(|i| base.sample_type_name(i).to_string())
        .filter(|n| new.sample_type_index(n).is_some())
        .collect();
    match wanted {
        Some(n) if common.iter().any(|c| c == n) => Ok(n.to_string()),
        Some(n) => Err(format!("sample type {n:?} is not in both profiles (common: {})", common.join(", "))),
        None if common.iter().any(|c| c == "inuse_space") => Ok("inuse_space".to_string()),
        None => common.last().cloned().ok_or_else(|| "the profiles share no sample type".to_string()),
    }
}

/// Diffs two decoded profiles for the judged sample type (and its object
/// count) only. Returns the diff and the judged type's index in it.
pub fn diff_judged(
    base: Profile,
    new: Profile,
    rules: &RuleSet,
    o: &DiffOptions,
    names: &str,
) -> Result<(Diff, usize), String> {
    let name = judged_type(&base, &new, o.sample_type.as_deref()).map_err(|e| format!("{names}: {e}"))?;
    let opts = diff::Options { granularity: o.granularity, normalize: o.normalize };
    let mut keep = vec![name.clone()];
    if let Some(obj) = name.strip_suffix("_space").map(|p| format!("{p}_objects")) {
        keep.push(obj);
    }
    let d = diff::diff_types(base, new, rules, opts, &diff::Types::Only(keep)).map_err(|e| format!("{names}: {e}"))?;
    let t = d.type_index(&name).ok_or_else(|| format!("{names}: sample type {name} missing"))?;
    Ok((d, t))
}

/// Diffs two decoded profiles into a report document. `base_name` and
/// `new_name` are what the report calls them (usually their paths).
pub fn diff_profiles(
    base: Profile,
    new: Profile,
    names: (&str, &str),
    rules: &RuleSet,
    o: &DiffOptions,
) -> Result<DiffDocument, String> {
    for (p, n) in [(&base, names.0), (&new, names.1)] {
        if let Some(kind) = p.non_memory_kind() {
            return Err(format!("{n}: this is {kind}: diff judges heap profiles and goroutine profiles"));
        }
    }
    let both = format!("{} and {}", names.0, names.1);
    let processes = diff::restart::compare(&base, &new);
    let (d, t) = diff_judged(base, new, rules, o, &both)?;
    let doc = document(&d, t, names, rules, o, processes);
    // Freeing the diff's columns took 5-8 ms on the synthetic pairs, on the
    // critical path: a pool thread frees them while the caller renders.
    rayon::spawn(move || drop(d));
    Ok(doc)
}

/// The options the report model is built with, for sample type `t`.
pub fn report_options(o: &DiffOptions, names: (&str, &str), t: usize) -> ReportOptions {
    report_options_with(o, names, t, Default::default())
}

/// [`report_options`], with what is known of the snapshots' processes.
fn report_options_with(
    o: &DiffOptions,
    names: (&str, &str),
    t: usize,
    processes: crate::diff::restart::Processes,
) -> ReportOptions {
    ReportOptions {
        base_file: names.0.to_string(),
        new_file: names.1.to_string(),
        sample_type: t,
        nodecount: o.nodecount,
        min_growth: o.min_growth,
        min_growth_ratio: o.min_growth_ratio,
        granularity: o.granularity,
        normalized: o.normalize,
        processes,
    }
}

/// The report document of a diff, for sample type `t`.
fn document(
    d: &Diff,
    t: usize,
    names: (&str, &str),
    rules: &RuleSet,
    o: &DiffOptions,
    processes: diff::restart::Processes,
) -> DiffDocument {
    let report = build(d, rules, &report_options_with(o, names, t, processes));
    let flame = if o.extras.flame { diff::fold::from_diff(d, t) } else { Vec::new() };
    let graph = o.extras.graph.then(|| {
        let title = format!("{} → {} ({})", names.0, names.1, d.types[t].0);
        diff::dot::growth_graph(d, t, rules, o.nodecount, title)
    });
    DiffDocument { report, flame, graph }
}

/// Reads two profiles (in parallel) and diffs them. `-` reads one from
/// standard input.
pub fn diff_files(paths: [&Path; 2], rules: &RuleSet, o: &DiffOptions) -> Result<DiffDocument, String> {
    let (b, n) = rayon::join(|| source::read_profile(paths[0]), || source::read_profile(paths[1]));
    let (b, n) = (b.map_err(|e| e.to_string())?, n.map_err(|e| e.to_string())?);
    let names = match &o.names {
        Some((a, b)) => (a.clone(), b.clone()),
        None => (paths[0].display().to_string(), paths[1].display().to_string()),
    };
    diff_profiles(b, n, (&names.0, &names.1), rules, o)
}

/// The differential flame graph's stacks of two profiles, without the rest
/// of the report: the judged type, its net change, and the folded stacks.
pub fn diff_flame(
    paths: [&Path; 2],
    rules: &RuleSet,
    o: &DiffOptions,
) -> Result<(crate::report::diff::SampleType, i64, Vec<crate::report::flame::Folded>), String> {
    let (b, n) = rayon::join(|| source::read_profile(paths[0]), || source::read_profile(paths[1]));
    let (b, n) = (b.map_err(|e| e.to_string())?, n.map_err(|e| e.to_string())?);
    let names = format!("{} and {}", paths[0].display(), paths[1].display());
    let (d, t) = diff_judged(b, n, rules, o, &names)?;
    let (name, unit) = d.types[t].clone();
    Ok((crate::report::diff::SampleType { name, unit }, d.total_delta(t), diff::fold::from_diff(&d, t)))
}

/// Judges the trend over snapshot files or directories of them (what
/// `leakscope capture` writes). Each snapshot is read, reduced and dropped
/// in parallel. With `extras`, the first and last analysed snapshots are
/// also diffed, for the HTML report's sites and flame graph and for DOT.
pub fn trend(
    inputs: &[PathBuf],
    rules: &RuleSet,
    o: &crate::trend::Options,
    extras: Extras,
) -> Result<TrendDocument, String> {
    let files = source::dir::snapshot_files(inputs)?;
    let want_diff = extras.flame || extras.graph;
    // A stream (stdin, a FIFO) can be read only once: when the first and
    // last snapshots are diffed afterwards, streamed profiles are kept.
    let kept: std::sync::Mutex<Vec<(PathBuf, Profile)>> = Default::default();
    let load = |p: &Path| -> Result<Profile, String> {
        let input = Input::open(p).map_err(|e| e.to_string())?;
        let stream = input.is_stream();
        let profile = input.into_profile().map_err(|e| e.to_string())?;
        if want_diff && stream {
            kept.lock().expect("kept profiles").push((p.to_path_buf(), profile.clone()));
        }
        Ok(profile)
    };
    let report = crate::trend::run(&files, &load, rules, o)?;
    let mut kept = kept.into_inner().expect("kept profiles");
    let mut doc = TrendDocument { report, first_last: None, warnings: Vec::new() };
    if want_diff {
        let (i, j) = doc.report.analyzed;
        if i != j {
            let (first, last) = (doc.report.snapshots[i].file.clone(), doc.report.snapshots[j].file.clone());
            let dopts = DiffOptions::of_trend(o, &doc.report.sample_type.name, extras);
            let mut take =
                |name: &str| kept.iter().position(|(p, _)| p.as_os_str() == name).map(|k| kept.swap_remove(k).1);
            let (kb, kn) = (take(&first), take(&last));
            let read = |name: &str, k: Option<Profile>| match k {
                Some(p) => Ok(p),
                None => source::read_profile(Path::new(name)).map_err(|e| e.to_string()),
            };
            let (b, n) = rayon::join(|| read(&first, kb), || read(&last, kn));
            let pair = b.and_then(|b| Ok((b, n?)));
            match pair.and_then(|(b, n)| diff_profiles(b, n, (&first, &last), rules, &dopts)) {
                Ok(d) => doc.first_last = Some(d),
                // DOT is nothing but this diff; HTML is whole without it.
                Err(e) if extras.graph => return Err(e),
                Err(e) => doc.warnings.push(format!("no first/last diff in the HTML report: {e}")),
            }
        }
    }
    Ok(doc)
}

/// Reads a heap dump and, with `binary`, the executable that wrote it.
pub fn read_heap_dump(path: &Path, binary: Option<&Path>) -> Result<(HeapDump, Option<Binary>), String> {
    read_heap_dump_input(Input::open(path).map_err(|e| e.to_string())?, binary)
}

/// Decodes an opened heap dump and, with `binary`, loads the executable.
pub fn read_heap_dump_input(input: Input, binary: Option<&Path>) -> Result<(HeapDump, Option<Binary>), String> {
    let dump = input.into_heap_dump()?;
    let bin = binary.map(|p| Binary::load(p, &dump).map_err(|e| format!("--binary {e}"))).transpose()?;
    Ok((dump, bin))
}

/// The Leak Suspects report of a heap dump.
pub fn heap(
    path: &Path,
    binary: Option<&Path>,
    rules: &RuleSet,
    o: &crate::heap::report::Options,
) -> Result<HeapReport, String> {
    let (dump, bin) = read_heap_dump(path, binary)?;
    let an = Analysis::new(&dump, bin.as_ref(), rules);
    Ok(crate::heap::report::build(&an, rules, &path.display().to_string(), o))
}

/// What grew between two heap dumps, and what keeps it alive.
pub fn diff_heap_dumps(
    paths: [&Path; 2],
    binary: Option<&Path>,
    rules: &RuleSet,
    o: &crate::heap::report::Options,
) -> Result<HeapDiffReport, String> {
    let (b, n) = rayon::join(|| Input::open(paths[0]), || Input::open(paths[1]));
    diff_heap_dump_inputs([b.map_err(|e| e.to_string())?, n.map_err(|e| e.to_string())?], binary, rules, o)
}

/// [`diff_heap_dumps`] of two opened inputs.
pub fn diff_heap_dump_inputs(
    inputs: [Input; 2],
    binary: Option<&Path>,
    rules: &RuleSet,
    o: &crate::heap::report::Options,
) -> Result<HeapDiffReport, String> {
    let names = [inputs[0].name().display().to_string(), inputs[1].name().display().to_string()];
    let [bi, ni] = inputs;
    let (b, n) = rayon::join(|| read_heap_dump_input(bi, binary), || read_heap_dump_input(ni, binary));
    let ((base, bin_b), (new, bin_n)) = (b?, n?);
    let (ab, an) =
        rayon::join(|| Analysis::new(&base, bin_b.as_ref(), rules), || Analysis::new(&new, bin_n.as_ref(), rules));
    Ok(crate::heap::report::build_diff(&ab, &names[0], &an, &names[1], rules, o))
}

/// A heap dump's retained size by allocation site, as a profile (what
/// `top` and `--output-pprof` show of a dump).
pub fn heap_dump_profile(dump: &HeapDump) -> Result<Profile, String> {
    let rules = RuleSet::load(None)?;
    let an = Analysis::new(dump, None, &rules);
    let p = crate::heap::export::profile(&an);
    let bytes = prost::Message::encode_to_vec(&p);
    crate::pprof::parse(&bytes).map_err(|e| e.to_string())
}
