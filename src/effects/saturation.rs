//! `saturation`: smooth tanh saturation, oversampled with ADAA, asymmetry for even harmonics, DC blocker,
//! `toneHz` post low-pass.
//!
//! Wet path: x * drive -> oversampled curve (ADAA) -> DC blocker (3 Hz) -> tone low-pass -> `outputDb`.
//! The curve is tanh above zero and tanh(k u)/k below, k = 1 + 3 x `asymmetry`: the negative half clips
//! earlier (at -1/k), which makes even harmonics, while the slope at zero stays 1, so small signals keep their
//! level at any asymmetry. There is no make-up gain: the output is the curve of the driven input, so driving
//! harder raises the output only as much as the curve does (never beyond +-1 before `outputDb`).

use super::shaping::{PostFilter, Shape, ShapingCore, OVERSAMPLE};
use super::Kernel;
use crate::dsp::db_to_gain;
use crate::dsp::shaper::Curve;
use crate::params::{Category, EffectSpec, ParamSpec};

const DRIVE_DB: usize = 0;
const ASYMMETRY: usize = 1;
const TONE_HZ: usize = 2;
const OUTPUT_DB: usize = 3;
const OVERSAMPLE_INDEX: usize = 5;

/// How much earlier the negative half clips at `asymmetry` 1 (k = 1 + this).
const ASYMMETRY_SCALE: f64 = 3.0;

pub static SPEC: EffectSpec = EffectSpec {
    id: "saturation",
    name: "Saturation",
    category: Category::Saturation,
    params: &[
        ParamSpec::linear("driveDb", "dB", 0.0, 36.0, 6.0),
        ParamSpec::linear("asymmetry", "", 0.0, 1.0, 0.0),
        ParamSpec::log("toneHz", "Hz", 500.0, 20000.0, 20000.0),
        ParamSpec::linear("outputDb", "dB", -24.0, 12.0, 0.0),
        ParamSpec::linear("mix", "", 0.0, 1.0, 1.0),
        OVERSAMPLE,
    ],
    presets: &[],
};

pub struct Saturation {
    core: ShapingCore,
    post: PostFilter,
    drive: f64,
    curve: Curve,
}

impl Kernel for Saturation {
    const SPEC: &'static EffectSpec = &SPEC;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let mut k = Saturation {
            core: ShapingCore::new(params[OVERSAMPLE_INDEX]),
            post: PostFilter::new(sample_rate),
            drive: 1.0,
            curve: Curve::Tanh { k: 1.0 },
        };
        k.set_params(params);
        k
    }

    fn set_params(&mut self, p: &[f64]) {
        self.drive = db_to_gain(p[DRIVE_DB]);
        self.curve = Curve::Tanh {
            k: 1.0 + ASYMMETRY_SCALE * p[ASYMMETRY],
        };
        self.core.set_factor(p[OVERSAMPLE_INDEX]);
        self.post.set(p[TONE_HZ], db_to_gain(p[OUTPUT_DB]));
    }

    fn render(&mut self, _frame: u64, left: &mut [f32], right: &mut [f32]) {
        self.core.render(self.drive, Shape::Analytic(self.curve), left, right);
        self.post.process(left, right);
    }

    fn reset(&mut self) {
        self.core.reset();
        self.post.reset();
    }

    fn copy_state_from(&mut self, other: &Self) {
        self.core.copy_state_from(&other.core);
        self.post.copy_state_from(&other.post);
    }

    fn latency(&self) -> usize {
        self.core.latency()
    }

    fn max_latency(_sample_rate: f64) -> usize {
        crate::dsp::oversampler::Oversampler::max_latency()
    }

    fn tail_samples(&self) -> Option<u64> {
        Some(self.core.tail_samples() + self.post.tail_samples())
    }
}
