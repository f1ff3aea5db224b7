//! `simple-delay`: one echo line per channel with feedback through the cut filters.
//!
//! Per channel and sample: y = line(d), line <- x + feedback x filters(y), output y (wet). An impulse gives
//! echoes at n x time with amplitude feedback^(n-1) (x `mix`, applied by the processor) while the filters are
//! off. `timeMs` 0 reads one sample back, so the feedback path always has a sample of delay.

use super::delay_params::{LinePair, SyncedTime, HIGH_CUT, LOW_CUT, NOTE_VALUE, SYNC};
use super::Kernel;
use crate::dsp::fractional_delay::{echoes_to_silence, MAX_DELAY_SECONDS};
use crate::params::{Category, EffectSpec, ParamSpec};

const TIME_MS: usize = 0;
const FEEDBACK: usize = 1;
const LOW_CUT_HZ: usize = 3;
const HIGH_CUT_HZ: usize = 4;
const SYNC_TO_TEMPO: usize = 5;
const NOTE: usize = 6;

pub static SPEC: EffectSpec = EffectSpec {
    id: "simple-delay",
    name: "Simple Delay",
    category: Category::Delay,
    params: &[
        ParamSpec::linear("timeMs", "ms", 0.0, 5000.0, 500.0),
        ParamSpec::linear("feedback", "", 0.0, 0.95, 0.5),
        ParamSpec::linear("mix", "", 0.0, 1.0, 0.5),
        LOW_CUT,
        HIGH_CUT,
        SYNC,
        NOTE_VALUE,
    ],
    presets: &[],
};

pub struct SimpleDelay {
    sample_rate: f64,
    pair: LinePair,
    time: SyncedTime,
    feedback: f32,
}

impl Kernel for SimpleDelay {
    const SPEC: &'static EffectSpec = &SPEC;

    /// `syncToTempo` and `noteValue` change the time, which glides as a `timeMs` change does: no second line.
    const OWN_TRANSITIONS: bool = true;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let mut k = SimpleDelay {
            sample_rate,
            pair: LinePair::new(sample_rate),
            time: SyncedTime::new(sample_rate),
            feedback: 0.0,
        };
        k.set_params(params);
        k
    }

    fn set_params(&mut self, p: &[f64]) {
        self.time
            .set(p[TIME_MS], p[SYNC_TO_TEMPO] >= 0.5, p[NOTE], MAX_DELAY_SECONDS);
        self.feedback = p[FEEDBACK] as f32;
        self.pair.set_filters(p[LOW_CUT_HZ], p[HIGH_CUT_HZ], self.sample_rate);
    }

    fn set_tempo(&mut self, bpm: f64) {
        self.time.set_tempo(bpm);
    }

    fn render(&mut self, _frame: u64, left: &mut [f32], right: &mut [f32]) {
        let LinePair { lines, filters } = &mut self.pair;
        self.time.start();
        // A settled time ticks to the same value every frame: when it is a whole number of samples, each
        // channel runs its block in one loop without the per-frame glide and interpolation (identical output).
        if let Some(d) = self
            .time
            .settled()
            .then(|| lines[0].whole_delay(self.time.current()))
            .flatten()
        {
            for ((line, f), block) in lines.iter_mut().zip(filters.iter_mut()).zip([left, right]) {
                line.feedback_block(block, d, self.feedback, f);
            }
            return;
        }
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let d = self.time.tick();
            for (ch, x) in [l, r].into_iter().enumerate() {
                let y = lines[ch].read(d);
                let back = filters[ch].process(y);
                lines[ch].write(*x + self.feedback * back);
                *x = y;
            }
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

    /// Echo n sounds at n x time at feedback^(n-1): enough echoes to fall 100 dB, each lengthened by the
    /// filters' ringing.
    fn tail_samples(&self) -> Option<u64> {
        let period = self.time.longest().max(1.0).ceil() as u64;
        let echoes = echoes_to_silence(self.feedback as f64);
        Some(echoes * (period + self.pair.filter_tail_samples()) + 1)
    }
}
