//! Waveshaping curves with their antiderivatives, first-order ADAA, the Web Audio custom-curve mapping and
//! the DC blocker of the nonlinear effects.
//!
//! First-order antiderivative anti-aliasing (Parker, Zavalishin and Le Bivic, DAFx 2016): instead of `f(u[n])`,
//! output `(F(u[n]) - F(u[n-1])) / (u[n] - u[n-1])`, F the antiderivative of f. That is f averaged over the
//! straight line between the two inputs, which attenuates the high harmonics that would alias. When the two
//! inputs are closer than `ADAA_EPSILON` the quotient is ill-conditioned (cancellation of two nearly equal F
//! values) and f at the midpoint is used instead; it differs from the exact average by f'' d^2 / 24.
//! ADAA adds half a sample of delay (not reported: latency is whole samples, the effect contract).

use std::f64::consts::{FRAC_PI_2, LN_2};

/// Below this input step the ADAA quotient falls back to the midpoint value.
pub const ADAA_EPSILON: f64 = 1e-5;

/// The most values a custom curve has (the effect contract).
pub const MAX_CURVE_LEN: usize = 4096;

/// ln(cosh(u)) without overflow: |u| + ln(1 + e^(-2|u|)) - ln 2, with `exp_non_positive` and
/// `ln_1p_unit` in place of libm's `exp` and `ln_1p` (those two calls were most of the distortion's time).
/// Absolute error below 2e-15 for |u| <= 64 and within a few ulps of the result beyond (tested against
/// `ln(cosh(u))` computed directly); in the ADAA quotient, whose step is at least `ADAA_EPSILON`, that is at
/// most 2 x 2e-15 / 1e-5 = 4e-10, far below the f32 output's resolution.
#[inline]
pub fn ln_cosh(u: f64) -> f64 {
    let a = u.abs();
    // e^-60 < 1e-26: beyond, ln(1 + e^(-2a)) is below any f64 ulp of a, so clamping changes nothing.
    a + ln_1p_unit(exp_non_positive((-2.0 * a).max(-60.0))) - LN_2
}

/// The polynomial with `coeffs` from the highest power down to the constant, at x, by Estrin's scheme: pairs
/// `c_2j + c_2j+1 x`, then pairs of those with x^2, x^4, ... (Knuth, TAOCP vol. 2, 4.6.4). The same terms as
/// Horner's rule, but a dependency chain of log2(n) steps rather than n, so the processor overlaps them (this
/// was the shapers' bottleneck).
#[inline(always)]
fn estrin<const N: usize>(x: f64, coeffs: &[f64; N]) -> f64 {
    let mut terms = [0.0; N];
    for (t, c) in terms.iter_mut().zip(coeffs.iter().rev()) {
        *t = *c;
    }
    // Four halvings reduce up to 16 terms to one; a fixed count lets the compiler unroll every level.
    const { assert!(N <= 16) };
    let mut n = N;
    let mut power = x;
    for _ in 0..4 {
        for j in 0..n / 2 {
            terms[j] = terms[2 * j] + terms[2 * j + 1] * power;
        }
        if n % 2 == 1 {
            terms[n / 2] = terms[n - 1];
        }
        n = n.div_ceil(2);
        power *= power;
    }
    terms[0]
}

/// e^x for -60 <= x <= 0. Cody-Waite reduction x = n ln2 + r (ln 2 split into a 32-bit head and a tail so n ln2
/// is exact), |r| <= ln2 / 2, then the Taylor series of e^r to r^13 (remainder < 0.347^14 / 14! < 2e-17
/// relative), scaled by 2^n through the exponent bits (n >= -87, a normal number). |r| may exceed ln2 / 2 by
/// an ulp where rounding ties go to even; the series' remainder bound holds with room to spare.
#[inline]
fn exp_non_positive(x: f64) -> f64 {
    const LN2_HI: f64 = 0.693_147_180_369_123_8;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // Round to nearest by adding and removing 1.5 x 2^52 (exact for |y| < 2^51): `f64::round` is a library call
    // on baseline x86-64, which has no rounding instruction.
    const ROUNDER: f64 = 6_755_399_441_055_744.0;
    let n = (x * std::f64::consts::LOG2_E + ROUNDER) - ROUNDER;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // 1/13!, 1/12!, ..., 1/1!, 1/0!.
    const INV_FACTORIALS: [f64; 14] = [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ];
    let p = estrin(r, &INV_FACTORIALS);
    p * f64::from_bits(((n as i64 + 1023) as u64) << 52)
}

/// ln(1 + t) for 0 <= t <= 1: m = 1 + t, halved when above sqrt 2 (adding ln 2), so m is in (0.707, 1.415];
/// then ln m = 2 atanh(s), s = (m - 1)/(m + 1), |s| < 0.172, by its series to s^21 (remainder < 1e-17).
/// Rounding 1 + t costs at most 1.2e-16 absolute, which is what `ln_cosh` needs (absolute, not relative).
#[inline]
fn ln_1p_unit(t: f64) -> f64 {
    let m = 1.0 + t;
    let (m, offset) = if m > std::f64::consts::SQRT_2 {
        (0.5 * m, LN_2)
    } else {
        (m, 0.0)
    };
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    // z^10/21 + ... + z^2/5 + z/3 + 1.
    const INV_ODDS: [f64; 11] = [
        1.0 / 21.0,
        1.0 / 19.0,
        1.0 / 17.0,
        1.0 / 15.0,
        1.0 / 13.0,
        1.0 / 11.0,
        1.0 / 9.0,
        1.0 / 7.0,
        1.0 / 5.0,
        1.0 / 3.0,
        1.0,
    ];
    let p = estrin(z, &INV_ODDS);
    offset + 2.0 * s * p
}

/// A memoryless curve with a closed-form antiderivative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Curve {
    /// tanh(u) for u >= 0 and tanh(k u) / k below: k = 1 is tanh; k > 1 clips the negative half earlier (at
    /// -1/k), which adds even harmonics while the slope at 0 stays 1 (no small-signal level change).
    Tanh { k: f64 },
    /// Clamps to +-limit; continuous (the slope jumps, the value does not).
    HardClip { limit: f64 },
    /// Asymmetric exponential clipping: 1 - e^-u above 0, (e^(2u) - 1) / 2 below (slope 1 at 0 on both sides;
    /// saturates at +1 and -1/2, so it is rich in even harmonics, like a starved transistor fuzz).
    Fuzz,
    /// Triangle folding: u inside [-1, 1], reflected at +-1 beyond (period 4), so it stays within [-1, 1].
    Foldback,
    /// sin(pi/2 u): odd-symmetric, unity slope-ish near 0 and +-1 at u = +-1.
    Sine,
    /// 1.5 u - 0.5 u^3 inside [-1, 1], +-1 beyond (continuous slope).
    Cubic,
}

impl Curve {
    #[inline]
    pub fn value(&self, u: f64) -> f64 {
        match *self {
            Curve::Tanh { k } => {
                if u >= 0.0 {
                    u.tanh()
                } else {
                    (k * u).tanh() / k
                }
            }
            Curve::HardClip { limit } => u.clamp(-limit, limit),
            Curve::Fuzz => {
                if u >= 0.0 {
                    -(-u).exp_m1()
                } else {
                    0.5 * (2.0 * u).exp_m1()
                }
            }
            Curve::Foldback => {
                // t in [-1, 3): identity on [-1, 1], 2 - t on [1, 3].
                let t = (u + 1.0).rem_euclid(4.0) - 1.0;
                if t <= 1.0 {
                    t
                } else {
                    2.0 - t
                }
            }
            Curve::Sine => (FRAC_PI_2 * u).sin(),
            Curve::Cubic => {
                let c = u.clamp(-1.0, 1.0);
                1.5 * c - 0.5 * c * c * c
            }
        }
    }

    /// The antiderivative with F(0) = 0 (any constant works; 0 keeps the values small).
    #[inline]
    pub fn antiderivative(&self, u: f64) -> f64 {
        match *self {
            Curve::Tanh { k } => {
                if u >= 0.0 {
                    ln_cosh(u)
                } else {
                    ln_cosh(k * u) / (k * k)
                }
            }
            Curve::HardClip { limit } => {
                if u.abs() <= limit {
                    0.5 * u * u
                } else {
                    limit * u.abs() - 0.5 * limit * limit
                }
            }
            Curve::Fuzz => {
                if u >= 0.0 {
                    u + (-u).exp_m1()
                } else {
                    0.25 * (2.0 * u).exp_m1() - 0.5 * u
                }
            }
            Curve::Foldback => {
                // Periodic: the triangle integrates to 0 over a period.
                let t = (u + 1.0).rem_euclid(4.0) - 1.0;
                if t <= 1.0 {
                    0.5 * t * t
                } else {
                    -0.5 * t * t + 2.0 * t - 1.0
                }
            }
            Curve::Sine => (1.0 - (FRAC_PI_2 * u).cos()) / FRAC_PI_2,
            Curve::Cubic => {
                let a = u.abs();
                if a <= 1.0 {
                    0.75 * u * u - 0.125 * u * u * u * u
                } else {
                    a - 0.375
                }
            }
        }
    }
}

/// A curve ADAA can average: its value and an antiderivative of it.
pub trait Shaper {
    fn value(&self, u: f64) -> f64;
    fn antiderivative(&self, u: f64) -> f64;
}

impl Shaper for Curve {
    #[inline]
    fn value(&self, u: f64) -> f64 {
        Curve::value(self, u)
    }

    #[inline]
    fn antiderivative(&self, u: f64) -> f64 {
        Curve::antiderivative(self, u)
    }
}

impl Shaper for CustomCurve {
    #[inline]
    fn value(&self, u: f64) -> f64 {
        self.map(u)
    }

    #[inline]
    fn antiderivative(&self, u: f64) -> f64 {
        CustomCurve::antiderivative(self, u)
    }
}

/// First-order ADAA state for one channel: the last input and the antiderivative there, so each sample
/// evaluates the antiderivative once rather than twice.
#[derive(Debug, Clone, Copy, Default)]
pub struct Adaa {
    prev: f64,
    /// F(prev) for the curve last given to [`Adaa::prime`]; only valid between a `prime` and the next change
    /// of curve.
    f_prev: f64,
}

impl Adaa {
    /// Whether the last (driven) input is within `limit` of zero.
    pub fn settled(&self, limit: f64) -> bool {
        self.prev.abs() <= limit
    }

    /// Makes the stored antiderivative that of `curve`: call before a run of [`Adaa::tick`]s whenever the
    /// curve may have changed since the last (once per block is enough; the result is the same as evaluating
    /// both ends every sample).
    #[inline]
    pub fn prime<S: Shaper>(&mut self, curve: &S) {
        self.f_prev = curve.antiderivative(self.prev);
    }

    /// The anti-aliased output for input `u` (after [`Adaa::prime`] with this curve).
    #[inline]
    pub fn tick<S: Shaper>(&mut self, curve: &S, u: f64) -> f64 {
        let d = u - self.prev;
        let f = curve.antiderivative(u);
        let y = if d.abs() < ADAA_EPSILON {
            curve.value(0.5 * (u + self.prev))
        } else {
            (f - self.f_prev) / d
        };
        self.prev = u;
        self.f_prev = f;
        y
    }

    /// Records an input processed without ADAA, so that switching ADAA on later starts from it.
    #[inline]
    pub fn skip(&mut self, u: f64) {
        self.prev = u;
    }

    pub fn reset(&mut self) {
        *self = Adaa::default();
    }
}

/// Why a custom curve was refused. A plain value, so that the audio side never formats: its message is made by
/// `Display`, on the control side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CurveError {
    /// The curve's length is outside 2 to [`MAX_CURVE_LEN`].
    Length(usize),
    /// The value at this index is NaN or infinite.
    NotFinite { index: usize, value: f32 },
    /// The effect takes no curve.
    NotAccepted,
}

impl std::fmt::Display for CurveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CurveError::Length(n) => write!(f, "a curve has 2 to {MAX_CURVE_LEN} values, this one has {n}"),
            CurveError::NotFinite { index, value } => {
                write!(f, "curve value {index} is not a finite number ({value})")
            }
            CurveError::NotAccepted => write!(f, "this effect takes no curve (only 'wave-shaper' does)"),
        }
    }
}

impl std::error::Error for CurveError {}

/// Checks a curve: 2 to [`MAX_CURVE_LEN`] finite values.
pub fn validate_curve(curve: &[f32]) -> Result<(), CurveError> {
    if !(2..=MAX_CURVE_LEN).contains(&curve.len()) {
        return Err(CurveError::Length(curve.len()));
    }
    match curve.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(CurveError::NotFinite {
            index,
            value: curve[index],
        }),
        None => Ok(()),
    }
}

/// A custom curve mapped exactly as the Web Audio WaveShaperNode maps its `curve` (Web Audio API, "The
/// WaveShaperNode Interface"): v = (N - 1)/2 (x + 1), k = floor(v), f = v - k; x <= -1 gives `curve[0]`,
/// x >= 1 gives `curve[N - 1]`, otherwise `(1 - f) curve[k] + f curve[k + 1]`. Storage for 4096 values is
/// allocated once; loading a curve copies into it.
#[derive(Debug, Clone)]
pub struct CustomCurve {
    values: Vec<f32>,
    len: usize,
    /// The antiderivative at each breakpoint (0 at x = -1), for ADAA when oversampling.
    integral: Vec<f64>,
}

impl Default for CustomCurve {
    fn default() -> Self {
        Self::new()
    }
}

impl CustomCurve {
    /// The identity curve [-1, 1] until another is loaded.
    pub fn new() -> Self {
        let mut curve = CustomCurve {
            values: vec![0.0; MAX_CURVE_LEN],
            len: 2,
            integral: vec![0.0; MAX_CURVE_LEN],
        };
        // Two finite values: always accepted.
        let _ = curve.load(&[-1.0, 1.0]);
        curve
    }

    /// Loads a curve (no allocation); an invalid one (see [`validate_curve`]) is refused and the curve in
    /// force stays.
    pub fn load(&mut self, curve: &[f32]) -> Result<(), CurveError> {
        validate_curve(curve)?;
        self.values[..curve.len()].copy_from_slice(curve);
        self.len = curve.len();
        // Trapezoids: the curve is linear between breakpoints, so this is its exact integral.
        let width = self.segment_width();
        self.integral[0] = 0.0;
        for k in 1..self.len {
            let area = 0.5 * width * (self.values[k - 1] as f64 + self.values[k] as f64);
            self.integral[k] = self.integral[k - 1] + area;
        }
        Ok(())
    }

    /// The input span of one segment: 2 / (N - 1).
    fn segment_width(&self) -> f64 {
        2.0 / (self.len - 1) as f64
    }

    /// The antiderivative of [`CustomCurve::map`] (0 at x = -1): constant extensions outside [-1, 1] integrate
    /// to straight lines.
    #[inline]
    pub fn antiderivative(&self, x: f64) -> f64 {
        let c = &self.values[..self.len];
        let last = self.len - 1;
        if x <= -1.0 {
            return c[0] as f64 * (x + 1.0);
        }
        if x >= 1.0 {
            return self.integral[last] + c[last] as f64 * (x - 1.0);
        }
        let v = last as f64 / 2.0 * (x + 1.0);
        let k = (v.floor() as usize).min(last - 1);
        let f = v - k as f64;
        let (a, b) = (c[k] as f64, c[k + 1] as f64);
        self.integral[k] + self.segment_width() * (a * f + 0.5 * (b - a) * f * f)
    }

    #[inline]
    pub fn map(&self, x: f64) -> f64 {
        let c = &self.values[..self.len];
        if x <= -1.0 {
            return c[0] as f64;
        }
        if x >= 1.0 {
            return c[self.len - 1] as f64;
        }
        let v = (self.len - 1) as f64 / 2.0 * (x + 1.0);
        let k = (v.floor() as usize).min(self.len - 2);
        let f = v - k as f64;
        (1.0 - f) * c[k] as f64 + f * c[k + 1] as f64
    }

    pub fn copy_from(&mut self, other: &CustomCurve) {
        self.values.copy_from_slice(&other.values);
        self.integral.copy_from_slice(&other.integral);
        self.len = other.len;
    }
}

/// A first-order DC blocker for two channels: H(z) = (1 + R)/2 (1 - z^-1) / (1 - R z^-1), unity at Nyquist,
/// -3 dB near `corner_hz`.
#[derive(Debug, Clone, Copy)]
pub struct DcBlocker {
    r: f64,
    gain: f64,
    x1: [f64; 2],
    y1: [f64; 2],
}

impl DcBlocker {
    /// Whether both channels' state is within `limit` of zero.
    pub fn settled(&self, limit: f64) -> bool {
        self.x1.iter().chain(&self.y1).all(|v| v.abs() <= limit)
    }

    pub fn new(corner_hz: f64, sample_rate: f64) -> Self {
        let r = (-2.0 * std::f64::consts::PI * corner_hz / sample_rate).exp();
        DcBlocker {
            r,
            gain: (1.0 + r) / 2.0,
            x1: [0.0; 2],
            y1: [0.0; 2],
        }
    }

    #[inline]
    pub fn process(&mut self, channel: usize, block: &mut [f32]) {
        let (mut x1, mut y1) = (self.x1[channel], self.y1[channel]);
        for s in block {
            let x = *s as f64;
            let y = self.gain * (x - x1) + self.r * y1;
            x1 = x;
            y1 = y;
            *s = y as f32;
        }
        self.x1[channel] = x1;
        self.y1[channel] = super::denormal::flush(y1);
    }

    /// Samples until an impulse has decayed by 100 dB.
    pub fn tail_samples(&self) -> u64 {
        ((1e-5f64).ln() / self.r.ln()).ceil() as u64 + 1
    }

    pub fn reset(&mut self) {
        self.x1 = [0.0; 2];
        self.y1 = [0.0; 2];
    }

    pub fn copy_state_from(&mut self, other: &DcBlocker) {
        self.x1 = other.x1;
        self.y1 = other.y1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every antiderivative's numerical derivative equals its curve (so ADAA averages the right function).
    #[test]
    fn antiderivatives_differentiate_to_their_curves() {
        let curves = [
            Curve::Tanh { k: 1.0 },
            Curve::Tanh { k: 4.0 },
            Curve::HardClip { limit: 0.5 },
            Curve::Fuzz,
            Curve::Foldback,
            Curve::Sine,
            Curve::Cubic,
        ];
        for c in curves {
            let mut u = -7.3;
            while u < 7.3 {
                let h = 1e-6;
                let d = (c.antiderivative(u + h) - c.antiderivative(u - h)) / (2.0 * h);
                assert!((d - c.value(u)).abs() < 1e-5, "{c:?} at {u}: {d} vs {}", c.value(u));
                u += 0.0137;
            }
        }
    }

    /// The fast ln cosh against the definition ln(cosh u) evaluated by libm (exact to ~1 ulp where cosh does
    /// not overflow), and its tail against |u| - ln 2.
    #[test]
    fn ln_cosh_is_within_2e_15_of_the_definition() {
        let mut worst: f64 = 0.0;
        let mut u = -30.0;
        while u <= 30.0 {
            let err = (ln_cosh(u) - u.cosh().ln()).abs();
            // A few ulps of the value itself for large |u| (the definition's own rounding).
            let allowed = 2e-15_f64.max(4.0 * f64::EPSILON * u.abs());
            assert!(err <= allowed, "u = {u}: {} vs {}", ln_cosh(u), u.cosh().ln());
            worst = worst.max(err);
            u += 0.000_731;
        }
        for u in [-700.0_f64, 40.0, 64.0, 1e6] {
            let reference = u.abs() - LN_2;
            assert!(
                (ln_cosh(u) - reference).abs() <= 4.0 * f64::EPSILON * reference,
                "u = {u}"
            );
        }
        assert_eq!(ln_cosh(0.0), 0.0);
        assert!(worst > 0.0, "the grid compared nothing");
    }

    /// Priming once, then one antiderivative a sample, gives exactly the two-sided quotient.
    #[test]
    fn adaa_with_a_primed_antiderivative_equals_the_quotient_of_both_ends() {
        let c = Curve::Tanh { k: 2.0 };
        let mut a = Adaa::default();
        a.skip(0.3);
        a.prime(&c);
        let mut prev = 0.3;
        for i in 0..500 {
            let u = 3.0 * (i as f64 * 0.37).sin();
            let expected = (c.antiderivative(u) - c.antiderivative(prev)) / (u - prev);
            assert_eq!(a.tick(&c, u), expected);
            prev = u;
        }
    }

    #[test]
    fn adaa_of_a_slow_ramp_follows_the_curve_and_is_stable_for_tiny_steps() {
        let c = Curve::Tanh { k: 1.0 };
        let mut a = Adaa::default();
        a.prime(&c);
        for i in 0..1000 {
            let u = i as f64 * 1e-7 + 3.0;
            let y = a.tick(&c, u);
            if i > 0 {
                assert!((y - c.value(u)).abs() < 1e-6);
            }
        }
        assert!(ln_cosh(1000.0).is_finite() && (ln_cosh(1000.0) - (1000.0 - LN_2)).abs() < 1e-9);
    }

    #[test]
    fn custom_curve_interpolates_like_the_wave_shaper_node() {
        let mut c = CustomCurve::new();
        c.load(&[0.0, 1.0, 0.0, -1.0, 0.5]).unwrap();
        assert_eq!(c.map(-2.0), 0.0);
        assert_eq!(c.map(1.0), 0.5);
        // x = -0.25: v = 2 * 0.75 = 1.5, halfway between curve[1] and curve[2].
        assert!((c.map(-0.25) - 0.5).abs() < 1e-12);
        assert!(c.load(&[1.0]).is_err() && c.load(&[0.0, f32::NAN]).is_err());
    }

    #[test]
    fn custom_curve_antiderivative_differentiates_to_the_mapping() {
        let mut c = CustomCurve::new();
        c.load(&[0.3, 1.0, -0.5, -1.0, 0.5, 0.2, 0.9]).unwrap();
        let mut u = -1.7;
        while u < 1.7 {
            let h = 1e-7;
            let d = (c.antiderivative(u + h) - c.antiderivative(u - h)) / (2.0 * h);
            assert!((d - c.map(u)).abs() < 1e-5, "at {u}: {d} vs {}", c.map(u));
            u += 0.0123;
        }
    }
}
