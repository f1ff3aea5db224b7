//! `distortion`: soft, hard, fuzz and foldback curves, oversampled with ADAA, then DC blocker, `toneHz`
//! low-pass and `outputDb`.
//!
//! Every curve is bounded (soft and hard within +-1, fuzz within [-1/2, 1], foldback within +-1), continuous
//! (hard mode clamps, so there is no jump at the clip point) and has a closed-form antiderivative for ADAA
//! (see [`crate::dsp::shaper::Curve`]). Fuzz is asymmetric, so the DC blocker runs in every mode.

use super::shaping::{DrivenShaper, Voicing, OVERSAMPLE};
use crate::dsp::shaper::Curve;
use crate::params::{Category, EffectSpec, ParamSpec};

const MODE: usize = 0;

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

/// `distortion`'s place in `DrivenShaper`: the curve is the `mode`'s.
pub struct DistortionVoicing;

impl Voicing for DistortionVoicing {
    const SPEC: &'static EffectSpec = &SPEC;

    fn curve(params: &[f64]) -> Curve {
        mode_curve(params[MODE])
    }
}

pub type Distortion = DrivenShaper<DistortionVoicing>;
