//! Folded stacks of one profile (root to leaf, `;`-joined frame names),
//! the input of a flame graph. Drawing them is [`crate::report::flame`]'s job.

use rustc_hash::FxHashMap;

use super::{aggregate_types, Granularity};
use crate::profile::Profile;
use crate::report::flame::{clean_name, Folded};

pub(crate) fn fold(map: FxHashMap<String, (i64, i64)>) -> Vec<Folded> {
    let mut v: Vec<Folded> = map.into_iter().map(|(stack, (base, new))| Folded { stack, base, new }).collect();
    v.sort_by(|a, b| a.stack.cmp(&b.stack));
    v
}

pub(crate) fn join(names: impl Iterator<Item = String>) -> String {
    let s = names.collect::<Vec<_>>().join(";");
    if s.is_empty() {
        "<no frames>".to_string()
    } else {
        s
    }
}

/// One profile's stacks for sample type `t`, folded (as `new`; `base` is 0).
pub fn from_profile(p: &Profile, t: usize) -> Vec<Folded> {
    let agg = aggregate_types(p, Granularity::Functions, &[]);
    let names: Vec<String> = agg.nodes.iter().map(|n| clean_name(&n.name)).collect();
    let mut map: FxHashMap<String, (i64, i64)> = FxHashMap::default();
    let mut buf: Vec<u32> = Vec::new();
    for s in 0..p.num_samples() {
        let v = p.sample_values(s)[t];
        if v == 0 {
            continue;
        }
        buf.clear();
        for &loc in p.stack(s) {
            buf.extend_from_slice(agg.location_nodes(loc as usize));
        }
        let key = join(buf.iter().rev().map(|&n| names[n as usize].clone()));
        map.entry(key).or_default().1 += v;
    }
    fold(map)
}
