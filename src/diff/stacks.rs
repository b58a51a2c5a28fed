//! Distinct stacks as sequences of frame ids, in one flat arena.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};

use crate::graph::Aggregate;
use crate::profile::{Profile, NONE};

/// Interned stacks: each distinct frame sequence stored once.
#[derive(Debug, Default)]
pub struct StackTable {
    arena: Vec<u32>,
    offsets: Vec<u32>,
    /// Hash of a stack → first stack with that hash.
    heads: FxHashMap<u64, u32>,
    /// Next stack with the same hash, or NONE.
    chain: Vec<u32>,
}

fn hash(frames: &[u32]) -> u64 {
    let mut h = FxHasher::default();
    frames.hash(&mut h);
    h.finish()
}

impl StackTable {
    fn new() -> Self {
        StackTable { offsets: vec![0], ..Default::default() }
    }

    /// Number of distinct stacks.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frames of stack `i`, leaf first.
    #[inline]
    pub fn get(&self, i: usize) -> &[u32] {
        &self.arena[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// The id of `frames`, adding it if new. Returns (id, was_new).
    pub fn intern(&mut self, frames: &[u32]) -> (usize, bool) {
        let h = hash(frames);
        let mut cur = self.heads.get(&h).copied().unwrap_or(NONE);
        let mut last = NONE;
        while cur != NONE {
            if self.get(cur as usize) == frames {
                return (cur as usize, false);
            }
            last = cur;
            cur = self.chain[cur as usize];
        }
        let id = self.len() as u32;
        self.arena.extend_from_slice(frames);
        self.offsets.push(self.arena.len() as u32);
        self.chain.push(NONE);
        if last == NONE {
            self.heads.insert(h, id);
        } else {
            self.chain[last as usize] = id;
        }
        (id as usize, true)
    }
}

/// Distinct stacks of one profile with their summed values. `map` turns
/// the aggregate's node ids into global frame ids. One reused frame buffer;
/// nothing is allocated per sample.
pub fn collect(p: &Profile, agg: &Aggregate, map: &[u32]) -> (StackTable, Vec<i64>) {
    let nt = p.sample_types.len();
    let mut table = StackTable::new();
    let mut vals: Vec<i64> = Vec::new();
    let mut buf: Vec<u32> = Vec::with_capacity(64);
    for s in 0..p.num_samples() {
        buf.clear();
        for &loc in p.stack(s) {
            buf.extend(agg.location_nodes(loc as usize).iter().map(|&n| map[n as usize]));
        }
        let (id, fresh) = table.intern(&buf);
        if fresh {
            vals.extend(std::iter::repeat_n(0, nt));
        }
        for (acc, v) in vals[id * nt..(id + 1) * nt].iter_mut().zip(p.sample_values(s)) {
            *acc += *v;
        }
    }
    (table, vals)
}

/// Merges NEW's stacks into BASE's table; returns the table and both
/// sides' values over it.
pub fn merge(
    mut table: StackTable,
    mut base: Vec<i64>,
    new_table: StackTable,
    new_vals: Vec<i64>,
    nt: usize,
) -> (StackTable, Vec<i64>, Vec<i64>) {
    let mut new = vec![0i64; base.len()];
    for s in 0..new_table.len() {
        let (id, fresh) = table.intern(new_table.get(s));
        if fresh {
            base.extend(std::iter::repeat_n(0, nt));
            new.extend(std::iter::repeat_n(0, nt));
        }
        for t in 0..nt {
            new[id * nt + t] += new_vals[s * nt + t];
        }
    }
    (table, base, new)
}
