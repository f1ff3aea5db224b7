//! `distortion`: soft, hard, fuzz and foldback curves, oversampled with ADAA, then DC blocker, `toneHz`
//! low-pass and `outputDb`.
//!
//! Every curve is bounded (soft and hard within +-1, fuzz within [-1/2, 1], foldback within +-1), continuous
//! (hard mode clamps, so there is no jump at the clip point) and has a closed-form antiderivative for ADAA
//! (see [`crate::dsp::shaper::Curve`]). Fuzz is asymmetric, so the DC blocker runs in every mode.

use super::shaping::{PostFilter, Shape, ShapingCore, OVERSAMPLE};
use super::Kernel;
use crate::dsp::db_to_gain;
use crate::dsp::shaper::Curve;
use crate::params::{Category, EffectSpec, ParamSpec};

const MODE: usize = 0;
const DRIVE_DB: usize = 1;
const TONE_HZ: usize = 2;
const OUTPUT_DB: usize = 3;
const OVERSAMPLE_INDEX: usize = 5;

pub static SPEC: EffectSpec = EffectSpec {
    id: "distortion",
    name: "Distortion",
    category: Category::Saturation,
    params: &[
        ParamSpec::enumeration("mode", &["soft", "hard", "fuzz", "foldback"], 0.0),
        ParamSpec::linear("driveDb", "dB", 0.0, 48.0, 12.0),
        ParamSpec::log("toneHz", "Hz", 500.0, 20000.0, 8000.0),
        ParamSpec::linear("outputDb", "dB", -24.0, 12.0, 0.0),
        ParamSpec::linear("mix", "", 0.0, 1.0, 1.0),
        OVERSAMPLE,
    ],
    presets: &[],
};

/// The curve of a `mode` index.
fn mode_curve(mode: f64) -> Curve {
    match mode as i64 {
        1 => Curve::HardClip { limit: 1.0 },
        2 => Curve::Fuzz,
        3 => Curve::Foldback,
        _ => Curve::Tanh { k: 1.0 },
    }
}

pub struct Distortion {
    core: ShapingCore,
    post: PostFilter,
    drive: f64,
    curve: Curve,
}

impl Kernel for Distortion {
    const SPEC: &'static EffectSpec = &SPEC;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let mut k = Distortion {
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
        self.curve = mode_curve(p[MODE]);
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
