//! `compressor`: a feed-forward compressor with a log-domain gain computer and the quadratic soft knee.
//!
//! Per sample: the stereo-linked detector (peak or 10 ms RMS, then the smooth decoupled ballistics, see
//! [`crate::dsp::detector`]) measures the level, the gain computer turns it into a gain in dB
//! ([`CompressorCurve`], Giannoulis et al. eq. 4), and both channels are multiplied by that gain plus `makeupDb`
//! (level to dB and dB to gain within 3.1e-5 dB of the exact functions, see [`crate::dsp::fast_math`]; below the
//! knee the gain is exactly unity, and `makeupDb` is an exact factor).
//! The detector runs before the gain computer, on levels, so a steady sine (whose level the detector reads as its
//! peak) meets the static curve exactly. There is no output saturation and no hidden gain: with the level below
//! the knee and `makeupDb` 0 the output is the input. `mix` is applied by the [`Processor`](super::Processor).

use super::feed_forward::{FeedForward, FeedForwardEffect, FeedForwardSettings};
use crate::dsp::detector::DetectorMode;
use crate::dsp::gain_computer::CompressorCurve;
use crate::params::{Category, EffectSpec, ParamSpec};

const THRESHOLD: usize = 0;
const RATIO: usize = 1;
const ATTACK: usize = 2;
const RELEASE: usize = 3;
const KNEE: usize = 4;
const MAKEUP: usize = 5;
const DETECTOR: usize = 7;

pub static SPEC: EffectSpec = EffectSpec {
    id: "compressor",
    name: "Compressor",
    category: Category::Dynamics,
    params: &[
        ParamSpec::linear("thresholdDb", "dB", -60.0, 0.0, -20.0),
        ParamSpec::log("ratio", "ratio", 1.0, 20.0, 4.0),
        ParamSpec::log("attackMs", "ms", 0.1, 200.0, 10.0),
        ParamSpec::log("releaseMs", "ms", 5.0, 2000.0, 100.0),
        ParamSpec::linear("kneeDb", "dB", 0.0, 24.0, 0.0),
        ParamSpec::linear("makeupDb", "dB", -12.0, 24.0, 0.0),
        ParamSpec::linear("mix", "", 0.0, 1.0, 1.0),
        ParamSpec::enumeration("detector", &["peak", "rms"], 0.0),
    ],
    presets: &[],
};

/// The detector mode for the `detector` parameter's index.
fn detector_mode(index: f64) -> DetectorMode {
    if index >= 0.5 {
        DetectorMode::Rms
    } else {
        DetectorMode::Peak
    }
}

/// The compressor's table and parameter mapping for the shared `FeedForward` kernel.
pub struct CompressorEffect;

pub type Compressor = FeedForward<CompressorEffect>;

impl FeedForwardEffect for CompressorEffect {
    type Curve = CompressorCurve;
    const SPEC: &'static EffectSpec = &SPEC;

    fn settings(p: &[f64]) -> FeedForwardSettings<CompressorCurve> {
        FeedForwardSettings {
            mode: detector_mode(p[DETECTOR]),
            attack_ms: p[ATTACK],
            release_ms: p[RELEASE],
            curve: CompressorCurve {
                threshold_db: p[THRESHOLD],
                ratio: p[RATIO],
                knee_db: p[KNEE],
            },
            makeup_db: p[MAKEUP],
        }
    }
}
