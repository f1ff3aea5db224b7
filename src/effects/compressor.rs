//! `compressor`: a feed-forward compressor with a log-domain gain computer and the quadratic soft knee.
//!
//! Per sample: the stereo-linked detector (peak or 10 ms RMS, then the smooth decoupled ballistics, see
//! [`crate::dsp::detector`]) measures the level, the gain computer turns it into a gain in dB
//! ([`CompressorCurve`], Giannoulis et al. eq. 4), and both channels are multiplied by that gain plus `makeupDb`.
//! The detector runs before the gain computer, on levels, so a steady sine (whose level the detector reads as its
//! peak) meets the static curve exactly. There is no output saturation and no hidden gain: with the level below
//! the knee and `makeupDb` 0 the output is the input. `mix` is applied by the [`Processor`](super::Processor).

use super::Kernel;
use crate::dsp::detector::{DetectorMode, LevelDetector};
use crate::dsp::gain_computer::{render_feed_forward, CompressorCurve};
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

pub struct Compressor {
    detector: LevelDetector,
    curve: CompressorCurve,
    makeup_db: f64,
    /// The gain computer's last output in dB (0 or negative), for meters.
    reduction_db: f64,
}

impl Kernel for Compressor {
    const SPEC: &'static EffectSpec = &SPEC;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let mut k = Compressor {
            detector: LevelDetector::new(
                sample_rate,
                detector_mode(params[DETECTOR]),
                params[ATTACK],
                params[RELEASE],
            ),
            curve: CompressorCurve {
                threshold_db: params[THRESHOLD],
                ratio: params[RATIO],
                knee_db: params[KNEE],
            },
            makeup_db: 0.0,
            reduction_db: 0.0,
        };
        k.set_params(params);
        k
    }

    fn set_params(&mut self, p: &[f64]) {
        self.detector.set(detector_mode(p[DETECTOR]), p[ATTACK], p[RELEASE]);
        self.curve = CompressorCurve {
            threshold_db: p[THRESHOLD],
            ratio: p[RATIO],
            knee_db: p[KNEE],
        };
        self.makeup_db = p[MAKEUP];
    }

    fn render(&mut self, _frame: u64, left: &mut [f32], right: &mut [f32]) {
        self.reduction_db = render_feed_forward(
            &mut self.detector,
            &self.curve,
            self.makeup_db,
            left,
            right,
            self.reduction_db,
        );
    }

    fn reset(&mut self) {
        self.detector.reset();
        self.reduction_db = 0.0;
    }

    fn copy_state_from(&mut self, other: &Self) {
        self.detector.copy_state_from(&other.detector);
        self.reduction_db = other.reduction_db;
    }

    /// The output is the input times a gain: nothing sounds after the input stops.
    fn tail_samples(&self) -> Option<u64> {
        Some(0)
    }

    fn gain_reduction_db(&self) -> f32 {
        self.reduction_db as f32
    }
}
