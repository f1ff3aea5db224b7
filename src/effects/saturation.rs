//! `saturation`: smooth tanh saturation, oversampled with ADAA, asymmetry for even harmonics, DC blocker,
//! `toneHz` post low-pass.
//!
//! Wet path: x * drive -> oversampled curve (ADAA) -> DC blocker (3 Hz) -> tone low-pass -> `outputDb`.
//! The curve is tanh above zero and tanh(k u)/k below, k = 1 + 3 x `asymmetry`: the negative half clips
//! earlier (at -1/k), which makes even harmonics, while the slope at zero stays 1, so small signals keep their
//! level at any asymmetry. There is no make-up gain: the output is the curve of the driven input, so driving
//! harder raises the output only as much as the curve does (never beyond +-1 before `outputDb`).

use super::shaping::{DrivenShaper, Voicing, OVERSAMPLE};
use crate::dsp::shaper::Curve;
use crate::params::{Category, EffectSpec, ParamSpec};

const ASYMMETRY: usize = 1;

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

/// `saturation`'s place in `DrivenShaper`: tanh with the negative half scaled by `asymmetry`.
pub struct SaturationVoicing;

impl Voicing for SaturationVoicing {
    const SPEC: &'static EffectSpec = &SPEC;

    fn curve(params: &[f64]) -> Curve {
        Curve::Tanh {
            k: 1.0 + ASYMMETRY_SCALE * params[ASYMMETRY],
        }
    }
}

pub type Saturation = DrivenShaper<SaturationVoicing>;
