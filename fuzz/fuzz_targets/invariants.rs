//! Invariants every decoded profile and every decode error must satisfy.
//!
//! Shared by the fuzz targets and by `tests/fuzz_regressions.rs` (which
//! includes this file with `#[path]`), so a regression input is checked
//! exactly as the fuzzer checked it. Only depends on `leakscope` and std.
#![allow(dead_code)] // each includer uses a different subset

use leakscope::graph::{aggregate, Granularity};
use leakscope::pprof::DecodeError;
use leakscope::profile::{Profile, NONE};

/// Every granularity `aggregate` accepts.
pub const GRANULARITIES: [Granularity; 5] = [
    Granularity::Functions,
    Granularity::Filefunctions,
    Granularity::Files,
    Granularity::Lines,
    Granularity::Addresses,
];

/// Decodes `data` and checks the error or the profile (aggregating it at
/// every granularity). Returns the profile when it decoded.
pub fn exercise(data: &[u8]) -> Option<Profile> {
    match leakscope::pprof::parse(data) {
        Ok(p) => {
            check_profile(&p);
            Some(p)
        }
        Err(e) => {
            check_error(&e);
            None
        }
    }
}

/// An error must say something, on one line.
pub fn check_error(e: &DecodeError) {
    let s = e.to_string();
    assert!(!s.is_empty(), "empty error message for {e:?}");
    assert!(!s.contains(['\n', '\r']), "error message is not one line: {s:?}");
}

/// Every index in a decoded profile is in range, every accessor works, and
/// aggregation at every granularity is consistent with the samples.
pub fn check_profile(p: &Profile) {
    let ntypes = p.sample_types.len();
    let nsamples = p.num_samples();
    let nstr = p.strings.len() as u64;
    let s = |id: u64| {
        assert!(id < nstr, "string id {id} beyond table of {nstr}");
        p.str(id).len()
    };

    assert_eq!(p.stack_offsets.first(), Some(&0));
    assert_eq!(p.label_offsets.len(), p.stack_offsets.len());
    assert_eq!(p.values.len(), nsamples * ntypes, "values matrix is not samples x types");
    assert_eq!(*p.stack_offsets.last().unwrap() as usize, p.stacks.len());
    assert_eq!(*p.label_offsets.last().unwrap() as usize, p.labels.len());

    for st in &p.sample_types {
        s(st.ty);
        s(st.unit);
    }
    for i in 0..ntypes {
        p.sample_type_name(i);
        p.sample_type_unit(i);
    }
    for &c in &p.comments {
        s(c);
    }
    for id in [p.period_type.ty, p.period_type.unit, p.drop_frames, p.keep_frames, p.default_sample_type, p.doc_url] {
        s(id);
    }
    match p.default_sample_index() {
        Some(i) => assert!(i < ntypes),
        None => assert_eq!(ntypes, 0),
    }
    p.is_heap();

    for m in &p.mappings {
        s(m.filename);
        s(m.build_id);
    }
    for f in &p.functions {
        s(f.name);
        s(f.system_name);
        s(f.filename);
    }
    for loc in &p.locations {
        assert!(loc.mapping == NONE || (loc.mapping as usize) < p.mappings.len(), "mapping index out of range");
        let r = loc.lines();
        assert!(r.start <= r.end && r.end <= p.lines.len(), "location lines {r:?} beyond {}", p.lines.len());
        for line in &p.lines[r] {
            assert!((line.function as usize) < p.functions.len(), "line function index out of range");
        }
    }

    let mut flat_expect = vec![0i64; ntypes];
    for i in 0..nsamples {
        let stack = p.stack(i);
        for &l in stack {
            assert!((l as usize) < p.locations.len(), "sample {i} stack index {l} out of range");
        }
        let vals = p.sample_values(i);
        assert_eq!(vals.len(), ntypes);
        if !stack.is_empty() {
            for (acc, v) in flat_expect.iter_mut().zip(vals) {
                *acc = acc.wrapping_add(*v);
            }
        }
        for l in p.sample_labels(i) {
            s(l.key);
            s(l.str);
            s(l.num_unit);
        }
    }

    let totals = p.totals();
    assert_eq!(totals.len(), ntypes);

    for g in GRANULARITIES {
        let a = aggregate(p, g);
        assert_eq!(a.ntypes, ntypes);
        assert_eq!(a.flat.len(), a.nodes.len() * ntypes);
        assert_eq!(a.cum.len(), a.nodes.len() * ntypes);
        assert_eq!(a.totals, totals);
        assert_eq!(a.loc_node_offsets.len(), p.locations.len() + 1);
        for l in 0..p.locations.len() {
            let ns = a.location_nodes(l);
            assert!(!ns.is_empty(), "location {l} has no node at {g:?}");
            assert!(ns.iter().all(|&n| (n as usize) < a.nodes.len()));
        }
        // Each sample's value lands in exactly one flat: the sum of flats is
        // the sum of the values of samples that have a stack.
        for (t, want) in flat_expect.iter().enumerate() {
            let got = (0..a.nodes.len()).fold(0i64, |acc, n| acc.wrapping_add(a.flat(n, t)));
            assert_eq!(got, *want, "sum of flat for type {t} at {g:?}");
        }
        // Sorting for `top` (a few types suffice; each sort is the same code).
        for t in 0..ntypes.min(4) {
            let top = a.top(t);
            assert!(top.iter().all(|&n| n < a.nodes.len()));
        }
    }
}
