//! Measurements of a recording (the measurement half of the mix analysis): levels,
//! loudness, true peak, spectral features and MFCCs as librosa 0.11 defines them, tempo, waveform peaks.
//!
//! - [`loudness`]: the streaming [`LoudnessMeter`] over `dsp::loudness`'s K-weighting and gating (which the
//!   engine's master meter uses too).
//! - [`true_peak`]: the BS.1770-4 Annex 2 oversampling detector.
//! - [`features`] and [`mfcc`]: frame features of the mono mixdown.
//! - [`tempo`]: onset-strength autocorrelation of the part with onsets, the octave chosen by a tempo prior
//!   and an offbeat test.
//! - [`peaks`]: waveform min/max at several zoom levels.
//!
//! [`Analyzer`] streams a file through all of them in blocks, in one pass, or two when more values than it
//! keeps end up under the MFCCs' top_db floor (the whole file's maximum minus 80 dB, known only at the end:
//! a long crescendo; see [`mfcc::MelDbSums`]); its memory depends on its frames, not on the length of the
//! input. [`analyze`] runs it over samples in memory. Natively it uses two threads for large blocks (see
//! [`Analyzer::push`]) and [`analyze_source`] reads the next block while the second thread finishes; the
//! results do not depend on either.

mod error;
pub mod features;
pub mod json;
pub mod loudness;
pub mod mfcc;
pub mod peaks;
pub mod tempo;
/// The true-peak detector lives in `dsp` (the engine's master meter and the limiter use it too).
pub use crate::dsp::true_peak;

pub use error::{AnalysisError, SAMPLE_RATE_RANGE_HZ};
pub use loudness::LoudnessMeter;
pub use peaks::{PeakLevel, PeaksBuilder, MAX_PEAK_BUCKETS, MAX_PEAK_CHANNELS, MAX_PEAK_LEVELS};

/// The former name of [`AnalysisError`], kept so that code written against it still builds.
pub type SetupError = AnalysisError;

use error::check_block;
use features::FrameAnalyzer;
use loudness::amplitude_db;
use mfcc::MFCC_COUNT;
use tempo::TempoEstimator;

/// A normal number as mantissa in [1, 2) and binary exponent: `x = mantissa x 2^exponent`. Running products
/// of many values (the flatness's geometric mean, the MFCC dB sums) stay in range by splitting after each step.
#[inline(always)]
pub(crate) fn split_binary(x: f64) -> (f64, i64) {
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    (f64::from_bits((bits & !(0x7ff << 52)) | (1023 << 52)), exponent)
}

/// Frames the analyser converts to the mono mixdown at a time.
const MIX_BLOCK: usize = 65_536;
/// Whether [`Analyzer::push`] may use a second thread (not in WebAssembly, which has none here).
const PARALLEL: bool = cfg!(not(target_arch = "wasm32"));
/// Pieces at least this long are worth a second thread (a spawn costs tens of microseconds).
pub const PARALLEL_MIN_FRAMES: usize = 16_384;

/// Which measurements an [`Analyzer`] makes: all of them, or one of two halves that two threads can make at
/// the same time from the same samples. Natively [`Analyzer::push`] already runs the halves on two threads;
/// a browser, whose Web Workers share no memory without cross-origin isolation, runs one half per worker, each
/// on its own copy of the samples, and joins the two JSON objects (their keys are disjoint:
/// [`json::analysis_json_of`]). Each half computes exactly what it computes as part of the whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measurements {
    All,
    /// Sample peak, true peak, RMS, crest, loudness, loudness range and tempo.
    Levels,
    /// The frame features: spectral centroid, rolloff, flatness, zero-crossing rate, MFCCs, band energies.
    Spectrum,
}

impl Measurements {
    fn levels(self) -> bool {
        self != Measurements::Spectrum
    }

    fn spectrum(self) -> bool {
        self != Measurements::Levels
    }
}

/// The analysis of one recording. Levels in dB are -inf for silence (never NaN).
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub sample_rate_hz: f64,
    pub channels: usize,
    pub frames: u64,
    /// Largest |sample| over all channels, dBFS.
    pub peak_db: f64,
    /// BS.1770-4 Annex 2 true peak over all channels, dBTP.
    pub true_peak_db: f64,
    /// RMS over all samples of all channels, dBFS.
    pub rms_db: f64,
    /// Peak minus RMS, dB; -inf for silence (there is no crest factor without signal).
    pub crest_db: f64,
    /// Integrated loudness, LUFS; -inf when nothing passes the gates (silence, or shorter than 400 ms).
    pub integrated_lufs: f64,
    /// Loudness range (EBU Tech 3342), LU; None when no 3 s block passes the gates.
    pub loudness_range_lu: Option<f64>,
    pub spectral_centroid_mean_hz: f64,
    pub spectral_centroid_std_hz: f64,
    pub spectral_rolloff_hz: f64,
    pub spectral_flatness: f64,
    pub zero_crossing_rate: f64,
    pub mfcc: [f64; MFCC_COUNT],
    /// Energy fractions: low (< 250 Hz), mid (250 Hz to 4 kHz), high (>= 4 kHz).
    pub band_energy: [f64; 3],
    /// Estimated tempo; None when the recording has no clear beat.
    pub tempo_bpm: Option<f64>,
}

/// A recording that can be read in blocks, twice: the analyser's input.
pub trait AudioSource {
    type Error;
    fn sample_rate_hz(&self) -> f64;
    /// 1 (mono) or 2 (stereo).
    fn channels(&self) -> usize;
    /// Frames in the recording, when known (for progress reports).
    fn frames(&self) -> u64;
    /// Fills the front of each slice with the next frames; returns how many (0 at the end).
    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, Self::Error>;
    /// Back to the first frame.
    fn rewind(&mut self) -> Result<(), Self::Error>;
}

/// Samples in memory as a source: one slice per channel.
pub struct SliceSource<'a> {
    sample_rate_hz: f64,
    channels: Vec<&'a [f32]>,
    position: usize,
}

impl<'a> SliceSource<'a> {
    /// One slice per channel (1 or 2), of equal lengths; anything else is an error naming it.
    pub fn new(sample_rate_hz: f64, channels: &[&'a [f32]]) -> Result<Self, AnalysisError> {
        check_channels(channels.len())?;
        check_block("source", channels, channels.len())?;
        Ok(Self {
            sample_rate_hz,
            channels: channels.to_vec(),
            position: 0,
        })
    }
}

impl AudioSource for SliceSource<'_> {
    type Error = std::convert::Infallible;

    fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    fn channels(&self) -> usize {
        self.channels.len()
    }

    fn frames(&self) -> u64 {
        self.channels[0].len() as u64
    }

    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, Self::Error> {
        let n = left.len().min(right.len()).min(self.channels[0].len() - self.position);
        let range = self.position..self.position + n;
        left[..n].copy_from_slice(&self.channels[0][range.clone()]);
        if let Some(r) = self.channels.get(1) {
            right[..n].copy_from_slice(&r[range]);
        }
        self.position += n;
        Ok(n)
    }

    fn rewind(&mut self) -> Result<(), Self::Error> {
        self.position = 0;
        Ok(())
    }
}

/// The analyser takes mono or stereo.
const MAX_CHANNELS: usize = 2;

fn check_channels(channels: usize) -> Result<(), AnalysisError> {
    if (1..=MAX_CHANNELS).contains(&channels) {
        Ok(())
    } else {
        Err(AnalysisError::Channels {
            given: channels,
            max: MAX_CHANNELS,
        })
    }
}

/// Where the analyser stands: which calls are allowed next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    FirstPass,
    SecondPass,
    /// The first pass ended and asked for no second one: only [`Analyzer::finish`] is left.
    Done,
}

/// The streaming analyser: push blocks (first pass), then, if [`Analyzer::end_first_pass`] asks for it,
/// the same blocks again with [`Analyzer::push_second_pass`], then [`Analyzer::finish`].
pub struct Analyzer {
    sample_rate_hz: f64,
    channels: usize,
    meter: LoudnessMeter,
    frames: FrameAnalyzer,
    tempo: TempoEstimator,
    mono: Vec<f64>,
    sum_sq: f64,
    samples: u64,
    stage: Stage,
    measurements: Measurements,
}

impl Analyzer {
    /// An analyser of mono or stereo (`channels` 1 or 2) at a sample rate in [`SAMPLE_RATE_RANGE_HZ`].
    pub fn new(sample_rate_hz: f64, channels: usize) -> Result<Self, AnalysisError> {
        Self::with_measurements(sample_rate_hz, channels, Measurements::All)
    }

    /// An analyser of some of the measurements (see [`Measurements`]); the others in its [`Analysis`] are
    /// meaningless (what an empty recording gives).
    pub fn with_measurements(
        sample_rate_hz: f64,
        channels: usize,
        measurements: Measurements,
    ) -> Result<Self, AnalysisError> {
        check_channels(channels)?;
        Ok(Self {
            sample_rate_hz,
            channels,
            meter: LoudnessMeter::new(sample_rate_hz, channels)?,
            frames: FrameAnalyzer::new(sample_rate_hz)?,
            tempo: TempoEstimator::new(sample_rate_hz)?,
            mono: vec![0.0; MIX_BLOCK],
            sum_sq: 0.0,
            samples: 0,
            stage: Stage::FirstPass,
            measurements,
        })
    }

    /// The mono mixdown (L+R)/2 of frames `start .. start + n` into `self.mono[..n]`.
    fn mix_mono(&mut self, channels: &[&[f32]], start: usize, n: usize) {
        match channels {
            [mono] => {
                for (o, &x) in self.mono.iter_mut().zip(&mono[start..start + n]) {
                    *o = f64::from(x);
                }
            }
            [l, r, ..] => {
                for ((o, &a), &b) in self.mono.iter_mut().zip(&l[start..start + n]).zip(&r[start..start + n]) {
                    *o = (f64::from(a) + f64::from(b)) * 0.5;
                }
            }
            [] => {}
        }
    }

    /// First pass: one slice per channel, equal lengths (else an error, and nothing of the block is measured).
    ///
    /// Natively, a piece of at least [`PARALLEL_MIN_FRAMES`] frames runs the loudness meter (with true peak)
    /// and the tempo estimator on a second (scoped) thread while this one computes the frame features (which
    /// alone make the second pass, when there is one); smaller pieces, and
    /// everything in WebAssembly, run on the calling thread, without allocating.
    pub fn push(&mut self, channels: &[&[f32]]) -> Result<(), AnalysisError> {
        self.push_then(channels, || {})
    }

    /// [`Analyzer::push`], then `meanwhile` on the calling thread while the second thread (when one runs)
    /// finishes its part of the last piece: [`analyze_source`] reads the next block there. On an error
    /// `meanwhile` is not called.
    pub fn push_then(&mut self, channels: &[&[f32]], meanwhile: impl FnOnce()) -> Result<(), AnalysisError> {
        if self.stage != Stage::FirstPass {
            return Err(AnalysisError::Order {
                call: "push",
                why: "after end_first_pass (the second pass takes push_second_pass)",
            });
        }
        let frames = check_block("analyser", channels, self.channels)?;
        let mut meanwhile = Some(meanwhile);
        self.samples += frames as u64;
        let (levels, spectrum) = (self.measurements.levels(), self.measurements.spectrum());
        let mut start = 0;
        while start < frames {
            let n = (frames - start).min(MIX_BLOCK);
            self.mix_mono(channels, start, n);
            let range = start..start + n;
            start += n;
            let (meter, tempo, sum_sq) = (&mut self.meter, &mut self.tempo, &mut self.sum_sq);
            let (frame_analyzer, mono) = (&mut self.frames, &self.mono[..n]);
            let mut side = move || {
                let mut pieces: [&[f32]; 2] = [&[], &[]];
                for (p, c) in pieces.iter_mut().zip(channels) {
                    *p = &c[range.clone()];
                }
                let pieces = &pieces[..channels.len()];
                // Checked above: one slice per channel, equal lengths.
                let _ = meter.push(pieces);
                for c in pieces {
                    *sum_sq += c.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>();
                }
                tempo.push(mono);
            };
            let last = start == frames;
            if !(levels && spectrum) {
                if levels {
                    side();
                } else {
                    frame_analyzer.push(mono);
                }
            } else if PARALLEL && n >= PARALLEL_MIN_FRAMES {
                std::thread::scope(|scope| {
                    scope.spawn(side);
                    frame_analyzer.push(mono);
                    if last {
                        if let Some(f) = meanwhile.take() {
                            f();
                        }
                    }
                });
            } else {
                side();
                frame_analyzer.push(mono);
            }
        }
        if let Some(f) = meanwhile.take() {
            f();
        }
        Ok(())
    }

    /// Ends the first pass; true when a second pass over the same samples is needed. An error when the
    /// first pass has already ended.
    pub fn end_first_pass(&mut self) -> Result<bool, AnalysisError> {
        if self.stage != Stage::FirstPass {
            return Err(AnalysisError::Order {
                call: "end_first_pass",
                why: "twice",
            });
        }
        self.meter.flush_true_peak();
        // Without the spectrum no frame was fed: nothing to finish (and no second pass).
        let second = self.measurements.spectrum() && self.frames.end_first_pass();
        self.stage = if second { Stage::SecondPass } else { Stage::Done };
        Ok(second)
    }

    /// Second pass: the same blocks as the first (after [`Analyzer::end_first_pass`] returned true).
    pub fn push_second_pass(&mut self, channels: &[&[f32]]) -> Result<(), AnalysisError> {
        if self.stage != Stage::SecondPass {
            return Err(AnalysisError::Order {
                call: "push_second_pass",
                why: "without a second pass (only after end_first_pass returned true)",
            });
        }
        let frames = check_block("analyser", channels, self.channels)?;
        let mut start = 0;
        while start < frames {
            let n = (frames - start).min(MIX_BLOCK);
            self.mix_mono(channels, start, n);
            self.frames.push(&self.mono[..n]);
            start += n;
        }
        Ok(())
    }

    /// The analysis. Called before [`Analyzer::end_first_pass`], it ends the first pass itself (an error
    /// when that pass then needs a second one); after a second pass, an error when that pass did not feed
    /// as many frames as the first.
    pub fn finish(mut self) -> Result<Analysis, AnalysisError> {
        if self.stage == Stage::FirstPass && self.end_first_pass()? {
            return Err(AnalysisError::Order {
                call: "finish",
                why: "before the second pass that end_first_pass asks for",
            });
        }
        if self.stage == Stage::SecondPass {
            self.frames.end_second_pass()?;
        }
        if !self.measurements.spectrum() {
            // Its features then describe no frame at all; end its pass so they are at least defined.
            self.frames.end_first_pass();
        }
        let f = self.frames.features();
        let peak_db = amplitude_db(self.meter.sample_peak());
        let total = self.samples * self.channels as u64;
        let rms_db = if total > 0 {
            amplitude_db((self.sum_sq / total as f64).sqrt())
        } else {
            f64::NEG_INFINITY
        };
        Ok(Analysis {
            sample_rate_hz: self.sample_rate_hz,
            channels: self.channels,
            frames: self.samples,
            peak_db,
            true_peak_db: amplitude_db(self.meter.true_peak()),
            rms_db,
            // No signal, no crest factor: -inf like the levels it is made of (null in JSON).
            crest_db: if peak_db.is_finite() && rms_db.is_finite() {
                peak_db - rms_db
            } else {
                f64::NEG_INFINITY
            },
            integrated_lufs: self.meter.integrated_lufs(),
            loudness_range_lu: self.meter.loudness_range_lu(),
            spectral_centroid_mean_hz: f.centroid_mean_hz,
            spectral_centroid_std_hz: f.centroid_std_hz,
            spectral_rolloff_hz: f.rolloff_hz,
            spectral_flatness: f.flatness,
            zero_crossing_rate: f.zero_crossing_rate,
            mfcc: f.mfcc,
            band_energy: f.band_energy,
            tempo_bpm: self.tempo.tempo_bpm(),
        })
    }
}

/// Frames read from a source per block.
pub const READ_BLOCK: usize = 65_536;

/// A source's reported frame count, checked against the room it was given.
fn checked_read(read: usize, room: usize) -> Result<usize, AnalysisError> {
    if read <= room {
        Ok(read)
    } else {
        Err(AnalysisError::SourceRead { read, room })
    }
}

/// Analyses a source in blocks (twice when the MFCC floor needs it). `progress` receives the fraction of
/// the work done, 0 to 1. The outer error is the source's own; the inner one is the analysis's (a sample
/// rate or channel count it cannot take, or a source that reports more frames than it was given room for).
pub fn analyze_source<S: AudioSource>(
    source: &mut S,
    mut progress: impl FnMut(f64),
) -> Result<Result<Analysis, AnalysisError>, S::Error> {
    let channels = source.channels();
    let mut analyzer = match Analyzer::new(source.sample_rate_hz(), channels) {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    let total = source.frames().max(1) as f64;
    let (mut left, mut right) = (vec![0.0f32; READ_BLOCK], vec![0.0f32; READ_BLOCK]);
    // Two blocks: the next is read while the analyser's second thread finishes the current one.
    let (mut next_left, mut next_right) = (vec![0.0f32; READ_BLOCK], vec![0.0f32; READ_BLOCK]);
    let mut done = 0u64;
    source.rewind()?;
    let mut n = source.read(&mut left, &mut right)?;
    while n > 0 {
        let n_checked = match checked_read(n, READ_BLOCK) {
            Ok(n) => n,
            Err(e) => return Ok(Err(e)),
        };
        let block: [&[f32]; 2] = [&left[..n_checked], &right[..n_checked]];
        let mut next = None;
        let pushed = analyzer.push_then(&block[..channels], || {
            next = Some(source.read(&mut next_left, &mut next_right))
        });
        if let Err(e) = pushed {
            return Ok(Err(e));
        }
        done += n as u64;
        progress(0.8 * done as f64 / total);
        n = match next {
            Some(read) => read?,
            None => 0,
        };
        std::mem::swap(&mut left, &mut next_left);
        std::mem::swap(&mut right, &mut next_right);
    }
    let second_pass = match analyzer.end_first_pass() {
        Ok(second_pass) => second_pass,
        Err(e) => return Ok(Err(e)),
    };
    if second_pass {
        source.rewind()?;
        done = 0;
        loop {
            let n = match checked_read(source.read(&mut left, &mut right)?, READ_BLOCK) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => return Ok(Err(e)),
            };
            let block: [&[f32]; 2] = [&left[..n], &right[..n]];
            if let Err(e) = analyzer.push_second_pass(&block[..channels]) {
                return Ok(Err(e));
            }
            done += n as u64;
            progress(0.8 + 0.2 * done as f64 / total);
        }
    }
    progress(1.0);
    Ok(analyzer.finish())
}

/// Analyses samples in memory: one slice per channel (1 or 2), equal lengths (else an error naming what
/// differs), at a rate in [`SAMPLE_RATE_RANGE_HZ`]. The samples must be finite
/// (a NaN makes the levels it reaches undefined: reported as -inf or null, never a panic); [`crate::wav`]
/// rejects float files that hold any other.
pub fn analyze(sample_rate_hz: f64, channels: &[&[f32]]) -> Result<Analysis, AnalysisError> {
    analyze_measurements(sample_rate_hz, channels, Measurements::All)
}

/// [`analyze`] of some of the measurements (see [`Measurements`]). The samples are pushed as they are, with
/// no copy into blocks ([`Analyzer::push`] takes them in the same pieces as [`analyze_source`]'s blocks).
pub fn analyze_measurements(
    sample_rate_hz: f64,
    channels: &[&[f32]],
    measurements: Measurements,
) -> Result<Analysis, AnalysisError> {
    check_channels(channels.len())?;
    check_block("source", channels, channels.len())?;
    let mut analyzer = Analyzer::with_measurements(sample_rate_hz, channels.len(), measurements)?;
    analyzer.push(channels)?;
    if analyzer.end_first_pass()? {
        analyzer.push_second_pass(channels)?;
    }
    analyzer.finish()
}
