//! `expander`: a downward expander on the shared detector and the expander curve.
//!
//! Per sample: the stereo-linked peak detector (smooth decoupled ballistics, [`crate::dsp::detector`]) measures
//! the level x; below the threshold T the gain is `-(T - x)(R - 1)` dB, never below `rangeDb`
//! ([`ExpanderCurve`]); both channels are multiplied by it. `attackMs` is how fast the detector follows a rising
//! level (the gain opens), `releaseMs` a falling one (the gain closes).

use super::feed_forward::{FeedForward, FeedForwardEffect, FeedForwardSettings};
use crate::dsp::detector::DetectorMode;
use crate::dsp::gain_computer::ExpanderCurve;
use crate::params::{Category, EffectSpec, ParamSpec};

const THRESHOLD: usize = 0;
const RATIO: usize = 1;
const ATTACK: usize = 2;
const RELEASE: usize = 3;
const RANGE: usize = 4;

pub static SPEC: EffectSpec = EffectSpec {
    id: "expander",
    name: "Expander",
    category: Category::Dynamics,
    params: &[
        ParamSpec::linear("thresholdDb", "dB", -80.0, 0.0, -40.0),
        ParamSpec::log("ratio", "ratio", 1.0, 20.0, 2.0),
        ParamSpec::log("attackMs", "ms", 0.1, 200.0, 5.0),
        ParamSpec::log("releaseMs", "ms", 5.0, 2000.0, 100.0),
        ParamSpec::linear("rangeDb", "dB", -90.0, 0.0, -40.0),
    ],
    presets: &[],
};

/// The expander's table and parameter mapping for the shared `FeedForward` kernel.
pub struct ExpanderEffect;

pub type Expander = FeedForward<ExpanderEffect>;

impl FeedForwardEffect for ExpanderEffect {
    type Curve = ExpanderCurve;
    const SPEC: &'static EffectSpec = &SPEC;

    fn settings(p: &[f64]) -> FeedForwardSettings<ExpanderCurve> {
        FeedForwardSettings {
            mode: DetectorMode::Peak,
            attack_ms: p[ATTACK],
            release_ms: p[RELEASE],
            curve: ExpanderCurve {
                threshold_db: p[THRESHOLD],
                ratio: p[RATIO],
                range_db: p[RANGE],
            },
            makeup_db: 0.0,
        }
    }
}
