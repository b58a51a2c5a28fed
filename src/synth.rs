//! Deterministic synthetic Go heap profiles, for benchmarks.
//!
//! Real production heap profiles that are large enough to benchmark are
//! neither public nor redistributable, so benchmarks use profiles built
//! here from a fixed seed: the same bytes on every machine and every run.
//! The shape follows what `runtime/pprof` writes: the four heap sample
//! types, a `space/bytes` period, one mapping, locations whose lines carry
//! inlined frames, and stacks drawn from a call tree so that they share
//! prefixes as real stacks do.
//!
//! [`Shape::Random`] is the adversarial shape of issue #22: stacks that are
//! random walks over the functions, sharing no prefixes, so that nearly
//! every caller → callee pair in the profile is distinct.

use std::io::Write;

use prost::Message;

use crate::pprof::proto;

/// What to generate. The default is the benchmark profile of the
/// foundation issue: 200k samples, 30k functions, stacks up to 32 deep.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Spec {
    /// Number of samples (distinct stacks).
    pub samples: usize,
    /// Number of functions.
    pub functions: usize,
    /// Deepest stack.
    pub max_depth: usize,
    /// Seed for stacks and names; two specs with the same seed share them.
    pub seed: u64,
    /// Seed for the values only: a different `variant` gives another
    /// snapshot of the same process (same stacks, other values).
    pub variant: u64,
    /// Multiplier applied to the inuse values of one site in 64, to make
    /// a later snapshot that grew. 1.0 leaves values as drawn.
    pub growth: f64,
    /// Profile time, nanoseconds since the epoch.
    pub time_nanos: i64,
    /// Share of sites with live objects. A real heap profile lists every
    /// allocation site since the process started, and at most sites all
    /// objects were freed: 88-99% of the samples of the corpus's heap
    /// profiles are zero in inuse_space and inuse_objects. Below 1.0, each
    /// site is live with this probability (the same sites in every
    /// variant, and always the growing ones) and its inuse values are
    /// zero otherwise. 1.0, the default, draws every site's inuse values
    /// as the foundation issue's profile does, so few are zero.
    pub live: f64,
    /// How the stacks are drawn.
    pub shape: Shape,
}

/// How [`profile`] draws its stacks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Shape {
    /// Stacks descend a call tree from 64 root paths, so they share
    /// prefixes (the benchmark profile of the foundation issue).
    #[default]
    Tree,
    /// Issue #22's unstructured profile: each stack is a random walk of
    /// 4–32 frames over the functions, each frame a function drawn
    /// uniformly, one location per function, no inlining, and one numeric
    /// label (`bytes`) per sample. The values depend on `seed` alone;
    /// `growth` multiplies the inuse values of one sample in 20 (5% of the
    /// stacks), and grows their alloc values by as much, so that a later
    /// snapshot (`growth` > 1) has the same stacks with 5% of them grown
    /// and every other sample unchanged. `variant` and `live` only move
    /// the profile's time.
    Random,
}

impl std::str::FromStr for Shape {
    type Err = String;
    fn from_str(s: &str) -> Result<Shape, String> {
        match s {
            "tree" => Ok(Shape::Tree),
            "random" => Ok(Shape::Random),
            _ => Err(format!("unknown shape {s:?} (tree or random)")),
        }
    }
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            samples: 200_000,
            functions: 30_000,
            max_depth: 32,
            seed: 1,
            variant: 0,
            growth: 1.0,
            time_nanos: 1_764_000_000_000_000_000,
            live: 1.0,
            shape: Shape::Tree,
        }
    }
}

impl Spec {
    /// The default spec scaled by `k` in samples and functions.
    pub fn scaled(k: usize) -> Spec {
        let d = Spec::default();
        Spec { samples: d.samples * k, functions: d.functions * k, ..d }
    }
}

/// splitmix64: tiny, fast, and good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const PACKAGES: [&str; 12] = [
    "net/http",
    "encoding/json",
    "github.com/acme/gateway/pkg/server",
    "github.com/acme/gateway/pkg/middlewares",
    "github.com/acme/gateway/pkg/proxy",
    "github.com/acme/gateway/pkg/config",
    "github.com/prometheus/client_golang/prometheus",
    "google.golang.org/grpc",
    "github.com/acme/gateway/pkg/cache",
    "crypto/tls",
    "bufio",
    "github.com/acme/store/internal/index",
];

/// Builds the profile message.
pub fn profile(spec: &Spec) -> proto::Profile {
    if spec.shape == Shape::Random {
        return random_profile(spec);
    }
    let mut rng = Rng(spec.seed);
    let mut strings: Vec<String> = vec![String::new()];
    let intern = |s: String, strings: &mut Vec<String>| -> i64 {
        strings.push(s);
        (strings.len() - 1) as i64
    };
    let mut p = proto::Profile::default();
    heap_header(&mut p, &mut strings, spec.time_nanos);

    // Functions, with Go-looking names and files.
    let nfn = spec.functions.max(2);
    for i in 0..nfn {
        let pkg = PACKAGES[i % PACKAGES.len()];
        let name = match i % 3 {
            0 => format!("{pkg}.(*T{}).Method{}", i / 97, i),
            1 => format!("{pkg}.func{}", i),
            _ => format!("{pkg}.handle{}.func1", i),
        };
        let file = format!("{pkg}/file{}.go", i % 211);
        let n = intern(name, &mut strings);
        let f = intern(file, &mut strings);
        p.function.push(proto::Function {
            id: i as u64 + 1,
            name: n,
            system_name: n,
            filename: f,
            start_line: (i % 900) as i64 + 10,
        });
    }
    // Locations: two per function on average; one in eight carries an
    // inlined callee as an extra line.
    let nloc = nfn * 2;
    for i in 0..nloc {
        let f = (i / 2) as u64 + 1;
        let mut line = vec![proto::Line { function_id: f, line: (i % 500) as i64 + 20, column: 0 }];
        if i % 8 == 0 {
            let callee = rng.below(nfn) as u64 + 1;
            line.insert(0, proto::Line { function_id: callee, line: (i % 300) as i64 + 5, column: 0 });
        }
        p.location.push(proto::Location {
            id: i as u64 + 1,
            mapping_id: 1,
            address: 0x401000 + 0x10 * i as u64,
            line,
            is_folded: false,
        });
    }
    // Stacks from a call tree: a few root paths (main, http serve loops,
    // goroutines), extended by random descents, so prefixes are shared.
    let roots: Vec<Vec<u64>> = (0..64)
        .map(|_| {
            let depth = 3 + rng.below(6);
            (0..depth).map(|_| rng.below(nloc / 8) as u64 + 1).collect()
        })
        .collect();
    let mut vrng = Rng(spec.seed ^ spec.variant.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xabcdef);
    let mut v0rng = Rng(spec.seed ^ 0xabcdef);
    // Its own stream, drawn only below 1.0, so that the default spec's
    // bytes do not change.
    let mut live_rng = Rng(spec.seed ^ 0x11fe);
    for s in 0..spec.samples {
        let root = &roots[rng.below(roots.len())];
        let depth = (root.len() + 1 + rng.below(spec.max_depth.max(root.len() + 1) - root.len())).min(spec.max_depth);
        let mut stack: Vec<u64> = Vec::with_capacity(depth);
        // Descend from the root path: each callee is one of a few fixed
        // callees of its caller, as in a real call tree. Built root first,
        // then reversed so the leaf comes first, as pprof stores it.
        stack.extend(root.iter());
        let mut caller = *root.last().expect("roots are non-empty");
        for _ in 0..depth - root.len() {
            let callee = (caller.wrapping_mul(2_654_435_761) + rng.below(6) as u64) % nloc as u64 + 1;
            stack.push(callee);
            caller = callee;
        }
        stack.reverse();
        let size = [16i64, 32, 48, 64, 128, 256, 512, 1024, 4096, 32768][rng.below(10)];
        let objs = 1 + vrng.below(4096) as i64;
        let inuse_objs = vrng.below(objs as usize + 1) as i64;
        // alloc_* count every allocation since the process started, so a
        // later snapshot (higher variant) of the same process must have
        // more: grow variant 0's count (drawn in step, so variant 0 itself
        // is unchanged) rather than drawing a fresh one.
        let objs0 = 1 + v0rng.below(4096) as i64;
        let _ = v0rng.below(objs0 as usize + 1);
        let objs = if spec.variant == 0 { objs } else { objs0 + (spec.variant as i64) * (objs0 / 8 + 1) };
        let factor = if spec.growth != 1.0 && s % 64 == 0 { spec.growth } else { 1.0 };
        let inuse_objs = ((inuse_objs as f64) * factor) as i64;
        let freed = spec.live < 1.0 && (live_rng.next() >> 11) as f64 / (1u64 << 53) as f64 >= spec.live;
        let inuse_objs = if freed && s % 64 != 0 { 0 } else { inuse_objs };
        p.sample.push(proto::Sample {
            location_id: stack,
            value: vec![objs.max(inuse_objs), objs.max(inuse_objs) * size, inuse_objs, inuse_objs * size],
            label: vec![],
        });
    }
    p.string_table = strings;
    p
}

/// The heap sample types, period and mapping every synthetic profile
/// has, with their strings interned in `strings`.
fn heap_header(p: &mut proto::Profile, strings: &mut Vec<String>, time_nanos: i64) {
    let mut intern = |s: &str| -> i64 {
        strings.push(s.to_string());
        (strings.len() - 1) as i64
    };
    for (t, u) in
        [("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"), ("inuse_space", "bytes")]
    {
        let ty = intern(t);
        let unit = intern(u);
        p.sample_type.push(proto::ValueType { r#type: ty, unit });
    }
    let space = intern("space");
    let bytes = intern("bytes");
    p.period_type = Some(proto::ValueType { r#type: space, unit: bytes });
    p.period = 524_288;
    p.time_nanos = time_nanos;
    let exe = intern("/usr/local/bin/gateway");
    p.mapping.push(proto::Mapping {
        id: 1,
        memory_start: 0x400000,
        memory_limit: 0x4000000,
        filename: exe,
        has_functions: true,
        ..Default::default()
    });
}

/// [`Shape::Random`]: see there.
fn random_profile(spec: &Spec) -> proto::Profile {
    let mut rng = Rng(spec.seed ^ 0x7a9d_0c3e_51b2_8f46);
    let mut strings: Vec<String> = vec![String::new()];
    let mut p = proto::Profile::default();
    heap_header(&mut p, &mut strings, spec.time_nanos);
    let label_key = strings.iter().position(|s| s == "bytes").expect("interned by heap_header") as i64;
    let nfn = spec.functions.max(2);
    for i in 0..nfn {
        let pkg = PACKAGES[i % PACKAGES.len()];
        strings.push(format!("{pkg}.fn{i}"));
        let n = (strings.len() - 1) as i64;
        strings.push(format!("{pkg}/file{}.go", i % 211));
        let f = (strings.len() - 1) as i64;
        p.function.push(proto::Function {
            id: i as u64 + 1,
            name: n,
            system_name: n,
            filename: f,
            start_line: (i % 900) as i64 + 10,
        });
        p.location.push(proto::Location {
            id: i as u64 + 1,
            mapping_id: 1,
            address: 0x401000 + 0x10 * i as u64,
            line: vec![proto::Line { function_id: i as u64 + 1, line: (i % 500) as i64 + 20, column: 0 }],
            is_folded: false,
        });
    }
    let (lo, hi) = (4.min(spec.max_depth.max(1)), spec.max_depth.max(1));
    for s in 0..spec.samples {
        let depth = lo + rng.below(hi - lo + 1);
        let stack: Vec<u64> = (0..depth).map(|_| rng.below(nfn) as u64 + 1).collect();
        let size = [16i64, 32, 48, 64, 128, 256, 512, 1024, 4096, 32768][rng.below(10)];
        let objs = 1 + rng.below(4096) as i64;
        let inuse = rng.below(objs as usize + 1) as i64;
        let grown = if spec.growth != 1.0 && s % 20 == 0 { ((inuse as f64) * spec.growth) as i64 } else { inuse };
        // The grown objects were allocated since: alloc grows by as many.
        let objs = objs + (grown - inuse).max(0);
        p.sample.push(proto::Sample {
            location_id: stack,
            value: vec![objs, objs * size, grown, grown * size],
            label: vec![proto::Label { key: label_key, str: 0, num: size, num_unit: 0 }],
        });
    }
    p.string_table = strings;
    p
}

/// Encodes `spec` as a gzip protobuf, at the fast level `runtime/pprof` uses.
pub fn gzip_bytes(spec: &Spec) -> Vec<u8> {
    let raw = profile(spec).encode_to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::with_capacity(raw.len() / 2), flate2::Compression::fast());
    gz.write_all(&raw).expect("write to Vec");
    gz.finish().expect("finish gzip")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `live` zeroes the inuse values of most sites and changes nothing
    /// else: the same stacks and alloc values as the default spec.
    #[test]
    fn live_zeroes_only_inuse_values() {
        let spec = Spec { samples: 5000, functions: 500, ..Spec::default() };
        let all = profile(&spec);
        let some = profile(&Spec { live: 0.1, ..spec });
        assert_eq!(all.sample.len(), some.sample.len());
        let mut zero = 0;
        for (s, (a, b)) in all.sample.iter().zip(&some.sample).enumerate() {
            assert_eq!(a.location_id, b.location_id);
            assert_eq!(a.value[..2], b.value[..2], "alloc values of sample {s}");
            if b.value[2..] == [0, 0] {
                zero += 1;
                assert!(s % 64 != 0 || a.value[2] == 0, "growing site {s} was freed");
            } else {
                assert_eq!(a.value[2..], b.value[2..]);
            }
        }
        // 90% of sites drawn freed, less the growing ones (1 in 64).
        assert!((4250..4600).contains(&zero), "{zero} of 5000 zero");
        let zero_all = all.sample.iter().filter(|s| s.value[2..] == [0, 0]).count();
        assert!(zero_all < 100, "{zero_all} of 5000 zero by default");
    }
}
