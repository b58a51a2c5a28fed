//! Robust trend statistics: Mann–Kendall, Theil–Sen, and a series
//! classifier.
//!
//! Heap series are short (a handful to a few thousand points), noisy in
//! steps of the sampling period, and not normal, so rank-based tests fit:
//! Mann–Kendall asks whether later values tend to exceed earlier ones,
//! Theil–Sen takes the median of all pairwise slopes and ignores outliers
//! such as one snapshot taken right after a GC.

/// Result of the Mann–Kendall trend test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannKendall {
    /// S: concordant minus discordant pairs.
    pub s: i64,
    /// Normal approximation with continuity correction and tie correction.
    pub z: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// Mann–Kendall's S: over all pairs i < j, +1 when x[j] > x[i], −1 when
/// x[j] < x[i], 0 for ties and for pairs with a NaN (which compares with
/// nothing). O(n log n): one walk over the series, counting with a Fenwick
/// tree over value ranks how many earlier values lie below and above each.
fn mann_kendall_s(x: &[f64]) -> i64 {
    let mut ranks: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    ranks.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    ranks.dedup();
    // tree[i] covers a power-of-two run of ranks ending at i (1-based).
    let mut tree = vec![0i64; ranks.len() + 1];
    let count_le = |tree: &[i64], mut i: usize| {
        let mut c = 0;
        while i > 0 {
            c += tree[i];
            i &= i - 1;
        }
        c
    };
    let (mut s, mut seen) = (0i64, 0i64);
    for &v in x.iter().filter(|v| !v.is_nan()) {
        let r = ranks.partition_point(|&u| u < v); // values below v: ranks 0..r
        let below = count_le(&tree, r);
        let above = seen - count_le(&tree, r + 1);
        s += below - above;
        let mut i = r + 1;
        while i < tree.len() {
            tree[i] += 1;
            i += i & i.wrapping_neg();
        }
        seen += 1;
    }
    s
}

/// Mann–Kendall test on `x` (in time order). O(n log n).
pub fn mann_kendall(x: &[f64]) -> MannKendall {
    let n = x.len();
    let s = mann_kendall_s(x);
    // Tie correction: groups of equal values.
    let mut sorted: Vec<f64> = x.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let mut ties = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && sorted[j + 1] == sorted[i] {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        if t > 1.0 {
            ties += t * (t - 1.0) * (2.0 * t + 5.0);
        }
        i = j + 1;
    }
    let nf = n as f64;
    let var = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0;
    let z = if var <= 0.0 {
        0.0
    } else if s > 0 {
        (s as f64 - 1.0) / var.sqrt()
    } else if s < 0 {
        (s as f64 + 1.0) / var.sqrt()
    } else {
        0.0
    };
    let p = 2.0 * (1.0 - normal_cdf(z.abs()));
    MannKendall { s, z, p }
}

/// Standard normal CDF (Abramowitz–Stegun 7.1.26 via erf; |error| < 1.5e-7).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * (1.0 + erf(z / std::f64::consts::SQRT_2))
}

fn erf(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t + 0.254_829_592)
            * t
            * (-x * x).exp();
    sign * y
}

/// Theil–Sen slope of `y` over `t`: the median of all pairwise slopes.
///
/// There are n(n-1)/2 of them: 4 MB of slopes at 1,000 snapshots, 400 MB
/// at 10,000. Up to `ALL_PAIRS` (2^20) pairs they are all collected and the
/// median selected; beyond, the median is found with memory independent of
/// n (`median_slope_bounded`), equal to the same bit.
pub fn theil_sen(t: &[f64], y: &[f64]) -> f64 {
    if t.len() * t.len().saturating_sub(1) / 2 <= ALL_PAIRS {
        theil_sen_all_pairs(t, y)
    } else {
        median_slope_bounded(t, y, SAMPLE, KEEP)
    }
}

/// Pairs up to which [`theil_sen`] collects every slope (8 MiB of them,
/// 1,448 snapshots), as it always did, which is fastest.
const ALL_PAIRS: usize = 1 << 20;
/// Slopes sampled per round by [`median_slope_bounded`].
const SAMPLE: usize = 4096;
/// Slopes inside a round's bracket that [`median_slope_bounded`] keeps.
const KEEP: usize = 1 << 16;

/// The slope of the pair (i, j), as [`theil_sen`] has always computed it
/// (`None` when the two times are equal). A zero is always +0: with times
/// out of order a flat pair would give -0, which compares equal to +0 and
/// so would make the median's sign depend on the selection's order.
#[inline]
fn slope(t: &[f64], y: &[f64], i: usize, j: usize) -> Option<f64> {
    let dt = t[j] - t[i];
    (dt != 0.0).then(|| (y[j] - y[i]) / dt + 0.0)
}

/// Calls `f` with the slope of every pair (i < j) that has one, in the
/// order every pass over the pairs has always used.
#[inline]
fn for_each_slope(t: &[f64], y: &[f64], mut f: impl FnMut(f64)) {
    for i in 0..t.len() {
        for j in i + 1..t.len() {
            if let Some(s) = slope(t, y, i, j) {
                f(s);
            }
        }
    }
}

fn by_value(a: &f64, b: &f64) -> std::cmp::Ordering {
    a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal)
}

fn theil_sen_all_pairs(t: &[f64], y: &[f64]) -> f64 {
    let mut slopes = Vec::with_capacity(t.len() * t.len().saturating_sub(1) / 2);
    for_each_slope(t, y, |s| slopes.push(s));
    if slopes.is_empty() {
        return 0.0;
    }
    let mid = slopes.len() / 2;
    let (_, m, _) = slopes.select_nth_unstable_by(mid, by_value);
    let m = *m;
    if slopes.len() % 2 == 1 {
        m
    } else {
        let lower = slopes[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (m + lower) / 2.0
    }
}

/// A small deterministic generator (xorshift64*): the same run gives the
/// same brackets, though any bracket gives the same answer.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) % n.max(1)
    }
}

/// [`theil_sen_all_pairs`]'s answer, keeping at most `sample + keep`
/// slopes at a time. The median's two ranks are bracketed by values from a
/// uniform sample of the slopes; one pass over all pairs counts the slopes
/// below, at and above the bracket and keeps those inside. When more than
/// `keep` are inside, the pass samples them instead (reservoir sampling)
/// and the next round brackets tighter, about ten times fewer per round.
/// The ranks are then read exactly. A round whose bracket misses a rank is
/// done again with a wider one, falling back to the last bracket, which
/// held both. Should 64 rounds not do, each rank is found by bisecting the
/// values' bit patterns instead, 64 counting passes. Slopes
/// are computed exactly as [`theil_sen_all_pairs`] computes them, and an
/// order statistic is one value, so the answer is the same to the bit.
fn median_slope_bounded(t: &[f64], y: &[f64], sample: usize, keep: usize) -> f64 {
    let n = t.len();
    // Times in order (a trend's always are): every pair has a slope.
    let count = if t.windows(2).all(|w| w[0] < w[1]) {
        n * (n - 1) / 2
    } else {
        let mut c = 0;
        for_each_slope(t, y, |_| c += 1);
        c
    };
    if count == 0 {
        return 0.0;
    }
    let mid = count / 2;
    let ranks = if count % 2 == 1 { [mid, mid] } else { [mid - 1, mid] };
    // Unlucky samples, or values too tied for a bracket: bisect.
    let [l, m] =
        bracketed_ranks(t, y, count, ranks, sample, keep).unwrap_or_else(|| ranks.map(|r| kth_slope_bisect(t, y, r)));
    if count % 2 == 1 {
        m
    } else {
        (m + l) / 2.0
    }
}

/// The slopes of ranks `ranks` among the `count` pairs, by rounds of
/// sampled brackets ([`median_slope_bounded`]); `None` after 64 rounds.
fn bracketed_ranks(
    t: &[f64],
    y: &[f64],
    count: usize,
    ranks: [usize; 2],
    sample: usize,
    keep: usize,
) -> Option<[f64; 2]> {
    let n = t.len();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // The first sample: pairs drawn at random (equal times redrawn, a
    // bounded number of times).
    let mut pool: Vec<f64> = Vec::with_capacity(sample);
    for _ in 0..sample * 4 {
        if pool.len() == sample {
            break;
        }
        let (i, j) = (rng.below(n as u64) as usize, rng.below(n as u64) as usize);
        if let Some(s) = slope(t, y, i.min(j), i.max(j)).filter(|_| i != j) {
            pool.push(s);
        }
    }
    // The bracket, as (lo, hi) with the rank of lo's first slope among all
    // (`below`) and the number of slopes inside; infinite ends hold none.
    let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
    let (mut below, mut inside) = (0usize, count);
    // How many standard deviations of the sample the bracket is widened
    // by: doubled after each miss, so that it falls back to the last
    // bracket, which held both ranks.
    let mut spread = 3.0;
    let mut kept: Vec<f64> = Vec::new();
    for _round in 0..64 {
        // Narrow (lo, hi) from the pool, a uniform sample of the slopes
        // inside it: the ranks' positions in the pool, widened.
        pool.sort_unstable_by(by_value);
        let (mut new_lo, mut new_hi) = (lo, hi);
        if !pool.is_empty() && inside > 0 {
            let at = |r: usize| (r.saturating_sub(below) as f64 * pool.len() as f64 / inside as f64) as isize;
            let wide = (spread * (pool.len() as f64).sqrt()) as isize + 1;
            let (a, b) = (at(ranks[0]) - wide, at(ranks[1]) + wide);
            if a >= 0 && (a as usize) < pool.len() {
                new_lo = pool[a as usize];
            }
            if b >= 0 && (b as usize) < pool.len() {
                new_hi = pool[b as usize];
            }
        }
        // One pass: counts below and at the ends, slopes inside kept (up
        // to `keep`) and sampled.
        let (mut b_lt, mut at_lo, mut at_hi, mut n_in) = (0usize, 0usize, 0usize, 0usize);
        kept.clear();
        let mut next_pool: Vec<f64> = Vec::with_capacity(sample);
        for_each_slope(t, y, |s| {
            if s < new_lo {
                b_lt += 1;
            } else if s == new_lo {
                at_lo += 1;
            } else if s < new_hi {
                n_in += 1;
                if kept.len() < keep {
                    kept.push(s);
                }
                if next_pool.len() < sample {
                    next_pool.push(s);
                } else {
                    let r = rng.below(n_in as u64) as usize;
                    if r < sample {
                        next_pool[r] = s;
                    }
                }
            } else if s == new_hi {
                at_hi += 1;
            }
        });
        let inside_from = b_lt + at_lo;
        let inside_to = inside_from + n_in;
        if !ranks.iter().all(|&r| r >= b_lt && r < inside_to + at_hi) {
            // The sample misled: the same pool, a wider bracket.
            spread *= 2.0;
            continue;
        }
        spread = 3.0;
        let inner = |r: usize| r >= inside_from && r < inside_to;
        if n_in <= keep || !ranks.iter().any(|&r| inner(r)) {
            kept.sort_unstable_by(by_value);
            let value = |r: usize| {
                if r < inside_from {
                    new_lo
                } else if r < inside_to {
                    kept[r - inside_from]
                } else {
                    new_hi
                }
            };
            return Some(ranks.map(value));
        }
        (lo, hi, below, inside, pool) = (new_lo, new_hi, inside_from, n_in, next_pool);
    }
    None
}

/// The slope of rank `r` (0 = smallest), by bisecting on the order of
/// their bit patterns: 64 passes that only count.
fn kth_slope_bisect(t: &[f64], y: &[f64], r: usize) -> f64 {
    // Orders f64 as integers: negatives flipped, positives above them.
    let key = |s: f64| {
        let b = s.to_bits();
        if b >> 63 == 1 {
            !b
        } else {
            b | 1 << 63
        }
    };
    let at_most = |k: u64| {
        let mut c = 0usize;
        for_each_slope(t, y, |s| c += usize::from(key(s) <= k));
        c
    };
    // The smallest key with more than r slopes at or below it.
    let (mut a, mut b) = (0u64, u64::MAX);
    while a < b {
        let m = a + (b - a) / 2;
        if at_most(m) > r {
            b = m;
        } else {
            a = m + 1;
        }
    }
    let bits = if a >> 63 == 1 { a & !(1 << 63) } else { !a };
    f64::from_bits(bits)
}

pub use crate::report::trend::Shape;

/// Classifies a series. `noise` is the change below which two values are
/// considered equal (e.g. the sampling period for heap bytes).
pub fn classify(y: &[f64], noise: f64) -> Shape {
    let n = y.len();
    if n < 2 {
        return Shape::Flat;
    }
    let first = y[0];
    let last = y[n - 1];
    let total = last - first;
    let max = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = y.iter().copied().fold(f64::INFINITY, f64::min);
    if max - min <= noise {
        return Shape::Flat;
    }
    let strictly_up = y.windows(2).all(|w| w[1] > w[0]);
    let mk = mann_kendall(y);
    let significant = n >= 4 && mk.p < 0.05;
    // Is the growth still happening in the second half?
    let half = &y[n / 2..];
    let tail_rise = half.last().copied().unwrap_or(0.0) - half.first().copied().unwrap_or(0.0);
    let tail_mk = if half.len() >= 4 { Some(mann_kendall(half)) } else { None };
    let tail_growing = tail_rise > noise && tail_mk.is_none_or(|m| m.s > 0);
    if total > noise && (strictly_up || (significant && mk.s > 0)) {
        if tail_growing || strictly_up {
            return Shape::MonotonicGrowth;
        }
        return Shape::Plateau;
    }
    if significant && mk.s < 0 && total < -noise {
        return Shape::Shrinking;
    }
    if total > noise && !tail_growing && (max - last) <= noise.max(0.25 * (max - first)) {
        return Shape::Plateau;
    }
    // Up and down: count reversals larger than the noise.
    let drops = y.windows(2).filter(|w| w[0] - w[1] > noise).count();
    let rises = y.windows(2).filter(|w| w[1] - w[0] > noise).count();
    if drops > 0 && rises > 0 {
        return Shape::Churn;
    }
    if total.abs() <= noise {
        Shape::Flat
    } else if total > 0.0 {
        Shape::Plateau
    } else {
        Shape::Shrinking
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Series of every kind the bounded median meets: noisy growth, flat,
    /// exactly linear (every slope tied), steps, few distinct values,
    /// repeated times, huge values, unsorted times.
    fn series_zoo() -> Vec<(Vec<f64>, Vec<f64>)> {
        let mut rng = Rng(7);
        let mut out = Vec::new();
        for n in [2usize, 3, 7, 40, 90, 150, 301] {
            let idx: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let hours: Vec<f64> = (0..n).map(|i| i as f64 * 0.25 + (rng.below(1000) as f64) * 1e-4).collect();
            let noisy: Vec<f64> = (0..n).map(|i| (i * 1000 + rng.below(5000) as usize) as f64).collect();
            let flat = vec![4096.0; n];
            let linear: Vec<f64> = (0..n).map(|i| 10.0 + 3.0 * i as f64).collect();
            let steps: Vec<f64> = (0..n).map(|i| ((i / 10) * 512) as f64).collect();
            let few: Vec<f64> = (0..n).map(|_| (rng.below(3) * 100) as f64).collect();
            let huge: Vec<f64> = (0..n).map(|i| 9.0e18 - (i as f64) * 1.0e15 * rng.below(3) as f64).collect();
            let dup_t: Vec<f64> = (0..n).map(|i| (i / 3) as f64).collect();
            let shuffled_t: Vec<f64> = (0..n).map(|_| rng.below(50) as f64).collect();
            for y in [&noisy, &flat, &linear, &steps, &few, &huge] {
                for t in [&idx, &hours, &dup_t, &shuffled_t] {
                    out.push((t.clone(), y.clone()));
                }
            }
        }
        out
    }

    /// The bounded median equals the all-pairs one to the bit, with small
    /// samples and buffers so that it takes several rounds and misses.
    #[test]
    fn bounded_median_equals_all_pairs() {
        for (t, y) in series_zoo() {
            let want = theil_sen_all_pairs(&t, &y);
            // Samples too small to narrow the bracket run out of rounds
            // and bisect: only on short series.
            let tiny: &[(usize, usize)] = if t.len() <= 40 { &[(16, 32), (2, 1), (0, 0)] } else { &[] };
            for &(sample, keep) in [(4096, 1 << 16), (1024, 2048), (256, 512)].iter().chain(tiny) {
                let got = median_slope_bounded(&t, &y, sample, keep);
                assert_eq!(got.to_bits(), want.to_bits(), "n {} sample {sample} keep {keep}: {got} vs {want}", t.len());
            }
        }
    }

    #[test]
    fn bisection_finds_every_rank() {
        for (t, y) in series_zoo().into_iter().filter(|(t, _)| t.len() <= 40) {
            let mut all: Vec<f64> = (0..t.len())
                .flat_map(|i| (i + 1..t.len()).filter_map(|j| slope(&t, &y, i, j)).collect::<Vec<_>>())
                .collect();
            all.sort_by(by_value);
            let last = all.len().saturating_sub(1);
            for r in [0, 1, all.len() / 3, all.len() / 2, last.saturating_sub(1), last] {
                if let Some(want) = all.get(r) {
                    assert_eq!(kth_slope_bisect(&t, &y, r).to_bits(), want.to_bits(), "rank {r}");
                }
            }
        }
    }

    #[test]
    fn mann_kendall_detects_trends() {
        let up: Vec<f64> = (0..10).map(|i| i as f64).collect();
        let mk = mann_kendall(&up);
        assert_eq!(mk.s, 45);
        assert!(mk.p < 0.001);
        let flat = [5.0, 5.0, 5.0, 5.0, 5.0];
        assert_eq!(mann_kendall(&flat).s, 0);
        assert!((mann_kendall(&flat).p - 1.0).abs() < 1e-6, "erf approximation error is below 1.5e-7");
        // A textbook value: n = 10, S = 45, Var = 125, Z = 44/sqrt(125) = 3.935
        assert!((mk.z - 3.9355).abs() < 1e-3);
    }

    /// The pairwise definition of S, as the test was first written.
    fn s_by_pairs(x: &[f64]) -> i64 {
        let mut s = 0;
        for i in 0..x.len() {
            for j in i + 1..x.len() {
                s += match x[j].partial_cmp(&x[i]) {
                    Some(std::cmp::Ordering::Greater) => 1,
                    Some(std::cmp::Ordering::Less) => -1,
                    _ => 0,
                };
            }
        }
        s
    }

    #[test]
    fn mann_kendall_s_matches_the_pairwise_count() {
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        for n in [0usize, 1, 2, 3, 5, 17, 64, 300] {
            for spread in [1u64, 3, 10, 1_000_000] {
                let x: Vec<f64> = (0..n).map(|_| (next() % spread) as f64).collect();
                assert_eq!(mann_kendall_s(&x), s_by_pairs(&x), "n={n} spread={spread}");
            }
        }
        let odd = [3.0, f64::NAN, 1.0, -0.0, 0.0, f64::INFINITY, 2.0, f64::NAN, f64::NEG_INFINITY, 1.0];
        assert_eq!(mann_kendall_s(&odd), s_by_pairs(&odd));
    }

    #[test]
    fn theil_sen_ignores_an_outlier() {
        let t: Vec<f64> = (0..9).map(|i| i as f64).collect();
        let mut y: Vec<f64> = t.iter().map(|x| 2.0 * x + 1.0).collect();
        y[4] = 100.0;
        assert!((theil_sen(&t, &y) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn shapes() {
        let n = 1.0;
        assert_eq!(classify(&[10.0, 12.0, 15.0, 16.0, 20.0, 24.0], n), Shape::MonotonicGrowth);
        // noisy but significant and still rising
        assert_eq!(classify(&[10.0, 14.0, 13.0, 18.0, 17.0, 22.0, 21.0, 26.0], n), Shape::MonotonicGrowth);
        assert_eq!(classify(&[10.0, 20.0, 28.0, 30.0, 30.0, 30.0, 30.0, 30.0], n), Shape::Plateau);
        assert_eq!(classify(&[10.0, 30.0, 10.0, 30.0, 10.0, 30.0, 10.0], n), Shape::Churn);
        assert_eq!(classify(&[10.0, 10.5, 10.2, 10.0, 10.4], n), Shape::Flat);
        assert_eq!(classify(&[30.0, 26.0, 22.0, 20.0, 15.0, 11.0], n), Shape::Shrinking);
    }

    #[test]
    fn sparklines() {
        assert_eq!(crate::report::trend::sparkline(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]), "▁▂▃▄▅▆▇█");
        assert_eq!(crate::report::trend::sparkline(&[3.0, 3.0]), "▁▁");
    }
}
