//! `stereo-delay`: independent left and right lines with their own times, feedback and cross-feedback.
//!
//! Per sample: yL = left line(dL), yR = right line(dR); the left line takes inL + filters(fb yL + cross yR),
//! the right line inR + filters(fb yR + cross yL). The loop matrix [[fb, cross], [cross, fb]] has norm
//! fb + cross; when that exceeds 0.95 both are scaled by 0.95 / (fb + cross) (docs/effects.md), so the loop never
//! gains. When synced, `noteValue` sets the left time and `noteValueRight` the right.

use super::delay_params::{LinePair, SyncedTime, HIGH_CUT, LOW_CUT, NOTE_VALUE, NOTE_VALUE_RIGHT, SYNC};
use super::Kernel;
use crate::dsp::fractional_delay::{echoes_to_silence, MAX_DELAY_SECONDS};
use crate::params::{Category, EffectSpec, ParamSpec};

const TIME_LEFT_MS: usize = 0;
const TIME_RIGHT_MS: usize = 1;
const FEEDBACK: usize = 2;
const CROSS_FEEDBACK: usize = 3;
const LOW_CUT_HZ: usize = 5;
const HIGH_CUT_HZ: usize = 6;
const SYNC_TO_TEMPO: usize = 7;
const NOTE: usize = 8;
const NOTE_RIGHT: usize = 9;

/// The most feedback + crossFeedback may sum to.
pub const MAX_LOOP_GAIN: f64 = 0.95;

pub static SPEC: EffectSpec = EffectSpec {
    id: "stereo-delay",
    name: "Stereo Delay",
    category: Category::Delay,
    params: &[
        ParamSpec::linear("timeLeftMs", "ms", 0.0, 5000.0, 400.0),
        ParamSpec::linear("timeRightMs", "ms", 0.0, 5000.0, 500.0),
        ParamSpec::linear("feedback", "", 0.0, 0.95, 0.5),
        ParamSpec::linear("crossFeedback", "", 0.0, 0.95, 0.0),
        ParamSpec::linear("mix", "", 0.0, 1.0, 0.5),
        LOW_CUT,
        HIGH_CUT,
        SYNC,
        NOTE_VALUE,
        NOTE_VALUE_RIGHT,
    ],
    presets: &[],
};

/// Feedback and cross-feedback after the cap.
pub fn capped_gains(feedback: f64, cross: f64) -> (f64, f64) {
    let sum = feedback + cross;
    if sum > MAX_LOOP_GAIN {
        let scale = MAX_LOOP_GAIN / sum;
        (feedback * scale, cross * scale)
    } else {
        (feedback, cross)
    }
}

pub struct StereoDelay {
    sample_rate: f64,
    pair: LinePair,
    times: [SyncedTime; 2],
    feedback: f32,
    cross: f32,
}

impl Kernel for StereoDelay {
    const SPEC: &'static EffectSpec = &SPEC;

    /// `syncToTempo` and `noteValue` change the time, which glides as a `timeMs` change does: no second line.
    const OWN_TRANSITIONS: bool = true;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let mut k = StereoDelay {
            sample_rate,
            pair: LinePair::new(sample_rate),
            times: [SyncedTime::new(sample_rate); 2],
            feedback: 0.0,
            cross: 0.0,
        };
        k.set_params(params);
        k
    }

    fn set_params(&mut self, p: &[f64]) {
        let synced = p[SYNC_TO_TEMPO] >= 0.5;
        self.times[0].set(p[TIME_LEFT_MS], synced, p[NOTE], MAX_DELAY_SECONDS);
        self.times[1].set(p[TIME_RIGHT_MS], synced, p[NOTE_RIGHT], MAX_DELAY_SECONDS);
        let (feedback, cross) = capped_gains(p[FEEDBACK], p[CROSS_FEEDBACK]);
        self.feedback = feedback as f32;
        self.cross = cross as f32;
        self.pair.set_filters(p[LOW_CUT_HZ], p[HIGH_CUT_HZ], self.sample_rate);
    }

    fn set_tempo(&mut self, bpm: f64) {
        for t in &mut self.times {
            t.set_tempo(bpm);
        }
    }

    fn render(&mut self, _frame: u64, left: &mut [f32], right: &mut [f32]) {
        let LinePair { lines, filters } = &mut self.pair;
        for t in &mut self.times {
            t.start();
        }
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let yl = lines[0].read(self.times[0].tick());
            let yr = lines[1].read(self.times[1].tick());
            let back_l = filters[0].process(self.feedback * yl + self.cross * yr);
            let back_r = filters[1].process(self.feedback * yr + self.cross * yl);
            lines[0].write(*l + back_l);
            lines[1].write(*r + back_r);
            *l = yl;
            *r = yr;
        }
    }

    fn reset(&mut self) {
        self.pair.reset();
        for t in &mut self.times {
            t.reset();
        }
    }

    fn copy_state_from(&mut self, other: &Self) {
        self.pair.copy_state_from(&other.pair);
        for (a, b) in self.times.iter_mut().zip(other.times.iter()) {
            a.copy_state_from(b);
        }
    }

    /// The lines and filters 60 dB below the floor and neither time gliding.
    fn settled(&self, floor: f32) -> bool {
        self.times.iter().all(SyncedTime::settled) && self.pair.settled(LinePair::limit(floor))
    }

    /// Every hop through either line multiplies the signal's norm by at most feedback + crossFeedback.
    fn tail_samples(&self) -> Option<u64> {
        let period = self.times.iter().map(SyncedTime::longest).fold(1.0, f64::max).ceil() as u64;
        let echoes = echoes_to_silence((self.feedback + self.cross) as f64);
        Some(echoes * (period + self.pair.filter_tail_samples()) + 1)
    }
}
