//! `wave-shaper`: tanh, sine, hard clip, cubic or a custom curve (mapped exactly as the Web Audio
//! WaveShaperNode maps its curve), `drive` before every curve, oversampled; no DC removal, no tone filter.
//!
//! The analytic curves use first-order ADAA. The custom curve uses it only when oversampling (its antiderivative
//! is exact: the curve is piecewise linear); at `oversample = 1` the output must equal the WaveShaperNode's with
//! oversample "none" (docs/effects.md), so there it is exactly that node's mapping.
//! A custom curve arrives through [`Effect::set_curve`](super::Effect::set_curve) (at a frame, crossfaded) and is copied into storage for 4096
//! values allocated when the kernel is created; until one arrives the custom curve is the identity [-1, 1].

use super::shaping::{Shape, ShapingCore, OVERSAMPLE};
use super::Kernel;
use crate::dsp::db_to_gain;
use crate::dsp::shaper::{Curve, CustomCurve};
use crate::params::{Category, EffectSpec, ParamSpec};

const CURVE: usize = 0;
const DRIVE: usize = 1;
const THRESHOLD_DB: usize = 2;
const OVERSAMPLE_INDEX: usize = 4;

/// The `curve` index of the custom curve.
pub const CUSTOM: f64 = 4.0;

pub static SPEC: EffectSpec = EffectSpec {
    id: "wave-shaper",
    name: "Wave Shaper",
    category: Category::Saturation,
    params: &[
        ParamSpec::enumeration("curve", &["tanh", "sine", "hardClip", "cubic", "custom"], 0.0),
        ParamSpec::log("drive", "", 0.1, 10.0, 1.0),
        ParamSpec::linear("thresholdDb", "dB", -60.0, 0.0, -1.0),
        ParamSpec::linear("mix", "", 0.0, 1.0, 1.0),
        OVERSAMPLE,
    ],
    presets: &[],
};

pub struct WaveShaper {
    core: ShapingCore,
    custom: CustomCurve,
    use_custom: bool,
    curve: Curve,
    drive: f64,
}

impl Kernel for WaveShaper {
    const SPEC: &'static EffectSpec = &SPEC;

    fn new(_sample_rate: f64, params: &[f64]) -> Self {
        let mut k = WaveShaper {
            core: ShapingCore::new(params[OVERSAMPLE_INDEX]),
            custom: CustomCurve::new(),
            use_custom: false,
            curve: Curve::Tanh { k: 1.0 },
            drive: 1.0,
        };
        k.set_params(params);
        k
    }

    fn set_params(&mut self, p: &[f64]) {
        self.drive = p[DRIVE];
        self.use_custom = p[CURVE] == CUSTOM;
        self.curve = match p[CURVE] as i64 {
            1 => Curve::Sine,
            2 => Curve::HardClip {
                limit: db_to_gain(p[THRESHOLD_DB]),
            },
            3 => Curve::Cubic,
            _ => Curve::Tanh { k: 1.0 },
        };
        self.core.set_factor(p[OVERSAMPLE_INDEX]);
    }

    const TAKES_CURVE: bool = true;

    fn load_curve(&mut self, curve: &[f32]) {
        // The processor validated it; a refused curve would leave the one in force.
        let _ = self.custom.load(curve);
    }

    fn render(&mut self, _frame: u64, left: &mut [f32], right: &mut [f32]) {
        let shape = if self.use_custom {
            Shape::Table(&self.custom)
        } else {
            Shape::Analytic(self.curve)
        };
        self.core.render(self.drive, shape, left, right);
    }

    fn reset(&mut self) {
        self.core.reset();
    }

    fn copy_state_from(&mut self, other: &Self) {
        self.core.copy_state_from(&other.core);
        self.custom.copy_from(&other.custom);
    }

    fn latency(&self) -> usize {
        self.core.latency()
    }

    fn max_latency(_sample_rate: f64) -> usize {
        crate::dsp::oversampler::Oversampler::max_latency()
    }

    /// No filter after the shaper: the state's limit is 60 dB below the floor, divided by the drive. A curve
    /// that maps silence to a non-zero value keeps sounding on silence, so it never settles.
    fn settled(&self, floor: f32) -> bool {
        let silent_maps_to = if self.use_custom {
            self.custom.map(0.0)
        } else {
            self.curve.value(0.0)
        };
        silent_maps_to == 0.0 && self.core.settled(floor as f64 * 1e-3 / self.drive.max(1.0))
    }

    fn tail_samples(&self) -> Option<u64> {
        Some(self.core.tail_samples())
    }
}
