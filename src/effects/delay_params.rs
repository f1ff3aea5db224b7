//! What the four delays share: the feedback-filter and tempo-sync parameters, the time a setting asks for,
//! [`SyncedTime`] (the delay time that follows them and the tempo) and [`LinePair`] (two lines with their
//! feedback filters).

use super::DEFAULT_BPM;
use crate::dsp::fractional_delay::{
    note_seconds, DelayLine, DelayTime, FeedbackFilters, MAX_DELAY_SECONDS, NOTE_LABELS,
};
use crate::params::ParamSpec;

/// `lowCutHz` [20, 2000] (20: off).
pub const LOW_CUT: ParamSpec = ParamSpec::log("lowCutHz", "Hz", 20.0, 2000.0, 20.0);
/// `highCutHz` [1000, 20000] (20000: off).
pub const HIGH_CUT: ParamSpec = ParamSpec::log("highCutHz", "Hz", 1000.0, 20000.0, 20000.0);
/// `syncToTempo` (0/1, default 0): note values replace the ms times.
pub const SYNC: ParamSpec = ParamSpec::switch("syncToTempo", 0.0);
/// `noteValue` (default 2, a quarter note).
pub const NOTE_VALUE: ParamSpec = ParamSpec::enumeration("noteValue", NOTE_LABELS, 2.0);
/// The stereo delay's right-channel note value (default 3, an eighth).
pub const NOTE_VALUE_RIGHT: ParamSpec = ParamSpec::enumeration("noteValueRight", NOTE_LABELS, 3.0);

/// A delay time in samples: the note value at the tempo when synced, else the ms value; at most `max_seconds`.
pub fn time_samples(ms: f64, synced: bool, note_value: f64, bpm: f64, max_seconds: f64, sample_rate: f64) -> f64 {
    let seconds = if synced {
        note_seconds(note_value, bpm)
    } else {
        ms / 1000.0
    };
    let samples = seconds.clamp(0.0, max_seconds) * sample_rate;
    // A time that is a whole number of samples up to rounding (60 / 90 x 48000) reads exactly that sample.
    let whole = samples.round();
    if (samples - whole).abs() < 1e-6 {
        whole
    } else {
        samples
    }
}

/// A delay time that follows its parameters (ms, or a note value at the tempo when synced) and the tempo.
/// Before audio has run (after creation or reset) a new time applies at once, as when the tempo is set
/// before playback: there is nothing to glide from. Once [`SyncedTime::start`] has been called, changes glide
/// (see [`DelayTime`]).
#[derive(Debug, Clone, Copy)]
pub struct SyncedTime {
    glide: DelayTime,
    sample_rate: f64,
    /// The longest time the delay line allows, seconds.
    max_seconds: f64,
    ms: f64,
    synced: bool,
    note_value: f64,
    bpm: f64,
    started: bool,
}

impl SyncedTime {
    /// A time of 0 at the default tempo, with [`DelayTime::new`]'s glide.
    pub fn new(sample_rate: f64) -> Self {
        Self::with_glide(DelayTime::new(0.0, sample_rate), sample_rate)
    }

    /// A time of 0 at the default tempo, gliding as `glide` does.
    pub fn with_glide(glide: DelayTime, sample_rate: f64) -> Self {
        SyncedTime {
            glide,
            sample_rate,
            max_seconds: MAX_DELAY_SECONDS,
            ms: 0.0,
            synced: false,
            note_value: 0.0,
            bpm: DEFAULT_BPM,
            started: false,
        }
    }

    /// New parameter values; the time is capped at `max_seconds`.
    pub fn set(&mut self, ms: f64, synced: bool, note_value: f64, max_seconds: f64) {
        (self.ms, self.synced, self.note_value, self.max_seconds) = (ms, synced, note_value, max_seconds);
        self.retarget();
    }

    pub fn set_tempo(&mut self, bpm: f64) {
        self.bpm = bpm;
        self.retarget();
    }

    fn retarget(&mut self) {
        let samples = time_samples(
            self.ms,
            self.synced,
            self.note_value,
            self.bpm,
            self.max_seconds,
            self.sample_rate,
        );
        self.glide.set_target(samples);
        if !self.started {
            self.glide.settle();
        }
    }

    /// Audio is running: from now on, changes glide. Kernels call it at the top of `render`.
    #[inline]
    /// Whether audio has run since creation or the last reset.
    pub fn is_started(&self) -> bool {
        self.started
    }

    pub fn start(&mut self) {
        self.started = true;
    }

    /// Advances one sample and returns the delay for it, in samples.
    #[inline]
    pub fn tick(&mut self) -> f64 {
        self.glide.tick()
    }

    /// Back to "not started", at the target time.
    pub fn reset(&mut self) {
        self.started = false;
        self.glide.settle();
    }

    /// The glide's state (not the parameters) of another instance: the processor's crossfade kernels.
    pub fn copy_state_from(&mut self, other: &SyncedTime) {
        self.started = other.started;
        self.glide.copy_state_from(&other.glide);
    }

    /// Whether the time has reached its target (no glide under way).
    pub fn settled(&self) -> bool {
        self.glide.settled()
    }

    /// The delay in samples now (what the next `tick` returns once settled).
    pub fn current(&self) -> f64 {
        self.glide.current()
    }

    /// The longer of the current and the target time, samples (for tail lengths).
    pub fn longest(&self) -> f64 {
        self.glide.current().max(self.glide.target())
    }
}

/// Two delay lines, each with its feedback path's cut filters: the loop of the simple, ping-pong and stereo
/// delays (each wires it its own way in `render`).
pub struct LinePair {
    pub lines: [DelayLine; 2],
    pub filters: [FeedbackFilters; 2],
}

impl LinePair {
    /// Lines as long as [`MAX_DELAY_SECONDS`] at `sample_rate`, filters off.
    pub fn new(sample_rate: f64) -> Self {
        LinePair {
            lines: [DelayLine::new(sample_rate), DelayLine::new(sample_rate)],
            filters: [FeedbackFilters::default(); 2],
        }
    }

    /// Both lines' `lowCutHz` and `highCutHz`.
    pub fn set_filters(&mut self, low_cut_hz: f64, high_cut_hz: f64, sample_rate: f64) {
        for f in &mut self.filters {
            f.set(low_cut_hz, high_cut_hz, sample_rate);
        }
    }

    /// Silence in the lines and the filters.
    pub fn reset(&mut self) {
        self.lines.iter_mut().for_each(DelayLine::reset);
        self.filters.iter_mut().for_each(FeedbackFilters::reset);
    }

    /// Whether both lines and both filters' memories are within `limit` of zero (the lines answer from their
    /// high-water marks, without a scan).
    pub fn settled(&self, limit: f32) -> bool {
        self.lines.iter().all(|l| l.peak() <= limit) && self.filters.iter().all(|f| f.settled(limit as f64))
    }

    /// The floor a delay's state must settle below: 60 dB under the processor's floor (the wet output reads the
    /// lines at gains of at most 1 per tap).
    pub fn limit(floor: f32) -> f32 {
        floor * 1e-3
    }

    /// The audio state (lines and filter memories) of another pair.
    pub fn copy_state_from(&mut self, other: &LinePair) {
        for (a, b) in self.lines.iter_mut().zip(&other.lines) {
            a.copy_from(b);
        }
        for (a, b) in self.filters.iter_mut().zip(&other.filters) {
            a.copy_state_from(b);
        }
    }

    /// How long the filters ring, samples (both are set alike): added to every echo period of a tail.
    pub fn filter_tail_samples(&self) -> u64 {
        self.filters[0].tail_samples()
    }
}
