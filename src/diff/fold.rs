//! Folded stacks of a diff, with BASE and NEW values: the input of a
//! differential flame graph ([`crate::report::flame::write_diff_svg`]).

use rustc_hash::FxHashMap;

use super::Diff;
use crate::graph::fold::{fold, join};
use crate::report::flame::{clean_name, Folded};

/// The diff's stacks for sample type `t`, folded, with BASE and NEW values.
/// Stacks that are zero on both sides are left out.
pub fn from_diff(d: &Diff, t: usize) -> Vec<Folded> {
    let nt = d.ntypes();
    let names: Vec<String> = d.frames.iter().map(|f| clean_name(f)).collect();
    let mut map: FxHashMap<String, (i64, i64)> = FxHashMap::default();
    for s in 0..d.stacks.len() {
        let (b, n) = (d.base[s * nt + t], d.new[s * nt + t]);
        if b == 0 && n == 0 {
            continue;
        }
        let key = join(d.stacks.get(s).iter().rev().map(|&f| names[f as usize].clone()));
        let e = map.entry(key).or_default();
        e.0 += b;
        e.1 += n;
    }
    fold(map)
}
