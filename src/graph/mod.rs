//! Aggregation of samples into nodes with flat and cumulative values,
//! with exactly the semantics of `go tool pprof -top`.
//!
//! pprof first rewrites the profile for the chosen granularity
//! (`Profile.Aggregate`), then turns every line of every location into a
//! node keyed by `graph.NodeInfo`, and walks each sample's stack from the
//! root: every distinct node on the stack gets the sample's value added to
//! its cum once, and the innermost frame of the leaf location gets it added
//! to its flat. Inlined calls are separate lines of one location, so they
//! become nodes of their own. This module reproduces that key for each
//! granularity ([`Granularity`]) and computes flat/cum for every sample type
//! in one pass over the columnar samples, split across threads.

pub mod fold;
mod path;
pub mod top;

use std::fmt::Write as _;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

pub use crate::profile::Granularity;
use crate::profile::{Profile, NONE};
pub use path::clean as clean_path;

/// pprof's `NodeInfo`, with strings replaced by symbol ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    address: u64,
    name: u32,
    file: u32,
    line: i64,
    column: i64,
    objfile: u32,
    start_line: i64,
}

/// One node: its printable name and its values per sample type.
#[derive(Debug, Clone)]
pub struct Node {
    /// The name pprof prints for the node (`NodeInfo.PrintableName`).
    pub name: String,
    /// For function-bearing granularities, the function name alone as
    /// stored in the profile; empty where the node has no function.
    pub function: String,
    /// The source file (cleaned as pprof cleans it), if known.
    pub file: String,
    /// Every field of pprof's node key, for aligning nodes across
    /// profiles: two nodes are the same node iff their `key`s are equal.
    pub key: String,
}

/// Nodes of one profile with flat and cum per sample type.
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// All nodes that any location maps to.
    pub nodes: Vec<Node>,
    /// Number of sample types.
    pub ntypes: usize,
    /// `flat[node * ntypes + t]`.
    pub flat: Vec<i64>,
    /// `cum[node * ntypes + t]`.
    pub cum: Vec<i64>,
    /// pprof's report total per aggregated sample type: the sum of
    /// absolute values.
    pub totals: Vec<i64>,
    /// For each location, its node indexes, innermost line first.
    pub loc_nodes: Vec<u32>,
    /// Offsets into `loc_nodes`, one more than there are locations.
    pub loc_node_offsets: Vec<u32>,
}

impl Aggregate {
    /// Flat value of `node` for sample type `t`.
    #[inline]
    pub fn flat(&self, node: usize, t: usize) -> i64 {
        self.flat[node * self.ntypes + t]
    }

    /// Cumulative value of `node` for sample type `t`.
    #[inline]
    pub fn cum(&self, node: usize, t: usize) -> i64 {
        self.cum[node * self.ntypes + t]
    }

    /// The nodes of location `loc`, innermost line first.
    #[inline]
    pub fn location_nodes(&self, loc: usize) -> &[u32] {
        &self.loc_nodes[self.loc_node_offsets[loc] as usize..self.loc_node_offsets[loc + 1] as usize]
    }

    /// Node indexes that pprof would show for sample type `t` (those with a
    /// non-zero flat or cum), sorted as `-top` sorts them: by |flat|
    /// descending, then name, then |cum| descending.
    pub fn top(&self, t: usize) -> Vec<usize> {
        let mut idx: Vec<usize> =
            (0..self.nodes.len()).filter(|&n| self.flat(n, t) != 0 || self.cum(n, t) != 0).collect();
        idx.sort_by(|&a, &b| {
            self.flat(b, t)
                .unsigned_abs()
                .cmp(&self.flat(a, t).unsigned_abs())
                .then_with(|| self.nodes[a].name.cmp(&self.nodes[b].name))
                .then_with(|| self.cum(b, t).unsigned_abs().cmp(&self.cum(a, t).unsigned_abs()))
        });
        idx
    }
}

/// Interns strings by content (a string table may repeat a string).
#[cfg_attr(test, derive(Default))]
struct Symbols<'a> {
    ids: FxHashMap<&'a str, u32>,
    names: Vec<&'a str>,
    /// Symbol of each string-table id seen (`UNSEEN` if not yet), so that a
    /// string is hashed once however many lines refer to it (a hostile
    /// profile can point a million lines at one long name). Indexed by id:
    /// one slot per string of the table, which the input paid for.
    by_str_id: Vec<u32>,
}

/// A string id not interned yet.
const UNSEEN: u32 = u32::MAX - 1;

impl<'a> Symbols<'a> {
    /// Symbols for the strings of `p`, with room for `n` distinct ones.
    fn for_profile(p: &Profile, n: usize) -> Self {
        Symbols {
            ids: FxHashMap::with_capacity_and_hasher(n, Default::default()),
            names: Vec::with_capacity(n),
            by_str_id: vec![UNSEEN; p.strings.len()],
        }
    }

    fn intern(&mut self, s: &'a str) -> u32 {
        if s.is_empty() {
            return NONE;
        }
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(s);
        self.ids.insert(s, id);
        id
    }

    /// Interns string `id` of `p`.
    fn intern_str(&mut self, p: &'a Profile, id: u64) -> u32 {
        let s = self.by_str_id[id as usize];
        if s != UNSEEN {
            return s;
        }
        let s = self.intern(p.str(id));
        self.by_str_id[id as usize] = s;
        s
    }

    fn get(&self, id: u32) -> &'a str {
        if id == NONE {
            ""
        } else {
            self.names[id as usize]
        }
    }
}

/// Builds the nodes of every location for granularity `g`.
fn build_nodes(p: &Profile, g: Granularity) -> (Vec<Node>, Vec<u32>, Vec<u32>) {
    use Granularity::*;
    let (function, filename, linenumber, address) = match g {
        Functions => (true, false, false, false),
        Filefunctions => (true, true, false, false),
        Files => (false, true, false, false),
        Lines => (true, true, true, false),
        Addresses => (true, true, true, true),
    };
    let mut syms = Symbols::for_profile(p, p.functions.len() + 1);
    // Cleaned file names, cached per string id.
    let mut cleaned: FxHashMap<u64, String> = FxHashMap::default();
    for f in &p.functions {
        if filename && f.filename != 0 {
            cleaned.entry(f.filename).or_insert_with(|| clean_path(p.str(f.filename)));
        }
    }
    let file_syms: FxHashMap<u64, u32> = cleaned.iter().map(|(&id, s)| (id, syms.intern(s))).collect();
    // About one node per function: sized so that neither moves while filled.
    let mut keys: FxHashMap<Key, u32> = FxHashMap::with_capacity_and_hasher(p.functions.len(), Default::default());
    let mut nodes: Vec<Node> = Vec::with_capacity(p.functions.len());
    let mut loc_nodes = Vec::with_capacity(p.lines.len() + p.locations.len());
    let mut offsets = Vec::with_capacity(p.locations.len() + 1);
    offsets.push(0u32);

    // String id of the location's mapping file; 0 ("") for none.
    let objfile_of = |m: u32| if m == NONE { 0 } else { p.mappings[m as usize].filename };
    // Where a line's key depends on its function alone (no address, line
    // or column in it, and the function named), the node of each function
    // once known: a function has many lines, and its key costs string
    // lookups and a hash.
    let per_function = !linenumber && !address;
    let mut func_node = vec![NONE; if per_function { p.functions.len() } else { 0 }];

    for loc in &p.locations {
        let addr = if address { loc.address } else { 0 };
        let objfile = objfile_of(loc.mapping);
        let mut push_key = |key: Key, syms: &Symbols<'_>, nodes: &mut Vec<Node>| -> u32 {
            *keys.entry(key).or_insert_with(|| {
                let name = printable(&key, syms);
                let align = align_key(&key, syms);
                nodes.push(Node {
                    name,
                    function: syms.get(key.name).to_string(),
                    file: syms.get(key.file).to_string(),
                    key: align,
                });
                (nodes.len() - 1) as u32
            })
        };
        if loc.lines_len == 0 {
            let key = Key {
                address: addr,
                name: NONE,
                file: NONE,
                line: 0,
                column: 0,
                objfile: syms.intern_str(p, objfile),
                start_line: 0,
            };
            loc_nodes.push(push_key(key, &syms, &mut nodes));
        }
        for li in loc.lines() {
            let line = &p.lines[li];
            if per_function && func_node[line.function as usize] != NONE {
                loc_nodes.push(func_node[line.function as usize]);
                continue;
            }
            let f = &p.functions[line.function as usize];
            let name = if function { syms.intern_str(p, f.name) } else { NONE };
            let file = if filename && f.filename != 0 { file_syms[&f.filename] } else { NONE };
            let mut key = Key {
                address: addr,
                name,
                file,
                line: if linenumber { line.line } else { 0 },
                column: if address { line.column } else { 0 },
                objfile: NONE,
                start_line: 0,
            };
            if name == NONE {
                key.objfile = syms.intern_str(p, objfile);
                key.start_line = f.start_line;
            }
            let node = push_key(key, &syms, &mut nodes);
            if per_function && name != NONE {
                func_node[line.function as usize] = node;
            }
            loc_nodes.push(node);
        }
        offsets.push(loc_nodes.len() as u32);
    }
    (nodes, loc_nodes, offsets)
}

/// The key that aligns a node across profiles:
/// `{address:x}|name|file|line|column|objfile|start_line`. Built with
/// pushes, not `format!`: it is made for every node of every profile, and
/// `trend` builds the nodes of each of a thousand snapshots.
fn align_key(k: &Key, syms: &Symbols<'_>) -> String {
    let (name, file, objfile) = (syms.get(k.name), syms.get(k.file), syms.get(k.objfile));
    let mut s = String::with_capacity(name.len() + file.len() + objfile.len() + 32);
    push_hex(&mut s, k.address);
    for part in [name, file] {
        s.push('|');
        s.push_str(part);
    }
    s.push('|');
    push_int(&mut s, k.line);
    s.push('|');
    push_int(&mut s, k.column);
    s.push('|');
    s.push_str(objfile);
    s.push('|');
    push_int(&mut s, k.start_line);
    s
}

/// Appends `v` in lowercase hex, as `{:x}` formats it.
fn push_hex(s: &mut String, v: u64) {
    let mut buf = [0u8; 16];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b"0123456789abcdef"[(v & 15) as usize];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    s.extend(buf[i..].iter().map(|&b| b as char));
}

/// Appends `v` in decimal, as `{}` formats it.
fn push_int(s: &mut String, v: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if v < 0 {
        s.push('-');
    }
    s.extend(buf[i..].iter().map(|&b| b as char));
}

/// pprof's `NodeInfo.NameComponents`, joined with spaces.
fn printable(k: &Key, syms: &Symbols<'_>) -> String {
    let mut s = String::with_capacity(64);
    if k.address != 0 {
        let _ = write!(s, "{:016x}", k.address);
    }
    let name = syms.get(k.name);
    if !name.is_empty() {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(name);
    }
    let file = syms.get(k.file);
    let objfile = syms.get(k.objfile);
    if !name.is_empty() && k.line == 0 && file.is_empty() {
        return s;
    }
    if !s.is_empty() {
        s.push(' ');
    }
    if k.line != 0 {
        s.push_str(file);
        s.push(':');
        push_int(&mut s, k.line);
        if k.column != 0 {
            s.push(':');
            push_int(&mut s, k.column);
        }
    } else if !file.is_empty() {
        s.push_str(file);
    } else if !objfile.is_empty() {
        s.push('[');
        s.push_str(objfile.rsplit('/').next().unwrap_or(objfile));
        s.push(']');
    } else {
        s.push_str("<unknown>");
    }
    s
}

/// Samples per parallel chunk. Small profiles stay on one thread.
const CHUNK: usize = 16 * 1024;

/// Aggregates `p` at granularity `g` for every sample type.
pub fn aggregate(p: &Profile, g: Granularity) -> Aggregate {
    let all: Vec<usize> = (0..p.sample_types.len()).collect();
    aggregate_types(p, g, &all)
}

/// Aggregates `p` at granularity `g` for the sample types `types` only
/// (profile type indexes; column `i` of the result is `types[i]`). With no
/// types, only the nodes are built. Memory is nodes × `types.len()`, so a
/// caller that reports one type asks for one: a hostile profile with
/// thousands of sample types and locations cannot make it quadratic.
pub fn aggregate_types(p: &Profile, g: Granularity, types: &[usize]) -> Aggregate {
    let (nodes, loc_nodes, loc_node_offsets) = build_nodes(p, g);
    let ntypes = types.len();
    let nn = nodes.len();
    let nsamples = if ntypes == 0 { 0 } else { p.num_samples() };

    let pass = |range: std::ops::Range<usize>| -> (Vec<i64>, Vec<i64>) {
        let mut flat = vec![0i64; nn * ntypes];
        let mut cum = vec![0i64; nn * ntypes];
        // seen[n] == stamp means node n already got this sample's cum.
        let mut seen = vec![0u32; nn];
        // The selected values of one sample, reused: no per-sample allocation.
        let mut vals = vec![0i64; ntypes];
        for s in range {
            let row = p.sample_values(s);
            for (v, &t) in vals.iter_mut().zip(types) {
                *v = row[t];
            }
            if vals.iter().all(|&v| v == 0) {
                continue;
            }
            let vals = &vals[..];
            let stamp = s as u32 + 1;
            let stack = p.stack(s);
            for &loc in stack {
                let ln =
                    &loc_nodes[loc_node_offsets[loc as usize] as usize..loc_node_offsets[loc as usize + 1] as usize];
                for &n in ln {
                    // No branch on the stamp (a node already counted for
                    // this sample adds zero): its mispredictions would make
                    // each node's cache miss wait for the previous one.
                    let n = n as usize;
                    let mask = -i64::from(seen[n] != stamp);
                    seen[n] = stamp;
                    let row = &mut cum[n * ntypes..(n + 1) * ntypes];
                    for (c, v) in row.iter_mut().zip(vals) {
                        *c = c.saturating_add(*v & mask);
                    }
                }
            }
            if let Some(&leaf_loc) = stack.first() {
                let n = loc_nodes[loc_node_offsets[leaf_loc as usize] as usize] as usize;
                let row = &mut flat[n * ntypes..(n + 1) * ntypes];
                for (f, v) in row.iter_mut().zip(vals) {
                    *f = f.saturating_add(*v);
                }
            }
        }
        (flat, cum)
    };

    let (flat, cum) = if nsamples <= CHUNK {
        pass(0..nsamples)
    } else {
        let chunks: Vec<_> = (0..nsamples).step_by(CHUNK).map(|s| s..(s + CHUNK).min(nsamples)).collect();
        chunks.into_par_iter().map(pass).reduce(
            || (vec![0i64; nn * ntypes], vec![0i64; nn * ntypes]),
            |(mut f1, mut c1), (f2, c2)| {
                f1.iter_mut().zip(&f2).for_each(|(a, b)| *a = a.saturating_add(*b));
                c1.iter_mut().zip(&c2).for_each(|(a, b)| *a = a.saturating_add(*b));
                (f1, c1)
            },
        )
    };
    let all_totals = p.totals();
    let totals = types.iter().map(|&t| all_totals[t]).collect();
    Aggregate { nodes, ntypes, flat, cum, totals, loc_nodes, loc_node_offsets }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_key_equals_its_format() {
        let names = ["", "main.f", "/src/a.go", "[vdso]"];
        let mut syms = Symbols::default();
        let ids: Vec<u32> = names.iter().map(|n| syms.intern(n)).collect();
        for (i, &v) in [0i64, 1, -1, 9, 10, 4096, -77, i64::MAX, i64::MIN].iter().enumerate() {
            let k = Key {
                address: (v as u64).rotate_left(i as u32 * 7),
                name: ids[i % 4],
                file: ids[(i + 1) % 4],
                line: v,
                column: v.wrapping_add(3).wrapping_neg(),
                objfile: ids[(i + 2) % 4],
                start_line: v / 3,
            };
            let want = format!(
                "{:x}|{}|{}|{}|{}|{}|{}",
                k.address,
                syms.get(k.name),
                syms.get(k.file),
                k.line,
                k.column,
                syms.get(k.objfile),
                k.start_line
            );
            assert_eq!(align_key(&k, &syms), want);
        }
    }

    /// pprof's NameComponents as this module wrote them with `format!`.
    fn printable_reference(k: &Key, syms: &Symbols<'_>) -> String {
        let mut parts = Vec::new();
        if k.address != 0 {
            parts.push(format!("{:016x}", k.address));
        }
        let (name, file, objfile) = (syms.get(k.name), syms.get(k.file), syms.get(k.objfile));
        if !name.is_empty() {
            parts.push(name.to_string());
        }
        if k.line != 0 {
            parts.push(if k.column != 0 {
                format!("{file}:{}:{}", k.line, k.column)
            } else {
                format!("{file}:{}", k.line)
            });
        } else if !file.is_empty() {
            parts.push(file.to_string());
        } else if !name.is_empty() {
        } else if !objfile.is_empty() {
            parts.push(format!("[{}]", objfile.rsplit('/').next().unwrap()));
        } else {
            parts.push("<unknown>".to_string());
        }
        parts.join(" ")
    }

    #[test]
    fn printable_equals_pprof_name_components() {
        let names = ["", "main.f", "/src/a.go", "/usr/lib/libc.so.6"];
        let mut syms = Symbols::default();
        let ids: Vec<u32> = names.iter().map(|n| syms.intern(n)).collect();
        for address in [0u64, 0x4a2f10] {
            for (name, file, objfile) in (0..64).map(|i| (ids[i % 4], ids[(i / 4) % 4], ids[(i / 16) % 4])) {
                for (line, column) in [(0, 0), (12, 0), (12, 7), (-3, 0)] {
                    let k = Key { address, name, file, line, column, objfile, start_line: 0 };
                    assert_eq!(printable(&k, &syms), printable_reference(&k, &syms), "{k:?}");
                }
            }
        }
    }
}
