//! Fast level-to-dB and dB-to-gain conversions for per-sample gain computers (the compressor and expander call
//! them once per frame, where `log10` and `powf` cost most of the effect).
//!
//! Both split an f32 into its exponent bits and a mantissa and evaluate a short polynomial on the mantissa. They
//! use only f32 arithmetic, one division, selects, and 32-bit integer adds, masks and shifts on the bits: no
//! branch and no libm call, so a loop over a block of levels runs them four samples at a time on SSE2 (and on
//! wasm SIMD128), and scalar WebAssembly runs the same few instructions. Their error bounds are stated on each
//! function and measured over -200..+100 dB against `log10`/`powf` in f64 (`tests/dynamics.rs`); both are far
//! inside the 0.001 dB the gain computers allow, and f32 rounding is most of what is left.

/// 20 log10(2): dB per octave of amplitude.
pub const DB_PER_LOG2: f32 = 6.020_6;

/// log2(10) / 20: octaves of amplitude per dB.
pub const LOG2_PER_DB: f32 = 0.166_096_4;

/// The smallest level `fast_level_db` measures; anything at or below it (silence, subnormals) reads as
/// `SILENCE_DB`. -200 dB.
pub const SILENCE_LEVEL: f32 = 1e-10;

/// The level in dB that silence reads as, so that curves never see -inf (-inf x 0 would be NaN for an expander
/// at ratio 1).
pub const SILENCE_DB: f32 = -200.0;

/// The bits of sqrt(1/2) (rounded down): mantissas are folded into [sqrt(1/2), sqrt(2)) so that the series
/// argument stays small.
const SQRT_HALF_BITS: u32 = 0x3f35_04f3;
const MANTISSA_MASK: u32 = (1 << 23) - 1;
const EXPONENT_BIAS: u32 = 127;

/// log2(x) for a positive normal f32 (not 0, subnormal, infinite or NaN: callers clamp first).
///
/// Error: the series truncation below is at most 1.9e-6 octaves, and rounding the result to f32 adds at most
/// half an ulp (1.9e-6 octaves for |log2 x| < 64, so for levels from -200 to +100 dB).
///
/// Reference: the exponent/mantissa split of musl's `log2` (x = 2^k z with z in [sqrt(1/2), sqrt(2)), found with
/// integer operations on the bits, no branch), then ln z = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...) with
/// s = (z - 1)/(z + 1) (Abramowitz and Stegun 4.1.27). |s| <= 3 - 2 sqrt(2) = 0.1716, so the terms left out after
/// s^5 sum to at most 2/ln2 * s^7/7 / (1 - s^2) = 1.9e-6 octaves.
#[inline(always)]
pub fn fast_log2(x: f32) -> f32 {
    let bits = x.to_bits();
    // The bits of x less those of sqrt(1/2) hold k in the exponent field and the offset of z's mantissa below.
    let offset = bits.wrapping_sub(SQRT_HALF_BITS);
    let k = ((offset as i32) >> 23) as f32;
    let z = f32::from_bits(SQRT_HALF_BITS + (offset & MANTISSA_MASK));
    let s = (z - 1.0) / (z + 1.0);
    let s2 = s * s;
    // 2/ln2 * (1, 1/3, 1/5); the two products are independent, which shortens the chain (Estrin's scheme).
    const C1: f32 = 2.885_39;
    const C3: f32 = 0.961_796_7;
    const C5: f32 = 0.577_078;
    k + s * ((C1 + s2 * C3) + (s2 * s2) * C5)
}

/// `fast_level_db`'s error bound in dB for levels from -200 to +100 dB: `fast_log2`'s 3.8e-6 octaves times
/// `DB_PER_LOG2`, plus half an ulp of the product (7.6e-6 dB at 200 dB), with a margin.
pub const LEVEL_DB_MAX_ERROR: f32 = 5e-5;

/// A linear level (>= 0) in dB: `20 log10(level)` within `LEVEL_DB_MAX_ERROR` (5e-5 dB) from -200 to +100 dB,
/// exactly `SILENCE_DB` at or below `SILENCE_LEVEL` (so 0, subnormal or NaN levels never give -inf or NaN).
#[inline(always)]
pub fn fast_level_db(level: f32) -> f32 {
    // Computed on a clamped level and then chosen (rather than branched on), so that loops vectorise. The
    // comparisons send NaN to `SILENCE_LEVEL` and compile to one min or max each (`f32::max` and `clamp` would
    // add NaN handling).
    let above_silence = level > SILENCE_LEVEL;
    let clamped = if above_silence { level } else { SILENCE_LEVEL };
    let clamped = if clamped < f32::MAX { clamped } else { f32::MAX };
    let db = DB_PER_LOG2 * fast_log2(clamped);
    if above_silence {
        db
    } else {
        SILENCE_DB
    }
}

/// 1.5 x 2^23: adding it rounds an f32 of magnitude below 2^22 to the nearest integer, which then stands in the
/// low bits of the sum's mantissa.
const ROUNDING_MAGIC: f32 = 12_582_912.0;

/// 2^y for y in [-126, 127] (clamped there, so the result is always a normal f32), within 3.8e-6 relative
/// error: the polynomial's 3.5e-6 and f32 rounding.
///
/// Reference: the classic range reduction of exp (Cody and Waite): y = n + f with n = round(y) taken from the
/// bits of y + 1.5 x 2^23, so |f| <= 1/2; 2^n is built in the exponent bits, and 2^f from the degree-4 polynomial
/// that interpolates it at the 5 Chebyshev nodes of [-1/2, 1/2] (near-minimax; its largest relative error,
/// measured on a 20001-point grid, is 3.49e-6). A node at f = 0 makes 2^n exact.
#[inline(always)]
pub fn fast_exp2(y: f32) -> f32 {
    let y = y.clamp(-126.0, 127.0);
    let shifted = y + ROUNDING_MAGIC;
    let f = y - (shifted - ROUNDING_MAGIC);
    const C1: f32 = 0.693_121;
    const C2: f32 = 0.240_223_5;
    const C3: f32 = 0.055_921_976;
    const C4: f32 = 0.009_666_368;
    let f2 = f * f;
    // Estrin's scheme: the three groups are independent.
    let poly = (1.0 + C1 * f) + f2 * (C2 + C3 * f) + (f2 * f2) * C4;
    // round(y) + 127 sits in the low bits of `shifted` (two's complement; the magic's own bits there are 0), and
    // the shift keeps exactly its 8 exponent bits.
    let scale = f32::from_bits(shifted.to_bits().wrapping_add(EXPONENT_BIAS) << 23);
    poly * scale
}

/// `fast_db_to_gain`'s error bound in dB for gains from -200 to +100 dB: `fast_exp2`'s 3.8e-6 (3.3e-5 dB), plus
/// rounding dB to octaves in f32 (at most 2e-6 octaves, 1.2e-5 dB), with a margin.
pub const DB_TO_GAIN_MAX_ERROR: f32 = 6e-5;

/// A gain in dB to a linear factor: `10^(db/20)` within `DB_TO_GAIN_MAX_ERROR` (6e-5 dB) from -200 to +100 dB
/// (outside [-758, 764] dB, clamped to the normal f32 range).
#[inline(always)]
pub fn fast_db_to_gain(db: f32) -> f32 {
    fast_exp2(db * LOG2_PER_DB)
}

/// fdlibm's split of ln2 (`ln2_hi` 0x3fe62e42fee00000, `ln2_lo` 0x3dea39ef35793c76): the high part's 21 trailing
/// zero bits make n x `LN2_HI` exact for every n of [`exp_f64`] (|n| <= 1022 < 2^21).
const LN2_HI: f64 = 0.693_147_180_369_123_8;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;

/// e^x in f64 for gains that end as f32 (the faders, which evaluate it per sample when automated): within
/// 2e-11 of `f64::exp` relatively for |x| <= 699 (measured in the tests below; x is clamped to [-708, 700]), a
/// thousandth of an f32 ulp. No branch, no table and no libm call, so a loop over a block vectorises natively and
/// stays short as scalar WebAssembly, whose `exp` is a software routine.
///
/// Reference: Cody and Waite's reduction as in fdlibm's `e_exp.c`: x = n ln2 + r with n = round(x / ln2) (from
/// the bits of x / ln2 + 1.5 x 2^52, round to nearest) and ln2 split in two parts (`LN2_HI` has 21 trailing zero
/// bits, so n x `LN2_HI` is exact), |r| <= ln2 / 2; e^r by its Taylor series to r^9 (the first term left out,
/// (ln2 / 2)^10 / 10!, is 7e-12 relative), in Estrin's scheme (independent pairs); 2^n built in the exponent bits.
#[inline(always)]
pub fn exp_f64(x: f64) -> f64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 x 2^52
    const LOG2_E: f64 = std::f64::consts::LOG2_E;
    const C: [f64; 10] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
    ];
    let x = x.clamp(-708.0, 700.0);
    let shifted = x * LOG2_E + MAGIC;
    let n = shifted - MAGIC;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let r2 = r * r;
    let r4 = r2 * r2;
    let pairs = [
        C[0] + C[1] * r,
        C[2] + C[3] * r,
        C[4] + C[5] * r,
        C[6] + C[7] * r,
        C[8] + C[9] * r,
    ];
    let low = pairs[0] + r2 * pairs[1];
    let high = pairs[2] + r2 * pairs[3] + r4 * pairs[4];
    let p = low + r4 * high;
    // round(x / ln2) sits in the low bits of `shifted` (two's complement); adding the bias and shifting keeps the
    // 11 exponent bits of 2^n (n runs from -1021 to 1010 after the clamp, so n + 1023 is in 2..=2033, below 2^11).
    let scale = f64::from_bits(shifted.to_bits().wrapping_add(1023) << 52);
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_is_exact_at_powers_of_two_and_folds_mantissas_at_sqrt2() {
        for k in -126..128 {
            let x = 2f32.powi(k);
            assert_eq!(fast_log2(x), k as f32, "{k}");
        }
        // Just below and above the fold, both sides agree with log2.
        for bits in SQRT_HALF_BITS - 2..SQRT_HALF_BITS + 2 {
            let x = f32::from_bits(bits);
            assert!((fast_log2(x) as f64 - (x as f64).log2()).abs() < 4e-6, "{x}");
            assert!(
                (fast_log2(2.0 * x) as f64 - (2.0 * x as f64).log2()).abs() < 4e-6,
                "{x}"
            );
        }
    }

    #[test]
    fn exp2_is_exact_at_integers_and_clamps_to_normal_floats() {
        for n in -126..=127 {
            assert_eq!(fast_exp2(n as f32), 2f32.powi(n), "{n}");
        }
        assert_eq!(fast_exp2(-5000.0), f32::MIN_POSITIVE);
        assert_eq!(fast_exp2(5000.0), 2f32.powi(127));
    }

    #[test]
    fn silence_and_bad_levels_read_as_silence_db() {
        for level in [0.0, -0.0, 1e-40, f32::from_bits(1), SILENCE_LEVEL, f32::NAN, -1.0] {
            assert_eq!(fast_level_db(level), SILENCE_DB, "{level}");
        }
        assert!((fast_level_db(f32::INFINITY) as f64 - 20.0 * (f32::MAX as f64).log10()).abs() < 1e-3);
    }

    #[test]
    fn exp_f64_agrees_with_libm() {
        // Worst relative error over |x| <= limit (a grid with uneven offsets).
        let worst = |limit: f64| {
            let steps = 200_000;
            (-steps..=steps)
                .map(|i| {
                    let x = limit * i as f64 / steps as f64 + 1e-9 * (i % 7) as f64;
                    ((exp_f64(x) - x.exp()) / x.exp()).abs()
                })
                .fold(0.0f64, f64::max)
        };
        // Faders and trims (-60 to +24 dB and beyond, to 260 dB either way: x = dB ln(10) / 20), and the rest.
        let (near, far) = (worst(30.0), worst(699.0));
        println!("exp_f64: largest relative error {near:.2e} for |x| <= 30, {far:.2e} for |x| <= 699");
        assert!(near <= 2e-11 && far <= 2e-11, "{near:e} and {far:e}");
        assert_eq!(exp_f64(0.0), 1.0);
        assert_eq!(exp_f64(-1e6), exp_f64(-708.0));
        assert!(exp_f64(-708.0) > 0.0 && exp_f64(1e6).is_finite());
    }

    #[test]
    fn the_split_of_ln2_is_fdlibms() {
        assert_eq!(LN2_HI.to_bits(), 0x3fe6_2e42_fee0_0000);
        assert_eq!(LN2_LO.to_bits(), 0x3dea_39ef_3579_3c76);
        assert_eq!(LN2_HI.to_bits().trailing_zeros(), 21);
        assert!(((LN2_HI + LN2_LO) - std::f64::consts::LN_2).abs() <= f64::EPSILON * 0.5);
    }
}
