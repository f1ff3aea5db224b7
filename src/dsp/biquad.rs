//! Second-order sections in f64 (coefficients and state), their designs, and a stereo cascade.
//!
//! f32 direct-form biquads lose a 20 Hz, Q 18 band at 192 kHz to coefficient rounding; f64 coefficients and
//! transposed-direct-form-II state stay within 0.01 dB there. Designs:
//! - RBJ "Audio EQ Cookbook" (Robert Bristow-Johnson), designed at the true frequency w0 = 2 pi f / fs.
//! - Butterworth by the bilinear transform with pre-warping (as scipy.signal.butter designs it).

use super::{clamp_frequency, denormal};
use std::f64::consts::PI;

/// Normalised biquad coefficients (a0 = 1): y = b0 x + b1 x[-1] + b2 x[-2] - a1 y[-1] - a2 y[-2].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coeffs {
    pub b0: f64,
    pub b1: f64,
    pub b2: f64,
    pub a1: f64,
    pub a2: f64,
}

/// The band shapes of the parametric EQ, in the order of its `b{n}Type` enumeration (0 is "off").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandType {
    Off,
    Peaking,
    LowShelf,
    HighShelf,
    LowPass,
    HighPass,
    Notch,
    BandPass,
}

impl BandType {
    pub const LABELS: &'static [&'static str] = &[
        "off",
        "peaking",
        "lowShelf",
        "highShelf",
        "lowPass",
        "highPass",
        "notch",
        "bandPass",
    ];

    pub fn from_index(i: f64) -> Self {
        match i as i64 {
            1 => Self::Peaking,
            2 => Self::LowShelf,
            3 => Self::HighShelf,
            4 => Self::LowPass,
            5 => Self::HighPass,
            6 => Self::Notch,
            7 => Self::BandPass,
            _ => Self::Off,
        }
    }
}

impl Coeffs {
    pub const IDENTITY: Coeffs = Coeffs {
        b0: 1.0,
        b1: 0.0,
        b2: 0.0,
        a1: 0.0,
        a2: 0.0,
    };

    fn normalised(b0: f64, b1: f64, b2: f64, a0: f64, a1: f64, a2: f64) -> Self {
        Coeffs {
            b0: b0 / a0,
            b1: b1 / a0,
            b2: b2 / a0,
            a1: a1 / a0,
            a2: a2 / a0,
        }
    }

    /// An RBJ cookbook section. The frequency is clamped to 0.49 fs; a low-pass at or above that limit is the
    /// identity (it would pass everything anyway). `q` is the cookbook's linear Q (for shelves, Q = 1/sqrt(2)
    /// equals slope S = 1).
    pub fn cookbook(kind: BandType, frequency_hz: f64, q: f64, gain_db: f64, sample_rate: f64) -> Self {
        let lowpass_open = kind == BandType::LowPass && frequency_hz >= super::MAX_FREQUENCY_RATIO * sample_rate;
        if kind == BandType::Off || lowpass_open {
            return Self::IDENTITY;
        }
        let f = clamp_frequency(frequency_hz, sample_rate);
        let w0 = 2.0 * PI * f / sample_rate;
        let (sin, cos) = w0.sin_cos();
        let alpha = sin / (2.0 * q);
        let a = 10f64.powf(gain_db / 40.0);
        match kind {
            BandType::Off => Self::IDENTITY,
            BandType::Peaking => Self::normalised(
                1.0 + alpha * a,
                -2.0 * cos,
                1.0 - alpha * a,
                1.0 + alpha / a,
                -2.0 * cos,
                1.0 - alpha / a,
            ),
            BandType::LowShelf => {
                let k = 2.0 * a.sqrt() * alpha;
                Self::normalised(
                    a * ((a + 1.0) - (a - 1.0) * cos + k),
                    2.0 * a * ((a - 1.0) - (a + 1.0) * cos),
                    a * ((a + 1.0) - (a - 1.0) * cos - k),
                    (a + 1.0) + (a - 1.0) * cos + k,
                    -2.0 * ((a - 1.0) + (a + 1.0) * cos),
                    (a + 1.0) + (a - 1.0) * cos - k,
                )
            }
            BandType::HighShelf => {
                let k = 2.0 * a.sqrt() * alpha;
                Self::normalised(
                    a * ((a + 1.0) + (a - 1.0) * cos + k),
                    -2.0 * a * ((a - 1.0) + (a + 1.0) * cos),
                    a * ((a + 1.0) + (a - 1.0) * cos - k),
                    (a + 1.0) - (a - 1.0) * cos + k,
                    2.0 * ((a - 1.0) - (a + 1.0) * cos),
                    (a + 1.0) - (a - 1.0) * cos - k,
                )
            }
            BandType::LowPass => Self::normalised(
                (1.0 - cos) / 2.0,
                1.0 - cos,
                (1.0 - cos) / 2.0,
                1.0 + alpha,
                -2.0 * cos,
                1.0 - alpha,
            ),
            BandType::HighPass => Self::normalised(
                (1.0 + cos) / 2.0,
                -(1.0 + cos),
                (1.0 + cos) / 2.0,
                1.0 + alpha,
                -2.0 * cos,
                1.0 - alpha,
            ),
            BandType::Notch => Self::normalised(1.0, -2.0 * cos, 1.0, 1.0 + alpha, -2.0 * cos, 1.0 - alpha),
            BandType::BandPass => Self::normalised(alpha, 0.0, -alpha, 1.0 + alpha, -2.0 * cos, 1.0 - alpha),
        }
    }

    /// The largest pole radius (for tail estimates). 0 for FIR sections.
    pub fn pole_radius(&self) -> f64 {
        let disc = self.a1 * self.a1 - 4.0 * self.a2;
        if disc < 0.0 {
            self.a2.abs().sqrt()
        } else {
            let s = disc.sqrt();
            ((-self.a1 + s) / 2.0).abs().max(((-self.a1 - s) / 2.0).abs())
        }
    }
}

/// The most sections a `Cascade` holds (an order-8 Butterworth is 4; the 8-band EQ is 8).
pub const MAX_SECTIONS: usize = 8;

/// Butterworth high-pass or low-pass of `order` 1..=8 by the bilinear transform with pre-warping: the
/// analog prototype's pole pairs s^2 + 2 sin((2k-1) pi / 2N) s + 1 (and s + 1 for odd orders), with
/// s = (z - 1) / (K (z + 1)), K = tan(pi fc / fs). Writes the sections into `out` and returns how many.
/// A low-pass at or above 0.49 fs is the identity (no sections).
pub fn butterworth(high_pass: bool, order: usize, cutoff_hz: f64, sample_rate: f64, out: &mut [Coeffs]) -> usize {
    let order = order.clamp(1, 2 * MAX_SECTIONS.min(out.len()));
    let limit = super::MAX_FREQUENCY_RATIO * sample_rate;
    if !high_pass && cutoff_hz >= limit {
        return 0;
    }
    let k = (PI * cutoff_hz.min(limit) / sample_rate).tan();
    let k2 = k * k;
    let mut n = 0;
    for pair in 1..=order / 2 {
        let b = 2.0 * (PI * (2 * pair - 1) as f64 / (2 * order) as f64).sin();
        let a0 = 1.0 + b * k + k2;
        let (b0, b1, b2) = if high_pass {
            (1.0, -2.0, 1.0)
        } else {
            (k2, 2.0 * k2, k2)
        };
        out[n] = Coeffs::normalised(b0, b1, b2, a0, 2.0 * (k2 - 1.0), 1.0 - b * k + k2);
        n += 1;
    }
    if order % 2 == 1 {
        let (b0, b1) = if high_pass { (1.0, -1.0) } else { (k, k) };
        out[n] = Coeffs::normalised(b0, b1, 0.0, 1.0 + k, k - 1.0, 0.0);
        n += 1;
    }
    n
}

/// One section with transposed-direct-form-II state for two channels.
#[derive(Debug, Clone, Copy)]
struct Section {
    c: Coeffs,
    l1: f64,
    l2: f64,
    r1: f64,
    r2: f64,
}

/// Up to `MAX_SECTIONS` biquads in series on a stereo signal, followed by a gain.
///
/// The loop runs every section for one sample, left and right interleaved, before moving to the next sample:
/// the two channels' independent dependency chains overlap, which is what makes a cascade fast (a per-stage
/// loop over the block is bound by the floating-point latency of one chain).
#[derive(Debug, Clone)]
pub struct Cascade {
    sections: [Section; MAX_SECTIONS],
    active: usize,
    gain: f64,
}

impl Default for Cascade {
    fn default() -> Self {
        Cascade {
            sections: [Section {
                c: Coeffs::IDENTITY,
                l1: 0.0,
                l2: 0.0,
                r1: 0.0,
                r2: 0.0,
            }; MAX_SECTIONS],
            active: 0,
            gain: 1.0,
        }
    }
}

impl Cascade {
    /// Sets the coefficients of section `i`, keeping its state.
    pub fn set(&mut self, i: usize, c: Coeffs) {
        self.sections[i].c = c;
    }

    /// How many sections run (sections past it are skipped; their state is kept).
    pub fn set_active(&mut self, n: usize) {
        self.active = n.min(MAX_SECTIONS);
    }

    pub fn active(&self) -> usize {
        self.active
    }

    /// The linear gain applied after the sections.
    pub fn set_gain(&mut self, gain: f64) {
        self.gain = gain;
    }

    pub fn gain(&self) -> f64 {
        self.gain
    }

    /// Clears the state of one section (when a section starts running after being skipped).
    pub fn clear_section(&mut self, i: usize) {
        let s = &mut self.sections[i];
        (s.l1, s.l2, s.r1, s.r2) = (0.0, 0.0, 0.0, 0.0);
    }

    /// The state of section `i` (left z1, z2, right z1, z2).
    pub fn state(&self, i: usize) -> [f64; 4] {
        let s = &self.sections[i];
        [s.l1, s.l2, s.r1, s.r2]
    }

    pub fn set_state(&mut self, i: usize, state: [f64; 4]) {
        let s = &mut self.sections[i];
        [s.l1, s.l2, s.r1, s.r2] = state;
    }

    pub fn reset(&mut self) {
        for i in 0..MAX_SECTIONS {
            self.clear_section(i);
        }
    }

    /// Copies the filter state (not the coefficients) from another cascade.
    pub fn copy_state_from(&mut self, other: &Cascade) {
        for (s, o) in self.sections.iter_mut().zip(other.sections.iter()) {
            (s.l1, s.l2, s.r1, s.r2) = (o.l1, o.l2, o.r1, o.r2);
        }
    }

    /// Whether every section's state (running or not) is small enough that, with zero input, what it would
    /// still produce stays far below `floor`: each state within `floor x 1e-3 x (1 - r) / gain` of zero, where
    /// `r` is the section's pole radius. The factor `1 - r` bounds the transient growth and the summed tail of
    /// a resonant section (poles near the unit circle at low frequency ring for about `1 / (1 - r)` samples);
    /// 1e-3 leaves 60 dB for the boost of the sections after it.
    pub fn settled(&self, floor: f32) -> bool {
        let limit = floor as f64 * 1e-3 / self.gain.abs().max(1.0);
        self.sections.iter().all(|s| {
            let r = s.c.pole_radius().min(1.0);
            let limit = limit * (1.0 - r);
            s.l1.abs() <= limit && s.l2.abs() <= limit && s.r1.abs() <= limit && s.r2.abs() <= limit
        })
    }

    /// The conservative number of samples until the impulse response stays below -100 dB, or 0 with no
    /// sections. Each section contributes the time its slowest pole takes to decay by 100 dB, doubled to
    /// cover the polynomial growth of repeated poles in series.
    pub fn tail_samples(&self) -> u64 {
        let mut total = 0.0;
        for s in &self.sections[..self.active] {
            let r = s.c.pole_radius();
            if r > 0.0 && r < 1.0 {
                total += 2.0 * (1e-5f64).ln() / r.ln();
            }
        }
        total.ceil() as u64
    }

    /// Filters the block in place.
    #[inline]
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        // A fixed section count lets the compiler unroll the inner loop and keep the state in registers.
        match self.active {
            0 => self.run::<0>(left, right),
            1 => self.run::<1>(left, right),
            2 => self.run::<2>(left, right),
            3 => self.run::<3>(left, right),
            4 => self.run::<4>(left, right),
            5 => self.run::<5>(left, right),
            6 => self.run::<6>(left, right),
            7 => self.run::<7>(left, right),
            _ => self.run::<8>(left, right),
        }
    }

    #[inline(always)]
    fn run<const N: usize>(&mut self, left: &mut [f32], right: &mut [f32]) {
        let gain = self.gain;
        let mut sections: [Section; N] = std::array::from_fn(|i| self.sections[i]);
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let mut xl = *l as f64;
            let mut xr = *r as f64;
            for s in sections.iter_mut() {
                let c = s.c;
                let yl = c.b0 * xl + s.l1;
                let yr = c.b0 * xr + s.r1;
                s.l1 = c.b1 * xl - c.a1 * yl + s.l2;
                s.r1 = c.b1 * xr - c.a1 * yr + s.r2;
                s.l2 = c.b2 * xl - c.a2 * yl;
                s.r2 = c.b2 * xr - c.a2 * yr;
                xl = yl;
                xr = yr;
            }
            *l = (xl * gain) as f32;
            *r = (xr * gain) as f32;
        }
        for (dst, s) in self.sections.iter_mut().zip(sections.iter()) {
            dst.l1 = denormal::flush(s.l1);
            dst.l2 = denormal::flush(s.l2);
            dst.r1 = denormal::flush(s.r1);
            dst.r2 = denormal::flush(s.r2);
        }
    }
}
