//! `hall-reverb`: a dense, modulated 16-line feedback delay network (Jot & Chaigne 1991) with Hadamard mixing.
//!
//! Signal path (wet only; the [`Processor`](super::Processor) blends `mix`): `lowCutHz` high-pass (2nd-order
//! Butterworth) -> `preDelayMs` (slewed, click-free) -> four input-diffusion allpasses per channel (different
//! lengths left and right) -> 16 lines of 31-97 ms x `size`, half of them slowly modulated by fixed-phase
//! sine LFOs (seeded PCG32) with interpolated reads -> Jot absorptive one-pole per line -> orthonormal
//! Hadamard feedback matrix. Two outputs with different sign patterns over the lines give a decorrelated
//! stereo tail; `width` mixes them as Freeverb does (1 = fully apart, 0 = mono).
//!
//! Decay: each line's loss filter gives exactly `10^(-3 d_i / (fs x decaySeconds))` at 700 Hz (inside the
//! 500 Hz - 2 kHz band docs/effects.md measures), more loss above (the decay time about halves at
//! `highDampingHz`) and less below (DC decays at most ~2x slower at the lowest `highDampingHz`). `size` changes
//! the line lengths and so is crossfaded (a structural parameter, not automatable).

use super::Kernel;
use crate::dsp::biquad::{BandType, Cascade, Coeffs};
use crate::dsp::reverb_parts::{allpass_tail_samples, settle_limit, Allpass, Fdn, LossDesign, PreDelay, FDN_MAX_LINES};
use crate::params::{Category, EffectSpec, ParamSpec, Preset};

const DECAY: usize = 0;
const PRE_DELAY: usize = 1;
const SIZE: usize = 2;
const HIGH_DAMPING: usize = 3;
const LOW_CUT: usize = 4;
const WIDTH: usize = 6;

pub static SPEC: EffectSpec = EffectSpec {
    id: "hall-reverb",
    name: "Hall Reverb",
    category: Category::Reverb,
    params: &[
        ParamSpec::log("decaySeconds", "s", 0.5, 20.0, 2.5),
        ParamSpec::linear("preDelayMs", "ms", 0.0, 250.0, 20.0),
        // A scale factor from 1/2 to 2: a log knob puts the neutral 1 at the centre.
        ParamSpec::structural("size", "", 0.5, 2.0, 1.0).log_taper(),
        ParamSpec::log("highDampingHz", "Hz", 1000.0, 20000.0, 6000.0),
        ParamSpec::log("lowCutHz", "Hz", 20.0, 1000.0, 80.0),
        ParamSpec::linear("mix", "", 0.0, 1.0, 0.3),
        ParamSpec::linear("width", "", 0.0, 1.0, 1.0),
    ],
    presets: &[
        Preset {
            name: "large hall",
            values: &[
                ("decaySeconds", 3.2),
                ("preDelayMs", 30.0),
                ("size", 1.5),
                ("highDampingHz", 5000.0),
                ("lowCutHz", 100.0),
                ("mix", 0.3),
            ],
        },
        Preset {
            name: "cathedral",
            values: &[
                ("decaySeconds", 7.0),
                ("preDelayMs", 60.0),
                ("size", 2.0),
                ("highDampingHz", 3500.0),
                ("lowCutHz", 60.0),
                ("mix", 0.35),
            ],
        },
    ],
};

/// Line lengths at `size` 1, ms: 31 to 97 ms, no two with a simple ratio.
const LINE_MS: [f64; 16] = [
    31.3, 35.9, 40.1, 43.7, 47.9, 52.1, 56.3, 60.7, 64.9, 69.1, 73.9, 78.1, 82.7, 87.1, 91.9, 97.3,
];
/// Input diffusers (ms) and their coefficients; left and right differ for decorrelation.
const DIFFUSER_MS: [[f64; 4]; 2] = [[4.1, 5.9, 9.7, 13.3], [4.4, 6.3, 10.1, 12.7]];
const DIFFUSER_G: [f32; 4] = [0.7, 0.7, 0.6, 0.6];
/// Modulation: depth in seconds (peak, on every other line) and mean rate.
const MOD_DEPTH_S: f64 = 0.000_17;
const MOD_RATE_HZ: f64 = 0.45;
const MAX_SIZE: f64 = 2.0;
const MAX_PRE_DELAY_MS: f64 = 250.0;
/// Scales the wet output so that the default hall sounds about as loud as the dry signal.
const OUTPUT_GAIN: f32 = 0.6;

pub struct HallReverb {
    sample_rate: f64,
    low_cut: Cascade,
    pre_delay: PreDelay,
    diffusers: [[Allpass; 4]; 2],
    diffuser_delays: [[f64; 4]; 2],
    fdn: Fdn,
    input_signs: [f32; FDN_MAX_LINES],
    wet1: f32,
    wet2: f32,
    size: f64,
    decay: f64,
    damping_hz: f64,
    configured: bool,
}

impl HallReverb {
    fn diffuser_tail(&self) -> f64 {
        let mut total = 0.0;
        for (ch, delays) in self.diffuser_delays.iter().enumerate() {
            let t: f64 = delays
                .iter()
                .zip(DIFFUSER_G)
                .map(|(d, g)| allpass_tail_samples(g as f64, *d))
                .sum();
            total = if ch == 0 { t } else { total.max(t) };
        }
        total
    }
}

impl Kernel for HallReverb {
    const SPEC: &'static EffectSpec = &SPEC;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let ms = |x: f64| x * sample_rate / 1000.0;
        let longest = ms(LINE_MS[15] * MAX_SIZE).ceil() as usize + 2;
        let depth = MOD_DEPTH_S * sample_rate;
        let mut k = HallReverb {
            sample_rate,
            low_cut: Cascade::default(),
            pre_delay: PreDelay::new(ms(MAX_PRE_DELAY_MS).ceil() as usize + 2),
            diffusers: std::array::from_fn(|ch| {
                std::array::from_fn(|i| Allpass::new(ms(DIFFUSER_MS[ch][i]).ceil() as usize + 2))
            }),
            diffuser_delays: std::array::from_fn(|ch| std::array::from_fn(|i| ms(DIFFUSER_MS[ch][i]).max(1.0))),
            fdn: Fdn::new(16, longest, depth, MOD_RATE_HZ, sample_rate, 0x4a11),
            input_signs: std::array::from_fn(|i| if (i / 2) % 3 == 1 { -0.5 } else { 0.5 }),
            wet1: 1.0,
            wet2: 0.0,
            size: 0.0,
            decay: 0.0,
            damping_hz: 0.0,
            configured: false,
        };
        k.low_cut.set_active(1);
        k.set_params(params);
        k.pre_delay.set(ms(params[PRE_DELAY]), true);
        k
    }

    fn set_params(&mut self, p: &[f64]) {
        let fs = self.sample_rate;
        let c = Coeffs::cookbook(BandType::HighPass, p[LOW_CUT], 0.7071, 0.0, fs);
        self.low_cut.set(0, c);
        self.pre_delay.set(p[PRE_DELAY] * fs / 1000.0, false);
        let changed =
            !self.configured || p[SIZE] != self.size || p[DECAY] != self.decay || p[HIGH_DAMPING] != self.damping_hz;
        if changed {
            (self.size, self.decay, self.damping_hz) = (p[SIZE], p[DECAY], p[HIGH_DAMPING]);
            let design = LossDesign::new(p[DECAY], p[HIGH_DAMPING], fs);
            let lengths: [f64; 16] = std::array::from_fn(|i| LINE_MS[i] * p[SIZE] * fs / 1000.0);
            self.fdn.set(&lengths, &design, fs);
            self.configured = true;
        }
        let width = p[WIDTH] as f32;
        self.wet1 = OUTPUT_GAIN * (width / 2.0 + 0.5);
        self.wet2 = OUTPUT_GAIN * ((1.0 - width) / 2.0);
    }

    fn render(&mut self, frame: u64, left: &mut [f32], right: &mut [f32]) {
        self.low_cut.process(left, right);
        let mut inputs = [0.0f32; FDN_MAX_LINES];
        for (n, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
            let (mut dl, mut dr) = self.pre_delay.tick(*l, *r);
            let [diff_l, diff_r] = &mut self.diffusers;
            for (i, g) in DIFFUSER_G.iter().enumerate() {
                dl = diff_l[i].tick(dl, self.diffuser_delays[0][i], *g);
                dr = diff_r[i].tick(dr, self.diffuser_delays[1][i], *g);
            }
            for (i, x) in inputs.iter_mut().enumerate() {
                *x = self.input_signs[i] * if i % 2 == 0 { dl } else { dr };
            }
            let (a, b) = self.fdn.tick(frame + n as u64, &inputs);
            *l = a * self.wet1 + b * self.wet2;
            *r = b * self.wet1 + a * self.wet2;
        }
    }

    fn reset(&mut self) {
        self.low_cut.reset();
        self.pre_delay.reset();
        self.diffusers.iter_mut().flatten().for_each(Allpass::reset);
        self.fdn.reset();
    }

    fn copy_state_from(&mut self, other: &Self) {
        self.low_cut.copy_state_from(&other.low_cut);
        self.pre_delay.copy_state_from(&other.pre_delay);
        for (a, b) in self
            .diffusers
            .iter_mut()
            .flatten()
            .zip(other.diffusers.iter().flatten())
        {
            a.copy_state_from(b);
        }
        self.fdn.copy_state_from(&other.fdn);
    }

    /// The high-pass, the pre-delay (not slewing), the diffusers and the network all below the reverb limit
    /// (`dsp::reverb_parts::settle_limit`).
    fn settled(&self, floor: f32) -> bool {
        let diffusers = self.diffusers.iter().flatten();
        let held = self.pre_delay.held_samples()
            + diffusers.clone().map(Allpass::held_samples).sum::<usize>()
            + self.fdn.held_samples();
        let limit = settle_limit(floor, held);
        self.low_cut.settled(limit)
            && self.pre_delay.settled(limit)
            && diffusers.clone().all(|a| a.peak() <= limit)
            && self.fdn.peak() <= limit
    }

    /// The slowest line's DC decay to -100 dB (5/3 of its RT60), after the pre-delay, the diffusers' own
    /// ring-down, the high-pass's and the longest line: every stage in series, each bounded on its own.
    fn tail_samples(&self) -> Option<u64> {
        let fs = self.sample_rate;
        let network = self.fdn.dc_rt60(fs) * 100.0 / 60.0 * fs + self.fdn.longest();
        let total = network + self.pre_delay.longest() + self.diffuser_tail() + self.low_cut.tail_samples() as f64;
        Some(total.ceil() as u64)
    }
}
