//! How much of the process's memory a heap profile explains.
//!
//! A heap profile's `inuse_space` is a sampled estimate of the live heap at
//! the last GC. Pod memory is more: heap spans that are in use but not
//! full (fragmentation), heap the runtime holds but has not returned to the
//! OS, goroutine stacks, and the runtime's own metadata. Setting the
//! profile beside the runtime's accounting says how much is left to
//! explain, and where to look for it.

use serde::Serialize;

use crate::profile::MemStats;
use crate::units;

/// The heap profile beside the runtime's memory accounting.
#[derive(Debug, Clone, Serialize)]
pub struct Reconciliation {
    /// The heap profile's inuse_space (sampled estimate of live heap).
    pub profile_inuse: i64,
    /// runtime HeapInuse.
    pub heap_inuse: Option<i64>,
    /// runtime HeapSys.
    pub heap_sys: Option<i64>,
    /// runtime HeapIdle − HeapReleased (held but unused).
    pub heap_idle_unreleased: Option<i64>,
    /// runtime StackInuse (goroutine stacks: not in the heap profile).
    pub stack_inuse: Option<i64>,
    /// runtime Sys (all memory obtained from the OS).
    pub sys: Option<i64>,
    /// process RSS (process_resident_memory_bytes, or MemStats MaxRSS).
    pub rss: Option<i64>,
    /// profile_inuse / (rss, else sys), 0..1.
    pub explained: Option<f64>,
}

impl Reconciliation {
    /// From individual numbers.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        profile_inuse: i64,
        heap_inuse: Option<i64>,
        heap_sys: Option<i64>,
        heap_idle_unreleased: Option<i64>,
        stack_inuse: Option<i64>,
        sys: Option<i64>,
        rss: Option<i64>,
    ) -> Reconciliation {
        let denom = rss.or(sys).filter(|d| *d > 0);
        Reconciliation {
            profile_inuse,
            heap_inuse,
            heap_sys,
            heap_idle_unreleased,
            stack_inuse,
            sys,
            rss,
            explained: denom.map(|d| profile_inuse as f64 / d as f64),
        }
    }

    /// From a MemStats trailer (`/debug/pprof/heap?debug=1`).
    pub fn from_memstats(profile_inuse: i64, m: &MemStats) -> Reconciliation {
        let i = |v: Option<u64>| v.map(|x| x.min(i64::MAX as u64) as i64);
        let idle = match (m.heap_idle, m.heap_released) {
            (Some(a), Some(b)) => Some(a.saturating_sub(b) as i64),
            _ => None,
        };
        // MaxRSS is a peak, not the current RSS: only Sys is a fair
        // denominator when it is all there is.
        Reconciliation::new(profile_inuse, i(m.heap_inuse), i(m.heap_sys), idle, i(m.stack_inuse), i(m.sys), None)
    }

    /// Aligned rows for text reports, then one sentence.
    pub fn text_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut row = |k: &str, v: Option<i64>| {
            if let Some(v) = v {
                out.push(format!("{k:<26} {}", units::bytes(v)));
            }
        };
        row("heap profile (inuse_space)", Some(self.profile_inuse));
        row("HeapInuse", self.heap_inuse);
        row("HeapSys", self.heap_sys);
        row("HeapIdle - HeapReleased", self.heap_idle_unreleased);
        row("StackInuse", self.stack_inuse);
        row("Sys", self.sys);
        row("process RSS", self.rss);
        if let Some(e) = self.explained {
            let of = if self.rss.is_some() { "the process RSS" } else { "Sys" };
            out.push(format!(
                "the heap profile explains {:.0}% of {of}; the rest is heap fragmentation (HeapInuse above the profile), idle heap not yet returned, stacks and runtime metadata",
                e * 100.0
            ));
        }
        out
    }
}
