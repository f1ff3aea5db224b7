//! `freeverb`: Jezar's public-domain Freeverb (Dreampoint, 2000), exactly as docs/effects.md writes it out.
//!
//! The input `(L + R) x 0.015` feeds both channels' banks; per channel 8 lowpass-feedback combs in parallel,
//! summed, then 4 of Freeverb's own allpasses (feedback 0.5) in series. Lengths are Jezar's 44.1 kHz tunings
//! (right channel +23) scaled as `floor((tuning + spread) x fs / 44100)`. Feedback, damping and gains are his
//! per-sample coefficients at every rate (docs/effects.md), so the decay time scales with the tunings only.
//! freeverb has `wet`/`dry` instead of `mix` and renders its whole output.

use super::Kernel;
use crate::dsp::reverb_parts::{allpass_tail_samples, freeverb_comb_bank, FreeverbAllpass, FreeverbComb};
use crate::dsp::PIECE_FRAMES;
use crate::params::{Category, EffectSpec, ParamSpec, Preset};

const ROOM_SIZE: usize = 0;
const DAMPING: usize = 1;
const WET: usize = 2;
const DRY: usize = 3;
const WIDTH: usize = 4;
const FREEZE: usize = 5;

/// Jezar's `tuning.h`: comb and allpass lengths at 44.1 kHz, the right channel's spread, and the constants.
pub const COMB_TUNINGS: [usize; 8] = [1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617];
pub const ALLPASS_TUNINGS: [usize; 4] = [556, 441, 341, 225];
pub const STEREO_SPREAD: usize = 23;
const FIXED_GAIN: f32 = 0.015;
const SCALE_WET: f32 = 3.0;
const SCALE_DRY: f32 = 2.0;
const SCALE_DAMP: f32 = 0.4;
const SCALE_ROOM: f32 = 0.28;
const OFFSET_ROOM: f32 = 0.7;
const ALLPASS_FEEDBACK: f32 = 0.5;

/// A bound on the output that a state whose every value (comb buffers and filters, allpass buffers) is at most
/// s can still produce from silent input, over s: each comb keeps its output within s (its loop averages and
/// scales by `feedback <= 1`), so their sum stays within 8 s; a Freeverb allpass with input at most a and buffer
/// at most b keeps its buffer within max(b, a + b/2) <= max(b, 2a) and outputs at most that plus a, so each of
/// the four at most triples the bound (8 s -> 24 s -> 72 s -> 216 s -> 648 s, every buffer below its input's
/// bound times 2); the wet gains add to at most `wet x SCALE_WET = 3`.
const STATE_TO_OUTPUT_BOUND: f32 = 648.0 * SCALE_WET;

pub static SPEC: EffectSpec = EffectSpec {
    id: "freeverb",
    name: "Freeverb",
    category: Category::Reverb,
    params: &[
        ParamSpec::linear("roomSize", "", 0.0, 1.0, 0.5),
        ParamSpec::linear("damping", "", 0.0, 1.0, 0.5),
        ParamSpec::linear("wet", "", 0.0, 1.0, 1.0 / 3.0),
        ParamSpec::linear("dry", "", 0.0, 1.0, 0.0),
        ParamSpec::linear("width", "", 0.0, 1.0, 1.0),
        ParamSpec::switch("freeze", 0.0),
    ],
    // Chosen by ear on drums, voice and piano; `dry` 0 because the host usually sends freeverb from a bus.
    presets: &[
        Preset {
            name: "small bright room",
            values: &[("roomSize", 0.3), ("damping", 0.2), ("wet", 0.25), ("width", 0.8)],
        },
        Preset {
            name: "vocal hall",
            values: &[("roomSize", 0.8), ("damping", 0.5), ("wet", 0.3), ("width", 1.0)],
        },
        Preset {
            name: "dark ambience",
            values: &[("roomSize", 0.95), ("damping", 0.85), ("wet", 0.4), ("width", 1.0)],
        },
        Preset {
            name: "mono send",
            values: &[("roomSize", 0.6), ("damping", 0.4), ("wet", 0.33), ("width", 0.0)],
        },
    ],
};

/// `floor((tuning + spread) x fs / 44100)`, at least 1.
pub fn scaled_length(tuning: usize, spread: usize, sample_rate: f64) -> usize {
    (((tuning + spread) as f64 * sample_rate / 44_100.0).floor() as usize).max(1)
}

pub struct Freeverb {
    combs: [[FreeverbComb; 8]; 2],
    allpasses: [[FreeverbAllpass; 4]; 2],
    gain: f32,
    feedback: f32,
    damp1: f32,
    damp2: f32,
    wet1: f32,
    wet2: f32,
    dry: f32,
    frozen: bool,
    longest_comb: usize,
    allpass_lengths: [usize; 4],
    /// Scratch for a block: the combs' mono input and each channel's comb sums (then allpass outputs).
    input: Vec<f32>,
    sums: [Vec<f32>; 2],
}

impl Kernel for Freeverb {
    const SPEC: &'static EffectSpec = &SPEC;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let spread = [0, STEREO_SPREAD];
        let mut k = Freeverb {
            combs: std::array::from_fn(|ch| {
                std::array::from_fn(|i| FreeverbComb::new(scaled_length(COMB_TUNINGS[i], spread[ch], sample_rate)))
            }),
            allpasses: std::array::from_fn(|ch| {
                std::array::from_fn(|i| {
                    FreeverbAllpass::new(scaled_length(ALLPASS_TUNINGS[i], spread[ch], sample_rate))
                })
            }),
            gain: FIXED_GAIN,
            feedback: 0.0,
            damp1: 0.0,
            damp2: 1.0,
            wet1: 0.0,
            wet2: 0.0,
            dry: 0.0,
            frozen: false,
            longest_comb: scaled_length(COMB_TUNINGS[7], STEREO_SPREAD, sample_rate),
            allpass_lengths: std::array::from_fn(|i| scaled_length(ALLPASS_TUNINGS[i], STEREO_SPREAD, sample_rate)),
            input: vec![0.0; PIECE_FRAMES],
            sums: [vec![0.0; PIECE_FRAMES], vec![0.0; PIECE_FRAMES]],
        };
        k.set_params(params);
        k
    }

    fn set_params(&mut self, p: &[f64]) {
        self.frozen = p[FREEZE] >= 0.5;
        if self.frozen {
            (self.feedback, self.damp1, self.gain) = (1.0, 0.0, 0.0);
        } else {
            self.feedback = p[ROOM_SIZE] as f32 * SCALE_ROOM + OFFSET_ROOM;
            self.damp1 = p[DAMPING] as f32 * SCALE_DAMP;
            self.gain = FIXED_GAIN;
        }
        self.damp2 = 1.0 - self.damp1;
        let wet = p[WET] as f32 * SCALE_WET;
        let width = p[WIDTH] as f32;
        self.wet1 = wet * (width / 2.0 + 0.5);
        self.wet2 = wet * ((1.0 - width) / 2.0);
        self.dry = p[DRY] as f32 * SCALE_DRY;
    }

    /// Block by block: all combs of a channel over the block, then each allpass over it (see
    /// [`freeverb_comb_bank`]); the same arithmetic in the same order as Jezar's per-sample loop.
    fn render(&mut self, _frame: u64, left: &mut [f32], right: &mut [f32]) {
        let (fb, d1, d2) = (self.feedback, self.damp1, self.damp2);
        let n = left.len().min(right.len());
        let mut start = 0;
        while start < n {
            let len = (n - start).min(self.input.len());
            let (l, r) = (&mut left[start..start + len], &mut right[start..start + len]);
            let input = &mut self.input[..len];
            for ((x, a), b) in input.iter_mut().zip(l.iter()).zip(r.iter()) {
                *x = (*a + *b) * self.gain;
            }
            for ((combs, allpasses), sums) in self.combs.iter_mut().zip(&mut self.allpasses).zip(&mut self.sums) {
                let sums = &mut sums[..len];
                freeverb_comb_bank(combs, input, sums, fb, d1, d2);
                for allpass in allpasses.iter_mut() {
                    allpass.process_block(sums, ALLPASS_FEEDBACK);
                }
            }
            let [acc_l, acc_r] = &self.sums;
            for (((l, r), acc_l), acc_r) in l.iter_mut().zip(r.iter_mut()).zip(&acc_l[..len]).zip(&acc_r[..len]) {
                let (in_l, in_r) = (*l, *r);
                *l = acc_l * self.wet1 + acc_r * self.wet2 + in_l * self.dry;
                *r = acc_r * self.wet1 + acc_l * self.wet2 + in_r * self.dry;
            }
            start += len;
        }
    }

    fn reset(&mut self) {
        self.combs.iter_mut().flatten().for_each(FreeverbComb::reset);
        self.allpasses.iter_mut().flatten().for_each(FreeverbAllpass::reset);
    }

    fn copy_state_from(&mut self, other: &Self) {
        for (a, b) in self.combs.iter_mut().flatten().zip(other.combs.iter().flatten()) {
            a.copy_state_from(b);
        }
        for (a, b) in self
            .allpasses
            .iter_mut()
            .flatten()
            .zip(other.allpasses.iter().flatten())
        {
            a.copy_state_from(b);
        }
    }

    /// Never while frozen. Otherwise when every comb and allpass value is below `floor / STATE_TO_OUTPUT_BOUND`,
    /// so that what the kept state could still add after waking stays below the floor at any `wet` and `width`
    /// (the bound uses the largest wet gain, so a later `wet` change cannot uncover a tail). The scans stop at
    /// the first value above the limit, so they are short while the reverb still rings.
    fn settled(&self, floor: f32) -> bool {
        let limit = floor / STATE_TO_OUTPUT_BOUND;
        !self.frozen
            && self.combs.iter().flatten().all(|c| c.settled(limit))
            && self.allpasses.iter().flatten().all(|a| a.settled(limit))
    }

    /// Infinite while frozen. Otherwise each comb's loop gain is at most `feedback` at every frequency (its
    /// damping low-pass has unity DC gain and no gain above it), so the bank decays by 120 dB (20 dB of margin
    /// for 16 combs adding up) within `ln(1e-6)/ln(feedback)` passes of the longest comb; then the allpasses
    /// (feedback 0.5) ring down in series.
    fn tail_samples(&self) -> Option<u64> {
        if self.frozen {
            return None;
        }
        let passes = (1e-6f64).ln() / (self.feedback as f64).ln() + 1.0;
        let combs = passes * self.longest_comb as f64;
        let allpasses: f64 = self
            .allpass_lengths
            .iter()
            .map(|len| allpass_tail_samples(ALLPASS_FEEDBACK as f64, *len as f64))
            .sum();
        Some((combs + allpasses).ceil() as u64)
    }
}
