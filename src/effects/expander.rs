//! `expander`: a downward expander on the shared detector and the expander curve.
//!
//! Per sample: the stereo-linked peak detector (smooth decoupled ballistics, [`crate::dsp::detector`]) measures
//! the level x; below the threshold T the gain is `-(T - x)(R - 1)` dB, never below `rangeDb`
//! ([`ExpanderCurve`]); both channels are multiplied by it. `attackMs` is how fast the detector follows a rising
//! level (the gain opens), `releaseMs` a falling one (the gain closes).

use super::Kernel;
use crate::dsp::detector::{DetectorMode, LevelDetector};
use crate::dsp::gain_computer::{render_feed_forward, ExpanderCurve};
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

pub struct Expander {
    detector: LevelDetector,
    curve: ExpanderCurve,
    /// The last gain in dB (0 or negative), for meters.
    reduction_db: f64,
}

impl Kernel for Expander {
    const SPEC: &'static EffectSpec = &SPEC;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let mut k = Expander {
            detector: LevelDetector::new(sample_rate, DetectorMode::Peak, params[ATTACK], params[RELEASE]),
            curve: ExpanderCurve {
                threshold_db: params[THRESHOLD],
                ratio: params[RATIO],
                range_db: params[RANGE],
            },
            reduction_db: 0.0,
        };
        k.set_params(params);
        k
    }

    fn set_params(&mut self, p: &[f64]) {
        self.detector.set(DetectorMode::Peak, p[ATTACK], p[RELEASE]);
        self.curve = ExpanderCurve {
            threshold_db: p[THRESHOLD],
            ratio: p[RATIO],
            range_db: p[RANGE],
        };
    }

    fn render(&mut self, _frame: u64, left: &mut [f32], right: &mut [f32]) {
        self.reduction_db = render_feed_forward(&mut self.detector, &self.curve, 0.0, left, right, self.reduction_db);
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
