//! Robust trend statistics: Mann–Kendall, Theil–Sen, and a series
//! classifier.
//!
//! Heap series are short (a handful to a few thousand points), noisy in
//! steps of the sampling period, and not normal, so rank-based tests fit:
//! Mann–Kendall asks whether later values tend to exceed earlier ones,
//! Theil–Sen takes the median of all pairwise slopes and ignores outliers
//! such as one snapshot taken right after a GC.

use serde::Serialize;

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

/// Mann–Kendall test on `x` (in time order). O(n²); callers cap n.
pub fn mann_kendall(x: &[f64]) -> MannKendall {
    let n = x.len();
    let mut s: i64 = 0;
    for i in 0..n {
        for j in i + 1..n {
            s += match x[j].partial_cmp(&x[i]) {
                Some(std::cmp::Ordering::Greater) => 1,
                Some(std::cmp::Ordering::Less) => -1,
                _ => 0,
            };
        }
    }
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

/// The shape of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// Grew in every interval, or a significant upward trend that is still
    /// rising at the end: the signature of a leak.
    MonotonicGrowth,
    /// Grew, then levelled off: warm-up, a cache filling to its bound.
    Plateau,
    /// Goes up and down without a significant trend: churn, a sawtooth.
    Churn,
    /// No significant change.
    Flat,
    /// A significant downward trend.
    Shrinking,
}

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

/// A sparkline of `y` with eight levels.
pub fn sparkline(y: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = y.iter().copied().fold(f64::INFINITY, f64::min);
    y.iter()
        .map(|&v| {
            if max <= min {
                BARS[0]
            } else {
                let i = ((v - min) / (max - min) * 7.0).round() as usize;
                BARS[i.min(7)]
            }
        })
        .collect()
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
        assert_eq!(sparkline(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]), "▁▂▃▄▅▆▇█");
        assert_eq!(sparkline(&[3.0, 3.0]), "▁▁");
    }
}
