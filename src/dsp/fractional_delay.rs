//! The delay line, delay-time glide and feedback filters shared by every delay effect, plus tempo-synced times.
//!
//! - [`DelayLine`]: 5 s at any sample rate, allocated once; fractional reads by linear interpolation. Linear
//!   rather than cubic because it is exact at integer delays like any interpolator, and it is a convex
//!   combination of two samples: its gain never exceeds 1 at any frequency (which the feedback bound below
//!   needs) and the output of a moving read never changes faster than (1 + rate) x the input does (which the
//!   click bound needs). Reads are clamped to at least 1 sample, so a feedback path always has a sample of delay.
//! - [`DelayTime`]: the delay in samples follows its target per sample, a one-pole glide (time constant
//!   `GLIDE_SECONDS`) whose step is limited to `MAX_RATE` samples per sample, so a time change never jumps and
//!   the read position moves at most 0.5 samples per sample (pitch between 0.5x and 1.5x while it moves).
//!   This applies to automation too: a delay time that jumped would jump the output (a click), so the time
//!   is the one parameter whose automation steps are followed at this bounded rate rather than at once. The
//!   effects apply a time set before any audio has run (creation, `set_tempo_immediately`, after a reset) at
//!   once: there is nothing to glide from.
//! - [`FeedbackFilters`]: a 2nd-order Butterworth high-pass (`lowCutHz`) and low-pass (`highCutHz`) in f64,
//!   each exactly off (identity) at its range end (20 Hz, 20000 Hz). Butterworth magnitudes never exceed 1.
//!
//! Why a delay never runs away: each loop is the line (gain 1, linear interpolation gain <= 1), the filters
//! (|H| <= 1 at every frequency) and a feedback gain <= 0.95, so the loop gain is at most 0.95 at every
//! frequency; by the small-gain theorem the closed loop's gain from input to line is at most 1 / (1 - 0.95) = 20
//! (in energy, and for a steady sine in amplitude). The stereo delay's 2x2 loop has norm feedback +
//! crossFeedback, capped at 0.95 too.

use super::biquad::{BandType, Coeffs};
use super::denormal::{flush, flush_f32};
use super::settle::HighWater;

/// The longest delay of every line (the effect contract).
pub const MAX_DELAY_SECONDS: f64 = 5.0;

/// The fastest the delay time moves, in samples per sample.
pub const MAX_RATE: f64 = 0.5;

/// The one-pole time constant of the delay-time glide.
pub const GLIDE_SECONDS: f64 = 0.05;

/// A mono delay line holding 5 s.
#[derive(Debug, Clone)]
pub struct DelayLine {
    buf: Vec<f32>,
    mask: usize,
    /// Where the next sample is written.
    pos: usize,
    max_delay: f64,
    /// Bounds what the line holds, for sleeping.
    water: HighWater,
}

impl DelayLine {
    pub fn new(sample_rate: f64) -> Self {
        let max_delay = (MAX_DELAY_SECONDS * sample_rate).ceil();
        let size = (max_delay as usize + 4).next_power_of_two();
        DelayLine {
            buf: vec![0.0; size],
            mask: size - 1,
            pos: 0,
            max_delay,
            water: HighWater::new(size),
        }
    }

    /// The longest delay in samples (5 s).
    pub fn max_delay(&self) -> f64 {
        self.max_delay
    }

    /// The value written `delay` samples ago (1 = the most recent), linearly interpolated; `delay` is clamped
    /// to [1, 5 s].
    #[inline]
    pub fn read(&self, delay: f64) -> f32 {
        let d = delay.clamp(1.0, self.max_delay);
        // d >= 1, so truncation is floor: a conversion instruction instead of `floor`, a library call on
        // baseline x86-64 (and a NaN still gives i = 0, frac NaN, as before).
        let i = d as usize;
        let frac = (d - i as f64) as f32;
        let a = self.buf[self.pos.wrapping_sub(i) & self.mask];
        if frac == 0.0 {
            return a;
        }
        let b = self.buf[self.pos.wrapping_sub(i + 1) & self.mask];
        a + (b - a) * frac
    }

    /// A whole-sample delay equal to what [`DelayLine::read`] would read for `delay`, when there is one: the
    /// clamped delay if it has no fraction.
    pub fn whole_delay(&self, delay: f64) -> Option<usize> {
        let d = delay.clamp(1.0, self.max_delay);
        (d == d.trunc()).then_some(d as usize)
    }

    /// One channel's block through the line at a constant whole-sample `delay` (from [`DelayLine::whole_delay`])
    /// with a feedback loop: per sample `y = read(delay)`, `write(x + feedback x filters(y))`, output `y`, the
    /// same operations in the same order as a per-sample loop of `read`, `process` and `write` (so the result is
    /// identical), without the per-sample clamp, conversion and interpolation test.
    pub fn feedback_block(&mut self, block: &mut [f32], delay: usize, feedback: f32, filters: &mut FeedbackFilters) {
        for x in block {
            let y = self.buf[self.pos.wrapping_sub(delay) & self.mask];
            let back = filters.process(y);
            self.write(*x + feedback * back);
            *x = y;
        }
    }

    #[inline]
    pub fn write(&mut self, x: f32) {
        let x = flush_f32(x);
        self.buf[self.pos] = x;
        self.water.note(x);
        self.pos = (self.pos + 1) & self.mask;
    }

    /// At least the largest magnitude the line holds.
    pub fn peak(&self) -> f32 {
        self.water.peak()
    }

    pub fn reset(&mut self) {
        self.buf.fill(0.0);
        self.pos = 0;
        self.water.reset();
    }

    pub fn copy_from(&mut self, other: &DelayLine) {
        self.buf.copy_from_slice(&other.buf);
        self.pos = other.pos;
        self.water = other.water;
    }
}

/// A delay time in samples that glides toward its target, never faster than `MAX_RATE`.
#[derive(Debug, Clone, Copy)]
pub struct DelayTime {
    current: f64,
    target: f64,
    coeff: f64,
    max_rate: f64,
}

impl DelayTime {
    pub fn new(samples: f64, sample_rate: f64) -> Self {
        Self::with_max_rate(samples, sample_rate, MAX_RATE)
    }

    /// A glide with a lower rate limit (the multi-tap delay's spacing, which its last tap multiplies).
    pub fn with_max_rate(samples: f64, sample_rate: f64, max_rate: f64) -> Self {
        DelayTime {
            current: samples,
            target: samples,
            coeff: 1.0 / (GLIDE_SECONDS * sample_rate),
            max_rate,
        }
    }

    pub fn set_target(&mut self, samples: f64) {
        self.target = samples;
    }

    pub fn target(&self) -> f64 {
        self.target
    }

    pub fn current(&self) -> f64 {
        self.current
    }

    /// Advances one sample and returns the delay for it.
    #[inline]
    pub fn tick(&mut self) -> f64 {
        let distance = self.target - self.current;
        if distance.abs() < 1e-6 {
            self.current = self.target;
        } else {
            self.current += (distance * self.coeff).clamp(-self.max_rate, self.max_rate);
        }
        self.current
    }

    /// Whether the glide has reached its target.
    pub fn settled(&self) -> bool {
        self.current == self.target
    }

    /// Jumps to the target (reset: no audio state to glide from).
    pub fn settle(&mut self) {
        self.current = self.target;
    }

    pub fn copy_state_from(&mut self, other: &DelayTime) {
        self.current = other.current;
    }
}

/// The feedback path's low-cut (high-pass) and high-cut (low-pass) filters for one signal.
#[derive(Debug, Clone, Copy)]
pub struct FeedbackFilters {
    hp: Option<Coeffs>,
    lp: Option<Coeffs>,
    s: [f64; 4],
    design: (f64, f64),
}

/// Where each cut filter is off (its range end, the effect contract).
pub const LOW_CUT_OFF_HZ: f64 = 20.0;
pub const HIGH_CUT_OFF_HZ: f64 = 20_000.0;
const BUTTERWORTH_Q: f64 = std::f64::consts::FRAC_1_SQRT_2;

impl Default for FeedbackFilters {
    fn default() -> Self {
        FeedbackFilters {
            hp: None,
            lp: None,
            s: [0.0; 4],
            design: (LOW_CUT_OFF_HZ, HIGH_CUT_OFF_HZ),
        }
    }
}

impl FeedbackFilters {
    pub fn set(&mut self, low_cut_hz: f64, high_cut_hz: f64, sample_rate: f64) {
        if self.design == (low_cut_hz, high_cut_hz) {
            return;
        }
        self.design = (low_cut_hz, high_cut_hz);
        self.hp = (low_cut_hz > LOW_CUT_OFF_HZ)
            .then(|| Coeffs::cookbook(BandType::HighPass, low_cut_hz, BUTTERWORTH_Q, 0.0, sample_rate));
        let lp = Coeffs::cookbook(BandType::LowPass, high_cut_hz, BUTTERWORTH_Q, 0.0, sample_rate);
        // The cookbook returns the identity for a low-pass at or above 0.49 fs: skip it as well.
        self.lp = (high_cut_hz < HIGH_CUT_OFF_HZ && lp != Coeffs::IDENTITY).then_some(lp);
        if self.hp.is_none() {
            (self.s[0], self.s[1]) = (0.0, 0.0);
        }
        if self.lp.is_none() {
            (self.s[2], self.s[3]) = (0.0, 0.0);
        }
    }

    /// Whether both filters are off (echoes are exact copies).
    pub fn is_transparent(&self) -> bool {
        self.hp.is_none() && self.lp.is_none()
    }

    #[inline]
    fn section(c: &Coeffs, z1: &mut f64, z2: &mut f64, x: f64) -> f64 {
        let y = c.b0 * x + *z1;
        *z1 = flush(c.b1 * x - c.a1 * y + *z2);
        *z2 = flush(c.b2 * x - c.a2 * y);
        y
    }

    #[inline]
    pub fn process(&mut self, x: f32) -> f32 {
        let mut y = x as f64;
        if let Some(c) = &self.hp {
            let [z1, z2, _, _] = &mut self.s;
            y = Self::section(c, z1, z2, y);
        }
        if let Some(c) = &self.lp {
            let [_, _, z1, z2] = &mut self.s;
            y = Self::section(c, z1, z2, y);
        }
        y as f32
    }

    /// Samples for an impulse through both filters to fall by 100 dB (0 when transparent).
    pub fn tail_samples(&self) -> u64 {
        let mut total = 0.0;
        for c in [self.hp, self.lp].iter().flatten() {
            let r = c.pole_radius();
            if r > 0.0 && r < 1.0 {
                total += 2.0 * (1e-5f64).ln() / r.ln();
            }
        }
        total.ceil() as u64
    }

    pub fn reset(&mut self) {
        self.s = [0.0; 4];
    }

    /// Whether the filters' memories are within `limit` of zero.
    pub fn settled(&self, limit: f64) -> bool {
        self.s.iter().all(|v| v.abs() <= limit)
    }

    pub fn copy_state_from(&mut self, other: &FeedbackFilters) {
        self.s = other.s;
    }
}

/// The `noteValue` labels (the effect contract): 0 1/1, 1 1/2, 2 1/4, 3 1/8, 4 1/16, 5 dotted 1/8, 6 triplet 1/8.
pub const NOTE_LABELS: &[&str] = &["1/1", "1/2", "1/4", "1/8", "1/16", "dotted 1/8", "triplet 1/8"];

/// The note's length in beats (quarter notes).
const NOTE_BEATS: [f64; 7] = [4.0, 2.0, 1.0, 0.5, 0.25, 0.75, 1.0 / 3.0];

/// The length of a `noteValue` at a tempo, in seconds (not clamped).
pub fn note_seconds(note_value: f64, bpm: f64) -> f64 {
    let i = (note_value.max(0.0) as usize).min(NOTE_BEATS.len() - 1);
    NOTE_BEATS[i] * 60.0 / bpm
}

/// The number of echoes until `feedback^(n-1)` falls below -100 dB (1 with no feedback).
pub fn echoes_to_silence(feedback: f64) -> u64 {
    if feedback <= 0.0 {
        return 1;
    }
    1 + ((1e-5f64).ln() / feedback.min(0.999).ln()).ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_sample_feedback_block_equals_the_per_sample_loop() {
        let input: Vec<f32> = (0..3000).map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 600.0).collect();
        for (delay, cuts) in [
            (1.0, (20.0, 20_000.0)),
            (7.0, (300.0, 4000.0)),
            (1234.0, (20.0, 8000.0)),
        ] {
            let mut filters = FeedbackFilters::default();
            filters.set(cuts.0, cuts.1, 48_000.0);
            let (mut a, mut b) = (DelayLine::new(48_000.0), DelayLine::new(48_000.0));
            let (mut fa, mut fb) = (filters, filters);
            let mut by_sample = input.clone();
            for x in by_sample.iter_mut() {
                let y = a.read(delay);
                let back = fa.process(y);
                a.write(*x + 0.9 * back);
                *x = y;
            }
            let mut by_block = input.clone();
            let whole = b.whole_delay(delay).unwrap();
            for block in by_block.chunks_mut(128) {
                b.feedback_block(block, whole, 0.9, &mut fb);
            }
            assert_eq!(by_sample, by_block, "delay {delay}");
            assert_eq!(a.peak(), b.peak());
        }
        assert_eq!(DelayLine::new(48_000.0).whole_delay(2.5), None);
        assert_eq!(DelayLine::new(48_000.0).whole_delay(0.0), Some(1));
    }

    #[test]
    fn integer_reads_are_exact_and_fractional_reads_interpolate() {
        let mut d = DelayLine::new(8000.0);
        for i in 0..10 {
            d.write(i as f32);
        }
        assert_eq!(d.read(1.0), 9.0);
        assert_eq!(d.read(4.0), 6.0);
        assert_eq!(d.read(2.25), 7.75);
        assert_eq!(d.read(0.0), 9.0, "at least one sample of delay");
        assert_eq!(d.max_delay(), 40_000.0);
    }

    #[test]
    fn delay_time_never_moves_faster_than_the_rate_limit_and_lands_exactly() {
        let mut t = DelayTime::new(24_000.0, 48_000.0);
        t.set_target(100.0);
        let mut last = t.current();
        let mut fastest: f64 = 0.0;
        for _ in 0..200_000 {
            let v = t.tick();
            fastest = fastest.max((v - last).abs());
            last = v;
        }
        assert!(fastest <= MAX_RATE && fastest > 0.49, "fastest {fastest}");
        assert_eq!(t.current(), 100.0);
    }

    #[test]
    fn feedback_filters_are_identity_at_their_range_ends_and_never_gain() {
        let mut f = FeedbackFilters::default();
        f.set(20.0, 20_000.0, 48_000.0);
        assert!(f.is_transparent());
        assert_eq!(f.process(0.123), 0.123);
        // A sweep through a high-pass at 2 kHz and low-pass at 1 kHz (the extremes) and each alone: |H| <= 1.
        for (lo, hi) in [(2000.0, 1000.0), (2000.0, 20_000.0), (20.0, 1000.0)] {
            f.set(lo, hi, 48_000.0);
            let mut peak: f64 = 0.0;
            for k in 1..240 {
                let w = std::f64::consts::PI * k as f64 / 240.0;
                let g = [f.hp, f.lp]
                    .iter()
                    .flatten()
                    .map(|c| {
                        let (b, a) = ([c.b0, c.b1, c.b2], [1.0, c.a1, c.a2]);
                        poly(&b, w) / poly(&a, w)
                    })
                    .product::<f64>();
                peak = peak.max(g);
            }
            assert!(peak <= 1.0 + 1e-9, "peak {peak}");
        }
        /// |c0 + c1 e^-jw + c2 e^-2jw|
        fn poly(c: &[f64; 3], w: f64) -> f64 {
            let (re, im) = (
                c[0] + c[1] * w.cos() + c[2] * (2.0 * w).cos(),
                -(c[1] * w.sin() + c[2] * (2.0 * w).sin()),
            );
            (re * re + im * im).sqrt()
        }
    }

    #[test]
    fn note_lengths_follow_the_tempo() {
        assert_eq!(note_seconds(2.0, 120.0), 0.5);
        assert_eq!(note_seconds(5.0, 120.0), 0.375);
        assert!((note_seconds(6.0, 100.0) - 0.2).abs() < 1e-12);
        assert_eq!(note_seconds(0.0, 30.0), 8.0);
    }
}
