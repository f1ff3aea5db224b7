//! The one error of the analysis entry points: caller input they cannot measure (a sample rate, a channel
//! count, slices that do not match the meter, a misordered pass). Every public entry point that can be given
//! such input returns it rather than panicking, since a panic in WebAssembly traps the whole engine. Each is
//! checked once per call, never per sample.

use std::fmt;

/// The lowest and highest sample rates the analysis accepts, Hz.
pub const SAMPLE_RATE_RANGE_HZ: (f64, f64) = (1000.0, 768_000.0);

/// What was wrong with the input of an analysis call.
#[derive(Debug, Clone, PartialEq)]
pub enum AnalysisError {
    /// A sample rate outside [`SAMPLE_RATE_RANGE_HZ`] (or not a number).
    SampleRate(f64),
    /// A channel count the meter or analyser cannot take; `max` is the most it takes (the least is 1).
    Channels { given: usize, max: usize },
    /// A block with a different number of channel slices than the meter was built for.
    ChannelSlices {
        what: &'static str,
        given: usize,
        expected: usize,
    },
    /// Channel slices of one block with different lengths.
    UnequalLengths {
        channel: usize,
        frames: usize,
        first_frames: usize,
    },
    /// A channel index beyond the meter's channels.
    ChannelIndex { index: usize, channels: usize },
    /// A second pass that saw a different number of frames than the first.
    SecondPassFrames { first: u64, second: u64 },
    /// A call out of order: `call` is not allowed now, `why` says what state the analyser is in.
    Order { call: &'static str, why: &'static str },
    /// A waveform peaks request: `buckets` at the coarsest level and `levels` zoom levels, `problem` says
    /// which limit it breaks.
    Peaks {
        buckets: usize,
        levels: usize,
        problem: &'static str,
    },
    /// A power spectrum shorter than the mel filterbank reaches.
    SpectrumBins { given: usize, needed: usize },
    /// An FFT size outside what a filterbank is built for.
    FftSize { given: usize, max: usize },
    /// An [`super::AudioSource`] that reported reading more frames than the block it was given holds.
    SourceRead { read: usize, room: usize },
}

impl fmt::Display for AnalysisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (lo, hi) = SAMPLE_RATE_RANGE_HZ;
        match self {
            AnalysisError::SampleRate(hz) => write!(f, "sample rate {hz} Hz is not supported ({lo} to {hi} Hz)"),
            AnalysisError::Channels { given, max } => write!(f, "{given} channels: 1 to {max} are supported"),
            AnalysisError::ChannelSlices { what, given, expected } => {
                write!(f, "{given} channel slices given, the {what} has {expected}")
            }
            AnalysisError::UnequalLengths {
                channel,
                frames,
                first_frames,
            } => write!(
                f,
                "channel slice {channel} has {frames} samples but slice 0 has {first_frames}: \
                 the slices of a block must have equal lengths"
            ),
            AnalysisError::ChannelIndex { index, channels } => {
                write!(
                    f,
                    "channel {index} asked for, the meter has {channels} (0 to {})",
                    channels.saturating_sub(1)
                )
            }
            AnalysisError::SecondPassFrames { first, second } => write!(
                f,
                "the second pass fed {second} frames but the first fed {first}: feed the same samples again"
            ),
            AnalysisError::Order { call, why } => write!(f, "{call} called {why}"),
            AnalysisError::Peaks {
                buckets,
                levels,
                problem,
            } => write!(f, "{buckets} buckets with {levels} levels: {problem}"),
            AnalysisError::SpectrumBins { given, needed } => {
                write!(
                    f,
                    "a power spectrum of {given} bins given, the mel filterbank needs {needed}"
                )
            }
            AnalysisError::FftSize { given, max } => write!(f, "FFT size {given}: 2 to {max} are supported"),
            AnalysisError::SourceRead { read, room } => {
                write!(f, "the audio source reported {read} frames read into a block of {room}")
            }
        }
    }
}

impl std::error::Error for AnalysisError {}

/// Checks a sample rate against [`SAMPLE_RATE_RANGE_HZ`] (NaN fails too).
pub(crate) fn check_sample_rate(sample_rate_hz: f64) -> Result<(), AnalysisError> {
    let (lo, hi) = SAMPLE_RATE_RANGE_HZ;
    if (lo..=hi).contains(&sample_rate_hz) {
        Ok(())
    } else {
        Err(AnalysisError::SampleRate(sample_rate_hz))
    }
}

/// Checks one block: `expected` slices (for the `what`), all of the first one's length. Returns the frames.
pub(crate) fn check_block(what: &'static str, channels: &[&[f32]], expected: usize) -> Result<usize, AnalysisError> {
    if channels.len() != expected {
        return Err(AnalysisError::ChannelSlices {
            what,
            given: channels.len(),
            expected,
        });
    }
    let first_frames = channels.first().map_or(0, |c| c.len());
    match channels.iter().position(|c| c.len() != first_frames) {
        Some(channel) => Err(AnalysisError::UnequalLengths {
            channel,
            frames: channels[channel].len(),
            first_frames,
        }),
        None => Ok(first_frames),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_was_wrong() {
        let e = check_block("loudness meter", &[&[0.0], &[0.0]], 1).unwrap_err();
        assert_eq!(e.to_string(), "2 channel slices given, the loudness meter has 1");
        let e = check_block("analyser", &[&[0.0; 4], &[0.0; 3]], 2).unwrap_err();
        assert_eq!(
            e.to_string(),
            "channel slice 1 has 3 samples but slice 0 has 4: the slices of a block must have equal lengths"
        );
        assert_eq!(check_block("analyser", &[&[0.0; 4], &[0.0; 4]], 2), Ok(4));
        let e = check_sample_rate(0.0).unwrap_err();
        assert_eq!(e.to_string(), "sample rate 0 Hz is not supported (1000 to 768000 Hz)");
        assert!(check_sample_rate(f64::NAN).is_err());
    }
}
