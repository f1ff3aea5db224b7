//! What the four delays share: the feedback-filter and tempo-sync parameters and the time a setting asks for.

use crate::dsp::fractional_delay::{note_seconds, NOTE_LABELS};
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
