//! Go's `math.Exp` as `go tool pprof` computes it on amd64, bit for bit.
//!
//! pprof scales legacy heap samples by `1 / (1 - exp(-avg/rate))` and
//! truncates the products to integers, so one ulp of difference in `exp`
//! can change a reported value by one. On amd64 Go does not use a libm
//! `exp` but its own assembly (`math/exp_amd64.s`, after Shibata's SLEEF
//! method), with a fused multiply-add variant picked at run time when the
//! CPU has AVX and FMA. Both variants are reproduced here operation by
//! operation; [`exp`] picks the one Go would pick on this machine.
//!
//! Other architectures have their own Go implementations (arm64 and s390x
//! assembly, pure Go elsewhere); on them this module uses the FMA variant,
//! which can differ from that platform's pprof in the last ulp.

// The constants are copied digit for digit from exp_amd64.s; the parser
// rounds them to the same doubles as Go's assembler does.
#![allow(clippy::excessive_precision, clippy::approx_constant)]

const LOG2E: f64 = 1.4426950408889634073599246810018920;
const LN2U: f64 = 0.69314718055966295651160180568695068359375;
const LN2L: f64 = 0.28235290563031577122588448175013436025525412068e-12;
const OVERFLOW: f64 = 7.09782712893384e+02;
// exprodata: 0.5, 1.0, 2.0, then the Taylor coefficients 1/3! .. 1/8!.
const C3: f64 = 1.6666666666666666667e-1;
const C4: f64 = 4.1666666666666666667e-2;
const C5: f64 = 8.3333333333333333333e-3;
const C6: f64 = 1.3888888888888888889e-3;
const C7: f64 = 1.9841269841269841270e-4;
const C8: f64 = 2.4801587301587301587e-5;

/// `math.Exp(x)` as Go computes it on amd64 on this CPU.
pub fn exp(x: f64) -> f64 {
    exp_variant(x, use_fma())
}

#[cfg(target_arch = "x86_64")]
fn use_fma() -> bool {
    // Go: useFMA = cpu.X86.HasAVX && cpu.X86.HasFMA
    std::is_x86_feature_detected!("avx") && std::is_x86_feature_detected!("fma")
}

#[cfg(not(target_arch = "x86_64"))]
fn use_fma() -> bool {
    true
}

/// `CVTSD2SL`: round to nearest, ties to even; out of range (or NaN) gives
/// the "integer indefinite" value `i32::MIN`.
fn cvtsd2sl(v: f64) -> i32 {
    let r = v.round_ties_even();
    if (-2147483648.0..=2147483647.0).contains(&r) {
        r as i32
    } else {
        i32::MIN
    }
}

/// One of the two code paths of `archExp`, selected by `fma`.
pub fn exp_variant(x: f64, fma: bool) -> f64 {
    let bits = x.to_bits();
    if bits & !(1u64 << 63) >= 0x7FF0_0000_0000_0000 {
        // NaN or ±Inf: exp(-Inf) = 0, otherwise x itself.
        return if bits == 0xFFF0_0000_0000_0000 { 0.0 } else { x };
    }
    if x > OVERFLOW {
        return f64::INFINITY;
    }
    let k = cvtsd2sl(LOG2E * x);
    let kf = f64::from(k);
    let mut x0;
    if fma {
        // VFNMADD231SD: x0 = -(kf*c) + x0, one rounding.
        x0 = (-kf).mul_add(LN2U, x);
        x0 = (-kf).mul_add(LN2L, x0);
        x0 *= 0.0625;
        let mut x1 = C8;
        for c in [C7, C6, C5, C4, C3, 0.5, 1.0] {
            x1 = x1.mul_add(x0, c);
        }
        x0 *= x1;
        for _ in 0..3 {
            let t = x0 + 2.0;
            x0 *= t;
        }
        let t = x0 + 2.0;
        x0 = t.mul_add(x0, 1.0);
    } else {
        x0 = x - LN2U * kf;
        x0 -= LN2L * kf;
        x0 *= 0.0625;
        let mut x1 = C8 * x0;
        for c in [C7, C6, C5, C4, C3, 0.5] {
            x1 += c;
            x1 *= x0;
        }
        x1 += 1.0;
        x0 *= x1;
        for _ in 0..4 {
            let t = 2.0 + x0;
            x0 *= t;
        }
        x0 += 1.0;
    }
    // ldexp: fr * 2**k, with the same handling of the extremes.
    let mut b = k.wrapping_add(0x3FF);
    if b <= 0 {
        if b < -52 {
            return 0.0;
        }
        b += 0x3FE;
        x0 *= f64::from_bits((b as u64) << 52);
        b = 1;
    } else if b >= 0x7FF {
        return f64::INFINITY;
    }
    x0 * f64::from_bits((b as u64) << 52)
}

/// Go's `int64(f)` on amd64 (`CVTTSD2SQ`): truncation toward zero, and
/// `i64::MIN` for NaN and values out of range.
pub fn go_f64_to_i64(f: f64) -> i64 {
    if (-9223372036854775808.0..9223372036854775808.0).contains(&f) {
        f as i64
    } else {
        i64::MIN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_known_values() {
        for fma in [false, true] {
            assert_eq!(exp_variant(0.0, fma), 1.0);
            assert_eq!(exp_variant(f64::NEG_INFINITY, fma), 0.0);
            assert_eq!(exp_variant(f64::INFINITY, fma), f64::INFINITY);
            assert!(exp_variant(f64::NAN, fma).is_nan());
            assert_eq!(exp_variant(710.0, fma), f64::INFINITY);
            assert_eq!(exp_variant(-1e10, fma), 0.0);
            // Within an ulp or two of the correctly rounded value.
            for x in [-1.0, -0.5, -1e-9, -3.7, -700.0, 1.0, 88.0] {
                let (got, want) = (exp_variant(x, fma), x.exp());
                assert!(((got - want) / want).abs() < 1e-15, "exp({x}) = {got}, libm {want}");
            }
        }
        assert_eq!(go_f64_to_i64(f64::INFINITY), i64::MIN);
        assert_eq!(go_f64_to_i64(f64::NAN), i64::MIN);
        assert_eq!(go_f64_to_i64(-2.9), -2);
    }

    /// `math.Float64bits(math.Exp(x))` printed by Go 1.26 on amd64, with
    /// FMA and with `GODEBUG=cpu.fma=off`: inputs where the two variants
    /// differ (and a subnormal result). During development the port was
    /// compared with Go on 10^6 random inputs per variant: no difference
    /// (while libm's `exp` differed from Go's in 8-9% of them).
    #[test]
    fn bit_exact_with_go() {
        const CASES: [(u64, u64, u64); 12] = [
            (0xc00dd79eeefe0fb8, 0x3f988fcb5f221a29, 0x3f988fcb5f221a2a),
            (0xc0011da78e9d4d51, 0x3fbe22a3ec0def27, 0x3fbe22a3ec0def28),
            (0xc081df5722fc2912, 0x0c5dcd987467840d, 0x0c5dcd987467840c),
            (0x406e1c1fb4ac5f85, 0x55a6dc2712e8123d, 0x55a6dc2712e8123e),
            (0xbfc2968374bcf7bf, 0x3febacb73f4ef321, 0x3febacb73f4ef320),
            (0xc081a437d7b4f557, 0x0d0793b9dbc187cd, 0x0d0793b9dbc187cc),
            (0xc02f3abd0b0a78ac, 0x3e8634192ad83b12, 0x3e8634192ad83b11),
            (0x4050b7140670b4bc, 0x45f600146f8aee23, 0x45f600146f8aee24),
            (0x407b52f11ec88a67, 0x675a68e3923b4177, 0x675a68e3923b4176),
            (0xc014995fb99e5afd, 0x3f77c27595f7c2b5, 0x3f77c27595f7c2b4),
            (0xc08692a95eb8e283, 0x00000000ede5ba73, 0x00000000ede5ba73),
            (0xc086894b7df5bede, 0x00000002ff259808, 0x00000002ff259808),
        ];
        for (x, fma, plain) in CASES {
            let x = f64::from_bits(x);
            assert_eq!(exp_variant(x, true).to_bits(), fma, "fma exp({x:e})");
            assert_eq!(exp_variant(x, false).to_bits(), plain, "exp({x:e})");
        }
    }
}
