//! `gate`: a noise gate with hysteresis, hold and one-pole gain smoothing.
//!
//! Per sample:
//! - the level is the peak of both channels over the last `LEVEL_WINDOW_MS` (a sliding maximum, so a 50 Hz sine
//!   reads its peak and the gate does not chatter on its zero crossings);
//! - a closed gate opens when the level is above `thresholdDb`; an open gate closes when the level has stayed
//!   below `thresholdDb - hysteresisDb` for `holdMs` (counted in samples: it closes on the sample
//!   `round(holdMs * fs / 1000)` samples after the first one below). Levels in between keep the state;
//! - the linear gain moves toward its target (1 open, `10^(rangeDb/20)` closed) by a one-pole with `attackMs`
//!   while rising and `releaseMs` while falling: `g += (1 - a) * (target - g)`, so the change per sample is
//!   exactly that one-pole's, never more (no clicks).

use super::Kernel;
use crate::dsp::denormal::flush;
use crate::dsp::detector::one_pole_coefficient;
use crate::dsp::sliding::{Extremum, SlidingExtremum};
use crate::dsp::{db_to_gain, gain_to_db};
use crate::params::{Category, EffectSpec, ParamSpec};

/// The window over which the gate's level is the peak.
pub const LEVEL_WINDOW_MS: f64 = 20.0;

const THRESHOLD: usize = 0;
const HYSTERESIS: usize = 1;
const ATTACK: usize = 2;
const HOLD: usize = 3;
const RELEASE: usize = 4;
const RANGE: usize = 5;

pub static SPEC: EffectSpec = EffectSpec {
    id: "gate",
    name: "Gate",
    category: Category::Dynamics,
    params: &[
        ParamSpec::linear("thresholdDb", "dB", -90.0, 0.0, -40.0),
        ParamSpec::linear("hysteresisDb", "dB", 0.0, 20.0, 4.0),
        ParamSpec::log("attackMs", "ms", 0.01, 50.0, 1.0),
        ParamSpec::linear("holdMs", "ms", 0.0, 2000.0, 50.0),
        ParamSpec::log("releaseMs", "ms", 1.0, 5000.0, 100.0),
        ParamSpec::linear("rangeDb", "dB", -90.0, 0.0, -90.0),
    ],
    presets: &[],
};

pub struct Gate {
    sample_rate: f64,
    level: SlidingExtremum,
    open_level: f64,
    close_level: f64,
    hold_samples: u64,
    attack_coeff: f64,
    release_coeff: f64,
    closed_gain: f64,
    open: bool,
    /// Samples left before an open gate whose level is below the close level closes.
    hold_left: u64,
    gain: f64,
}

impl Gate {
    /// Advances the state machine by one sample whose level (the larger magnitude of the two detector channels)
    /// is `magnitude`, and returns the gain for that sample.
    #[inline(always)]
    fn step(&mut self, magnitude: f64) -> f64 {
        let level = self.level.push(magnitude);
        if self.open {
            if level >= self.close_level {
                self.hold_left = self.hold_samples;
            } else if self.hold_left > 0 {
                self.hold_left -= 1;
            } else {
                self.open = false;
            }
        } else if level > self.open_level {
            self.open = true;
            self.hold_left = self.hold_samples;
        }
        let target = if self.open { 1.0 } else { self.closed_gain };
        // Rising (opening) uses the attack time, falling (closing) the release time; a range change while
        // closed that puts the target above the gain also rises with the attack time.
        let coeff = if target > self.gain {
            self.attack_coeff
        } else {
            self.release_coeff
        };
        self.gain = flush(self.gain + (1.0 - coeff) * (target - self.gain));
        self.gain
    }
}

impl Kernel for Gate {
    const SPEC: &'static EffectSpec = &SPEC;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let window = ((LEVEL_WINDOW_MS * 0.001 * sample_rate).round() as usize).max(1);
        let mut k = Gate {
            sample_rate,
            level: SlidingExtremum::new(Extremum::Max, window, window),
            open_level: 0.0,
            close_level: 0.0,
            hold_samples: 0,
            attack_coeff: 0.0,
            release_coeff: 0.0,
            closed_gain: 0.0,
            open: false,
            hold_left: 0,
            gain: 0.0,
        };
        k.set_params(params);
        // A gate starts closed, at its closed gain (silence before the start reads as silence).
        k.gain = k.closed_gain;
        k
    }

    fn set_params(&mut self, p: &[f64]) {
        self.open_level = db_to_gain(p[THRESHOLD]);
        self.close_level = db_to_gain(p[THRESHOLD] - p[HYSTERESIS]);
        self.attack_coeff = one_pole_coefficient(p[ATTACK], self.sample_rate);
        self.hold_samples = (p[HOLD] * 0.001 * self.sample_rate).round() as u64;
        self.release_coeff = one_pole_coefficient(p[RELEASE], self.sample_rate);
        self.closed_gain = db_to_gain(p[RANGE]);
    }

    fn render(&mut self, _frame: u64, left: &mut [f32], right: &mut [f32]) {
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let gain = self.step((l.abs() as f64).max(r.abs() as f64));
            *l = (*l as f64 * gain) as f32;
            *r = (*r as f64 * gain) as f32;
        }
    }

    const TAKES_KEY: bool = true;

    /// The level window, threshold, hold and gain smoothing follow the key; the gain applies to the input.
    fn render_keyed(&mut self, _frame: u64, left: &mut [f32], right: &mut [f32], key_left: &[f32], key_right: &[f32]) {
        let keys = key_left.iter().zip(key_right.iter());
        for ((l, r), (kl, kr)) in left.iter_mut().zip(right.iter_mut()).zip(keys) {
            let gain = self.step((kl.abs() as f64).max(kr.abs() as f64));
            *l = (*l as f64 * gain) as f32;
            *r = (*r as f64 * gain) as f32;
        }
    }

    fn reset(&mut self) {
        self.level.reset();
        self.open = false;
        self.hold_left = 0;
        self.gain = self.closed_gain;
    }

    fn copy_state_from(&mut self, other: &Self) {
        self.level.copy_state_from(&other.level);
        self.open = other.open;
        self.hold_left = other.hold_left;
        self.gain = other.gain;
    }

    /// The output is the input times a gain: nothing sounds after the input stops.
    fn tail_samples(&self) -> Option<u64> {
        Some(0)
    }

    /// Closed with the hold over, the gain within 1e-7 of its closed value (a difference of -140 dB relative
    /// to any later input) and the level window within the floor of zero.
    fn settled(&self, floor: f32) -> bool {
        !self.open
            && self.hold_left == 0
            && (self.gain - self.closed_gain).abs() <= 1e-7
            && self.level.settled(floor as f64)
    }

    fn gain_reduction_db(&self) -> f32 {
        gain_to_db(self.gain).max(-200.0) as f32
    }
}
