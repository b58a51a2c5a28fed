//! Writing profiles: the diff of two profiles as one pprof profile, the
//! way `go tool pprof -diff_base BASE NEW` builds it in memory.
//!
//! pprof (`internal/driver/fetch.go`) labels every BASE sample
//! `pprof::base=true`, scales BASE by −1 and merges it with NEW. The file
//! written here holds exactly that: NEW's samples as they are (scaled
//! first with `--normalize`, as pprof's `-normalize` does), then BASE's
//! samples with their values negated and the `pprof::base` label.
//! `go tool pprof FILE` then shows the change, with percentages relative
//! to BASE's total as with `-diff_base`, and `-raw` nets per function to
//! the same numbers as `leakscope diff`.
//!
//! Sample types are those common to both profiles, in BASE's order. Both
//! profiles' functions, mappings and locations are re-indexed into one id
//! space (identical ones shared). `drop_frames` was already applied when
//! the inputs were read, so none is written.

use std::io::{self, Write};

use prost::Message;
use rustc_hash::FxHashMap;

use super::proto;
use crate::profile::{Profile, NONE};

/// The label pprof puts on the base profile's samples.
pub const BASE_LABEL: &str = "pprof::base";

#[derive(Default)]
struct Strings {
    table: Vec<String>,
    index: FxHashMap<String, i64>,
}

impl Strings {
    fn new() -> Self {
        let mut s = Strings::default();
        s.id("");
        s
    }
    fn id(&mut self, v: &str) -> i64 {
        if let Some(&i) = self.index.get(v) {
            return i;
        }
        let i = self.table.len() as i64;
        self.table.push(v.to_string());
        self.index.insert(v.to_string(), i);
        i
    }
}

type MappingKey = (u64, u64, u64, i64, i64, [bool; 4]);
type FunctionKey = (i64, i64, i64, i64);
type LocationKey = (u64, u64, bool, Vec<(u64, i64, i64)>);

/// Builds the merged, re-indexed profile.
#[derive(Default)]
struct Merger {
    strings: Strings,
    mappings: Vec<proto::Mapping>,
    mapping_ids: FxHashMap<MappingKey, u64>,
    functions: Vec<proto::Function>,
    function_ids: FxHashMap<FunctionKey, u64>,
    locations: Vec<proto::Location>,
    location_ids: FxHashMap<LocationKey, u64>,
    samples: Vec<proto::Sample>,
}

impl Merger {
    /// Ids in the output for each location of `p`.
    fn locations_of(&mut self, p: &Profile) -> Vec<u64> {
        let maps: Vec<u64> = p
            .mappings
            .iter()
            .map(|m| {
                let key = (
                    m.memory_start,
                    m.memory_limit,
                    m.file_offset,
                    self.strings.id(p.str(m.filename)),
                    self.strings.id(p.str(m.build_id)),
                    [m.has_functions, m.has_filenames, m.has_line_numbers, m.has_inline_frames],
                );
                let next = self.mappings.len() as u64 + 1;
                *self.mapping_ids.entry(key).or_insert_with(|| {
                    self.mappings.push(proto::Mapping {
                        id: next,
                        memory_start: key.0,
                        memory_limit: key.1,
                        file_offset: key.2,
                        filename: key.3,
                        build_id: key.4,
                        has_functions: key.5[0],
                        has_filenames: key.5[1],
                        has_line_numbers: key.5[2],
                        has_inline_frames: key.5[3],
                    });
                    next
                })
            })
            .collect();
        let funcs: Vec<u64> = p
            .functions
            .iter()
            .map(|f| {
                let key = (
                    self.strings.id(p.str(f.name)),
                    self.strings.id(p.str(f.system_name)),
                    self.strings.id(p.str(f.filename)),
                    f.start_line,
                );
                let next = self.functions.len() as u64 + 1;
                *self.function_ids.entry(key).or_insert_with(|| {
                    self.functions.push(proto::Function {
                        id: next,
                        name: key.0,
                        system_name: key.1,
                        filename: key.2,
                        start_line: key.3,
                    });
                    next
                })
            })
            .collect();
        p.locations
            .iter()
            .map(|l| {
                let mapping = if l.mapping == NONE { 0 } else { maps[l.mapping as usize] };
                let lines: Vec<(u64, i64, i64)> =
                    p.lines[l.lines()].iter().map(|ln| (funcs[ln.function as usize], ln.line, ln.column)).collect();
                let key = (mapping, l.address, l.is_folded, lines);
                let next = self.locations.len() as u64 + 1;
                *self.location_ids.entry(key).or_insert_with_key(|key| {
                    self.locations.push(proto::Location {
                        id: next,
                        mapping_id: key.0,
                        address: key.1,
                        line: key
                            .3
                            .iter()
                            .map(|&(function_id, line, column)| proto::Line { function_id, line, column })
                            .collect(),
                        is_folded: key.2,
                    });
                    next
                })
            })
            .collect()
    }

    /// Adds the samples of `p`, values of the columns `cols` scaled by
    /// `scale` (rounded as pprof's `ScaleN`), then negated for BASE.
    fn add_samples(&mut self, p: &Profile, cols: &[usize], scale: &[f64], base: bool) {
        let locs = self.locations_of(p);
        let base_key = self.strings.id(BASE_LABEL);
        let base_val = self.strings.id("true");
        for s in 0..p.num_samples() {
            let row = p.sample_values(s);
            let value: Vec<i64> = cols
                .iter()
                .zip(scale)
                .map(|(&c, &r)| {
                    let v = if r != 1.0 { (row[c] as f64 * r).round() as i64 } else { row[c] };
                    if base {
                        v.wrapping_neg()
                    } else {
                        v
                    }
                })
                .collect();
            let mut label: Vec<proto::Label> = p
                .sample_labels(s)
                .iter()
                .filter(|l| !(base && p.str(l.key) == BASE_LABEL))
                .map(|l| proto::Label {
                    key: self.strings.id(p.str(l.key)),
                    str: if l.str != 0 { self.strings.id(p.str(l.str)) } else { 0 },
                    num: l.num,
                    num_unit: if l.num_unit != 0 { self.strings.id(p.str(l.num_unit)) } else { 0 },
                })
                .collect();
            if base {
                label.push(proto::Label { key: base_key, str: base_val, num: 0, num_unit: 0 });
            }
            let location_id = p.stack(s).iter().map(|&l| locs[l as usize]).collect();
            self.samples.push(proto::Sample { location_id, value, label });
        }
    }
}

/// Signed sums of the columns `cols`.
fn sums(p: &Profile, cols: &[usize]) -> Vec<i64> {
    let mut t = vec![0i64; cols.len()];
    for s in 0..p.num_samples() {
        let row = p.sample_values(s);
        for (a, &c) in t.iter_mut().zip(cols) {
            *a = a.wrapping_add(row[c]);
        }
    }
    t
}

/// The profile `go tool pprof -diff_base BASE NEW` works on: NEW's samples,
/// and BASE's negated and labelled `pprof::base=true`. With `normalize`,
/// NEW is first scaled per sample type to BASE's total, as pprof's
/// `-normalize`. `default_type` names the sample type pprof shows first.
pub fn diff_profile(
    base: &Profile,
    new: &Profile,
    normalize: bool,
    default_type: Option<&str>,
) -> Result<proto::Profile, String> {
    let (bcols, ncols): (Vec<usize>, Vec<usize>) = base.common_sample_types(new)?.into_iter().unzip();
    if bcols.is_empty() {
        return Err("the profiles share no sample type".to_string());
    }
    let ones = vec![1.0; bcols.len()];
    let scale: Vec<f64> = if normalize {
        let (b, n) = (sums(base, &bcols), sums(new, &ncols));
        let r: Vec<f64> = b.iter().zip(&n).map(|(&b, &n)| if n == 0 { 0.0 } else { b as f64 / n as f64 }).collect();
        if r.iter().all(|&x| x == 1.0) {
            ones.clone()
        } else {
            r
        }
    } else {
        ones.clone()
    };

    let mut m = Merger { strings: Strings::new(), ..Default::default() };
    let sample_type: Vec<proto::ValueType> = bcols
        .iter()
        .map(|&i| proto::ValueType {
            r#type: m.strings.id(base.sample_type_name(i)),
            unit: m.strings.id(base.sample_type_unit(i)),
        })
        .collect();
    m.add_samples(new, &ncols, &scale, false);
    m.add_samples(base, &bcols, &ones, true);
    let period_type = Some(proto::ValueType {
        r#type: m.strings.id(new.str(new.period_type.ty)),
        unit: m.strings.id(new.str(new.period_type.unit)),
    });
    // Header fields as pprof's merge combines them: the earliest time, the
    // summed durations, the largest period, the comments of both.
    let mut comment: Vec<i64> = Vec::new();
    for p in [new, base] {
        for &c in &p.comments {
            let id = m.strings.id(p.str(c));
            if !comment.contains(&id) {
                comment.push(id);
            }
        }
    }
    comment.push(m.strings.id(
        "leakscope diff: NEW samples, plus BASE samples negated and labelled pprof::base=true (as go tool pprof -diff_base)",
    ));
    let default_sample_type = default_type.map_or(0, |t| m.strings.id(t));
    let doc_url = if new.doc_url != 0 { m.strings.id(new.str(new.doc_url)) } else { 0 };
    Ok(proto::Profile {
        sample_type,
        sample: m.samples,
        mapping: m.mappings,
        location: m.locations,
        function: m.functions,
        string_table: m.strings.table,
        drop_frames: 0,
        keep_frames: 0,
        time_nanos: [base.time_nanos, new.time_nanos].into_iter().filter(|&t| t != 0).min().unwrap_or(0),
        duration_nanos: base.duration_nanos.saturating_add(new.duration_nanos),
        period_type,
        period: base.period.max(new.period),
        comment,
        default_sample_type,
        doc_url,
    })
}

/// Writes `p` gzip-compressed, as Go's runtime writes profiles.
pub fn write_gzip(p: &proto::Profile, w: impl Write) -> io::Result<()> {
    let mut gz = flate2::write::GzEncoder::new(w, flate2::Compression::default());
    gz.write_all(&p.encode_to_vec())?;
    gz.finish()?.flush()
}
