//! `room-reverb`: early reflections from a tapped delay plus a short late tail from an 8-line FDN.
//!
//! `preDelayMs` -> per channel 18 reflections, a fixed-seed (PCG32) pattern of times spread over
//! `6 + 74 x size` ms with amplitudes falling linearly to 30 % and random signs (the two channels have different
//! patterns) -> the reflections feed the late network (8 lines of `(0.4 + size) x` 23-54 ms, lightly modulated,
//! Jot loss filters, Hadamard feedback) whose two outputs are added to the reflections. `decaySeconds` is the
//! RT60 at 700 Hz (in the band docs/effects.md measures); `damping` [0, 1] moves the frequency where the decay time
//! about halves from 20 kHz down to 1.5 kHz (log scale). `size` re-lays the taps and the lines and so is
//! crossfaded (structural, not automatable).

use super::Kernel;
use crate::dsp::reverb_parts::{settle_limit, Fdn, LossDesign, PreDelay, Ring, FDN_MAX_LINES};
use crate::dsp::rng::Pcg32;
use crate::params::{Category, EffectSpec, ParamSpec, Preset};

const DECAY: usize = 0;
const PRE_DELAY: usize = 1;
const SIZE: usize = 2;
const DAMPING: usize = 3;
const WIDTH: usize = 5;

pub static SPEC: EffectSpec = EffectSpec {
    id: "room-reverb",
    name: "Room Reverb",
    category: Category::Reverb,
    params: &[
        ParamSpec::log("decaySeconds", "s", 0.2, 3.0, 0.6),
        ParamSpec::linear("preDelayMs", "ms", 0.0, 100.0, 5.0),
        ParamSpec::structural("size", "", 0.0, 1.0, 0.4),
        ParamSpec::linear("damping", "", 0.0, 1.0, 0.5),
        ParamSpec::linear("mix", "", 0.0, 1.0, 0.25),
        ParamSpec::linear("width", "", 0.0, 1.0, 1.0),
    ],
    presets: &[
        Preset {
            name: "small room",
            values: &[
                ("decaySeconds", 0.4),
                ("preDelayMs", 2.0),
                ("size", 0.2),
                ("damping", 0.6),
                ("mix", 0.2),
            ],
        },
        Preset {
            name: "medium room",
            values: &[
                ("decaySeconds", 0.9),
                ("preDelayMs", 8.0),
                ("size", 0.6),
                ("damping", 0.45),
                ("mix", 0.25),
            ],
        },
    ],
};

const TAPS: usize = 18;
const LINE_MS: [f64; 8] = [23.3, 27.1, 31.7, 35.3, 39.1, 43.7, 47.3, 53.9];
const MAX_PRE_DELAY_MS: f64 = 100.0;
const MOD_DEPTH_S: f64 = 0.000_08;
const MOD_RATE_HZ: f64 = 0.6;
const EARLY_GAIN: f32 = 0.35;
const LATE_GAIN: f32 = 0.8;

/// The reflection span in ms at a size.
fn early_span_ms(size: f64) -> f64 {
    6.0 + 74.0 * size
}

/// The frequency where the decay time about halves, for `damping`.
fn damping_hz(damping: f64) -> f64 {
    20_000.0 * (1_500.0f64 / 20_000.0).powf(damping)
}

pub struct RoomReverb {
    sample_rate: f64,
    pre_delay: PreDelay,
    early: [Ring; 2],
    /// Per channel: tap position as a fraction of the span (sorted) and gain.
    pattern: [[(f64, f32); TAPS]; 2],
    tap_delays: [[usize; TAPS]; 2],
    fdn: Fdn,
    input_signs: [f32; FDN_MAX_LINES],
    size: f64,
    decay: f64,
    damping: f64,
    configured: bool,
    wet1: f32,
    wet2: f32,
}

impl Kernel for RoomReverb {
    const SPEC: &'static EffectSpec = &SPEC;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let ms = |x: f64| x * sample_rate / 1000.0;
        let mut rng = Pcg32::new(0x2004, 3);
        let pattern = std::array::from_fn(|_| {
            let mut taps: [(f64, f32); TAPS] = std::array::from_fn(|_| {
                let position = 0.03 + 0.97 * rng.next_f64();
                let sign = if rng.next_u32() & 1 == 0 { 1.0 } else { -1.0 };
                (position, sign)
            });
            taps.sort_by(|a, b| a.0.total_cmp(&b.0));
            for t in taps.iter_mut() {
                t.1 *= (1.0 - 0.7 * t.0) as f32 / (TAPS as f32).sqrt() * 2.0;
            }
            taps
        });
        let mut k = RoomReverb {
            sample_rate,
            pre_delay: PreDelay::new(ms(MAX_PRE_DELAY_MS).ceil() as usize + 2),
            early: std::array::from_fn(|_| Ring::new(ms(early_span_ms(1.0)).ceil() as usize + 2)),
            pattern,
            tap_delays: [[0; TAPS]; 2],
            fdn: Fdn::new(
                8,
                ms(LINE_MS[7] * 1.4).ceil() as usize + 2,
                MOD_DEPTH_S * sample_rate,
                MOD_RATE_HZ,
                sample_rate,
                0x2004,
            ),
            input_signs: std::array::from_fn(|i| if (i / 2) % 2 == 1 { -0.7 } else { 0.7 }),
            size: 0.0,
            decay: 0.0,
            damping: 0.0,
            configured: false,
            wet1: 1.0,
            wet2: 0.0,
        };
        k.set_params(params);
        k.pre_delay.set(ms(params[PRE_DELAY]), true);
        k
    }

    fn set_params(&mut self, p: &[f64]) {
        let fs = self.sample_rate;
        self.pre_delay.set(p[PRE_DELAY] * fs / 1000.0, false);
        if !self.configured || p[SIZE] != self.size || p[DECAY] != self.decay || p[DAMPING] != self.damping {
            (self.size, self.decay, self.damping) = (p[SIZE], p[DECAY], p[DAMPING]);
            let span = early_span_ms(p[SIZE]) * fs / 1000.0;
            for ch in 0..2 {
                for (d, (pos, _)) in self.tap_delays[ch].iter_mut().zip(self.pattern[ch].iter()) {
                    *d = (pos * span).round() as usize;
                }
            }
            let design = LossDesign::new(p[DECAY], damping_hz(p[DAMPING]), fs);
            let lengths: [f64; 8] = std::array::from_fn(|i| LINE_MS[i] * (0.4 + p[SIZE]) * fs / 1000.0);
            self.fdn.set(&lengths, &design, fs);
            self.configured = true;
        }
        let width = p[WIDTH] as f32;
        self.wet1 = width / 2.0 + 0.5;
        self.wet2 = (1.0 - width) / 2.0;
    }

    fn render(&mut self, frame: u64, left: &mut [f32], right: &mut [f32]) {
        let mut inputs = [0.0f32; FDN_MAX_LINES];
        for (n, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
            let (pl, pr) = self.pre_delay.tick(*l, *r);
            self.early[0].push(pl);
            self.early[1].push(pr);
            let mut er = [0.0f32; 2];
            for (ch, e) in er.iter_mut().enumerate() {
                for (d, (_, g)) in self.tap_delays[ch].iter().zip(self.pattern[ch].iter()) {
                    *e += g * self.early[ch].at(*d);
                }
            }
            for (i, x) in inputs.iter_mut().take(8).enumerate() {
                *x = self.input_signs[i] * er[i % 2];
            }
            let (a, b) = self.fdn.tick(frame + n as u64, &inputs);
            let out_l = EARLY_GAIN * er[0] + LATE_GAIN * a;
            let out_r = EARLY_GAIN * er[1] + LATE_GAIN * b;
            *l = out_l * self.wet1 + out_r * self.wet2;
            *r = out_r * self.wet1 + out_l * self.wet2;
        }
    }

    fn reset(&mut self) {
        self.pre_delay.reset();
        self.early.iter_mut().for_each(Ring::reset);
        self.fdn.reset();
    }

    fn copy_state_from(&mut self, other: &Self) {
        self.pre_delay.copy_state_from(&other.pre_delay);
        for (a, b) in self.early.iter_mut().zip(other.early.iter()) {
            a.copy_state_from(b);
        }
        self.fdn.copy_state_from(&other.fdn);
    }

    /// The pre-delay (not slewing), the reflection lines and the network all below the reverb limit
    /// (`dsp::reverb_parts::settle_limit`).
    fn settled(&self, floor: f32) -> bool {
        let held = self.pre_delay.held_samples()
            + self.early.iter().map(Ring::held_samples).sum::<usize>()
            + self.fdn.held_samples();
        let limit = settle_limit(floor, held);
        self.pre_delay.settled(limit) && self.early.iter().all(|r| r.peak() <= limit) && self.fdn.peak() <= limit
    }

    /// The late network's slowest (DC) decay to -100 dB after the pre-delay, the reflection span and its
    /// longest line.
    fn tail_samples(&self) -> Option<u64> {
        let fs = self.sample_rate;
        let span = early_span_ms(self.size) * fs / 1000.0;
        let late = self.fdn.dc_rt60(fs) * 100.0 / 60.0 * fs + self.fdn.longest();
        Some((self.pre_delay.longest() + span + late).ceil() as u64)
    }
}
