//! Fast level-to-dB and dB-to-gain conversions for per-sample gain computers (the compressor and expander call
//! them once per frame, where `log10` and `powf` cost most of the effect).
//!
//! Both split a float into its exponent bits and a mantissa, and evaluate a short series on the mantissa whose
//! truncation error has a closed-form bound (stated on each function, tested over -200..+100 dB against
//! `log10`/`powf` in `tests/dynamics.rs`). They use only f64 arithmetic and integer bit operations, so they
//! compile to the same few instructions natively and in WebAssembly, with no libm call.

/// 20 log10(2): dB per octave of amplitude.
pub const DB_PER_LOG2: f64 = 6.020_599_913_279_624;

/// log2(10) / 20: octaves of amplitude per dB.
pub const LOG2_PER_DB: f64 = 0.166_096_404_744_368_1;

/// The bits of sqrt(1/2): mantissas are folded into [sqrt(1/2), sqrt(2)) so the series argument stays small.
const SQRT_HALF_BITS: u64 = 0x3fe6_a09e_667f_3bcd;

/// The bound on `fast_log2`'s error in octaves: the first omitted term of the atanh series (s^9 / 9 at
/// |s| <= 3 - 2 sqrt(2)), over 1 - s^2 for the whole tail, times 2 / ln 2, plus a margin for rounding.
pub const LOG2_MAX_ERROR: f64 = 5e-8;

/// `fast_level_db`'s error bound in dB: `LOG2_MAX_ERROR` octaves, about 3e-7 dB.
pub const LEVEL_DB_MAX_ERROR: f64 = LOG2_MAX_ERROR * DB_PER_LOG2;

/// log2(x) for a positive normal x (not 0, subnormal, infinite or NaN: callers clamp first), within
/// `LOG2_MAX_ERROR` (5e-8) octaves.
///
/// Reference: the exponent/mantissa split of musl's `log2` (x = 2^k z with z in [sqrt(1/2), sqrt(2)), found with
/// integer operations on the bits, no branch), then ln z = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + s^7/7 + ...) with
/// s = (z - 1)/(z + 1) (Abramowitz and Stegun 4.1.27). |s| <= 3 - 2 sqrt(2) = 0.1716, so the terms left out after
/// s^7 sum to at most 2/ln2 * s^9/9 / (1 - s^2) = 4.3e-8 octaves.
#[inline(always)]
pub fn fast_log2(x: f64) -> f64 {
    let bits = x.to_bits();
    // x = 2^k z: the bits of x less those of sqrt(1/2) are k in the exponent field and z's mantissa offset below.
    // Only unsigned adds, masks and logical shifts, so a loop over levels can run this on SIMD lanes.
    let offset = bits.wrapping_sub(SQRT_HALF_BITS);
    let z = f64::from_bits(SQRT_HALF_BITS + (offset & MANTISSA_MASK));
    let k = small_int_to_f64((offset.wrapping_add(EXPONENT_BIAS << 52)) >> 52) - EXPONENT_BIAS as f64;
    let s = (z - 1.0) / (z + 1.0);
    let s2 = s * s;
    // 2/ln2 * (1, 1/3, 1/5, 1/7).
    const C1: f64 = 2.885_390_081_777_926_8;
    const C3: f64 = C1 / 3.0;
    const C5: f64 = C1 / 5.0;
    const C7: f64 = C1 / 7.0;
    k + s * (C1 + s2 * (C3 + s2 * (C5 + s2 * C7)))
}

const MANTISSA_MASK: u64 = (1 << 52) - 1;
const EXPONENT_BIAS: u64 = 1023;

/// An integer below 2^52 as an f64, through the bits of 2^52 + n (no integer-to-float instruction, which SIMD
/// has no 64-bit form of before AVX-512).
#[inline(always)]
fn small_int_to_f64(n: u64) -> f64 {
    const TWO_52: f64 = 4_503_599_627_370_496.0;
    f64::from_bits(TWO_52.to_bits() | n) - TWO_52
}

/// The smallest level `fast_level_db` measures; anything at or below it (silence, subnormals) reads as
/// `SILENCE_DB`. -200 dB.
pub const SILENCE_LEVEL: f64 = 1e-10;

/// The level in dB that silence reads as, so that curves never see -inf (-inf x 0 would be NaN for an expander
/// at ratio 1).
pub const SILENCE_DB: f64 = -200.0;

/// A linear level (>= 0) in dB: `20 log10(level)` within `LEVEL_DB_MAX_ERROR` (3e-7 dB) above `SILENCE_LEVEL`,
/// exactly `SILENCE_DB` at or below it (so 0, subnormal or NaN levels never give -inf or NaN).
#[inline(always)]
pub fn fast_level_db(level: f64) -> f64 {
    // Computed on a clamped level and then chosen (rather than branched on), so that loops vectorise. Not
    // `clamp`: it would pass a NaN level on, where `max` replaces it.
    #[allow(clippy::manual_clamp)]
    let db = DB_PER_LOG2 * fast_log2(level.max(SILENCE_LEVEL).min(f64::MAX));
    if level > SILENCE_LEVEL {
        db
    } else {
        SILENCE_DB
    }
}

/// The bound on `fast_exp2`'s relative error: the Lagrange remainder of the degree-5 Taylor series of e^t at
/// |t| <= ln2 / 2, t^6/6! e^|t| = 3.4e-6, plus a margin for rounding.
pub const EXP2_MAX_RELATIVE_ERROR: f64 = 3.5e-6;

/// `fast_db_to_gain`'s error bound in dB: 20 log10(1 + `EXP2_MAX_RELATIVE_ERROR`) = 3.04e-5 dB.
pub const DB_TO_GAIN_MAX_ERROR: f64 = 3.1e-5;

/// 1.5 x 2^52: adding it rounds an f64 of magnitude below 2^51 to the nearest integer, which then stands in the
/// low bits of the sum's mantissa.
const ROUNDING_MAGIC: f64 = 6_755_399_441_055_744.0;

/// 2^y for y in [-1022, 1023] (clamped there, so the result is always a normal float), within
/// `EXP2_MAX_RELATIVE_ERROR` (3.5e-6) relative error.
///
/// Reference: the classic range reduction of exp (Cody and Waite): y = n + f with n = round(y) taken from the
/// bits of y + 1.5 x 2^52, so |f| <= 1/2; 2^n is built in the exponent bits and 2^f = e^t, t = f ln2, from the
/// Taylor series to t^5 (one term more costs a multiply-add and buys nothing audible: 3e-5 dB is already
/// 30 times inside the 0.001 dB the gain computers allow).
#[inline(always)]
pub fn fast_exp2(y: f64) -> f64 {
    let y = y.clamp(-1022.0, 1023.0);
    let shifted = y + ROUNDING_MAGIC;
    let t = (y - (shifted - ROUNDING_MAGIC)) * std::f64::consts::LN_2;
    // e^t = 1 + t + t^2/2! + ... + t^5/5!, in Horner form.
    let poly = 1.0 + t * (1.0 + t * (1.0 / 2.0 + t * (1.0 / 6.0 + t * (1.0 / 24.0 + t * (1.0 / 120.0)))));
    // round(y) + 1023 sits in the low bits of `shifted` (two's complement; the magic's own bits there are 0), and
    // the shift keeps exactly its 11 exponent bits.
    let scale = f64::from_bits(shifted.to_bits().wrapping_add(EXPONENT_BIAS) << 52);
    poly * scale
}

/// A gain in dB to a linear factor: `10^(db/20)` within `DB_TO_GAIN_MAX_ERROR` (3.1e-5 dB) for db in
/// [-6000, 6000] (outside, clamped to about 2^-1022 .. 2^1023).
#[inline(always)]
pub fn fast_db_to_gain(db: f64) -> f64 {
    fast_exp2(db * LOG2_PER_DB)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_is_exact_at_powers_of_two_and_folds_mantissas_at_sqrt2() {
        for k in -40..40 {
            let x = 2f64.powi(k);
            assert!((fast_log2(x) - k as f64).abs() < 1e-15, "{k}");
        }
        // Just below and above sqrt(2), the two sides of the fold agree with log2 and with each other.
        let r2 = std::f64::consts::SQRT_2;
        for x in [r2 * (1.0 - 1e-15), r2, r2 * (1.0 + 1e-15)] {
            assert!((fast_log2(x) - 0.5).abs() < LOG2_MAX_ERROR, "{x}");
        }
    }

    #[test]
    fn exp2_is_exact_at_integers_and_clamps_to_normal_floats() {
        for n in -1022..=1023 {
            assert_eq!(fast_exp2(n as f64), 2f64.powi(n), "{n}");
        }
        assert_eq!(fast_exp2(-5000.0), f64::MIN_POSITIVE);
        assert!(fast_exp2(5000.0).is_finite());
    }

    #[test]
    fn silence_and_bad_levels_read_as_silence_db() {
        for level in [0.0, -0.0, 1e-320, 5e-324, SILENCE_LEVEL, f64::NAN, -1.0] {
            assert_eq!(fast_level_db(level), SILENCE_DB, "{level}");
        }
        assert!((fast_level_db(f64::INFINITY) - 20.0 * f64::MAX.log10()).abs() < 1e-6);
    }
}
