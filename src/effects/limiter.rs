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
//! Lookahead changes (`lookaheadMs` is structural: a change crossfades a copy of this state set to the new
//! lookahead): the copy rebuilds its sliding minimum and boxcar from the stored history of required gains with the
//! new window, so the proof holds for the new lookahead from the first sample on.

use super::Kernel;
use crate::dsp::db_to_gain;
use crate::dsp::delay_line::StereoDelay;
use crate::dsp::denormal::flush;
use crate::dsp::detector::one_pole_coefficient;
use crate::dsp::sliding::{Extremum, SlidingExtremum};
use crate::params::{Category, EffectSpec, ParamSpec};

const CEILING: usize = 0;
const RELEASE: usize = 1;
const LOOKAHEAD: usize = 2;
const INPUT_GAIN: usize = 3;

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
        ParamSpec::structural("lookaheadMs", "ms", 0.5, MAX_LOOKAHEAD_MS, 5.0),
        ParamSpec::linear("inputGainDb", "dB", 0.0, 24.0, 0.0),
    ],
    presets: &[],
};

/// The lookahead in samples (effects.md: round(lookaheadMs * fs / 1000)).
pub fn lookahead_samples(lookahead_ms: f64, sample_rate: f64) -> usize {
    (lookahead_ms * sample_rate / 1000.0).round() as usize
}

pub struct Limiter {
    sample_rate: f64,
    /// L in samples: the delay of the audio and the sliding windows' length minus 1.
    lookahead: usize,
    delay: StereoDelay,
    /// Required gains g, the last `mask + 1` samples (at least 2 * max L + 2, for rebuilding after a change).
    required: Vec<f64>,
    /// h' in fixed point (`UNIT`), same positions as `required`.
    held: Vec<u64>,
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

impl Limiter {
    /// Rebuilds the sliding minimum and the boxcar for a new lookahead from the stored required gains, so that
    /// the next sample sees exactly the state the new lookahead would have had (with h' never raised).
    fn rebuild(&mut self, lookahead: usize) {
        let window = lookahead + 1;
        self.window_min.set_window(window);
        self.window_min.clear();
        // Before the next sample m the boxcar must hold h' for frames m-1-L ..= m-1 (L + 1 values, the oldest
        // leaves at m); each needs the minimum of g over its own L + 1 frames, so frames m-1-2L ..= m-1.
        let mut sum = 0u64;
        for back in (0..=2 * lookahead).rev() {
            let i = self.pos.wrapping_sub(1 + back) & self.mask;
            let h = self.window_min.push(self.required[i]);
            if back <= lookahead {
                self.held[i] = self.held[i].min((h * UNIT).floor() as u64);
                sum += self.held[i];
            }
        }
        self.sum = sum;
        let last = self.held[self.pos.wrapping_sub(1) & self.mask] as f64 / UNIT;
        self.recovered = self.recovered.min(last);
        self.lookahead = lookahead;
    }

    fn clear(&mut self) {
        self.delay.reset();
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
        let max_lookahead = Self::max_latency(sample_rate);
        let size = (2 * max_lookahead + 2).next_power_of_two();
        let lookahead = lookahead_samples(params[LOOKAHEAD], sample_rate).min(max_lookahead);
        let mut k = Limiter {
            sample_rate,
            lookahead,
            delay: StereoDelay::new(max_lookahead),
            required: vec![1.0; size],
            held: vec![UNIT as u64; size],
            mask: size - 1,
            pos: 0,
            window_min: SlidingExtremum::new(Extremum::Min, max_lookahead + 1, lookahead + 1),
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
        let lookahead = lookahead_samples(p[LOOKAHEAD], self.sample_rate).min(Self::max_latency(self.sample_rate));
        if lookahead != self.lookahead {
            self.rebuild(lookahead);
        }
    }

    fn render(&mut self, _frame: u64, left: &mut [f32], right: &mut [f32]) {
        let big = f32::MAX as f64;
        let boxcar_scale = 1.0 / ((self.lookahead + 1) as f64 * UNIT);
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            // Clamped so that a gain on a huge (finite) input cannot make an infinity.
            let xl = (*l as f64 * self.input_gain).clamp(-big, big) as f32;
            let xr = (*r as f64 * self.input_gain).clamp(-big, big) as f32;
            let peak = (xl.abs() as f64).max(xr.abs() as f64);
            let g = if peak > self.ceiling { self.ceiling / peak } else { 1.0 };
            self.required[self.pos] = g;
            let h = self.window_min.push(g);
            let recovered = 1.0 - self.release_coeff * (1.0 - self.recovered);
            self.recovered = flush(h.min(recovered));
            // `as u64` truncates and saturates negatives to 0, so it equals `floor() as u64` for every value,
            // without `floor`'s library call on baseline x86-64.
            let held = (self.recovered * UNIT) as u64;
            let leaving = self.held[self.pos.wrapping_sub(self.lookahead + 1) & self.mask];
            self.held[self.pos] = held;
            self.sum = self.sum + held - leaving;
            self.pos = (self.pos + 1) & self.mask;
            let gain = self.sum as f64 * boxcar_scale;
            self.applied = gain;
            let (dl, dr) = self.delay.tick(xl, xr, self.lookahead);
            *l = (dl as f64 * gain) as f32;
            *r = (dr as f64 * gain) as f32;
        }
    }

    fn reset(&mut self) {
        self.clear();
    }

    fn copy_state_from(&mut self, other: &Self) {
        self.lookahead = other.lookahead;
        self.delay.copy_from(&other.delay);
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
        self.lookahead
    }

    fn max_latency(sample_rate: f64) -> usize {
        lookahead_samples(MAX_LOOKAHEAD_MS, sample_rate)
    }

    /// The output is the delayed input times a gain: silent once the input has been silent for the latency.
    fn tail_samples(&self) -> Option<u64> {
        Some(0)
    }

    fn gain_reduction_db(&self) -> f32 {
        (20.0 * self.applied.log10()).max(-200.0) as f32
    }
}
