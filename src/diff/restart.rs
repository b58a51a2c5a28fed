//! Did the process change between two snapshots?
//!
//! A diff of two processes is no diff: a leaking process OOM-killed and
//! restarted looks like memory that shrank. Within one process,
//! `alloc_space` and `alloc_objects` count every allocation since it
//! started, so they never fall; a profile's own time never goes backwards;
//! and the main binary does not change. Any of these failing means a new
//! process, and the diff cannot judge a leak.

use crate::profile::Profile;
use crate::units;

/// What two snapshots say about their processes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Processes {
    /// The snapshots come from different processes.
    pub restarted: bool,
    /// The evidence, one sentence each.
    pub evidence: Vec<String>,
    /// The main binaries, when they differ: (base, new), each its file and
    /// build ID as the profile names them.
    pub programs: Option<(String, String)>,
}

/// The main mapping's file and build ID (empty when unknown).
fn program(p: &Profile) -> (&str, &str) {
    match p.mappings.first() {
        Some(m) => (p.str(m.filename), p.str(m.build_id)),
        None => ("", ""),
    }
}

fn describe((file, id): (&str, &str)) -> String {
    match (file.is_empty(), id.is_empty()) {
        (false, false) => format!("{file} (build ID {id})"),
        (false, true) => file.to_string(),
        (true, false) => format!("build ID {id}"),
        (true, true) => "an unknown program".to_string(),
    }
}

/// Compares the processes behind `base` and `new`.
pub fn compare(base: &Profile, new: &Profile) -> Processes {
    let mut out = Processes::default();
    let (base_totals, new_totals) = (base.totals(), new.totals());
    for (name, unit) in [("alloc_space", "bytes"), ("alloc_objects", "count")] {
        let (Some(b), Some(n)) = (base.sample_type_index(name), new.sample_type_index(name)) else { continue };
        let (tb, tn) = (base_totals[b], new_totals[n]);
        if tn < tb {
            out.restarted = true;
            out.evidence.push(format!(
                "{name} fell from {} to {}: it counts every allocation since the process started, so it only falls when a new process begins",
                units::human(tb, unit),
                units::human(tn, unit)
            ));
        }
    }
    if base.time_nanos > 0 && new.time_nanos > 0 && new.time_nanos < base.time_nanos {
        out.restarted = true;
        out.evidence.push(format!(
            "NEW was written before BASE ({} < {}): the snapshots are swapped, or come from different processes",
            units::utc(new.time_nanos),
            units::utc(base.time_nanos)
        ));
    }
    let (pb, pn) = (program(base), program(new));
    let file_differs = !pb.0.is_empty() && !pn.0.is_empty() && pb.0 != pn.0;
    let id_differs = !pb.1.is_empty() && !pn.1.is_empty() && pb.1 != pn.1;
    if file_differs || id_differs {
        out.programs = Some((describe(pb), describe(pn)));
    }
    if id_differs {
        out.restarted = true;
        out.evidence.push(format!(
            "the main binary changed: BASE ran {}, NEW runs {} (an upgrade or a different program)",
            describe(pb),
            describe(pn)
        ));
    }
    out
}
