//! Reducing one snapshot to the aggregates a trend needs.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use rustc_hash::FxHashMap;

use crate::attribute::{Decision, FrameInfo, RuleSet, Span, NO_FRAME};
use crate::graph::{aggregate_types, Granularity};
use crate::profile::Profile;

/// What a snapshot measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A heap profile (has inuse_space).
    Heap,
    /// A goroutine profile (sample type `goroutine`).
    Goroutine,
    /// Anything else (reduced on its default sample type).
    Other,
}

/// One snapshot, reduced.
#[derive(Debug, Clone)]
pub struct Reduced {
    /// The file.
    pub path: PathBuf,
    /// Profile time (ns since epoch), 0 if unknown.
    pub time_nanos: i64,
    /// What it measures.
    pub kind: Kind,
    /// Primary sample type name and unit (inuse_space/bytes, goroutine/count, ...).
    pub sample_type: (String, String),
    /// Sampling period (bytes per sample for heap profiles).
    pub period: i64,
    /// Primary total.
    pub total: i64,
    /// inuse_objects total, for heap profiles.
    pub objects: Option<i64>,
    /// alloc_space total: cumulative since process start, so a decrease
    /// means a new process.
    pub alloc_space: Option<i64>,
    /// Primary value per category row (categories, then unattributed).
    pub categories: Vec<i64>,
    /// inuse_objects per category row, for heap profiles.
    pub category_objects: Vec<i64>,
    /// Sites: (category row, allocating function) → (primary, objects,
    /// deciding frame), packed (see [`Sites`]); names are ids in the run's
    /// [`FrameCache`]. The allocating function is the first frame from the
    /// leaf that is not plumbing (the leaf when all are); the deciding
    /// frame is the one that decided the category, for the stacks of the
    /// site that hold the most. Empty when [`reduce_profile`] was asked
    /// not to keep sites.
    pub sites: Sites,
    /// The runtime's MemStats, from a legacy text heap profile's trailer.
    pub memstats: Option<crate::profile::MemStats>,
    /// Primary value per known-leak signature (indexed as the rules'
    /// signatures): the stacks each signature decided.
    pub signatures: Vec<i64>,
}

/// A site: its category row and the id of its allocating function's name
/// in the run's [`FrameCache`], in one integer (category in the high half).
pub type SiteKey = u64;

/// The key of the site (category row `category`, frame name `name`).
pub fn site_key(category: usize, name: u32) -> SiteKey {
    ((category as u64) << 32) | u64::from(name)
}

/// The category row of a site.
pub fn site_category(k: SiteKey) -> usize {
    (k >> 32) as usize
}

/// The frame-name id of a site.
pub fn site_name(k: SiteKey) -> u32 {
    k as u32
}

thread_local! {
    /// Each thread's site table and (site, frame, value) list, kept
    /// between snapshots ([`reduce_judged`]).
    static SITE_BUFFERS: std::cell::Cell<SiteBuffers> = std::cell::Cell::new(Default::default());
}

/// A site table (key to row) and a list of (site row and frame, value).
type SiteBuffers = (FxHashMap<SiteKey, u32>, Vec<(u64, i64)>);

/// One snapshot's sites with their (primary, objects) values and deciding
/// frame, sorted by key and packed as varints (key deltas, zigzag values,
/// frame-name id): a trend keeps
/// one of these per snapshot, so it is kept small, a few bytes per site
/// instead of a hash-map entry with an owned name.
///
/// A trend run moves them to a temporary file as each snapshot is reduced
/// ([`super::spill::Spill`]); then only where they are stays here, and
/// they are read through the spill.
#[derive(Debug, Clone, Default)]
pub struct Sites {
    bytes: Vec<u8>,
    len: usize,
    /// Offset and length in the run's spill file, when the bytes are
    /// there.
    spilled: Option<(u64, usize)>,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let x = b[*pos];
        *pos += 1;
        v |= u64::from(x & 0x7f) << shift;
        if x < 0x80 {
            return v;
        }
        shift += 7;
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

impl Sites {
    /// Packs `entries` (key, primary, objects, deciding frame id), which
    /// must be sorted by key with no key twice.
    pub fn pack(entries: &[(SiteKey, i64, i64, u32)]) -> Sites {
        let mut bytes = Vec::with_capacity(entries.len() * 8);
        let mut prev = 0u64;
        for &(k, v, o, f) in entries {
            debug_assert!(k >= prev);
            put_varint(&mut bytes, k - prev);
            put_varint(&mut bytes, zigzag(v));
            put_varint(&mut bytes, zigzag(o));
            put_varint(&mut bytes, u64::from(f));
            prev = k;
        }
        bytes.shrink_to_fit();
        Sites { bytes, len: entries.len(), spilled: None }
    }

    /// The packed bytes (empty once spilled).
    pub(super) fn packed(&self) -> &[u8] {
        &self.bytes
    }

    /// These sites, as written to a spill file at offset `at`: the bytes
    /// are dropped.
    pub(super) fn spilled_at(self, at: u64) -> Sites {
        Sites { spilled: Some((at, self.bytes.len())), bytes: Vec::new(), len: self.len }
    }

    /// Where in the spill file the bytes are, and how many, when spilled.
    pub(super) fn spilled(&self) -> Option<(u64, usize)> {
        self.spilled
    }

    /// Spilled sites with their bytes, read back.
    pub(super) fn with_packed(&self, bytes: Vec<u8>) -> Sites {
        Sites { len: self.len, bytes, spilled: None }
    }

    /// Number of sites.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The sites in key order, as (key, primary, objects).
    pub fn iter(&self) -> impl Iterator<Item = (SiteKey, i64, i64)> + '_ {
        self.iter_with_frames().map(|(k, v, o, _)| (k, v, o))
    }

    /// The sites in key order, as (key, primary, objects, deciding frame
    /// id).
    pub fn iter_with_frames(&self) -> impl Iterator<Item = (SiteKey, i64, i64, u32)> + '_ {
        debug_assert!(self.spilled.is_none(), "spilled sites are read through their Spill");
        let mut pos = 0;
        let mut key = 0u64;
        (0..self.len).map(move |_| {
            key += get_varint(&self.bytes, &mut pos);
            let v = unzigzag(get_varint(&self.bytes, &mut pos));
            let o = unzigzag(get_varint(&self.bytes, &mut pos));
            let f = get_varint(&self.bytes, &mut pos) as u32;
            (key, v, o, f)
        })
    }

    /// The sites as a map, for repeated look-ups.
    pub fn to_map(&self) -> FxHashMap<SiteKey, (i64, i64)> {
        self.iter().map(|(k, v, o)| (k, (v, o))).collect()
    }
}

/// Frame names and their classification, shared by all snapshots of a
/// run: each distinct name is stored and classified once, and snapshots
/// refer to it by id.
#[derive(Debug, Default)]
pub struct FrameCache {
    inner: RwLock<Names>,
}

#[derive(Debug, Default)]
struct Names {
    ids: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
    info: Vec<FrameInfo>,
}

impl FrameCache {
    /// The id and classification of `name`.
    fn get(&self, rules: &RuleSet, name: &str) -> (u32, FrameInfo) {
        let (ids, info) = self.get_all(rules, std::iter::once(name));
        (ids[0], info[0])
    }

    /// The ids and classifications of `names`, in order: one shared lock
    /// for the names already known (in a long trend, all of them), then
    /// one exclusive lock for the new ones, classified outside any lock.
    fn get_all<'a>(&self, rules: &RuleSet, names: impl Iterator<Item = &'a str>) -> (Vec<u32>, Vec<FrameInfo>) {
        let names: Vec<&str> = names.collect();
        let mut ids = vec![u32::MAX; names.len()];
        let mut info: Vec<Option<FrameInfo>> = vec![None; names.len()];
        {
            let r = self.inner.read().expect("frame cache lock");
            for (i, n) in names.iter().enumerate() {
                if let Some(&id) = r.ids.get(*n) {
                    ids[i] = id;
                    info[i] = Some(r.info[id as usize]);
                }
            }
        }
        let missing: Vec<usize> = (0..names.len()).filter(|&i| info[i].is_none()).collect();
        if !missing.is_empty() {
            let classified: Vec<FrameInfo> = missing.iter().map(|&i| rules.classify(names[i])).collect();
            let mut w = self.inner.write().expect("frame cache lock");
            for (&i, f) in missing.iter().zip(classified) {
                let id = match w.ids.get(names[i]) {
                    Some(&id) => id,
                    None => {
                        let id = u32::try_from(w.names.len()).expect("fewer than 2^32 frame names");
                        w.ids.insert(names[i].into(), id);
                        w.names.push(names[i].into());
                        w.info.push(f);
                        id
                    }
                };
                ids[i] = id;
                info[i] = Some(w.info[id as usize]);
            }
        }
        (ids, info.into_iter().map(|f| f.expect("every name looked up")).collect())
    }

    /// The name with id `id`.
    pub fn name(&self, id: u32) -> String {
        self.inner.read().expect("frame cache lock").names[id as usize].to_string()
    }

    /// The first frame name seen so far, in any snapshot of the run, that
    /// rules signature `s` out ([`crate::attribute::SignatureRule::ruled_out`]).
    pub fn ruled_out(&self, s: &crate::attribute::SignatureRule) -> Option<String> {
        s.ruled_out(self.inner.read().expect("frame cache lock").names.iter().map(|n| &**n))
    }
}

/// Reduces one snapshot, read from `path`.
pub fn reduce(path: &Path, p: &Profile, rules: &RuleSet, cache: &FrameCache) -> Reduced {
    reduce_profile(path.to_path_buf(), p, rules, cache, true)
}

/// Reduces one snapshot, read from `path`, judging a heap profile on
/// `sample_type` (`--sample-type`) rather than `inuse_space`. Goroutine
/// and other profiles keep their own type. The error, naming the file,
/// is a heap profile without that type.
pub fn reduce_as(
    path: &Path,
    p: &Profile,
    rules: &RuleSet,
    cache: &FrameCache,
    sample_type: Option<&str>,
) -> Result<Reduced, String> {
    let judged = match sample_type {
        Some(name) if p.sample_type_index("inuse_space").is_some() => {
            Some(p.sample_type_index(name).ok_or_else(|| {
                let has: Vec<&str> = (0..p.sample_types.len()).map(|i| p.sample_type_name(i)).collect();
                format!("{}: no sample type {name:?} in this heap profile (it has {})", path.display(), has.join(", "))
            })?)
        }
        _ => None,
    };
    Ok(reduce_judged(path.to_path_buf(), p, rules, cache, true, judged))
}

/// Reduces one decoded snapshot, named `path` (a file, or any name that
/// says where it came from). Without `keep_sites`, [`Reduced::sites`] is
/// left empty (a fleet keeps them only for the windows it compares).
pub fn reduce_profile(path: PathBuf, p: &Profile, rules: &RuleSet, cache: &FrameCache, keep_sites: bool) -> Reduced {
    reduce_judged(path, p, rules, cache, keep_sites, None)
}

/// [`reduce_profile`], with a heap profile's primary type the sample type
/// at index `judged` when given (else `inuse_space`); its object count is
/// the matching `*_objects` type.
fn reduce_judged(
    path: PathBuf,
    p: &Profile,
    rules: &RuleSet,
    cache: &FrameCache,
    keep_sites: bool,
    judged: Option<usize>,
) -> Reduced {
    let (kind, primary) = if let Some(i) = p.sample_type_index("inuse_space") {
        (Kind::Heap, judged.unwrap_or(i))
    } else if let Some(i) = p.sample_type_index("goroutine") {
        (Kind::Goroutine, i)
    } else {
        (Kind::Other, p.default_sample_index().unwrap_or(0))
    };
    let objects_i = if kind == Kind::Heap {
        let prefix = p.sample_type_name(primary).strip_suffix("_space");
        prefix.and_then(|prefix| p.sample_type_index(&format!("{prefix}_objects")))
    } else {
        p.sample_type_index("inuse_objects")
    };
    let alloc_i = p.sample_type_index("alloc_space");
    let ncat = rules.file.categories.len() + 1;
    let mut categories = vec![0i64; ncat];
    let mut category_objects = vec![0i64; ncat];
    let mut sites = Sites::default();
    let mut signatures = vec![0i64; rules.file.signatures.len()];
    let mut total = 0i64;
    let (mut objects, mut alloc) = (0i64, 0i64);
    if !p.sample_types.is_empty() {
        let agg = aggregate_types(p, Granularity::Functions, &[]);
        let (names, info) = cache.get_all(rules, agg.nodes.iter().map(|n| n.name.as_str()));
        // Sites by (category row, allocating function's name): a small
        // table, summed as each sample is read. The deciding frame that
        // holds the most in each site needs sums by (site, frame) too, and
        // nearly every stack is its own such pair in a large profile: each
        // sample's (site, frame, value) is appended to a list instead,
        // sorted once at the end. Appending and sorting stay in cache where
        // a map of all pairs would miss it on nearly every sample. Both
        // buffers are the thread's, reused from snapshot to snapshot.
        let (mut site_idx, mut pairs) = SITE_BUFFERS.take();
        site_idx.clear();
        pairs.clear();
        let mut site_sums: Vec<(i64, i64)> = Vec::new();
        let mut no_frames = None;
        // Each location's frames summarized once: a sample's stack is then
        // attributed from its locations' spans, one per location, rather
        // than from its frames, walked twice.
        let spans: Vec<Span> = (0..p.locations.len())
            .map(|l| Span::of(agg.location_nodes(l).iter().map(|&n| (n, &info[n as usize]))))
            .collect();
        let mut buf: Vec<u32> = Vec::with_capacity(64);
        // Per node: (category row, site row) of its last site as the
        // allocating function.
        let mut last_row: Vec<(u32, u32)> = vec![(u32::MAX, 0); agg.nodes.len()];
        for s in 0..p.num_samples() {
            let vals = p.sample_values(s);
            let v = vals[primary];
            let o = objects_i.map_or(0, |i| vals[i]);
            total = total.saturating_add(v);
            objects = objects.saturating_add(o);
            alloc = alloc.saturating_add(alloc_i.map_or(0, |i| vals[i]));
            if v == 0 && o == 0 {
                continue;
            }
            let span = Span::of_stack(&spans, p.stack(s));
            let (category, node) = match rules.decide(&span, |n| info[n as usize].class) {
                Decision::Frame { category, frame, .. } => (category, frame),
                // A signature matched: its frame needs the frames.
                Decision::Signature(si) => {
                    signatures[si as usize] = signatures[si as usize].saturating_add(v);
                    buf.clear();
                    for &loc in p.stack(s) {
                        buf.extend_from_slice(agg.location_nodes(loc as usize));
                    }
                    let a = rules.attribute(buf.iter().map(|&n| &info[n as usize]));
                    (a.category, buf.get(a.frame).copied().unwrap_or(NO_FRAME))
                }
            };
            let c = category.map_or(ncat - 1, usize::from);
            categories[c] = categories[c].saturating_add(v);
            category_objects[c] = category_objects[c].saturating_add(o);
            if !keep_sites {
                continue;
            }
            let mut name_of = |n: u32| {
                if n == NO_FRAME {
                    *no_frames.get_or_insert_with(|| cache.get(rules, "<no frames>").0)
                } else {
                    names[n as usize]
                }
            };
            let at = if span.non_plumbing != NO_FRAME { span.non_plumbing } else { span.leaf };
            // The row of the allocating node's last site, when that site had
            // this category (nearly always: a node is mostly in one): no
            // hashing for most samples.
            let i = match last_row.get(at as usize) {
                Some(&(lc, row)) if lc == c as u32 => row,
                _ => {
                    let next = site_sums.len() as u32;
                    let i = *site_idx.entry(site_key(c, name_of(at))).or_insert(next);
                    if i == next {
                        site_sums.push((0, 0));
                    }
                    if let Some(slot) = last_row.get_mut(at as usize) {
                        *slot = (c as u32, i);
                    }
                    i
                }
            };
            let e = &mut site_sums[i as usize];
            e.0 = e.0.saturating_add(v);
            e.1 = e.1.saturating_add(o);
            pairs.push((u64::from(i) << 32 | u64::from(name_of(node)), v));
        }
        // Each site's deciding frame: the one whose stacks hold the most
        // (ties: the smaller name id, first in this order).
        pairs.sort_unstable_by_key(|p| p.0);
        let mut best: Vec<Option<(u32, i64)>> = vec![None; site_sums.len()];
        for run in pairs.chunk_by(|a, b| a.0 == b.0) {
            let sum = run.iter().fold(0i64, |s, p| s.saturating_add(p.1));
            let (i, f) = ((run[0].0 >> 32) as usize, run[0].0 as u32);
            if best[i].is_none_or(|b| sum > b.1) {
                best[i] = Some((f, sum));
            }
        }
        let mut packed: Vec<(SiteKey, i64, i64, u32)> = site_idx
            .drain()
            .map(|(k, i)| {
                let (i, (v, o)) = (i as usize, site_sums[i as usize]);
                (k, v, o, best[i].expect("every site has a pair").0)
            })
            .collect();
        // Buffers past ~1 MiB each (a huge snapshot's) are not kept for
        // the thread's life.
        site_idx.shrink_to(1 << 14);
        pairs.clear();
        pairs.shrink_to(1 << 16);
        SITE_BUFFERS.set((site_idx, pairs));
        packed.sort_unstable_by_key(|e| e.0);
        sites = Sites::pack(&packed);
    }
    Reduced {
        path,
        time_nanos: p.time_nanos,
        kind,
        sample_type: if p.sample_types.is_empty() {
            (String::new(), String::new())
        } else {
            (p.sample_type_name(primary).to_string(), p.sample_type_unit(primary).to_string())
        },
        period: p.period,
        total,
        objects: objects_i.map(|_| objects),
        alloc_space: alloc_i.map(|_| alloc),
        categories,
        category_objects,
        sites,
        memstats: p.memstats.clone(),
        signatures,
    }
}

pub use crate::report::trend::Scrape;

/// Parses a Prometheus text exposition (plain or gzip).
pub fn parse_scrape(bytes: &[u8]) -> Result<Scrape, String> {
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(bytes), &mut s)
            .map_err(|e| format!("bad gzip: {e}"))?;
        s
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    };
    let mut sums: FxHashMap<&str, f64> = FxHashMap::default();
    let mut any = false;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let name = &line[..name_end];
        let rest = match line[name_end..].strip_prefix('{') {
            Some(r) => r.find('}').map_or("", |i| &r[i + 1..]),
            None => &line[name_end..],
        };
        if let Some(v) = rest.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()) {
            *sums.entry(name).or_default() += v;
            any = true;
        }
    }
    if !any {
        return Err("no metric samples found".into());
    }
    let get = |n: &str| sums.get(n).copied();
    let reloads = get("traefik_config_reloads_total").or_else(|| {
        sums.iter()
            .filter(|(k, _)| {
                k.contains("config") && k.contains("reload") && k.ends_with("_total") && !k.contains("fail")
            })
            .map(|(_, v)| *v)
            .reduce(|a, b| a + b)
    });
    let requests = get("traefik_entrypoint_requests_total")
        .or_else(|| get("http_server_requests_total"))
        .or_else(|| get("http_requests_total"));
    Ok(Scrape {
        reloads,
        requests,
        rss: get("process_resident_memory_bytes"),
        heap_inuse: get("go_memstats_heap_inuse_bytes"),
        heap_sys: get("go_memstats_heap_sys_bytes"),
        heap_idle: get("go_memstats_heap_idle_bytes"),
        heap_released: get("go_memstats_heap_released_bytes"),
        stack_inuse: get("go_memstats_stack_inuse_bytes"),
        sys: get("go_memstats_sys_bytes"),
        goroutines: get("go_goroutines"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_pack_and_unpack() {
        let entries = vec![
            (site_key(0, 0), 0, 0, 0),
            (site_key(0, 7), -5, 3, 9),
            (site_key(2, 1), i64::MAX, i64::MIN, u32::MAX),
            (site_key(2, u32::MAX), 1 << 40, -(1 << 40), 1),
            (site_key(100, 3), 123_456_789, 42, 7),
        ];
        let s = Sites::pack(&entries);
        assert_eq!(s.len(), entries.len());
        assert_eq!(s.iter_with_frames().collect::<Vec<_>>(), entries);
        assert_eq!(s.iter().map(|e| e.0).collect::<Vec<_>>(), entries.iter().map(|e| e.0).collect::<Vec<_>>());
        assert_eq!(s.to_map()[&site_key(2, 1)], (i64::MAX, i64::MIN));
        assert_eq!(site_category(site_key(100, 3)), 100);
        assert_eq!(site_name(site_key(100, 3)), 3);
        assert!(Sites::pack(&[]).is_empty());
    }

    #[test]
    fn scrape() {
        let s = parse_scrape(
            b"# HELP x\ntraefik_config_reloads_total 12\r\ntraefik_entrypoint_requests_total{code=\"200\",entrypoint=\"web\"} 100\ntraefik_entrypoint_requests_total{code=\"500\"} 5\nprocess_resident_memory_bytes 1.5e+08\ngo_goroutines 36\n",
        )
        .unwrap();
        assert_eq!(s.reloads, Some(12.0));
        assert_eq!(s.requests, Some(105.0));
        assert_eq!(s.rss, Some(1.5e8));
        assert_eq!(s.goroutines, Some(36.0));
        assert!(parse_scrape(b"<html>oops</html>").is_err());
    }
}
