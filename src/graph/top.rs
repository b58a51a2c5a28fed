//! The `top` table of one profile: every node's flat and cum for one sample
//! type, sorted as `go tool pprof -top` sorts them.

use super::{aggregate_types, Granularity};
use crate::profile::Profile;
use crate::report::top::{RowJson, SampleTypeJson, TopReport};

/// Resolves `--sample-type` against a profile: `name`, else the profile's
/// default type.
pub fn pick_sample_type(p: &Profile, name: Option<&str>) -> Result<usize, String> {
    let names = || (0..p.sample_types.len()).map(|i| p.sample_type_name(i)).collect::<Vec<_>>().join(", ");
    match name {
        Some(n) => match p.sample_type_index(n) {
            Some(i) => Ok(i),
            None => Err(format!("sample type {n:?} is not in this profile (it has: {})", names())),
        },
        None => match p.default_sample_index() {
            Some(i) => Ok(i),
            None => Err("the profile has no sample types".to_string()),
        },
    }
}

/// The top `nodecount` nodes (0 = all) of sample type `t` of `p`, read from `file`.
pub fn build<'p>(p: &'p Profile, file: &str, t: usize, granularity: Granularity, nodecount: usize) -> TopReport<'p> {
    let agg = aggregate_types(p, granularity, &[t]);
    let order = agg.top(0);
    let shown = if nodecount == 0 { order.len() } else { nodecount.min(order.len()) };
    let row_name = |n: usize| {
        let node = &agg.nodes[n];
        if granularity == Granularity::Functions && !node.function.is_empty() {
            node.function.clone()
        } else {
            node.name.clone()
        }
    };
    TopReport {
        schema: "leakscope.top/v1",
        file: file.to_string(),
        sample_type: SampleTypeJson { name: p.sample_type_name(t), unit: p.sample_type_unit(t) },
        granularity,
        total: agg.totals[0],
        nodes_total: order.len(),
        functions: order[..shown]
            .iter()
            .map(|&n| RowJson { name: row_name(n), flat: agg.flat(n, 0), cum: agg.cum(n, 0) })
            .collect(),
        time_nanos: p.time_nanos,
        printable: order[..shown].iter().map(|&n| agg.nodes[n].name.clone()).collect(),
    }
}
