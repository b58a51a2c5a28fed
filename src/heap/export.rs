//! A heap dump's retention by allocation site, as a pprof profile.
//!
//! One sample per memprof bucket with live objects, whose stack is the
//! bucket's stack (innermost first, as pprof wants) without the runtime's
//! allocation frames, as Go's heap profiles show it ([`shown_frames`]),
//! with three values:
//! - `objects`/count: reachable sampled objects;
//! - `inuse_space`/bytes: their bytes (a partition of the reachable heap:
//!   objects with no allocation sample are one extra sample under the
//!   frame `[no allocation sample]`, so the total is the reachable heap);
//! - `retained_space`/bytes: the bytes the site's objects keep alive,
//!   each reachable byte counted once: an object counts in the site of its
//!   nearest dominator-tree ancestor-or-self that has an allocation sample
//!   (its own site when sampled; else the closest sampled object that alone
//!   keeps it alive), and under `[no allocation sample]` when it has none
//!   ([`Analysis::site_attributed`]). So the total is the reachable heap,
//!   as for `inuse_space`, and pprof's sums (cum, `-base`, focus) stay
//!   within it. With every object sampled (`MemProfileRate = 1`) this is
//!   close to `inuse_space`; with sparser sampling it moves unsampled
//!   objects to the sampled ones that keep them. A site's *group* retained
//!   size (what freeing all its objects would free) nests inside other
//!   sites', so it is not a profile value; `leakscope heap` reports it.
//!
//! `go tool pprof` then browses retention by allocation stack, and
//! `leakscope top DUMP` is exactly `leakscope top` of this profile.

use rustc_hash::FxHashMap;

use super::analysis::Analysis;
use crate::heapdump::parse::{HeapDump, SiteFrame};
use crate::pprof::proto;

/// A frame to write: function, file, line, and its key in the dump's string ids.
type Frame = (String, String, u64, (u32, u32, u64));

/// The marker frame for objects without an allocation sample.
pub const UNSAMPLED: &str = "[no allocation sample]";

/// The frames of an allocation stack (innermost first) that Go's own heap
/// profiles show: runtime/pprof (`writeHeapProto` in `protomem.go`) hides
/// the leading frames of the runtime (`runtime.mallocgc`,
/// `runtime.newobject`, `runtime.makeslice`, `runtime.growslice`, map
/// internals, …) so that the leaf is the function that allocated, and keeps
/// a stack that is all runtime (`runtime.malg` under `runtime.newproc1`) as
/// it is.
pub fn shown_frames<'f>(d: &HeapDump, frames: &'f [SiteFrame]) -> &'f [SiteFrame] {
    match frames.iter().position(|f| !crate::heapdump::is_runtime_function(d.str(f.func))) {
        Some(i) => &frames[i..],
        None => frames,
    }
}

/// Builds the profile.
pub fn profile(a: &Analysis<'_>) -> proto::Profile {
    let d = a.dump;
    let mut strings: Vec<String> = vec![String::new()];
    let mut string_ids: FxHashMap<String, i64> = FxHashMap::default();
    let mut sid = |s: &str| -> i64 {
        if let Some(&i) = string_ids.get(s) {
            return i;
        }
        strings.push(s.to_string());
        let i = strings.len() as i64 - 1;
        string_ids.insert(s.to_string(), i);
        i
    };
    let sample_type = vec![
        proto::ValueType { r#type: sid("objects"), unit: sid("count") },
        proto::ValueType { r#type: sid("inuse_space"), unit: sid("bytes") },
        proto::ValueType { r#type: sid("retained_space"), unit: sid("bytes") },
    ];
    let nb = d.buckets.len();
    // Unsampled objects form one more group, in both.
    let shallow = a.site_shallow();
    let retained = a.site_attributed();

    let mut functions: Vec<proto::Function> = Vec::new();
    let mut function_ids: FxHashMap<(u32, u32), u64> = FxHashMap::default();
    let mut locations: Vec<proto::Location> = Vec::new();
    let mut location_ids: FxHashMap<(u32, u32, u64), u64> = FxHashMap::default();
    let mut samples = Vec::new();
    for b in 0..=nb {
        if shallow[b].objects == 0 {
            // Bytes are attributed only to sites with a reachable object.
            debug_assert_eq!(retained[b], 0);
            continue;
        }
        let frames: Vec<Frame> = if b < nb {
            shown_frames(d, d.bucket_frames(&d.buckets[b]))
                .iter()
                .map(|f| (d.str(f.func).to_string(), d.str(f.file).to_string(), f.line, (f.func, f.file, f.line)))
                .collect()
        } else {
            vec![(UNSAMPLED.to_string(), String::new(), 0, (u32::MAX, u32::MAX, 0))]
        };
        let mut location_id = Vec::with_capacity(frames.len());
        for (func, file, line, key) in frames {
            let loc = match location_ids.get(&key) {
                Some(&l) => l,
                None => {
                    let fk = (key.0, key.1);
                    let fid = match function_ids.get(&fk) {
                        Some(&f) => f,
                        None => {
                            let name = sid(&func);
                            let id = functions.len() as u64 + 1;
                            functions.push(proto::Function {
                                id,
                                name,
                                system_name: name,
                                filename: sid(&file),
                                start_line: 0,
                            });
                            function_ids.insert(fk, id);
                            id
                        }
                    };
                    let id = locations.len() as u64 + 1;
                    locations.push(proto::Location {
                        id,
                        mapping_id: 0,
                        address: 0,
                        line: vec![proto::Line { function_id: fid, line: line as i64, column: 0 }],
                        is_folded: false,
                    });
                    location_ids.insert(key, id);
                    id
                }
            };
            location_id.push(loc);
        }
        samples.push(proto::Sample {
            location_id,
            value: vec![shallow[b].objects as i64, shallow[b].bytes as i64, retained[b] as i64],
            label: vec![],
        });
    }
    let default_sample_type = sid("retained_space");
    let comment = vec![sid(&format!(
        "leakscope: retention by allocation site from a heap dump written by {}",
        d.params.build_version
    ))];
    proto::Profile {
        sample_type,
        sample: samples,
        mapping: vec![],
        location: locations,
        function: functions,
        string_table: strings,
        drop_frames: 0,
        keep_frames: 0,
        time_nanos: 0,
        duration_nanos: 0,
        period_type: None,
        period: 0,
        comment,
        default_sample_type,
        doc_url: 0,
    }
}
