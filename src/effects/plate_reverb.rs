//! `plate-reverb`: Dattorro's plate (J. Dattorro, "Effect Design Part 1: Reverberator and Other Filters",
//! JAES 45(9), 1997), the figure-eight tank of his Figure 1 with the output taps of his Table 2.
//!
//! Mono input `(L + R)/2` -> `preDelayMs` -> bandwidth low-pass (0.9995) -> four input diffusers (142, 107,
//! 379, 277 samples; 0.75, 0.75, 0.625, 0.625 at `diffusion` 0.7) -> the tank: each half is a modulated
//! decay-diffusion allpass (672 / 908, excursion 16), a delay (4453 / 4217), the damping low-pass, the decay
//! gain, a second allpass (1800 / 2656), a delay (3720 / 3163) and the decay gain again, then crosses into the
//! other half. All lengths are the paper's at 29761 Hz scaled to the sample rate; the one-pole coefficients are
//! rescaled so that their time constants stay the same.
//!
//! `decaySeconds`: one trip around the figure eight takes the sum of all tank lengths L (the mean group delay of
//! an allpass is its length) and passes the decay gain four times and the damping low-pass twice, so
//! `decay = 10^(-3 L / (4 fs T)) / sqrt(|damping(700 Hz)|)`, capped so the DC decay stays within 1.5 T.
//! `damping` [0, 1] sets the damping pole at 29761 Hz to `0.8 x damping` (1 = a ~1 kHz corner).
//! `diffusion` scales the input and the first decay diffusion (0.7 = the paper's values), each capped at 0.9.

use super::Kernel;
use crate::dsp::reverb_parts::{
    allpass_tail_samples, rescale_pole, settle_limit, Allpass, Lfo, OnePole, PreDelay, Ring, RT60_REFERENCE_HZ,
};
use crate::dsp::PIECE_FRAMES;
use crate::params::{Category, EffectSpec, ParamSpec, Preset};
use std::f64::consts::PI;

const DECAY: usize = 0;
const PRE_DELAY: usize = 1;
const DAMPING: usize = 2;
const DIFFUSION: usize = 3;
const WIDTH: usize = 5;

pub static SPEC: EffectSpec = EffectSpec {
    id: "plate-reverb",
    name: "Plate Reverb",
    category: Category::Reverb,
    params: &[
        ParamSpec::log("decaySeconds", "s", 0.5, 10.0, 1.8),
        ParamSpec::linear("preDelayMs", "ms", 0.0, 250.0, 10.0),
        ParamSpec::linear("damping", "", 0.0, 1.0, 0.3),
        ParamSpec::linear("diffusion", "", 0.0, 1.0, 0.7),
        ParamSpec::linear("mix", "", 0.0, 1.0, 0.3),
        ParamSpec::linear("width", "", 0.0, 1.0, 1.0),
    ],
    presets: &[
        Preset {
            name: "plate",
            values: &[
                ("decaySeconds", 2.4),
                ("preDelayMs", 15.0),
                ("damping", 0.25),
                ("diffusion", 0.75),
                ("mix", 0.3),
            ],
        },
        Preset {
            name: "spring-like short plate",
            values: &[
                ("decaySeconds", 0.9),
                ("preDelayMs", 0.0),
                ("damping", 0.55),
                ("diffusion", 0.45),
                ("mix", 0.35),
            ],
        },
    ],
};

/// Dattorro's sample rate and his lengths at it.
const PAPER_RATE: f64 = 29_761.0;
const INPUT_DIFFUSERS: [f64; 4] = [142.0, 107.0, 379.0, 277.0];
/// Tank: [left, right] modulated allpass, delay, allpass, delay.
const TANK: [[f64; 4]; 2] = [[672.0, 4453.0, 1800.0, 3720.0], [908.0, 4217.0, 2656.0, 3163.0]];
const EXCURSION: f64 = 16.0;
const LFO_HZ: f64 = 1.0;
const BANDWIDTH: f64 = 0.9995;
/// Table 2 taps: (source, offset, sign). Sources: 0 left delay 1 (4453), 1 left allpass 2 (1800), 2 left delay
/// 2 (3720), 3 right delay 1 (4217), 4 right allpass 2 (2656), 5 right delay 2 (3163).
const TAPS: [[(usize, f64, f32); 7]; 2] = [
    [
        (3, 266.0, 1.0),
        (3, 2974.0, 1.0),
        (4, 1913.0, -1.0),
        (5, 1996.0, 1.0),
        (0, 1990.0, -1.0),
        (1, 187.0, -1.0),
        (2, 1066.0, -1.0),
    ],
    [
        (0, 353.0, 1.0),
        (0, 3627.0, 1.0),
        (1, 1228.0, -1.0),
        (2, 2673.0, 1.0),
        (3, 2111.0, -1.0),
        (4, 335.0, -1.0),
        (5, 121.0, -1.0),
    ],
];
const OUTPUT_GAIN: f32 = 0.6;
const MAX_PRE_DELAY_MS: f64 = 250.0;

pub struct PlateReverb {
    sample_rate: f64,
    pre_delay: PreDelay,
    bandwidth: OnePole,
    input_diffusers: [Allpass; 4],
    input_lengths: [f64; 4],
    mod_allpass: [Allpass; 2],
    delay1: [Ring; 2],
    damping: [OnePole; 2],
    allpass2: [Allpass; 2],
    delay2: [Ring; 2],
    lengths: [[f64; 4]; 2],
    taps: [[(usize, usize, f32); 7]; 2],
    lfo: [Lfo; 2],
    excursion: f64,
    decay: f32,
    input_g: [f32; 2],
    decay_diffusion: [f32; 2],
    damping_pole: f64,
    wet1: f32,
    wet2: f32,
    dc_rt60: f64,
}

impl PlateReverb {
    /// The line an output tap reads (Table 2's sources).
    fn tap_ring(&self, src: usize) -> &Ring {
        match src {
            0 => &self.delay1[0],
            1 => self.allpass2[0].ring(),
            2 => &self.delay2[0],
            3 => &self.delay1[1],
            4 => self.allpass2[1].ring(),
            _ => &self.delay2[1],
        }
    }
}

impl Kernel for PlateReverb {
    const SPEC: &'static EffectSpec = &SPEC;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let scale = sample_rate / PAPER_RATE;
        let excursion = EXCURSION * scale;
        let cap = |len: f64| (len * scale).ceil() as usize + excursion.ceil() as usize + 4;
        let mut k = PlateReverb {
            sample_rate,
            pre_delay: PreDelay::new((MAX_PRE_DELAY_MS * sample_rate / 1000.0).ceil() as usize + 2),
            bandwidth: OnePole::new(rescale_pole(1.0 - BANDWIDTH, PAPER_RATE, sample_rate)),
            input_diffusers: std::array::from_fn(|i| Allpass::new(cap(INPUT_DIFFUSERS[i]))),
            input_lengths: std::array::from_fn(|i| (INPUT_DIFFUSERS[i] * scale).max(1.0)),
            mod_allpass: std::array::from_fn(|h| Allpass::new(cap(TANK[h][0]))),
            delay1: std::array::from_fn(|h| Ring::new(cap(TANK[h][1]))),
            damping: [OnePole::default(); 2],
            allpass2: std::array::from_fn(|h| Allpass::new(cap(TANK[h][2]))),
            delay2: std::array::from_fn(|h| Ring::new(cap(TANK[h][3]))),
            lengths: std::array::from_fn(|h| std::array::from_fn(|i| (TANK[h][i] * scale).round().max(2.0))),
            taps: std::array::from_fn(|c| {
                std::array::from_fn(|t| {
                    let (src, offset, sign) = TAPS[c][t];
                    (src, (offset * scale).round() as usize, sign)
                })
            }),
            lfo: [
                Lfo::new(LFO_HZ, 0.0, sample_rate),
                Lfo::new(LFO_HZ, PI / 2.0, sample_rate),
            ],
            excursion,
            decay: 0.5,
            input_g: [0.75, 0.625],
            decay_diffusion: [0.7, 0.5],
            damping_pole: 0.0,
            wet1: 1.0,
            wet2: 0.0,
            dc_rt60: 1.0,
        };
        k.set_params(params);
        k.pre_delay.set(params[PRE_DELAY] * sample_rate / 1000.0, true);
        k
    }

    fn set_params(&mut self, p: &[f64]) {
        let fs = self.sample_rate;
        self.pre_delay.set(p[PRE_DELAY] * fs / 1000.0, false);
        let pole = rescale_pole(0.8 * p[DAMPING], PAPER_RATE, fs);
        self.damping_pole = pole;
        for d in self.damping.iter_mut() {
            d.pole = pole;
        }
        let loop_samples: f64 = self.lengths.iter().flatten().sum();
        let t = p[DECAY];
        let plain = 10f64.powf(-3.0 * loop_samples / (4.0 * fs * t));
        let w_ref = 2.0 * PI * RT60_REFERENCE_HZ / fs;
        let compensated = plain / OnePole::magnitude(pole, w_ref).sqrt();
        let cap = 10f64.powf(-3.0 * loop_samples / (4.0 * fs * 1.5 * t));
        let decay = compensated.min(cap);
        self.decay = decay as f32;
        // The DC decay time, for the tail (the damping low-pass has unity gain at DC).
        self.dc_rt60 = -3.0 * loop_samples / (4.0 * fs * decay.log10());
        let s = p[DIFFUSION] / 0.7;
        self.input_g = [(0.75 * s).min(0.9) as f32, (0.625 * s).min(0.9) as f32];
        self.decay_diffusion = [(0.7 * s).min(0.9) as f32, (plain + 0.15).clamp(0.25, 0.5) as f32];
        let width = p[WIDTH] as f32;
        self.wet1 = OUTPUT_GAIN * (width / 2.0 + 0.5);
        self.wet2 = OUTPUT_GAIN * ((1.0 - width) / 2.0);
    }

    #[allow(clippy::needless_range_loop)] // the two tank halves index several parallel arrays
    fn render(&mut self, frame: u64, left: &mut [f32], right: &mut [f32]) {
        let frames = left.len().min(right.len());
        let block_taps = frames <= PIECE_FRAMES
            && self
                .taps
                .iter()
                .flatten()
                .all(|&(src, offset, _)| self.tap_ring(src).keeps_run(offset, frames));
        let decay = self.decay;
        let [dd1, dd2] = self.decay_diffusion;
        // The fixed lengths' read points, split once per block.
        let input_points: [_; 4] = std::array::from_fn(|i| self.input_diffusers[i].read_point(self.input_lengths[i]));
        let tank_points: [_; 2] = std::array::from_fn(|h| self.allpass2[h].read_point(self.lengths[h][2]));
        for (n, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
            let at = frame + n as u64;
            let (pl, pr) = self.pre_delay.tick(*l, *r);
            let mut x = self.bandwidth.tick(0.5 * (pl as f64 + pr as f64)) as f32;
            for (i, ap) in self.input_diffusers.iter_mut().enumerate() {
                x = ap.tick_at(x, input_points[i], self.input_g[i / 2]);
            }
            // Each half's input: the diffused signal plus the other half's end (read before this frame's writes).
            let ends = [
                self.delay2[1].at(self.lengths[1][3] as usize - 1),
                self.delay2[0].at(self.lengths[0][3] as usize - 1),
            ];
            for h in 0..2 {
                let m = self.lengths[h][0] + self.excursion * self.lfo[h].value(at);
                let a = self.mod_allpass[h].tick(x + ends[h], m, -dd1);
                self.delay1[h].push(a);
                let d = self.delay1[h].at(self.lengths[h][1] as usize);
                let damped = self.damping[h].tick(d as f64) as f32 * decay;
                let b = self.allpass2[h].tick_at(damped, tank_points[h], dd2);
                self.delay2[h].push(b * decay);
            }
            if !block_taps {
                let mut out = [0.0f32; 2];
                for (c, o) in out.iter_mut().enumerate() {
                    for &(src, offset, sign) in &self.taps[c] {
                        *o += sign * self.tap_ring(src).at(offset);
                    }
                }
                *l = out[0] * self.wet1 + out[1] * self.wet2;
                *r = out[1] * self.wet1 + out[0] * self.wet2;
            }
        }
        if block_taps {
            // The output taps read far back in the tank's lines: after the block, each tap's reads of the whole
            // block are one run of its ring (the same samples, summed in the same order, from contiguous memory).
            let mut out = [[0.0f32; PIECE_FRAMES]; 2];
            for (c, sums) in out.iter_mut().enumerate() {
                for &(src, offset, sign) in &self.taps[c] {
                    self.tap_ring(src).add_run(offset, sign, &mut sums[..frames]);
                }
            }
            for (n, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
                *l = out[0][n] * self.wet1 + out[1][n] * self.wet2;
                *r = out[1][n] * self.wet1 + out[0][n] * self.wet2;
            }
        }
    }

    fn reset(&mut self) {
        self.pre_delay.reset();
        self.bandwidth.reset();
        self.input_diffusers.iter_mut().for_each(Allpass::reset);
        for h in 0..2 {
            self.mod_allpass[h].reset();
            self.delay1[h].reset();
            self.damping[h].reset();
            self.allpass2[h].reset();
            self.delay2[h].reset();
        }
    }

    fn copy_state_from(&mut self, other: &Self) {
        self.pre_delay.copy_state_from(&other.pre_delay);
        self.bandwidth.copy_state_from(&other.bandwidth);
        for (a, b) in self.input_diffusers.iter_mut().zip(other.input_diffusers.iter()) {
            a.copy_state_from(b);
        }
        for h in 0..2 {
            self.mod_allpass[h].copy_state_from(&other.mod_allpass[h]);
            self.delay1[h].copy_state_from(&other.delay1[h]);
            self.damping[h].copy_state_from(&other.damping[h]);
            self.allpass2[h].copy_state_from(&other.allpass2[h]);
            self.delay2[h].copy_state_from(&other.delay2[h]);
        }
    }

    /// The pre-delay (not slewing), the input filter and diffusers, and both tank halves below the reverb
    /// limit (`dsp::reverb_parts::settle_limit`).
    fn settled(&self, floor: f32) -> bool {
        let allpasses = self
            .input_diffusers
            .iter()
            .chain(&self.mod_allpass)
            .chain(&self.allpass2);
        let rings = self.delay1.iter().chain(&self.delay2);
        let held = self.pre_delay.held_samples()
            + allpasses.clone().map(Allpass::held_samples).sum::<usize>()
            + rings.clone().map(Ring::held_samples).sum::<usize>()
            + 3;
        let limit = settle_limit(floor, held);
        self.pre_delay.settled(limit)
            && self.bandwidth.peak() <= limit
            && self.damping.iter().all(|d| d.peak() <= limit)
            && allpasses.clone().all(|a| a.peak() <= limit)
            && rings.clone().all(|r| r.peak() <= limit)
    }

    /// The tank's DC decay to -100 dB, stretched by the largest group delay the tank's allpasses can have
    /// (`D (1 + g) / (1 - g)` at their peaks, against a mean of D), plus the pre-delay, the input diffusers'
    /// ring-down and one trip through the longest output tap.
    fn tail_samples(&self) -> Option<u64> {
        let fs = self.sample_rate;
        let nominal: f64 = self.lengths.iter().flatten().sum();
        let stretch = |len: f64, g: f32| len * (1.0 + g.abs() as f64) / (1.0 - g.abs() as f64) - len;
        let [dd1, dd2] = self.decay_diffusion;
        let longest = nominal
            + (0..2)
                .map(|h| stretch(self.lengths[h][0] + self.excursion, dd1) + stretch(self.lengths[h][2], dd2))
                .sum::<f64>();
        let tank = self.dc_rt60 * 100.0 / 60.0 * fs * longest / nominal;
        let diffusers: f64 = (0..4)
            .map(|i| allpass_tail_samples(self.input_g[i / 2] as f64, self.input_lengths[i]))
            .sum();
        Some((tank + self.pre_delay.longest() + diffusers + nominal).ceil() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The output taps read after the block (blocks of at most a piece) give the same bits as read per sample
    /// (the path of longer blocks), at every rate the rings' sizes change with.
    #[test]
    fn block_taps_equal_per_sample_taps_bit_for_bit() {
        for sample_rate in [22_050.0, 44_100.0, 96_000.0, 192_000.0] {
            let params = SPEC.defaults();
            let (mut by_block, mut by_sample) = (
                PlateReverb::new(sample_rate, &params),
                PlateReverb::new(sample_rate, &params),
            );
            let mut seed = 1u32;
            let mut noise = |n: usize| -> Vec<f32> {
                (0..n)
                    .map(|_| {
                        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
                    })
                    .collect()
            };
            let long = PIECE_FRAMES + 1;
            let (left, right) = (noise(long * 200), noise(long * 200));
            let (mut a_l, mut a_r) = (left.clone(), right.clone());
            let (mut b_l, mut b_r) = (left.clone(), right.clone());
            let mut frame = 0u64;
            for (l, r) in a_l.chunks_mut(PIECE_FRAMES).zip(a_r.chunks_mut(PIECE_FRAMES)) {
                by_block.render(frame, l, r);
                frame += l.len() as u64;
            }
            frame = 0;
            for (l, r) in b_l.chunks_mut(long).zip(b_r.chunks_mut(long)) {
                by_sample.render(frame, l, r);
                frame += l.len() as u64;
            }
            assert!(a_l.iter().any(|&v| v != 0.0));
            assert!(a_l == b_l && a_r == b_r, "{sample_rate} Hz");
        }
    }
}
