//! Loudness per ITU-R BS.1770-4 and EBU R128 for the analysis: the streaming [`LoudnessMeter`] (gated integrated,
//! momentary, short-term loudness, loudness range and true peak) that allocates only when it is created. The
//! K-weighting and gating live in [`crate::dsp::loudness`] (the engine's master meter uses them too).

use super::error::{check_block, check_sample_rate, AnalysisError};
use super::true_peak::TruePeakDetector;
pub use crate::dsp::loudness::{
    energy_to_lufs, k_weighting, k_weighting_design, lufs_to_energy, Biquad, GatedLoudness, ABSOLUTE_GATE_LUFS,
    BS1770_HIGH_PASS_48K, BS1770_SHELF_48K, MAX_CHANNELS, RANGE_PERCENTILES, RANGE_RELATIVE_GATE_LU, RELATIVE_GATE_LU,
    STATE_FLUSH,
};

/// A streaming loudness and true-peak meter for 1 to 5 channels (BS.1770-4 order L, R, C, Ls, Rs).
///
/// Feed it blocks of any length with [`LoudnessMeter::push`]; read momentary, short-term, integrated
/// loudness, loudness range and true peak at any time. Nothing is allocated after [`LoudnessMeter::new`].
/// Momentary and short-term loudness before their window has filled treat the time before the first sample
/// as silence; integrated loudness and loudness range use complete blocks only.
#[derive(Debug, Clone)]
pub struct LoudnessMeter {
    loudness: GatedLoudness,
    true_peaks: Vec<TruePeakDetector>,
    sample_peak: f64,
}

impl LoudnessMeter {
    /// A meter for `channels` channels (1 to 5) at a sample rate in [`super::SAMPLE_RATE_RANGE_HZ`].
    pub fn new(sample_rate_hz: f64, channels: usize) -> Result<Self, AnalysisError> {
        check_sample_rate(sample_rate_hz)?;
        if !(1..=MAX_CHANNELS).contains(&channels) {
            return Err(AnalysisError::Channels {
                given: channels,
                max: MAX_CHANNELS,
            });
        }
        Ok(Self {
            loudness: GatedLoudness::new(sample_rate_hz, channels),
            true_peaks: vec![TruePeakDetector::new(); channels],
            sample_peak: 0.0,
        })
    }

    pub fn channels(&self) -> usize {
        self.loudness.channels()
    }

    pub fn sample_rate_hz(&self) -> f64 {
        self.loudness.sample_rate_hz()
    }

    /// Clears everything (stop or an explicit reset): filters, windows, integration, peaks.
    pub fn reset(&mut self) {
        self.loudness.reset();
        self.true_peaks.iter_mut().for_each(TruePeakDetector::reset);
        self.sample_peak = 0.0;
    }

    /// Feeds one block: `channels[c]` holds channel c's samples; all slices have the same length. A block
    /// with another number of slices than the meter's channels, or slices of different lengths, is an error
    /// (and nothing of it is measured).
    pub fn push(&mut self, channels: &[&[f32]]) -> Result<(), AnalysisError> {
        check_block("loudness meter", channels, self.channels())?;
        for (samples, detector) in channels.iter().zip(self.true_peaks.iter_mut()) {
            detector.accumulate(samples);
            let mut lanes = [0.0f32; 8];
            let mut groups = samples.chunks_exact(8);
            for group in &mut groups {
                for (m, x) in lanes.iter_mut().zip(group) {
                    *m = m.max(x.abs());
                }
            }
            for x in groups.remainder() {
                lanes[0] = lanes[0].max(x.abs());
            }
            let peak = lanes.iter().copied().fold(0.0f32, f32::max);
            self.sample_peak = self.sample_peak.max(f64::from(peak));
        }
        self.loudness.push(channels);
        Ok(())
    }

    /// Momentary loudness (last 400 ms), LUFS; -inf for silence.
    pub fn momentary_lufs(&self) -> f64 {
        self.loudness.momentary_lufs()
    }

    /// Short-term loudness (last 3 s), LUFS; -inf for silence.
    pub fn short_term_lufs(&self) -> f64 {
        self.loudness.short_term_lufs()
    }

    /// The highest momentary loudness of a complete 400 ms block so far.
    pub fn max_momentary_lufs(&self) -> f64 {
        self.loudness.max_momentary_lufs()
    }

    /// The highest short-term loudness of a complete 3 s block so far.
    pub fn max_short_term_lufs(&self) -> f64 {
        self.loudness.max_short_term_lufs()
    }

    /// Gated integrated loudness (BS.1770-4) of everything fed since creation or reset, LUFS; -inf when no
    /// 400 ms block passes the absolute gate (silence, or less than 400 ms of input).
    pub fn integrated_lufs(&self) -> f64 {
        self.loudness.integrated_lufs()
    }

    /// Loudness range (EBU Tech 3342) in LU; None when no block passes the gates (silence, or less than 3 s of
    /// input). See [`GatedLoudness::loudness_range_lu`].
    pub fn loudness_range_lu(&self) -> Option<f64> {
        self.loudness.loudness_range_lu()
    }

    /// Largest sample magnitude so far over all channels (linear).
    pub fn sample_peak(&self) -> f64 {
        self.sample_peak
    }

    /// True peak (BS.1770-4 Annex 2) so far over all channels, linear.
    pub fn true_peak(&self) -> f64 {
        self.true_peaks.iter().map(TruePeakDetector::peak).fold(0.0, f64::max)
    }

    /// True peak of one channel so far, linear; an error for a channel the meter does not have.
    pub fn channel_true_peak(&self, channel: usize) -> Result<f64, AnalysisError> {
        self.true_peaks
            .get(channel)
            .map(TruePeakDetector::peak)
            .ok_or(AnalysisError::ChannelIndex {
                index: channel,
                channels: self.channels(),
            })
    }

    /// Ends a file: lets the true-peak filters ring out over their last input samples.
    pub fn flush_true_peak(&mut self) {
        self.true_peaks.iter_mut().for_each(TruePeakDetector::flush);
    }
}

/// A level in dB for a linear amplitude (-inf for 0).
pub fn amplitude_db(amplitude: f64) -> f64 {
    if amplitude > 0.0 {
        20.0 * amplitude.log10()
    } else {
        f64::NEG_INFINITY
    }
}
