//! `ping-pong-delay`: the input's mono sum bounces between a right line and a left line.
//!
//! Two lines of the same time: the right line takes M = (L+R)/2 plus the left line's output x feedback, the
//! left line takes the right line's output x feedback (each through its own cut filters). So echo n sounds at
//! n x time with amplitude feedback^(n-1) x M, from the right line for odd n and the left for even n. `width`
//! pans each line toward the centre with equal power: its own side gets cos(pi/4 (1 - width)), the other side
//! sin(pi/4 (1 - width)) (width 0: both sides at -3 dB, mono).

use super::delay_params::{LinePair, SyncedTime, HIGH_CUT, LOW_CUT, NOTE_VALUE, SYNC};
use super::Kernel;
use crate::dsp::fractional_delay::{echoes_to_silence, MAX_DELAY_SECONDS};
use crate::params::{Category, EffectSpec, ParamSpec};
use std::f64::consts::FRAC_PI_4;

const TIME_MS: usize = 0;
const FEEDBACK: usize = 1;
const WIDTH: usize = 2;
const LOW_CUT_HZ: usize = 4;
const HIGH_CUT_HZ: usize = 5;
const SYNC_TO_TEMPO: usize = 6;
const NOTE: usize = 7;

pub static SPEC: EffectSpec = EffectSpec {
    id: "ping-pong-delay",
    name: "Ping-Pong Delay",
    category: Category::Delay,
    params: &[
        ParamSpec::linear("timeMs", "ms", 0.0, 5000.0, 500.0),
        ParamSpec::linear("feedback", "", 0.0, 0.95, 0.5),
        ParamSpec::linear("width", "", 0.0, 1.0, 1.0),
        ParamSpec::linear("mix", "", 0.0, 1.0, 0.5),
        LOW_CUT,
        HIGH_CUT,
        SYNC,
        NOTE_VALUE,
    ],
    presets: &[],
};

/// Index of the line heard on the right (odd echoes) and on the left (even echoes).
const RIGHT: usize = 0;
const LEFT: usize = 1;

pub struct PingPongDelay {
    sample_rate: f64,
    pair: LinePair,
    time: SyncedTime,
    feedback: f32,
    /// Gain of a line on its own side and on the other side.
    own: f32,
    other: f32,
}

impl Kernel for PingPongDelay {
    const SPEC: &'static EffectSpec = &SPEC;

    /// `syncToTempo` and `noteValue` change the time, which glides as a `timeMs` change does: no second line.
    const OWN_TRANSITIONS: bool = true;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let mut k = PingPongDelay {
            sample_rate,
            pair: LinePair::new(sample_rate),
            time: SyncedTime::new(sample_rate),
            feedback: 0.0,
            own: 1.0,
            other: 0.0,
        };
        k.set_params(params);
        k
    }

    fn set_params(&mut self, p: &[f64]) {
        self.time
            .set(p[TIME_MS], p[SYNC_TO_TEMPO] >= 0.5, p[NOTE], MAX_DELAY_SECONDS);
        self.feedback = p[FEEDBACK] as f32;
        let angle = FRAC_PI_4 * (1.0 - p[WIDTH]);
        self.own = angle.cos() as f32;
        self.other = angle.sin() as f32;
        self.pair.set_filters(p[LOW_CUT_HZ], p[HIGH_CUT_HZ], self.sample_rate);
    }

    fn set_tempo(&mut self, bpm: f64) {
        self.time.set_tempo(bpm);
    }

    fn render(&mut self, _frame: u64, left: &mut [f32], right: &mut [f32]) {
        let LinePair { lines, filters } = &mut self.pair;
        self.time.start();
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let d = self.time.tick();
            let mono = 0.5 * (*l + *r);
            let to_right = lines[RIGHT].read(d);
            let to_left = lines[LEFT].read(d);
            let back_right = filters[RIGHT].process(to_right);
            let back_left = filters[LEFT].process(to_left);
            lines[RIGHT].write(mono + self.feedback * back_left);
            lines[LEFT].write(self.feedback * back_right);
            *l = self.own * to_left + self.other * to_right;
            *r = self.own * to_right + self.other * to_left;
        }
    }

    fn reset(&mut self) {
        self.pair.reset();
        self.time.reset();
    }

    fn copy_state_from(&mut self, other: &Self) {
        self.pair.copy_state_from(&other.pair);
        self.time.copy_state_from(&other.time);
    }

    /// The lines and filters 60 dB below the floor and the time not gliding.
    fn settled(&self, floor: f32) -> bool {
        self.time.settled() && self.pair.settled(LinePair::limit(floor))
    }

    fn tail_samples(&self) -> Option<u64> {
        let period = self.time.longest().max(1.0).ceil() as u64;
        let echoes = echoes_to_silence(self.feedback as f64);
        Some(echoes * (period + self.pair.filter_tail_samples()) + 1)
    }
}
