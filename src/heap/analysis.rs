//! Retention analysis of one heap dump: dominators, retained sizes, and
//! aggregates by root, allocation site, category and object shape.

use rustc_hash::FxHashMap;

use super::dominators::{Csr, Dominators, NO_GROUP, UNREACHABLE};
use super::graph::{self, AddrIndex, Graph, RootKind};
use crate::attribute::{Attribution, FrameClass, FrameInfo, RuleSet};
use crate::heapdump::elf::Binary;
use crate::heapdump::parse::HeapDump;

/// A dump with its graph, dominator tree and per-node facts.
pub struct Analysis<'d> {
    /// The dump.
    pub dump: &'d HeapDump,
    /// The object graph.
    pub graph: Graph,
    /// Its dominator tree from the super-root.
    pub doms: Dominators,
    /// Retained bytes per node.
    pub retained: Vec<u64>,
    /// Children of each node in the dominator tree (built once, walked by every grouping).
    pub tree: Csr,
    /// Category per object: a rules category index, `n_categories - 1` for
    /// unattributed stacks, `NO_GROUP` for objects without an allocation sample.
    pub obj_category: Vec<u32>,
    /// Rules categories plus one for unattributed.
    pub n_categories: usize,
    /// Group retained bytes per allocation-site bucket.
    pub site_retained: Vec<u64>,
    /// Group retained bytes per shape.
    pub shape_retained: Vec<u64>,
    /// Group retained bytes per category (indexed as `obj_category`).
    pub category_retained: Vec<u64>,
    /// Allocation-site bucket index per object (`NO_GROUP` if not sampled).
    pub obj_bucket: Vec<u32>,
    /// Allocation samples that resolved to no object.
    pub unresolved_samples: u64,
    /// Samples at an object's address + 8 or further in (malloc headers, tiny blocks).
    pub interior_samples: u64,
    /// Attribution of each bucket's stack.
    pub bucket_attr: Vec<Attribution>,
    /// Per bucket, the innermost frame that is not allocator plumbing: the allocation site.
    pub bucket_site: Vec<u32>,
    /// Per goroutine, its innermost frame that is not runtime plumbing (what it is doing).
    pub goroutine_frame: Vec<u32>,
    /// Attribution of each root (goroutines and frames by their stack, globals by name).
    pub root_attr: Vec<Attribution>,
    /// Shape id per object.
    pub obj_shape: Vec<u32>,
    /// Shapes: (slot size, pointer words, type name if known).
    pub shapes: Vec<Shape>,
    /// Wall time of each stage, for `--timings`.
    pub timings: Vec<(&'static str, std::time::Duration)>,
    /// Unreachable objects that sit in the reserved tail of a small-object
    /// span: runtime metadata the Go ≥ 1.22 runtime dumps as objects.
    pub phantoms: (u64, u64),
}

/// An object shape: slot size and pointer layout, plus the Go type when the
/// executable names it.
#[derive(Debug, Clone)]
pub struct Shape {
    /// Slot size in bytes.
    pub size: u32,
    /// Number of pointer words.
    pub ptr_words: u32,
    /// The first few pointer offsets.
    pub ptr_offsets: Vec<u64>,
    /// Type name from the malloc header (Go ≥ 1.22, 513 B–32 KiB pointerful objects, `--binary`).
    pub type_name: Option<String>,
}

impl Shape {
    /// A short human label, e.g. `*main.Session (48 B)` or `48 B, ptrs @0,8,24`.
    pub fn label(&self) -> String {
        if let Some(t) = &self.type_name {
            return format!("{t} ({} B slots)", self.size);
        }
        if self.ptr_words == 0 {
            return format!("{} B, no pointers", self.size);
        }
        let offs: Vec<String> = self.ptr_offsets.iter().map(|o| o.to_string()).collect();
        let more = if self.ptr_words as usize > self.ptr_offsets.len() { ",…" } else { "" };
        format!("{} B, {} ptrs @{}{more}", self.size, self.ptr_words, offs.join(","))
    }
}

pub use crate::report::heap::Totals;

impl<'d> Analysis<'d> {
    /// Builds the graph, the dominator tree and every per-object fact.
    pub fn new(dump: &'d HeapDump, binary: Option<&Binary>, rules: &RuleSet) -> Analysis<'d> {
        let mut timings = Vec::new();
        let mut clock = std::time::Instant::now();
        let mut lap = |name: &'static str| {
            let now = std::time::Instant::now();
            timings.push((name, now - clock));
            clock = now;
        };
        let index = AddrIndex::new(&dump.objects.addr, &dump.objects.size);
        lap("address index");
        let graph = graph::build(dump, &index, binary.map(|b| b as &dyn graph::GlobalNames));
        lap("graph");
        let doms = Dominators::semi_nca(&graph.csr, graph.super_root());
        lap("dominators");
        let n = graph.num_nodes();
        let mut shallow = vec![0u64; n];
        for (s, &sz) in shallow.iter_mut().zip(&dump.objects.size) {
            *s = sz as u64;
        }
        let retained = doms.retained(&shallow);
        drop(shallow);
        lap("retained sizes");

        // Allocation sites.
        let bucket_index: FxHashMap<u64, u32> =
            dump.buckets.iter().enumerate().map(|(i, b)| (b.id, i as u32)).collect();
        let nobj = dump.objects.len();
        let mut obj_bucket = vec![NO_GROUP; nobj];
        let mut unresolved_samples = 0;
        let mut interior_samples = 0;
        for &(addr, bucket) in &dump.samples {
            let (Some(o), Some(&b)) = (index.find(addr), bucket_index.get(&bucket)) else {
                unresolved_samples += 1;
                continue;
            };
            if dump.objects.addr[o as usize] != addr {
                interior_samples += 1;
            }
            let slot = &mut obj_bucket[o as usize];
            if *slot == NO_GROUP {
                *slot = b;
            }
        }
        let not_plumbing = |infos: &[crate::attribute::FrameInfo]| {
            infos.iter().position(|i| i.class != FrameClass::Plumbing).unwrap_or(0) as u32
        };
        let mut bucket_site = Vec::with_capacity(dump.buckets.len());
        let bucket_attr: Vec<Attribution> = dump
            .buckets
            .iter()
            .map(|b| {
                let infos: Vec<_> = dump.bucket_frames(b).iter().map(|f| rules.classify(dump.str(f.func))).collect();
                bucket_site.push(not_plumbing(&infos));
                rules.attribute(infos.iter())
            })
            .collect();
        // Each goroutine's frames classified once (by interned name), for
        // the goroutine, its frame roots and what it is doing.
        let mut class_of: Vec<Option<FrameInfo>> = vec![None; dump.strings.len()];
        let g_infos: Vec<Vec<FrameInfo>> = dump
            .goroutines
            .iter()
            .map(|g| {
                let frames = &dump.frames[g.first_frame as usize..(g.first_frame + g.num_frames) as usize];
                frames
                    .iter()
                    .map(|f| *class_of[f.func as usize].get_or_insert_with(|| rules.classify(dump.str(f.func))))
                    .collect()
            })
            .collect();
        drop(class_of);
        // A goroutine is named by its innermost frame outside the runtime
        // package (the runtime's own goroutines keep their runtime name).
        let goroutine_frame: Vec<u32> = dump
            .goroutines
            .iter()
            .zip(&g_infos)
            .map(|(g, infos)| {
                let frames = &dump.frames[g.first_frame as usize..(g.first_frame + g.num_frames) as usize];
                let outside =
                    |f: &&crate::heapdump::parse::Frame| !crate::heapdump::is_runtime_function(dump.str(f.func));
                match frames.iter().position(|f| outside(&f)) {
                    Some(i) => i as u32,
                    None => not_plumbing(infos),
                }
            })
            .collect();
        let mut frame_attr: FxHashMap<u32, Attribution> = FxHashMap::default();
        let mut frame_roots_of: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        for r in &graph.roots {
            if let (RootKind::Frame, Some(g), Some(f)) = (&r.kind, r.goroutine, r.frame) {
                frame_roots_of.entry(g).or_default().push(f - dump.goroutines[g as usize].first_frame);
            }
        }
        for (g, skips) in frame_roots_of {
            let first = dump.goroutines[g as usize].first_frame;
            for (skip, att) in suffix_attributions(rules, &g_infos[g as usize], &skips) {
                frame_attr.insert(first + skip as u32, att);
            }
        }
        let root_attr = graph
            .roots
            .iter()
            .map(|r| match (&r.kind, r.goroutine, r.frame) {
                (RootKind::Goroutine, Some(g), _) => rules.attribute(g_infos[g as usize].iter()),
                (RootKind::Frame, Some(_), Some(f)) => frame_attr[&f],
                _ => rules.attribute([rules.classify(r.key.as_str())].iter()),
            })
            .collect();

        // Shapes: (size, pointer layout, header type).
        let mut shape_ids: FxHashMap<(u32, u64, u64), u32> = FxHashMap::default();
        let mut shapes: Vec<Shape> = Vec::new();
        let mut obj_shape = vec![0u32; nobj];
        // Go >= 1.22 puts a type header in 513 B-32 KiB pointerful objects.
        let typed_headers = dump.params.go_minor().is_some_and(|m| m >= 22);
        for (i, slot) in obj_shape.iter_mut().enumerate() {
            let base = dump.objects.contents[i];
            let size = dump.objects.size[i];
            let mut h: u64 = 0xcbf29ce484222325;
            let mut words = 0u32;
            let mut first = u64::MAX;
            dump.for_each_ptr_offset(base + size as u64, |off| {
                h = (h ^ off).wrapping_mul(0x100000001b3);
                words += 1;
                first = first.min(off);
            });
            // A malloc header: the first word (not itself listed) points at the type.
            let ty = match binary {
                Some(b) if typed_headers && size > 512 && size <= 32768 && words > 0 && first >= 8 => {
                    let w = dump.word_at(base as usize);
                    if b.is_type_addr(w) {
                        w
                    } else {
                        0
                    }
                }
                _ => 0,
            };
            let key = (size, h, ty);
            let id = match shape_ids.get(&key) {
                Some(&id) => id,
                None => {
                    let mut offs = Vec::new();
                    dump.for_each_ptr_offset(base + size as u64, |off| {
                        if offs.len() < 4 {
                            offs.push(off)
                        }
                    });
                    // The header names the element type of arrays and
                    // slices' backing stores: several elements make `[]T`.
                    let type_name = binary.filter(|_| ty != 0).and_then(|b| {
                        let name = b.type_name(ty)?;
                        let elem = b.type_size(ty).unwrap_or(0);
                        Some(if elem > 0 && (size as u64 - 8) >= 2 * elem { format!("[]{name}") } else { name })
                    });
                    let id = shapes.len() as u32;
                    shapes.push(Shape { size, ptr_words: words, ptr_offsets: offs, type_name });
                    shape_ids.insert(key, id);
                    id
                }
            };
            *slot = id;
        }

        let n_categories = rules.category_names().count() + 1;
        let obj_category: Vec<u32> = obj_bucket
            .iter()
            .map(|&b| match b {
                NO_GROUP => NO_GROUP,
                b => bucket_attr[b as usize].category.map_or(n_categories as u32 - 1, |c| c as u32),
            })
            .collect();
        lap("sites, categories, shapes");
        let tree = doms.tree();
        let mut g = group_retained_many(
            &tree,
            graph.super_root(),
            &retained,
            &[(&obj_bucket, dump.buckets.len()), (&obj_shape, shapes.len()), (&obj_category, n_categories)],
        );
        let category_retained = g.pop().unwrap_or_default();
        let shape_retained = g.pop().unwrap_or_default();
        let site_retained = g.pop().unwrap_or_default();
        lap("group retained sizes");
        let mut phantoms = (0, 0);
        for i in 0..nobj {
            if doms.idom[i] != UNREACHABLE {
                continue;
            }
            let a = dump.objects.addr[i];
            let s = dump.objects.size[i] as u64;
            if (16..=512).contains(&s) && (a & 8191) + s > 8192 - 256 {
                phantoms.0 += 1;
                phantoms.1 += s;
            }
        }

        Analysis {
            dump,
            graph,
            doms,
            retained,
            tree,
            obj_category,
            n_categories,
            site_retained,
            shape_retained,
            category_retained,
            obj_bucket,
            unresolved_samples,
            interior_samples,
            bucket_attr,
            bucket_site,
            goroutine_frame,
            root_attr,
            obj_shape,
            shapes,
            phantoms,
            timings,
        }
    }

    /// Whether node `v` is reachable from a root.
    pub fn reachable(&self, v: u32) -> bool {
        self.doms.idom[v as usize] != UNREACHABLE
    }

    /// All objects, the reachable ones, and the rest.
    pub fn totals(&self) -> (Totals, Totals, Totals) {
        let mut all = Totals::default();
        let mut live = Totals::default();
        for (i, &s) in self.dump.objects.size.iter().enumerate() {
            all.objects += 1;
            all.bytes += s as u64;
            if self.doms.idom[i] != UNREACHABLE {
                live.objects += 1;
                live.bytes += s as u64;
            }
        }
        let dead = Totals { objects: all.objects - live.objects, bytes: all.bytes - live.bytes };
        (all, live, dead)
    }

    /// Group retained per group over objects: the retained bytes of the
    /// members that no other member of the same group dominates.
    pub fn group_retained(&self, obj_group: &[u32], ngroups: usize) -> Vec<u64> {
        let mut g = group_retained_many(&self.tree, self.graph.super_root(), &self.retained, &[(obj_group, ngroups)]);
        g.pop().unwrap_or_default()
    }

    /// Reachable objects and bytes per allocation-site bucket, plus one last
    /// entry (index `buckets.len()`) for objects without an allocation sample.
    pub fn site_shallow(&self) -> Vec<Totals> {
        let nb = self.dump.buckets.len();
        let mut t = vec![Totals::default(); nb + 1];
        for (i, &b) in self.obj_bucket.iter().enumerate() {
            if self.doms.idom[i] != UNREACHABLE {
                let g = if b == NO_GROUP { nb } else { b as usize };
                t[g].objects += 1;
                t[g].bytes += self.dump.objects.size[i] as u64;
            }
        }
        t
    }

    /// Reachable bytes per allocation-site bucket, each object counted once:
    /// in the bucket of its nearest dominator-tree ancestor-or-self that has
    /// an allocation sample, i.e. the sampled object closest to it that
    /// keeps it alive on its own. One last entry (index `buckets.len()`)
    /// holds the objects with no such ancestor. A partition of the
    /// reachable heap, unlike [`Analysis::site_retained`], whose nested
    /// sites count the same bytes.
    ///
    /// One pass in preorder, where every node comes after its immediate
    /// dominator, so each node inherits the bucket its idom got.
    pub fn site_attributed(&self) -> Vec<u64> {
        let nb = self.dump.buckets.len();
        let nobj = self.obj_bucket.len();
        let mut owner = vec![NO_GROUP; self.graph.num_nodes()];
        let mut out = vec![0u64; nb + 1];
        for &v in &self.doms.preorder {
            let i = v as usize;
            let own = self.obj_bucket.get(i).copied().unwrap_or(NO_GROUP);
            let d = self.doms.idom[i];
            let b = if own != NO_GROUP || d == v { own } else { owner[d as usize] };
            owner[i] = b;
            if i < nobj {
                out[if b == NO_GROUP { nb } else { b as usize }] += self.dump.objects.size[i] as u64;
            }
        }
        out
    }

    /// Shallow totals per group over reachable objects.
    pub fn group_shallow(&self, obj_group: &[u32], ngroups: usize) -> Vec<Totals> {
        let mut t = vec![Totals::default(); ngroups];
        for (i, &g) in obj_group.iter().enumerate() {
            if g != NO_GROUP && self.doms.idom[i] != UNREACHABLE {
                t[g as usize].objects += 1;
                t[g as usize].bytes += self.dump.objects.size[i] as u64;
            }
        }
        t
    }

    /// Parent of each node on a shortest path from the super-root (BFS), for
    /// "path to root" in reports. `UNREACHABLE` for the super-root and
    /// unreachable nodes.
    pub fn bfs_parents(&self) -> Vec<u32> {
        let n = self.graph.num_nodes();
        let mut parent = vec![UNREACHABLE; n];
        let root = self.graph.super_root();
        let mut queue = Vec::with_capacity(n.min(1 << 20));
        queue.push(root);
        let mut seen = vec![false; n];
        seen[root as usize] = true;
        let mut head = 0;
        while head < queue.len() {
            let v = queue[head];
            head += 1;
            for &w in self.graph.csr.successors(v) {
                if !seen[w as usize] {
                    seen[w as usize] = true;
                    parent[w as usize] = v;
                    queue.push(w);
                }
            }
        }
        parent
    }

    /// The allocation site's name: the innermost frame of bucket `b` that is not allocator plumbing.
    pub fn site_function(&self, b: u32) -> &str {
        let bucket = &self.dump.buckets[b as usize];
        let frames = self.dump.bucket_frames(bucket);
        frames.get(self.bucket_site[b as usize] as usize).map(|f| self.dump.str(f.func)).unwrap_or("?")
    }

    /// What goroutine `g` is doing: its innermost frame that is not runtime plumbing.
    pub fn goroutine_function(&self, g: usize) -> &str {
        let gr = &self.dump.goroutines[g];
        let f = gr.first_frame + self.goroutine_frame[g].min(gr.num_frames.saturating_sub(1));
        if gr.num_frames == 0 {
            return "?";
        }
        self.dump.str(self.dump.frames[f as usize].func)
    }
}

/// Group retained sizes for several groupings of the objects in one walk
/// of the dominator tree: for each grouping, the sum of `retained[v]` over
/// members v that have no proper dominator-tree ancestor in the same group.
/// Groupings are per object (`NO_GROUP`: none); synthetic nodes have no group.
///
/// One iterative DFS with one "active members on the path" counter array per
/// grouping; each node's groups are read once on entry and kept on the stack
/// for the exit, because random reads of the group arrays are what this walk
/// spends its time on at ten million objects.
pub fn group_retained_many(tree: &Csr, root: u32, retained: &[u64], groupings: &[(&[u32], usize)]) -> Vec<Vec<u64>> {
    let k = groupings.len();
    let mut out: Vec<Vec<u64>> = groupings.iter().map(|&(_, n)| vec![0u64; n]).collect();
    let mut active: Vec<Vec<u32>> = groupings.iter().map(|&(_, n)| vec![0u32; n]).collect();
    // Stack frames: (node, next child edge); the node's groups live in `gs`.
    let mut stack: Vec<(u32, u32)> = vec![(root, tree.offsets[root as usize])];
    let mut gs: Vec<u32> = Vec::new();
    let mut enter = |v: u32, gs: &mut Vec<u32>, active: &mut [Vec<u32>]| {
        for (i, &(g, _)) in groupings.iter().enumerate() {
            let x = g.get(v as usize).copied().unwrap_or(NO_GROUP);
            if x != NO_GROUP {
                let a = &mut active[i][x as usize];
                if *a == 0 {
                    out[i][x as usize] += retained[v as usize];
                }
                *a += 1;
            }
            gs.push(x);
        }
    };
    enter(root, &mut gs, &mut active);
    while let Some(top) = stack.last_mut() {
        let (v, e) = *top;
        if e < tree.offsets[v as usize + 1] {
            top.1 = e + 1;
            let c = tree.targets[e as usize];
            enter(c, &mut gs, &mut active);
            stack.push((c, tree.offsets[c as usize]));
        } else {
            stack.pop();
            let from = gs.len() - k;
            for (i, &x) in gs[from..].iter().enumerate() {
                if x != NO_GROUP {
                    active[i][x as usize] -= 1;
                }
            }
            gs.truncate(from);
        }
    }
    out
}

/// `rules.attribute(&infos[k..])` for every `k` in `skips` (the frame roots
/// of one goroutine), with `frame` relative to `k` as there.
///
/// Guard: attributing each suffix on its own is quadratic in the depth of
/// the stack, and a goroutine in runaway recursion has millions of frames,
/// each a root when it holds a pointer. Attribution only ever looks at the
/// first frame with a given (class, signature bits) value, so each suffix is
/// attributed over the list of those first frames instead, kept up to date
/// while walking from the outermost frame in: O(frames × distinct values).
fn suffix_attributions(rules: &RuleSet, infos: &[FrameInfo], skips: &[u32]) -> Vec<(usize, Attribution)> {
    let mut want = vec![false; infos.len()];
    for &k in skips {
        if let Some(w) = want.get_mut(k as usize) {
            *w = true;
        }
    }
    let same = |a: &FrameInfo, b: &FrameInfo| a.class == b.class && a.sig_bits == b.sig_bits;
    // (first frame with this value, at or after k), ascending by position.
    let mut firsts: Vec<(FrameInfo, usize)> = Vec::new();
    let mut out = Vec::with_capacity(skips.len());
    for k in (0..infos.len()).rev() {
        if let Some(j) = firsts.iter().position(|(f, _)| same(f, &infos[k])) {
            firsts.remove(j);
        }
        firsts.insert(0, (infos[k], k));
        if want[k] {
            let mut att = rules.attribute(firsts.iter().map(|(f, _)| f));
            att.frame = firsts[att.frame].1 - k;
            out.push((k, att));
        }
    }
    out
}
