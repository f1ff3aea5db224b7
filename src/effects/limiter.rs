//! `limiter`: a true lookahead peak limiter whose gain envelope alone keeps every output sample at or below the
//! ceiling (no safety clip).
//!
//! With lookahead L = round(lookaheadMs * fs / 1000) samples (also the reported latency), per sample n:
//! 1. the input times `inputGainDb` is written to a delay line (the gained f32 value is what is both detected
//!    and delayed);
//! 2. required gain `g[n] = min(1, c * S / p[n])`, `p[n]` the louder channel's |x|, c the ceiling in effect
//!    (linear) and `S = 1 - 1e-6` a safety factor that leaves room for every later rounding;
//! 3. `h[n]` = the minimum of g over the last L + 1 samples (sliding minimum, [`SlidingExtremum`]);
//! 4. release: `h'[n] = min(h[n], 1 - aR * (1 - h'[n-1]))`, a one-pole recovery toward 1 with `releaseMs`;
//! 5. the applied gain `A[n]` is the mean (boxcar) of h' over the last L + 1 samples, so a gain drop becomes a
//!    linear ramp over the lookahead that ends just as the loud sample comes out;
//! 6. the output is the input delayed by L times `A[n]`.
//!
//! Why no output sample exceeds the ceiling: the sample that comes out at n is x[n-L], times
//! `A[n] = mean of h'[j] for j in [n-L, n]`. For each such j, `h'[j] <= h[j] = min of g over [j-L, j]`, and
//! `n-L` lies in `[j-L, j]` because `n-L <= j <= n`. So every term is at most g[n-L], and so is their mean:
//! `|y[n]| = |x[n-L]| * A[n] <= |x[n-L]| * g[n-L] <= c * S`. This holds for any input and any release, because
//! the release stage can only lower h' (a min) and the boxcar only averages. Rounding: the boxcar sums h' as
//! integers (h' rounded *down* to multiples of 2^-52), exact and without drift; converting and dividing that sum
//! and multiplying by the sample add a few f64 roundings (about 1e-16 each) and the final f32 rounding at most
//! 2^-24 (6e-8), all far inside the safety factor's 1e-6, so `|y| <= c` in f32 with margin.
//!
//! Ceiling changes: the ceiling in effect at input frame k is the lowest of every ceiling in play while a
//! change glides (the value before the change, the gliding value, and the newly set target, which the kernel
//! receives through [`Kernel::set_targets`]); once the glide has ended it is the target. A lowered ceiling
//! therefore holds from the frame of the change, and a raised one takes over when its glide ends (the release
//! stage makes the gain rise smoothly). Since the proof above holds for whatever c was in effect at n - L, every
//! output sample is at or below the lower of the old and new ceiling during the change, in latency-compensated
//! time (the output frame n carries input frame n - L).
//!
//! Lookahead changes (`lookaheadMs` changes latency: the processor fades the output out, applies the new value
//! on a piece boundary and fades back in): the kernel rebuilds its sliding minimum and boxcar from the stored
//! history of required gains with the new window, so the proof holds for the new lookahead from the first sample
//! on.
//!
//! # True-peak mode (`truePeak = 1`)
//!
//! A sample-peak limiter's output still overshoots between samples: with `ceilingDb = -1` on real music the
//! output read -0.91 to -0.96 dBTP, and on +24 dB noise its true peak is about 4.4 dB over the ceiling. In
//! true-peak mode the same gain computer (steps 3 to 6) runs on a different required gain, and the latency
//! becomes `L + 29` frames ([`TRUE_PEAK_EXTRA_LATENCY`], the same at every sample rate):
//! - detection: per frame k, the peak `p[k]` is the largest of `|x[k]|` and the values of the signal oversampled 4x
//!   over the interval after k, read by the four phases of the BS.1770-4 Annex 2 interpolation filter
//!   ([`crate::dsp::true_peak::PHASE_COEFFICIENTS`]) with two corrections of that filter's known errors: each
//!   phase is scaled to unity gain at DC (phases 1 and 2 sum to 0.9748), and the input first goes through a
//!   31-tap linear-phase boost (flat within 0.001 dB up to 0.35 fs, +0.9 dB at 0.4 fs, +5.8 dB at 0.45 fs,
//!   +7.9 dB at fs/2) against the Annex 2 phases' fall near fs/2 (-2.1 dB at 0.45 fs, -6.4 dB at 0.48 fs). Between the 4x points a parabola through three neighbours gives
//!   the peak (a 4x grid alone under-reads a 0.45 fs sine by up to 0.55 dB; with the parabola, 0.05 dB). The
//!   detector looks 21 frames ahead of the frame it reads (15 for the boost, 6 for the Annex 2 filter);
//! - margin: `p[k]` is raised by 0.25 dB before `g = min(1, c S / p)`: what the Annex 2 phases still misread in
//!   their passband (ripple of about +-0.2 dB and phase errors) and the residual modulation below;
//! - hold: the sliding minimum's window grows by 8 frames on each side ([`TRUE_PEAK_HOLD`]) and the audio is
//!   delayed by 8 more, so the applied gain is flat (equal to `g[k]`) for frames k - 8 ..= k + 8. The output's
//!   inter-sample value near k is a weighted sum of output samples around k; where their gains are equal it is
//!   that gain times the input's inter-sample value, which the detector has bounded. Only the far taps of the
//!   interpolation see a different gain. Measured with an exact (long windowed-sinc) detector in place of this
//!   one, that modulation adds at most 0.08 dB at 0.5 ms lookahead on +24 dB noise, 0.03 dB on music-like tones.
//!
//! Every sample also stays at or below the ceiling, by the proof above (`|x[k]|` is part of `p[k]`). The true-peak
//! bound is measured, not proven: `tests/true_peak_limiter.rs` reads the output with 4x and 8x windowed-sinc
//! references independent of this filter, on +24 dB noise, music-like tones with transients, single-sample
//! spikes and sines near 0.45 fs, at 44.1, 48 and 96 kHz, lookahead 0.5 to 10 ms and release 1 to 1000 ms: the
//! worst true peak is 0.003 dB under the ceiling (tolerance: 0.05 dB over). The price of the boost is that
//! content above about 0.4 fs is held lower than needed (a 0.45 fs sine about 5 dB, a lone spike up to about 2 dB).
//! The cost: 4 phases x 42 taps per channel per frame.
//!
//! Switching `truePeak` is a latency change like a lookahead change: the kernel recomputes its required gains
//! from the stored input history in the new mode and rebuilds its windows, never raising a held gain.

use super::Kernel;
use crate::dsp::db_to_gain;
use crate::dsp::denormal::flush;
use crate::dsp::detector::one_pole_coefficient;
use crate::dsp::oversampler::kaiser_lowpass;
use crate::dsp::sliding::{Extremum, SlidingExtremum};
use crate::dsp::true_peak::{PHASES, PHASE_COEFFICIENTS, TAPS_PER_PHASE};
use crate::dsp::PIECE_FRAMES;
use crate::params::{Category, EffectSpec, ParamSpec};
use std::sync::OnceLock;

const CEILING: usize = 0;
const RELEASE: usize = 1;
const LOOKAHEAD: usize = 2;
const INPUT_GAIN: usize = 3;
const TRUE_PEAK: usize = 4;

/// The longest lookahead (the `lookaheadMs` range's maximum).
pub const MAX_LOOKAHEAD_MS: f64 = 10.0;

/// The required gain is scaled by this, so that the roundings after it cannot push a sample over the ceiling.
const SAFETY: f64 = 1.0 - 1e-6;

/// The boxcar's fixed-point unit: h' in [0, 1] is stored as floor(h' * 2^52); 2048 such values fit in a u64.
const UNIT: f64 = (1u64 << 52) as f64;

pub static SPEC: EffectSpec = EffectSpec {
    id: "limiter",
    name: "Limiter",
    category: Category::Dynamics,
    params: &[
        ParamSpec::linear("ceilingDb", "dB", -24.0, 0.0, -1.0),
        ParamSpec::log("releaseMs", "ms", 1.0, 1000.0, 50.0),
        // A 20:1 range of times: a log knob gives the short lookaheads as much travel as the long ones.
        ParamSpec::structural("lookaheadMs", "ms", 0.5, MAX_LOOKAHEAD_MS, 5.0)
            .changing_latency()
            .log_taper(),
        ParamSpec::linear("inputGainDb", "dB", 0.0, 24.0, 0.0),
        // Last: parameter indices are frozen. Not automatable (a switch); it changes the latency.
        ParamSpec::switch("truePeak", 0.0).changing_latency(),
    ],
    presets: &[],
};

/// The lookahead in samples (docs/effects.md: round(lookaheadMs * fs / 1000)).
pub fn lookahead_samples(lookahead_ms: f64, sample_rate: f64) -> usize {
    (lookahead_ms * sample_rate / 1000.0).round() as usize
}

/// True-peak detection: taps of the high-frequency boost that precedes the Annex 2 filter (odd: linear phase
/// with a whole-sample delay of 15).
const BOOST_TAPS: usize = 31;
/// The middle of the boost's transition (cycles per sample): it is flat within 0.001 dB up to 0.35 fs and
/// rises toward `1 + BOOST_GAIN` (+7.96 dB): +0.9 dB at 0.4 fs, +4.9 dB at 0.44 fs, +5.8 dB at 0.45 fs,
/// +7.86 dB at fs/2.
const BOOST_CUTOFF: f64 = 0.44;
/// Kaiser beta of the boost's low-pass (about 70 dB stopband, so the boost's passband is flat).
const BOOST_BETA: f64 = 7.0;
/// How much the boost adds above its transition, where the Annex 2 phases under-read (their gain falls to
/// -2.1 dB at 0.45 fs and -6.4 dB at 0.48 fs).
const BOOST_GAIN: f64 = 1.5;
/// Taps of each detection phase: the boost convolved with an Annex 2 phase.
const DETECTOR_TAPS: usize = BOOST_TAPS + TAPS_PER_PHASE - 1;

/// True-peak mode: the detection phases computed at input frame n interpolate between frames n - 21 and
/// n - 20: the boost delays by 15 and the Annex 2 phases (a 48-tap prototype centred on tap 23.5) sit at
/// n - 15 - 6 + 1/8, 3/8, 5/8 and 7/8.
pub const TRUE_PEAK_DETECTION_DELAY: usize = BOOST_TAPS / 2 + TAPS_PER_PHASE / 2;

/// True-peak mode: a required gain holds for this many frames on each side of the interval it was measured on,
/// so that the applied gain is flat around every limited peak (a gain that moved there would modulate the
/// signal and shift its inter-sample peaks; measured: with an exact detector and this hold the modulation adds
/// at most 0.08 dB at 0.5 ms lookahead on +24 dB noise).
pub const TRUE_PEAK_HOLD: usize = 8;

/// The latency `truePeak = 1` adds to the lookahead: the detection delay and the hold (29 frames, at every
/// sample rate).
pub const TRUE_PEAK_EXTRA_LATENCY: usize = TRUE_PEAK_DETECTION_DELAY + TRUE_PEAK_HOLD;

/// True-peak mode: the detected peak is raised by this (dB) before the required gain is taken: the room for what
/// the Annex 2 phases misread in their passband (their ripple of about +-0.2 dB and phase errors, which a
/// parabola cannot undo) and for the gain's residual modulation.
const TRUE_PEAK_MARGIN_DB: f64 = 0.25;

/// The true-peak detector's four phases: the Annex 2 phases of BS.1770-4 (crate::dsp::true_peak), each
/// scaled to unity gain at DC (phases 1 and 2 sum to 0.9748, a 0.22 dB under-read of slow signals), convolved
/// with a high-frequency boost `delta + BOOST_GAIN * (delta - lowpass)` (the low-pass a Kaiser-windowed sinc).
fn detector_phases() -> [[f64; DETECTOR_TAPS]; PHASES] {
    let lowpass = kaiser_lowpass(BOOST_TAPS, BOOST_CUTOFF, BOOST_BETA);
    let centre = BOOST_TAPS / 2;
    let boost: Vec<f64> = lowpass
        .iter()
        .enumerate()
        .map(|(i, lp)| {
            let delta = if i == centre { 1.0 } else { 0.0 };
            delta + BOOST_GAIN * (delta - lp)
        })
        .collect();
    let mut out = [[0.0; DETECTOR_TAPS]; PHASES];
    for (phase, taps) in PHASE_COEFFICIENTS.iter().zip(out.iter_mut()) {
        let dc: f64 = phase.iter().sum();
        for (i, b) in boost.iter().enumerate() {
            for (j, c) in phase.iter().enumerate() {
                taps[i + j] += b * c / dc;
            }
        }
    }
    out
}

/// The detector phases, computed once and shared by every instance (2.3 KB that each limiter used to hold).
fn shared_detector_phases() -> &'static [[f64; DETECTOR_TAPS]; PHASES] {
    static PHASES_ONCE: OnceLock<[[f64; DETECTOR_TAPS]; PHASES]> = OnceLock::new();
    PHASES_ONCE.get_or_init(detector_phases)
}

/// A required gain as stored for rebuilding: the largest f32 not above it, so that a rebuilt window never
/// holds a gain above the one measured (the ceiling proof needs `h <= g`; rounding down keeps it).
#[inline]
fn stored_gain(g: f64) -> f32 {
    let r = g as f32;
    if r as f64 > g && r > 0.0 {
        f32::from_bits(r.to_bits() - 1)
    } else {
        r
    }
}

/// The four detection values at input frame `at` of `ring` (frames `at - 41 ..= at`).
#[inline]
fn detector_values(phases: &[[f64; DETECTOR_TAPS]; PHASES], ring: &[f32], mask: usize, at: usize) -> [f64; PHASES] {
    let mut out = [0.0; PHASES];
    for (taps, v) in phases.iter().zip(out.iter_mut()) {
        let mut acc = 0.0;
        for (j, c) in taps.iter().enumerate() {
            acc += c * ring[at.wrapping_sub(j) & mask] as f64;
        }
        *v = acc;
    }
    out
}

/// The peak of the parabola through three equally spaced values when the middle one is a local extremum of
/// |value| (quadratic peak interpolation, J. O. Smith, "Spectral Audio Signal Processing", "Quadratic
/// Interpolation of Spectral Peaks"); otherwise |middle|. On a 4x grid it brings the under-read of a sine at
/// 0.45 fs from 0.55 dB (the grid alone) to 0.05 dB. Bounded: when it applies, |a - c| <= -(a - 2b + c), so
/// the correction is at most |a - c| / 8.
#[inline]
fn parabola_peak(a: f64, b: f64, c: f64) -> f64 {
    let sign = if b < 0.0 { -1.0 } else { 1.0 };
    let (a, b, c) = (a * sign, b * sign, c * sign);
    let curvature = a - 2.0 * b + c;
    if b >= a && b >= c && curvature < 0.0 {
        b - (a - c) * (a - c) / (8.0 * curvature)
    } else {
        b
    }
}

/// The true peak detected over the interval after frame `at - TRUE_PEAK_DETECTION_DELAY`: that frame's |value|
/// and the parabola peaks around the four detection values `now` (with `before`, the values one frame earlier,
/// for the first one).
#[inline]
fn interval_peak(raw: f32, before: &[f64; PHASES], now: &[f64; PHASES]) -> f64 {
    let mut peak = (raw as f64).abs();
    let mut prev2 = before[PHASES - 2];
    let mut prev = before[PHASES - 1];
    for &v in now {
        peak = peak.max(parabola_peak(prev2, prev, v)).max(v.abs());
        prev2 = prev;
        prev = v;
    }
    peak
}

pub struct Limiter {
    sample_rate: f64,
    /// L in samples: the lookahead (the boxcar's length minus 1).
    lookahead: usize,
    /// Whether detection runs on the 4x-oversampled signal.
    true_peak: bool,
    /// The gained input, the last `mask + 1` frames (same positions as `required`): the audio's lookahead delay
    /// (read `latency` frames back), the true-peak filter's history, and what the required gains are
    /// recomputed from when `truePeak` changes.
    input_left: Vec<f32>,
    input_right: Vec<f32>,
    /// The true-peak detector's phases ([`detector_phases`]), shared by every instance.
    detector: &'static [[f64; DETECTOR_TAPS]; PHASES],
    /// The detection values of the previous frame, per channel (true-peak mode).
    previous_left: [f64; PHASES],
    previous_right: [f64; PHASES],
    /// Required gains g, the last `mask + 1` samples (at least 2 * max L + 2 * hold + 2, for rebuilding after a
    /// change), rounded down to f32 ([`stored_gain`]): only a rebuild reads them, the render path pushes g
    /// itself.
    required: Vec<f32>,
    /// h' in fixed point (`UNIT`) for the last `held_mask + 1` samples (at least max L + 2: the boxcar and the
    /// value leaving it), at ring position `pos & held_mask`.
    held: Vec<u64>,
    held_mask: usize,
    mask: usize,
    /// The ring position the next sample is written at.
    pos: usize,
    window_min: SlidingExtremum,
    /// The sum of `held` over the last L + 1 samples (exact integer arithmetic: no drift).
    sum: u64,
    /// h'[n-1], where the release recovery starts from.
    recovered: f64,
    release_coeff: f64,
    input_gain: f64,
    /// The ceiling target last set (dB), from `set_targets`.
    target_db: f64,
    /// The ceiling in effect (dB): the lowest in play while a change glides.
    effective_db: f64,
    /// `db_to_gain(effective_db) * SAFETY`.
    ceiling: f64,
    /// The last applied gain A, for meters.
    applied: f64,
}

/// The sliding minimum's window: L + 1 frames, plus the hold on both sides in true-peak mode.
fn window_frames(lookahead: usize, true_peak: bool) -> usize {
    lookahead + 1 + if true_peak { 2 * TRUE_PEAK_HOLD } else { 0 }
}

/// The audio delay (the latency): L, plus the filter's delay and the hold in true-peak mode.
fn delay_frames(lookahead: usize, true_peak: bool) -> usize {
    lookahead + if true_peak { TRUE_PEAK_EXTRA_LATENCY } else { 0 }
}

/// The required gain for a peak: `min(1, ceiling / peak)`.
#[inline]
fn required_gain(peak: f64, ceiling: f64) -> f64 {
    if peak > ceiling {
        ceiling / peak
    } else {
        1.0
    }
}

impl Limiter {
    /// The required gain for the frame at ring position `at` in the current mode, from the input history; in
    /// true-peak mode it also stores that frame's detection values as the previous ones.
    #[inline]
    fn required_at(&mut self, at: usize) -> f64 {
        let peak = if self.true_peak {
            let raw = at.wrapping_sub(TRUE_PEAK_DETECTION_DELAY) & self.mask;
            let left = detector_values(self.detector, &self.input_left, self.mask, at);
            let right = detector_values(self.detector, &self.input_right, self.mask, at);
            let peak = interval_peak(self.input_left[raw], &self.previous_left, &left).max(interval_peak(
                self.input_right[raw],
                &self.previous_right,
                &right,
            ));
            self.previous_left = left;
            self.previous_right = right;
            peak * db_to_gain(TRUE_PEAK_MARGIN_DB)
        } else {
            (self.input_left[at] as f64)
                .abs()
                .max((self.input_right[at] as f64).abs())
        };
        required_gain(peak, self.ceiling)
    }

    /// Rebuilds the sliding minimum and the boxcar for a new lookahead or mode from the stored required gains
    /// (recomputed from the input history when the mode changes), so that the next sample sees exactly the state
    /// the new settings would have had (with h' never raised).
    fn rebuild(&mut self, lookahead: usize, true_peak: bool) {
        let window = window_frames(lookahead, true_peak);
        // Before the next sample m the boxcar must hold h' for frames m-1-L ..= m-1 (L + 1 values, the oldest
        // leaves at m); each needs the minimum of g over its own `window` frames.
        let span = lookahead + window - 1;
        if true_peak != self.true_peak {
            self.true_peak = true_peak;
            if true_peak {
                let first = self.pos.wrapping_sub(2 + span) & self.mask;
                self.previous_left = detector_values(self.detector, &self.input_left, self.mask, first);
                self.previous_right = detector_values(self.detector, &self.input_right, self.mask, first);
            }
            for back in (0..=span).rev() {
                let i = self.pos.wrapping_sub(1 + back) & self.mask;
                self.required[i] = stored_gain(self.required_at(i));
            }
        }
        self.window_min.set_window(window);
        self.window_min.clear();
        let mut sum = 0u64;
        for back in (0..=span).rev() {
            let i = self.pos.wrapping_sub(1 + back) & self.mask;
            let h = self.window_min.push(f64::from(self.required[i]));
            if back <= lookahead {
                let j = i & self.held_mask;
                self.held[j] = self.held[j].min((h * UNIT).floor() as u64);
                sum += self.held[j];
            }
        }
        self.sum = sum;
        let last = self.held[self.pos.wrapping_sub(1) & self.held_mask] as f64 / UNIT;
        self.recovered = self.recovered.min(last);
        self.lookahead = lookahead;
    }

    /// The block at once when the limiter is at rest and stays there (sample-peak mode): every required and held
    /// gain in play is 1 (the window's minimum is 1, the boxcar is full of `UNIT`s, the release is at 1) and no
    /// frame of the block exceeds the ceiling. Then every per-frame step of `render` gives g = h = h' = 1 and
    /// leaves the boxcar's sum unchanged, so the applied gain is the same for each frame: this writes the rings
    /// as those steps would, moves the sliding minimum by `push_repeated`, and multiplies the delayed input by
    /// that gain, computed as `render` computes it (identical output). Returns false, having changed nothing
    /// that `render` does not write again, when the block does not qualify.
    fn render_at_unity(&mut self, left: &mut [f32], right: &mut [f32]) -> bool {
        let full = (self.lookahead as u64 + 1) * UNIT as u64;
        if self.true_peak || self.recovered != 1.0 || self.sum != full || self.window_min.extremum() != Some(1.0) {
            return false;
        }
        let big = f32::MAX as f64;
        let n = left.len().min(right.len());
        // The ring holds at least a block beyond the delay only for blocks up to a piece; longer ones go frame by
        // frame.
        if n == 0 || n > PIECE_FRAMES {
            return false;
        }
        let mut quiet = true;
        for (k, (l, r)) in left.iter().zip(right.iter()).enumerate() {
            let at = (self.pos + k) & self.mask;
            let xl = (*l as f64 * self.input_gain).clamp(-big, big) as f32;
            let xr = (*r as f64 * self.input_gain).clamp(-big, big) as f32;
            self.input_left[at] = xl;
            self.input_right[at] = xr;
            quiet &= (xl.abs() as f64).max(xr.abs() as f64) <= self.ceiling;
        }
        if !quiet {
            return false;
        }
        for k in 0..n {
            self.required[(self.pos + k) & self.mask] = 1.0;
            self.held[(self.pos + k) & self.held_mask] = UNIT as u64;
        }
        self.window_min.push_repeated(1.0, n);
        let boxcar_scale = 1.0 / ((self.lookahead + 1) as f64 * UNIT);
        let gain = self.sum as i64 as f64 * boxcar_scale;
        self.applied = gain;
        let delay = delay_frames(self.lookahead, self.true_peak);
        for (k, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
            let delayed = (self.pos + k).wrapping_sub(delay) & self.mask;
            *l = (self.input_left[delayed] as f64 * gain) as f32;
            *r = (self.input_right[delayed] as f64 * gain) as f32;
        }
        self.pos = (self.pos + n) & self.mask;
        true
    }

    fn clear(&mut self) {
        self.input_left.fill(0.0);
        self.input_right.fill(0.0);
        self.previous_left = [0.0; PHASES];
        self.previous_right = [0.0; PHASES];
        self.required.fill(1.0);
        self.held.fill(UNIT as u64);
        self.pos = 0;
        self.window_min.reset();
        self.sum = (self.lookahead as u64 + 1) * UNIT as u64;
        self.recovered = 1.0;
        self.applied = 1.0;
    }
}

impl Kernel for Limiter {
    const SPEC: &'static EffectSpec = &SPEC;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let max_lookahead = lookahead_samples(MAX_LOOKAHEAD_MS, sample_rate);
        // Room to rebuild after a change: 2 L + 2 hold + 1 required gains, and the detector's history before them.
        // Also a piece beyond the longest delay, which `render_at_unity` writes before it reads the delay (it only
        // matters at low rates: 1024 frames either way at 44.1 and 48 kHz).
        let size = (2 * max_lookahead + 2 * TRUE_PEAK_HOLD + DETECTOR_TAPS + 3)
            .max(Self::max_latency(sample_rate) + PIECE_FRAMES + 1)
            .next_power_of_two();
        // The boxcar and the value leaving it; a power of two no larger than `size`, so both rings share `pos`.
        let held_size = (max_lookahead + 2).next_power_of_two();
        let lookahead = lookahead_samples(params[LOOKAHEAD], sample_rate).min(max_lookahead);
        let true_peak = params[TRUE_PEAK] >= 0.5;
        let mut k = Limiter {
            sample_rate,
            lookahead,
            true_peak,
            input_left: vec![0.0; size],
            input_right: vec![0.0; size],
            detector: shared_detector_phases(),
            previous_left: [0.0; PHASES],
            previous_right: [0.0; PHASES],
            required: vec![1.0; size],
            held: vec![UNIT as u64; held_size],
            held_mask: held_size - 1,
            mask: size - 1,
            pos: 0,
            window_min: SlidingExtremum::new(
                Extremum::Min,
                window_frames(max_lookahead, true),
                window_frames(lookahead, true_peak),
            ),
            sum: 0,
            recovered: 1.0,
            release_coeff: 0.0,
            input_gain: 1.0,
            target_db: params[CEILING],
            effective_db: params[CEILING],
            ceiling: 0.0,
            applied: 1.0,
        };
        k.clear();
        k.set_params(params);
        k
    }

    fn set_targets(&mut self, targets: &[f64]) {
        self.target_db = targets[CEILING];
    }

    fn set_params(&mut self, p: &[f64]) {
        let smoothed_db = p[CEILING];
        self.effective_db = if smoothed_db == self.target_db {
            smoothed_db
        } else {
            self.effective_db.min(smoothed_db).min(self.target_db)
        };
        self.ceiling = db_to_gain(self.effective_db) * SAFETY;
        self.release_coeff = one_pole_coefficient(p[RELEASE], self.sample_rate);
        self.input_gain = db_to_gain(p[INPUT_GAIN]);
        let max_lookahead = lookahead_samples(MAX_LOOKAHEAD_MS, self.sample_rate);
        let lookahead = lookahead_samples(p[LOOKAHEAD], self.sample_rate).min(max_lookahead);
        let true_peak = p[TRUE_PEAK] >= 0.5;
        if lookahead != self.lookahead || true_peak != self.true_peak {
            self.rebuild(lookahead, true_peak);
        }
    }

    fn render(&mut self, _frame: u64, left: &mut [f32], right: &mut [f32]) {
        if self.render_at_unity(left, right) {
            return;
        }
        let big = f32::MAX as f64;
        let boxcar_scale = 1.0 / ((self.lookahead + 1) as f64 * UNIT);
        let delay = delay_frames(self.lookahead, self.true_peak);
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            // Clamped so that a gain on a huge (finite) input cannot make an infinity.
            let xl = (*l as f64 * self.input_gain).clamp(-big, big) as f32;
            let xr = (*r as f64 * self.input_gain).clamp(-big, big) as f32;
            self.input_left[self.pos] = xl;
            self.input_right[self.pos] = xr;
            let g = if self.true_peak {
                self.required_at(self.pos)
            } else {
                let peak = (xl.abs() as f64).max(xr.abs() as f64);
                required_gain(peak, self.ceiling)
            };
            self.required[self.pos] = stored_gain(g);
            let h = self.window_min.push(g);
            let recovered = 1.0 - self.release_coeff * (1.0 - self.recovered);
            self.recovered = flush(h.min(recovered));
            // Truncation equals `floor` here (0 <= recovered <= 1, so the product is within [0, 2^52]), without
            // `floor`'s library call on baseline x86-64; through i64 because that conversion is one instruction
            // there, while f64 -> u64 is a compare-and-branch sequence (the same value for this range).
            let held = (self.recovered * UNIT) as i64 as u64;
            let leaving = self.held[self.pos.wrapping_sub(self.lookahead + 1) & self.held_mask];
            self.held[self.pos & self.held_mask] = held;
            self.sum = self.sum + held - leaving;
            // The input ring is the lookahead delay line (`delay` < the ring's size).
            let delayed = self.pos.wrapping_sub(delay) & self.mask;
            let (dl, dr) = (self.input_left[delayed], self.input_right[delayed]);
            self.pos = (self.pos + 1) & self.mask;
            // The sum is at most (max L + 1) x 2^52 < 2^63: i64 converts it exactly, in one instruction.
            let gain = self.sum as i64 as f64 * boxcar_scale;
            self.applied = gain;
            *l = (dl as f64 * gain) as f32;
            *r = (dr as f64 * gain) as f32;
        }
    }

    fn reset(&mut self) {
        self.clear();
    }

    fn copy_state_from(&mut self, other: &Self) {
        self.lookahead = other.lookahead;
        self.true_peak = other.true_peak;
        self.input_left.copy_from_slice(&other.input_left);
        self.input_right.copy_from_slice(&other.input_right);
        self.previous_left = other.previous_left;
        self.previous_right = other.previous_right;
        self.required.copy_from_slice(&other.required);
        self.held.copy_from_slice(&other.held);
        self.pos = other.pos;
        self.window_min.copy_state_from(&other.window_min);
        self.sum = other.sum;
        self.recovered = other.recovered;
        self.target_db = other.target_db;
        self.effective_db = other.effective_db;
        self.ceiling = other.ceiling;
        self.applied = other.applied;
    }

    fn latency(&self) -> usize {
        delay_frames(self.lookahead, self.true_peak)
    }

    fn max_latency(sample_rate: f64) -> usize {
        delay_frames(lookahead_samples(MAX_LOOKAHEAD_MS, sample_rate), true)
    }

    /// The output is the delayed input times a gain: silent once the input has been silent for the latency.
    fn tail_samples(&self) -> Option<u64> {
        Some(0)
    }

    fn gain_reduction_db(&self) -> f32 {
        (20.0 * self.applied.log10()).max(-200.0) as f32
    }

    /// At rest: no ceiling glide under way, every required and held gain at unity, the applied and recovering
    /// gains within 1e-7 of unity (-140 dB relative to any later input), and the lookahead line, the true-peak
    /// history and detections 60 dB below the floor (less the input gain). Scans the rings (a few thousand
    /// values), once per piece at most while the input is silent.
    fn settled(&self, floor: f32) -> bool {
        let limit = floor * 1e-3 / (self.input_gain as f32).max(1.0);
        self.effective_db == self.target_db
            && (self.applied - 1.0).abs() <= 1e-7
            && (self.recovered - 1.0).abs() <= 1e-7
            && self.held.iter().all(|h| *h == UNIT as u64)
            && self.required.iter().all(|g| *g == 1.0)
            && self
                .input_left
                .iter()
                .chain(&self.input_right)
                .all(|x| x.abs() <= limit)
            && self
                .previous_left
                .iter()
                .chain(&self.previous_right)
                .all(|x| x.abs() <= limit as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// |sum_j taps[j] e^{-i 2 pi f j}|, the magnitude response at f cycles per sample.
    fn magnitude(taps: &[f64], f: f64) -> f64 {
        let (re, im) = taps.iter().enumerate().fold((0.0, 0.0), |(re, im), (j, c)| {
            let w = 2.0 * std::f64::consts::PI * f * j as f64;
            (re + c * w.cos(), im - c * w.sin())
        });
        re.hypot(im)
    }

    #[test]
    fn detector_phases_have_unity_dc_gain_and_the_documented_boost() {
        let phases = detector_phases();
        for (detector, annex) in phases.iter().zip(&PHASE_COEFFICIENTS) {
            assert!((detector.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            // The boost is the ratio of the detector phase to the DC-normalised Annex 2 phase.
            let dc: f64 = annex.iter().sum();
            for (f, want_db, tolerance_db) in [
                (0.1, 0.0, 0.001),
                (0.35, 0.0, 0.001),
                (0.4, 0.9, 0.01),
                (0.5, 7.86, 0.01),
            ] {
                let boost_db = 20.0 * (magnitude(detector, f) / (magnitude(annex, f) / dc)).log10();
                assert!(
                    (boost_db - want_db).abs() <= tolerance_db,
                    "boost at {f} fs: {boost_db:.4} dB, documented {want_db} dB"
                );
            }
        }
    }

    #[test]
    fn the_parabola_reads_a_sine_on_a_4x_grid_within_0_05_db_and_never_over() {
        // cos(2 pi f t) sampled at t = (k - d) / 4 around its peak at t = 0, for every offset d of the grid.
        for f in [0.1, 0.3, 0.45] {
            let step = 2.0 * std::f64::consts::PI * f / 4.0;
            for i in 0..=100 {
                let d = i as f64 / 100.0 - 0.5;
                let v = |k: f64| (step * (k - d)).cos();
                let peak = parabola_peak(v(-1.0), v(0.0), v(1.0));
                assert!(peak <= 1.0 + 1e-12, "f {f} offset {d}: {peak} over the true peak");
                assert!(20.0 * peak.log10() >= -0.05, "f {f} offset {d}: {peak}");
                // The same for the negative half-wave.
                assert_eq!(parabola_peak(-v(-1.0), -v(0.0), -v(1.0)), peak);
            }
        }
    }
}
