//! The object graph of a heap dump: objects are nodes, resolved pointers are
//! edges, and synthetic root nodes stand for globals, goroutine stacks,
//! finalizers, defers and panics.
//!
//! Node ids: objects are `0..n_objects` in address order; then the
//! super-root; then one node per root, in [`Graph::roots`] order. Edges are
//! in CSR form with u32 ids, so ten million objects take a few hundred MB.
//!
//! Pointers may point into the middle of an object (slices, struct fields,
//! objects with a malloc header whose user pointer is `addr + 8`), so every
//! pointer word is resolved through [`AddrIndex`], which finds the object
//! *containing* an address in O(1) pages plus a short binary search.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::dominators::Csr;
use crate::heapdump::parse::{read_word, HeapDump};

const PAGE_SHIFT: u32 = 13; // 8 KiB runtime pages
const ARENA_SHIFT: u32 = 26; // 64 MiB heap arenas
const PAGES_PER_ARENA: usize = 1 << (ARENA_SHIFT - PAGE_SHIFT);
const NONE: u32 = u32::MAX;

/// Finds the object that contains an address.
///
/// For every 8 KiB page that some object overlaps, the table keeps the
/// lowest-addressed object overlapping it; pages are grouped per 64 MiB
/// arena so a sparse (randomized, Go ≥ 1.26) heap costs 32 KiB per arena in
/// use. A lookup is one hash probe, one table read and a binary search over
/// the objects of that page only, where a plain binary search over all
/// objects would miss the cache at every step.
///
/// Guard: an arena gets its 32 KiB table only when objects touch at least
/// `DENSE_ARENA_PAGES` of its pages; the pages of sparser arenas go into
/// one hash map. Otherwise a hostile dump of one-byte objects 64 MiB apart
/// (about 8 bytes of file each) would cost 32 KiB of table per object: a
/// 1 MiB file asked for 4 GiB. Now the index costs at most a few dozen bytes
/// per (object, page) pair, like the object table itself.
pub struct AddrIndex<'a> {
    addr: &'a [u64],
    size: &'a [u32],
    /// Per arena: its page table, or `None` when its pages are in `pages`.
    arenas: FxHashMap<u64, Option<Box<[u32]>>>,
    /// Page → lowest object overlapping it, for the sparse arenas.
    pages: FxHashMap<u64, u32>,
}

/// Pages an arena's objects must touch (counted per object) for it to get a
/// dense table: 1/8 of the arena, so a table costs at most 32 B per touch.
const DENSE_ARENA_PAGES: u32 = (PAGES_PER_ARENA / 8) as u32;

impl<'a> AddrIndex<'a> {
    /// Builds the index over objects sorted by address and not overlapping.
    pub fn new(addr: &'a [u64], size: &'a [u32]) -> AddrIndex<'a> {
        let pages_of = |i: usize| {
            let (a, s) = (addr[i], size[i] as u64);
            (a >> PAGE_SHIFT)..=((a + s - 1) >> PAGE_SHIFT)
        };
        // Pages touched per arena, to choose dense or sparse.
        let mut touched: FxHashMap<u64, u32> = FxHashMap::default();
        for i in 0..addr.len() {
            for page in pages_of(i) {
                let c = touched.entry(page >> (ARENA_SHIFT - PAGE_SHIFT)).or_default();
                *c = c.saturating_add(1);
            }
        }
        let mut arenas: FxHashMap<u64, Option<Box<[u32]>>> = touched
            .into_iter()
            .map(|(arena, n)| (arena, (n >= DENSE_ARENA_PAGES).then(|| vec![NONE; PAGES_PER_ARENA].into_boxed_slice())))
            .collect();
        let mut pages: FxHashMap<u64, u32> = FxHashMap::default();
        for i in 0..addr.len() {
            for page in pages_of(i) {
                let slot = match arenas.get_mut(&(page >> (ARENA_SHIFT - PAGE_SHIFT))) {
                    Some(Some(t)) => &mut t[(page as usize) & (PAGES_PER_ARENA - 1)],
                    _ => pages.entry(page).or_insert(NONE),
                };
                if *slot == NONE {
                    *slot = i as u32;
                }
            }
        }
        AddrIndex { addr, size, arenas, pages }
    }

    /// Bytes of heap the index's tables use (approximately), for tests.
    pub fn table_bytes(&self) -> usize {
        let dense = self.arenas.values().flatten().count() * PAGES_PER_ARENA * 4;
        dense + (self.arenas.capacity() + self.pages.capacity()) * 24
    }

    /// The object whose bytes `[addr, addr + size)` contain `v`.
    #[inline]
    pub fn find(&self, v: u64) -> Option<u32> {
        let first = match self.arenas.get(&(v >> ARENA_SHIFT))? {
            Some(t) => t[((v >> PAGE_SHIFT) as usize) & (PAGES_PER_ARENA - 1)],
            None => *self.pages.get(&(v >> PAGE_SHIFT))?,
        };
        if first == NONE {
            return None;
        }
        let lo = first as usize;
        // The object containing v is the last one starting at or before it.
        // Go's smallest size class is 8 B, but a hostile dump may hold 1-byte
        // objects: up to 8192 start in one page, after the one that `first`
        // may name in the page before.
        let hi = (lo + (1 << PAGE_SHIFT) as usize + 1).min(self.addr.len());
        let k = lo + self.addr[lo..hi].partition_point(|&a| a <= v);
        if k == lo {
            return None;
        }
        let i = k - 1;
        (v < self.addr[i] + self.size[i] as u64).then_some(i as u32)
    }
}

pub use crate::report::heap::RootKind;

/// A synthetic root node.
#[derive(Debug, Clone)]
pub struct Root {
    /// What it is.
    pub kind: RootKind,
    /// Stable key, e.g. `bss+0x1a0`, `goroutine 17`, `goroutine 17 frame 2`,
    /// or the global's symbol name when the executable is known.
    pub key: String,
    /// Goroutine index (goroutine and frame roots).
    pub goroutine: Option<u32>,
    /// Frame index in [`HeapDump::frames`] (frame roots).
    pub frame: Option<u32>,
    /// For data/bss roots: the first pointer word's address.
    pub addr: u64,
}

pub use crate::heapdump::GlobalNames;

/// The object graph with its roots.
pub struct Graph {
    /// Number of object nodes; the super-root is node `n_objects`.
    pub n_objects: u32,
    /// Root nodes; root `i` is node `n_objects + 1 + i`.
    pub roots: Vec<Root>,
    /// Successors of every node.
    pub csr: Csr,
    /// Distinct object→object edges (self-edges dropped).
    pub object_edges: u64,
}

impl Graph {
    /// The super-root's node id.
    pub fn super_root(&self) -> u32 {
        self.n_objects
    }
    /// Node id of root `i`.
    pub fn root_node(&self, i: usize) -> u32 {
        self.n_objects + 1 + i as u32
    }
    /// Root index of node `v`, if it is a root node.
    pub fn root_of_node(&self, v: u32) -> Option<usize> {
        (v > self.n_objects).then(|| (v - self.n_objects - 1) as usize)
    }
    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.csr.num_nodes()
    }
}

/// Builds the graph. `names` names globals (one root per symbol instead of one per pointer word).
pub fn build(dump: &HeapDump, index: &AddrIndex<'_>, names: Option<&dyn GlobalNames>) -> Graph {
    let objs = &dump.objects;
    let n = objs.len();
    let data: &[u8] = &dump.data;
    let ps = dump.params.ptr_size as usize;
    let be = dump.params.big_endian;

    // Object edges, in parallel over chunks; each chunk yields per-object
    // counts and the deduplicated targets.
    const CHUNK: usize = 1 << 14;
    let parts: Vec<(Vec<u32>, Vec<u32>)> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let lo = c * CHUNK;
            let hi = (lo + CHUNK).min(n);
            let mut counts = Vec::with_capacity(hi - lo);
            let mut targets = Vec::new();
            for i in lo..hi {
                let start = targets.len();
                let base = objs.contents[i] as usize;
                let fields = base + objs.size[i] as usize;
                dump.for_each_ptr_offset(fields as u64, |off| {
                    let v = read_word(data, base + off as usize, ps, be);
                    if let Some(t) = index.find(v) {
                        if t as usize != i {
                            targets.push(t);
                        }
                    }
                });
                let mine = &mut targets[start..];
                if mine.len() > 1 {
                    mine.sort_unstable();
                    let mut w = 1;
                    for r in 1..mine.len() {
                        if mine[r] != mine[w - 1] {
                            mine[w] = mine[r];
                            w += 1;
                        }
                    }
                    targets.truncate(start + w);
                }
                counts.push((targets.len() - start) as u32);
            }
            (counts, targets)
        })
        .collect();

    let object_edges: u64 = parts.iter().map(|p| p.1.len() as u64).sum();
    let mut offsets: Vec<u32> = Vec::with_capacity(n + 2);
    let mut targets: Vec<u32> = Vec::with_capacity(object_edges as usize);
    offsets.push(0);
    for (counts, t) in parts {
        let mut at = targets.len() as u32;
        for c in counts {
            at += c;
            offsets.push(at);
        }
        targets.extend_from_slice(&t);
    }

    // Roots.
    let mut roots: Vec<Root> = Vec::new();
    let mut root_edges: Vec<Vec<u32>> = Vec::new();
    let resolve = |v: u64, out: &mut Vec<u32>| {
        if let Some(t) = index.find(v) {
            out.push(t);
        }
    };
    for (seg, kind, label) in [(&dump.data_seg, RootKind::Data, "data"), (&dump.bss_seg, RootKind::Bss, "bss")] {
        let Some(seg) = seg else { continue };
        // With symbols, one node per global; else one per pointer word.
        let mut by_sym: FxHashMap<String, usize> = FxHashMap::default();
        dump.for_each_ptr_offset(seg.fields, |off| {
            let v = read_word(data, (seg.contents + off) as usize, ps, be);
            let Some(t) = index.find(v) else { return };
            let waddr = seg.addr + off;
            let named = names.and_then(|nm| nm.global(waddr));
            let r = match named {
                Some((sym, start)) => *by_sym.entry(sym.to_string()).or_insert_with(|| {
                    roots.push(Root {
                        kind: kind.clone(),
                        key: sym.to_string(),
                        goroutine: None,
                        frame: None,
                        addr: start,
                    });
                    root_edges.push(Vec::new());
                    roots.len() - 1
                }),
                None => {
                    roots.push(Root {
                        kind: kind.clone(),
                        key: format!("{label}+{off:#x}"),
                        goroutine: None,
                        frame: None,
                        addr: waddr,
                    });
                    root_edges.push(Vec::new());
                    roots.len() - 1
                }
            };
            root_edges[r].push(t);
        });
    }
    let first_frame_root = roots.len() + dump.goroutines.len();
    // Goroutine nodes first, then their frames: a goroutine's children are
    // node ids known ahead, since every frame with a target gets a node.
    let mut frame_targets: Vec<Vec<u32>> = Vec::with_capacity(dump.frames.len());
    for f in &dump.frames {
        let mut t = Vec::new();
        dump.for_each_ptr_offset(f.fields, |off| {
            if off + ps as u64 <= f.len as u64 {
                resolve(read_word(data, (f.contents + off) as usize, ps, be), &mut t);
            }
        });
        frame_targets.push(t);
    }
    let mut next_frame_root = first_frame_root;
    let mut frame_roots: Vec<(usize, Vec<u32>)> = Vec::new();
    for (gi, g) in dump.goroutines.iter().enumerate() {
        let mut t = Vec::new();
        resolve(g.addr, &mut t);
        resolve(g.ctxt, &mut t);
        for fi in g.first_frame..g.first_frame + g.num_frames {
            let ft = std::mem::take(&mut frame_targets[fi as usize]);
            if ft.is_empty() {
                continue;
            }
            t.push(n as u32 + 1 + next_frame_root as u32);
            next_frame_root += 1;
            frame_roots.push((fi as usize, ft));
        }
        roots.push(Root {
            kind: RootKind::Goroutine,
            key: format!("goroutine {}", g.goid),
            goroutine: Some(gi as u32),
            frame: None,
            addr: g.addr,
        });
        root_edges.push(t);
    }
    debug_assert_eq!(roots.len(), first_frame_root);
    for (fi, ft) in frame_roots {
        let f = &dump.frames[fi];
        let g = &dump.goroutines[f.goroutine as usize];
        roots.push(Root {
            kind: RootKind::Frame,
            key: format!("goroutine {} frame {}", g.goid, f.depth),
            goroutine: Some(f.goroutine),
            frame: Some(fi as u32),
            addr: f.sp,
        });
        root_edges.push(ft);
    }
    for fz in &dump.finalizers {
        let mut t = Vec::new();
        resolve(fz.obj, &mut t);
        resolve(fz.fn_, &mut t);
        let (kind, key) = if fz.queued {
            (RootKind::QueuedFinalizer, format!("queued finalizer {:#x}", fz.obj))
        } else {
            (RootKind::Finalizer, format!("finalizer {:#x}", fz.obj))
        };
        roots.push(Root { kind, key, goroutine: None, frame: None, addr: fz.obj });
        root_edges.push(t);
    }
    for dp in &dump.defer_panics {
        let mut t = Vec::new();
        resolve(dp.addr, &mut t);
        resolve(dp.ptr, &mut t);
        let (kind, key) = if dp.is_panic {
            (RootKind::Panic, format!("panic {:#x}", dp.addr))
        } else {
            (RootKind::Defer, format!("defer {:#x}", dp.addr))
        };
        roots.push(Root { kind, key, goroutine: None, frame: None, addr: dp.addr });
        root_edges.push(t);
    }

    // Drop roots that reach nothing (goroutines whose g and frames resolve to
    // nothing, finalizers on vanished objects), renumbering the frame nodes
    // the goroutines point to.
    let keep: Vec<bool> = root_edges.iter().map(|t| !t.is_empty()).collect();
    let mut new_id = vec![NONE; roots.len()];
    let mut k = 0u32;
    for (i, &kp) in keep.iter().enumerate() {
        if kp {
            new_id[i] = k;
            k += 1;
        }
    }
    let base = n as u32 + 1;
    let mut kept_roots = Vec::with_capacity(k as usize);
    let mut kept_edges = Vec::with_capacity(k as usize);
    for ((r, mut t), kp) in roots.into_iter().zip(root_edges).zip(&keep) {
        if !kp {
            continue;
        }
        for x in t.iter_mut() {
            if *x >= base {
                // Frames always have targets, so they are kept.
                *x = base + new_id[(*x - base) as usize];
            }
        }
        t.sort_unstable();
        t.dedup();
        kept_roots.push(r);
        kept_edges.push(t);
    }
    // Super-root → every root but frames, which hang off their goroutine so
    // that a goroutine's node retains what its whole stack keeps alive.
    let top: Vec<u32> = (0..kept_roots.len() as u32)
        .filter(|&i| kept_roots[i as usize].kind != RootKind::Frame)
        .map(|i| base + i)
        .collect();
    let mut at = targets.len() as u32 + top.len() as u32;
    offsets.push(at);
    targets.extend_from_slice(&top);
    for t in &kept_edges {
        at += t.len() as u32;
        offsets.push(at);
        targets.extend_from_slice(t);
    }
    Graph { n_objects: n as u32, roots: kept_roots, csr: Csr { offsets, targets }, object_edges }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_objects_in_a_page_of_one_byte_objects() {
        // 8192 one-byte objects fill one page, after an object that spills into it.
        let mut addr = vec![0x10_0000 - 4];
        let mut size = vec![8u32];
        for i in 0..8192u64 {
            addr.push(0x10_0000 + i);
            size.push(1);
        }
        let idx = AddrIndex::new(&addr, &size);
        assert_eq!(idx.find(0x10_0000 - 1), Some(0));
        assert_eq!(idx.find(0x10_0000 + 8191), Some(8192));
        assert_eq!(idx.find(0x10_0000 + 5000), Some(5001));
        assert_eq!(idx.find(0x10_0000 + 8192), None);
    }
}
