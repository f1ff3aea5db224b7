//! The kernel shared by the feed-forward dynamics effects (`compressor`, `expander`): a stereo-linked
//! [`LevelDetector`] feeding a static [`GainCurve`] through [`render_feed_forward`]. Each effect supplies only its
//! parameter table and how its parameters map onto the detector and the curve ([`FeedForwardEffect`]).

use super::Kernel;
use crate::dsp::detector::{DetectorMode, LevelDetector};
use crate::dsp::gain_computer::{render_feed_forward, render_feed_forward_keyed, GainCurve, GainPlan};
use crate::params::EffectSpec;

/// What the detector and the curve run with, from one parameter vector.
pub struct FeedForwardSettings<C> {
    pub mode: DetectorMode,
    pub attack_ms: f64,
    pub release_ms: f64,
    pub curve: C,
    pub makeup_db: f64,
}

/// One feed-forward dynamics effect: its table and its parameter mapping.
pub trait FeedForwardEffect: Send + 'static {
    type Curve: GainCurve + Send + 'static;
    const SPEC: &'static EffectSpec;

    fn settings(params: &[f64]) -> FeedForwardSettings<Self::Curve>;
}

pub struct FeedForward<E: FeedForwardEffect> {
    detector: LevelDetector,
    plan: GainPlan<E::Curve>,
    /// The curve's last gain in dB (0 or negative, without makeup), for meters.
    reduction_db: f64,
}

impl<E: FeedForwardEffect> Kernel for FeedForward<E> {
    const SPEC: &'static EffectSpec = E::SPEC;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let s = E::settings(params);
        FeedForward {
            detector: LevelDetector::new(sample_rate, s.mode, s.attack_ms, s.release_ms),
            plan: GainPlan::new(s.curve, s.makeup_db),
            reduction_db: 0.0,
        }
    }

    fn set_params(&mut self, params: &[f64]) {
        let s = E::settings(params);
        self.detector.set(s.mode, s.attack_ms, s.release_ms);
        self.plan = GainPlan::new(s.curve, s.makeup_db);
    }

    fn render(&mut self, _frame: u64, left: &mut [f32], right: &mut [f32]) {
        self.reduction_db = render_feed_forward(&mut self.detector, &self.plan, left, right, self.reduction_db);
    }

    const TAKES_KEY: bool = true;

    /// The detector measures the key; the gain applies to the input. A key shorter than the block (a caller
    /// breaking the contract; the processor never does) is ignored rather than read past its end.
    fn render_keyed(&mut self, frame: u64, left: &mut [f32], right: &mut [f32], key_left: &[f32], key_right: &[f32]) {
        let frames = left.len().min(right.len());
        if key_left.len() < frames || key_right.len() < frames {
            debug_assert!(false, "a key shorter than its block");
            return self.render(frame, left, right);
        }
        self.reduction_db = render_feed_forward_keyed(
            &mut self.detector,
            &self.plan,
            left,
            right,
            Some((key_left, key_right)),
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

    /// The gain is a function of the detected level alone, so the state is the detector's: settled within 60 dB
    /// below the floor, a new signal's detected level differs from an instance that never slept by less than
    /// the floor x 1e-3.
    fn settled(&self, floor: f32) -> bool {
        self.detector.settled(floor as f64 * 1e-3)
    }

    fn gain_reduction_db(&self) -> f32 {
        self.reduction_db as f32
    }
}
