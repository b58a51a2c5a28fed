//! Differences between two snapshots: per stack, per function and per
//! category, for every sample type.
//!
//! Sites are aligned by symbol, never by id or address (those differ
//! between profiles and builds): functions by their pprof node key at the
//! chosen granularity, stacks by their sequence of symbolized frames at
//! function granularity (inlined frames expanded). The numbers follow
//! `go tool pprof -base BASE NEW`: pprof merges NEW with BASE scaled by -1,
//! and flat and cum are linear in the samples, so each node's delta is its
//! value in NEW minus its value in BASE. `--normalize` first scales NEW by
//! `sum(BASE)/sum(NEW)` per sample type, rounding each sample as pprof's
//! `ScaleN` does.

pub mod dot;
pub mod fold;
mod paths;
pub mod report;
pub mod restart;
pub mod retention;
mod stacks;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::attribute::{Attribution, FrameClass, FrameInfo, RuleSet};
use crate::graph::{aggregate, aggregate_types, Aggregate, Granularity};
use crate::profile::Profile;
pub use stacks::StackTable;

/// How to diff.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Granularity of the function table.
    pub granularity: Granularity,
    /// pprof's `-normalize`.
    pub normalize: bool,
}

/// Which sample types to diff: all common ones, or only those named
/// (memory is proportional to their number).
#[derive(Debug, Clone, Default)]
pub enum Types {
    /// Every sample type both profiles have.
    #[default]
    All,
    /// Only these (those absent from either profile are ignored).
    Only(Vec<String>),
}

/// A node of the function table with its values on both sides.
#[derive(Debug, Clone)]
pub struct NodeDelta {
    /// Printable name, as `top` prints it.
    pub name: String,
    /// Function name as stored ("" when the node has none).
    pub function: String,
}

/// The diff of two profiles, for every common sample type.
#[derive(Debug)]
pub struct Diff {
    /// Common sample types `(name, unit)`, in BASE's order.
    pub types: Vec<(String, String)>,
    /// Sum of values per type (signed), after normalization.
    pub base_totals: Vec<i64>,
    /// Sum of values per type (signed), after normalization.
    pub new_totals: Vec<i64>,
    /// Profile times (ns since epoch; 0 if unknown).
    pub base_time: i64,
    /// Profile times (ns since epoch; 0 if unknown).
    pub new_time: i64,
    /// Sampling period of NEW (bytes between samples for heap profiles).
    pub period: i64,
    /// Function-granularity frame names (global ids).
    pub frames: Vec<String>,
    /// Attribution class of each frame.
    pub frame_info: Vec<FrameInfo>,
    /// At files granularity only (else empty): each frame's source file.
    pub frame_files: Vec<String>,
    /// At files granularity only (else empty): for each frame, the first
    /// frame of the same file, so that sites group by file.
    pub frame_file_ids: Vec<u32>,
    /// Distinct stacks of both profiles, leaf first, as frame ids.
    pub stacks: StackTable,
    /// `base[stack * ntypes + t]`.
    pub base: Vec<i64>,
    /// `new[stack * ntypes + t]`.
    pub new: Vec<i64>,
    /// Attribution of each stack.
    pub attributions: Vec<Attribution>,
    /// The allocating function of each stack (the first frame from the
    /// leaf that is not plumbing, else the leaf; see
    /// [`allocating_position_in`]) as a frame id, `u32::MAX` for a stack
    /// of no frames. Found in the same parallel pass as the attributions,
    /// while each stack's frames are in cache: the report reads it for
    /// every changed stack.
    pub allocating: Vec<u32>,
    /// Category values: `cat_base[c * ntypes + t]`, with the last row
    /// (index = number of categories) for unattributed.
    pub cat_base: Vec<i64>,
    /// As `cat_base`, for NEW.
    pub cat_new: Vec<i64>,
    /// The function table at the chosen granularity.
    pub nodes: Vec<NodeDelta>,
    /// NEW's runtime MemStats (legacy text heap profiles carry them).
    pub new_memstats: Option<crate::profile::MemStats>,
    /// `node_flat[side][node * ntypes + t]`, side 0 = BASE, 1 = NEW.
    pub node_flat: [Vec<i64>; 2],
    /// As `node_flat`, cumulative.
    pub node_cum: [Vec<i64>; 2],
}

impl Diff {
    /// Number of sample types.
    pub fn ntypes(&self) -> usize {
        self.types.len()
    }

    /// Index of a sample type by name.
    pub fn type_index(&self, name: &str) -> Option<usize> {
        self.types.iter().position(|t| t.0 == name)
    }

    /// Net change of the total for type `t`.
    pub fn total_delta(&self, t: usize) -> i64 {
        self.new_totals[t].saturating_sub(self.base_totals[t])
    }

    /// Delta of stack `s` for type `t`.
    #[inline]
    pub fn stack_delta(&self, s: usize, t: usize) -> i64 {
        let n = self.ntypes();
        self.new[s * n + t].saturating_sub(self.base[s * n + t])
    }

    /// (base, new) of category row `c` (categories, then unattributed).
    pub fn category(&self, c: usize, t: usize) -> (i64, i64) {
        let n = self.ntypes();
        (self.cat_base[c * n + t], self.cat_new[c * n + t])
    }

    /// (flat delta, cum delta) of function-table node `i`.
    pub fn node_delta(&self, i: usize, t: usize) -> (i64, i64) {
        let n = self.ntypes();
        let k = i * n + t;
        (
            self.node_flat[1][k].saturating_sub(self.node_flat[0][k]),
            self.node_cum[1][k].saturating_sub(self.node_cum[0][k]),
        )
    }
}

/// Per-side work done in parallel: the nodes at function granularity
/// (their values are summed later, in the same walk that collects the
/// stacks), and the aggregate at the chosen granularity when it differs.
struct Side {
    funcs: Aggregate,
    table: Option<Aggregate>,
}

fn side(p: &Profile, g: Granularity) -> Side {
    let (funcs, table) = rayon::join(
        || aggregate_types(p, Granularity::Functions, &[]),
        || if g == Granularity::Functions { None } else { Some(aggregate(p, g)) },
    );
    Side { funcs, table }
}

/// The nodes of BASE's and NEW's function tables aligned by node key, with
/// each side's flat and cum (`[side][node * nt + t]`).
fn function_table(ab: &Aggregate, an: &Aggregate, nt: usize) -> (Vec<NodeDelta>, [Vec<i64>; 2], [Vec<i64>; 2]) {
    let mut index: FxHashMap<&str, usize> = FxHashMap::default();
    let mut nodes = Vec::new();
    let mut node_flat = [Vec::new(), Vec::new()];
    let mut node_cum = [Vec::new(), Vec::new()];
    for (sidx, agg) in [ab, an].into_iter().enumerate() {
        for (i, n) in agg.nodes.iter().enumerate() {
            let k = *index.entry(n.key.as_str()).or_insert_with(|| {
                nodes.push(NodeDelta { name: n.name.clone(), function: n.function.clone() });
                for v in node_flat.iter_mut().chain(node_cum.iter_mut()) {
                    v.extend(std::iter::repeat_n(0, nt));
                }
                nodes.len() - 1
            });
            for t in 0..nt {
                node_flat[sidx][k * nt + t] = i64::saturating_add(node_flat[sidx][k * nt + t], agg.flat(i, t));
                node_cum[sidx][k * nt + t] = i64::saturating_add(node_cum[sidx][k * nt + t], agg.cum(i, t));
            }
        }
    }
    (nodes, node_flat, node_cum)
}

/// Position in `frames` (a stack, leaf first) of its allocating function:
/// the first frame that is not plumbing, or the leaf when all are; `None`
/// for no frames.
pub fn allocating_position_in(frames: &[u32], info: &[FrameInfo]) -> Option<usize> {
    if frames.is_empty() {
        return None;
    }
    Some(frames.iter().position(|&f| info[f as usize].class != FrameClass::Plumbing).unwrap_or(0))
}

/// Signed sum of each sample type, saturating.
fn sums(p: &Profile) -> Vec<i64> {
    let n = p.sample_types.len();
    let mut t = vec![0i64; n];
    if n > 0 {
        for row in p.values.chunks_exact(n) {
            for (a, v) in t.iter_mut().zip(row) {
                *a = a.saturating_add(*v);
            }
        }
    }
    t
}

/// Keeps only the sample types in `keep` (indexes), in that order.
fn select_types(p: &mut Profile, keep: &[usize]) {
    let n = p.sample_types.len();
    if keep.len() == n && keep.iter().enumerate().all(|(i, &k)| i == k) {
        return;
    }
    // In place, row by row: row s's kept values go to `s * k`, which is
    // never past the start of row s + 1, so no row is overwritten before it
    // is read. A new column is fresh memory, faulted in page by page: the
    // step (with the sums) took 8-10 ms that way on the random-shape pair,
    // 5-7 ms in place.
    // (A type kept twice, possible only where BASE repeats a name, can make
    // rows longer: those take a new column.)
    let k = keep.len();
    let rows = p.values.len().checked_div(n).unwrap_or(0);
    if k <= n {
        let mut row = vec![0i64; k];
        for s in 0..rows {
            for (r, &i) in row.iter_mut().zip(keep) {
                *r = p.values[s * n + i];
            }
            p.values[s * k..(s + 1) * k].copy_from_slice(&row);
        }
        p.values.truncate(rows * k);
        p.values.shrink_to_fit();
    } else {
        let mut values = Vec::with_capacity(rows * k);
        for row in p.values.chunks_exact(n) {
            values.extend(keep.iter().map(|&k| row[k]));
        }
        p.values = values;
    }
    p.sample_types = keep.iter().map(|&k| p.sample_types[k]).collect();
}

/// Computes the diff NEW − BASE.
pub fn diff(base: Profile, new: Profile, rules: &RuleSet, opts: Options) -> Result<Diff, String> {
    diff_types(base, new, rules, opts, &Types::All)
}

/// As [`diff`], for the sample types `which` only.
pub fn diff_types(
    mut base: Profile,
    mut new: Profile,
    rules: &RuleSet,
    opts: Options,
    which: &Types,
) -> Result<Diff, String> {
    // Common sample types, matched by name, in BASE's order.
    let (bi, ni): (Vec<usize>, Vec<usize>) = base
        .common_sample_types(&new)?
        .into_iter()
        .filter(|&(i, _)| match which {
            Types::All => true,
            Types::Only(names) => names.iter().any(|n| n == base.sample_type_name(i)),
        })
        .unzip();
    if bi.is_empty() {
        let names =
            |p: &Profile| (0..p.sample_types.len()).map(|i| p.sample_type_name(i)).collect::<Vec<_>>().join(", ");
        return Err(format!("the profiles share no sample type (base: {}; new: {})", names(&base), names(&new)));
    }
    let types: Vec<(String, String)> =
        bi.iter().map(|&i| (base.sample_type_name(i).to_string(), base.sample_type_unit(i).to_string())).collect();
    select_types(&mut base, &bi);
    select_types(&mut new, &ni);
    let nt = types.len();

    // Normalizing changes only NEW: BASE's totals are summed once.
    let base_totals = sums(&base);
    if opts.normalize {
        let s = sums(&new);
        let ratios: Vec<f64> =
            base_totals.iter().zip(&s).map(|(&b, &s)| if s == 0 { 0.0 } else { b as f64 / s as f64 }).collect();
        if ratios.iter().any(|&r| r != 1.0) {
            for row in new.values.chunks_exact_mut(nt) {
                for (v, r) in row.iter_mut().zip(&ratios) {
                    if *r != 1.0 {
                        *v = (*v as f64 * r).round() as i64;
                    }
                }
            }
        }
    }
    let new_totals = sums(&new);

    let (sb, sn) = rayon::join(|| side(&base, opts.granularity), || side(&new, opts.granularity));

    // Global frame symbols: function-granularity printable names.
    // Sized for the larger side's nodes (the sides share most names): as
    // it grew, the map rehashed every name already in it, and the names
    // are scattered in memory.
    let cap = sb.funcs.nodes.len().max(sn.funcs.nodes.len());
    let mut frame_ids: FxHashMap<&str, u32> = FxHashMap::with_capacity_and_hasher(cap, Default::default());
    let mut frames: Vec<String> = Vec::with_capacity(cap);
    let by_file = opts.granularity == Granularity::Files;
    let mut frame_files: Vec<String> = Vec::new();
    let mut maps: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
    for (m, agg) in maps.iter_mut().zip([&sb.funcs, &sn.funcs]) {
        *m = agg
            .nodes
            .iter()
            .map(|n| {
                *frame_ids.entry(n.name.as_str()).or_insert_with(|| {
                    frames.push(n.name.clone());
                    if by_file {
                        frame_files.push(n.file.clone());
                    }
                    (frames.len() - 1) as u32
                })
            })
            .collect();
    }
    drop(frame_ids);
    let frame_file_ids: Vec<u32> = if by_file {
        let mut first: FxHashMap<&str, u32> = FxHashMap::default();
        frame_files
            .iter()
            .enumerate()
            .map(|(i, f)| if f.is_empty() { i as u32 } else { *first.entry(f.as_str()).or_insert(i as u32) })
            .collect()
    } else {
        Vec::new()
    };
    let [mb, mn] = maps;

    // Distinct stacks per side in parallel, then merged. At function
    // granularity the same walk sums the function table's flat and cum.
    let funcs_values = opts.granularity == Granularity::Functions;
    // What the Diff keeps of the profiles themselves.
    let (base_time, new_time, period, new_memstats) =
        (base.time_nanos, new.time_nanos, new.period, new.memstats.take());
    // Each side's walk then frees its profile, on its own thread, before
    // the merge allocates: freeing the columns (page by page, in the
    // kernel) takes milliseconds per side, and freeing them here rather
    // than at the end keeps them out of the peak memory.
    let walk = |p: Profile, agg: &Aggregate, map: &[u32]| {
        let c = stacks::collect(&p, agg, map, funcs_values);
        // The totals serve only the function table the walk summed.
        (c, if funcs_values { p.totals() } else { Vec::new() })
    };
    let ((cb, tb_totals), (cn, tn_totals)) = rayon::join(|| walk(base, &sb.funcs, &mb), || walk(new, &sn.funcs, &mn));
    let (mut sb, mut sn) = (sb, sn);
    let (
        stacks::Collected { table: tb, vals: vb, flat: fb, cum: cub },
        stacks::Collected { table: tn, vals: vn, flat: fnew, cum: cun },
    ) = (cb, cn);
    if funcs_values {
        for (side, flat, cum, totals) in [(&mut sb, fb, cub, tb_totals), (&mut sn, fnew, cun, tn_totals)] {
            side.funcs.ntypes = nt;
            side.funcs.flat = flat;
            side.funcs.cum = cum;
            side.funcs.totals = totals;
        }
    }
    // The function table at the chosen granularity, aligned by node key, is
    // built while the stacks are merged, classified and attributed. The
    // same branch then frees the per-side tables: freeing their hundreds
    // of thousands of names takes over ten milliseconds on the synthetic
    // pair (about a hundred at 4×), which this hides.
    let (((table, base_vals, new_vals), frame_info, (attributions, allocating)), (nodes, node_flat, node_cum)) =
        rayon::join(
            || {
                let (merged, frame_info) = rayon::join(
                    || stacks::merge(tb, vb, tn, vn, nt),
                    || frames.par_iter().map(|f| rules.classify(f)).collect::<Vec<FrameInfo>>(),
                );
                let table = &merged.0;
                let (attributions, allocating): (Vec<Attribution>, Vec<u32>) = (0..table.len())
                    .into_par_iter()
                    .map(|s| {
                        // The attribution reads every frame's class; the
                        // next stack's are requested now (the random-shape
                        // pair at 16x: 480,000 frames' classes, 15 MB, read
                        // in no order).
                        if s + 1 < table.len() {
                            for &f in table.get(s + 1) {
                                stacks::prefetch(&frame_info, f as usize);
                            }
                        }
                        let frames = table.get(s);
                        let a = rules.attribute(frames.iter().map(|&f| &frame_info[f as usize]));
                        (a, allocating_position_in(frames, &frame_info).map_or(u32::MAX, |i| frames[i]))
                    })
                    .unzip();
                (merged, frame_info, (attributions, allocating))
            },
            move || {
                let table = match (&sb.table, &sn.table) {
                    (Some(b), Some(n)) => function_table(b, n, nt),
                    _ => function_table(&sb.funcs, &sn.funcs, nt),
                };
                drop((sb, sn));
                table
            },
        );

    // Category sums.
    let ncat = rules.file.categories.len() + 1;
    let mut cat_base = vec![0i64; ncat * nt];
    let mut cat_new = vec![0i64; ncat * nt];
    for (s, a) in attributions.iter().enumerate() {
        let c = a.category.map_or(ncat - 1, usize::from);
        for t in 0..nt {
            cat_base[c * nt + t] = cat_base[c * nt + t].saturating_add(base_vals[s * nt + t]);
            cat_new[c * nt + t] = cat_new[c * nt + t].saturating_add(new_vals[s * nt + t]);
        }
    }

    Ok(Diff {
        types,
        base_totals,
        new_totals,
        base_time,
        new_time,
        period,
        frames,
        frame_info,
        frame_files,
        frame_file_ids,
        stacks: table,
        base: base_vals,
        new: new_vals,
        attributions,
        allocating,
        cat_base,
        cat_new,
        nodes,
        new_memstats,
        node_flat,
        node_cum,
    })
}
