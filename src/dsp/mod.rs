//! DSP building blocks shared by the effects, the engine's meters and the analysis: filters, smoothing, delay
//! lines, detectors, denormal guards, K-weighting and gated loudness, true peak.

pub mod biquad;
pub mod delay_line;
pub mod denormal;
pub mod detector;
pub mod fast_math;
pub mod fractional_delay;
pub mod gain_computer;
pub mod loudness;
pub mod oversampler;
pub mod real_fft;
pub mod reverb_parts;
pub mod rng;
pub mod settle;
pub mod shaper;
pub mod sliding;
pub mod smoother;
pub mod true_peak;

/// The frames an effect processes at a time: `process` splits any block into pieces on a grid of absolute
/// frames (`frame % PIECE_FRAMES == 0` starts a piece), and scratch buffers are this long. One Web Audio
/// render quantum.
pub const PIECE_FRAMES: usize = 128;

/// Decibels to linear amplitude.
#[inline]
pub fn db_to_gain(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// Linear amplitude to decibels (-inf for 0).
#[inline]
pub fn gain_to_db(gain: f64) -> f64 {
    20.0 * gain.log10()
}

/// The highest frequency any filter is designed at, as a fraction of the sample rate (the effect contract).
pub const MAX_FREQUENCY_RATIO: f64 = 0.49;

/// Clamps a frequency to `MAX_FREQUENCY_RATIO` x the sample rate.
#[inline]
pub fn clamp_frequency(hz: f64, sample_rate: f64) -> f64 {
    hz.min(MAX_FREQUENCY_RATIO * sample_rate)
}
