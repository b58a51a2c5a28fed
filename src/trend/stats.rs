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
pub fn theil_sen(t: &[f64], y: &[f64]) -> f64 {
    let mut slopes = Vec::with_capacity(t.len() * t.len().saturating_sub(1) / 2);
    for i in 0..t.len() {
        for j in i + 1..t.len() {
            let dt = t[j] - t[i];
            if dt != 0.0 {
                slopes.push((y[j] - y[i]) / dt);
            }
        }
    }
    if slopes.is_empty() {
        return 0.0;
    }
    let mid = slopes.len() / 2;
    let (_, m, _) = slopes.select_nth_unstable_by(mid, |a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let m = *m;
    if slopes.len() % 2 == 1 {
        m
    } else {
        let lower = slopes[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (m + lower) / 2.0
    }
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
