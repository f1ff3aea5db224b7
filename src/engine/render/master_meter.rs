//! The master's meters (docs/engine.md, "Metering"): EBU R128 / BS.1770-4 loudness (momentary, short-term,
//! integrated, loudness range per EBU Tech 3342), true peak (BS.1770-4 Annex 2), phase correlation and a
//! spectrum for an analyser display. Everything is sized when the engine is built; [`MasterMeter::update`] and
//! the reads never allocate, and integrated loudness and loudness range keep fixed histograms (0.01 LU bins,
//! see [`GatedLoudness`]), so memory does not grow with playing time.

use crate::dsp::loudness::GatedLoudness;
use crate::dsp::true_peak::TruePeakDetector;
use realfft::num_complex::Complex;
use realfft::RealToComplex;
use std::sync::Arc;

/// The correlation window: a sliding rectangular window of this length, as the strips' RMS window.
pub const CORRELATION_WINDOW_S: f64 = 0.300;
/// The correlation window slides in steps of this many frames (its length is a whole number of steps).
pub const CORRELATION_STEP_FRAMES: usize = 16;
/// The spectrum's FFT length (frames of the mono mixdown (L + R) / 2); bin k is at k x rate / this.
pub const SPECTRUM_SIZE: usize = 4096;
/// Bins of the spectrum: DC to Nyquist.
pub const SPECTRUM_BINS: usize = SPECTRUM_SIZE / 2 + 1;
/// What a bin reads when its magnitude is zero or below this (a finite floor, never -inf).
pub const SPECTRUM_FLOOR_DB: f32 = -200.0;

/// What the master meter shows. Loudness in LUFS and peaks in dBTP are -inf for silence (never NaN).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MasterReading {
    /// Loudness of the last 400 ms (updated every 100 ms).
    pub momentary_lufs: f64,
    /// Loudness of the last 3 s (updated every 100 ms).
    pub short_term_lufs: f64,
    /// Gated integrated loudness since the last reset (BS.1770-4).
    pub integrated_lufs: f64,
    /// Loudness range since the last reset (EBU Tech 3342); None until a 3 s block passes the gates.
    pub loudness_range_lu: Option<f64>,
    /// The highest momentary and short-term loudness since the last reset.
    pub max_momentary_lufs: f64,
    pub max_short_term_lufs: f64,
    /// True peak (4x oversampled, Annex 2) since the last read, both channels.
    pub true_peak_dbtp: f64,
    /// True peak since the last reset.
    pub max_true_peak_dbtp: f64,
    /// Phase correlation over the last 300 ms, -1 (anti-phase) to +1 (in phase); 0 when a side is silent.
    pub correlation: f64,
}

/// A linear level to dB, -inf for 0 (a pure function: 20 log10).
fn level_db(linear: f64) -> f64 {
    if linear > 0.0 {
        20.0 * linear.log10()
    } else {
        f64::NEG_INFINITY
    }
}

/// Pearson correlation of the two channels over a window, from its sums (zero-mean form, as phase meters
/// use: sum(LR) / sqrt(sum(LL) sum(RR))); 0 when either side has no energy.
pub fn correlation_of(sum_lr: f64, sum_ll: f64, sum_rr: f64) -> f64 {
    let energy = sum_ll * sum_rr;
    if energy > 0.0 {
        (sum_lr / energy.sqrt()).clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// The periodic Hann window of `n` points (scipy's `get_window('hann', n)`), whose coherent gain is 1/2.
fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos()) as f32)
        .collect()
}

/// The master's loudness, true-peak, correlation and spectrum meters.
pub struct MasterMeter {
    enabled: bool,
    loudness: GatedLoudness,
    true_peaks: [TruePeakDetector; 2],
    true_peak_since_read: f64,
    true_peak_max: f64,
    /// Sums (LR, LL, RR) of each finished 16-frame step, as a ring of the window's steps.
    correlation_steps: Vec<[f64; 3]>,
    next_step: usize,
    window_sums: [f64; 3],
    partial: [f64; 3],
    partial_frames: usize,
    /// The last [`SPECTRUM_SIZE`] frames of (L + R) / 2, a ring whose oldest sample is at `spectrum_next`.
    spectrum_ring: Vec<f32>,
    spectrum_next: usize,
    window: Vec<f32>,
    /// 2 / sum(window): a bin-centred sine of amplitude A then reads A (the window's coherent gain undone).
    spectrum_scale: f64,
    /// f64, the analysis's FFT type: one float type keeps a single copy of the FFT code in the wasm module (the
    /// transform runs in the read, at about 30 Hz, so its cost does not matter).
    fft: Arc<dyn RealToComplex<f64>>,
    fft_in: Vec<f64>,
    fft_out: Vec<Complex<f64>>,
    fft_scratch: Vec<Complex<f64>>,
}

impl MasterMeter {
    /// A meter at a sample rate, switched on. Allocates everything it will use.
    pub fn new(sample_rate: f64) -> Self {
        let steps = ((CORRELATION_WINDOW_S * sample_rate / CORRELATION_STEP_FRAMES as f64).round() as usize).max(1);
        let fft = crate::dsp::real_fft::forward_power_of_two(SPECTRUM_SIZE.trailing_zeros());
        let window = hann(SPECTRUM_SIZE);
        let window_sum: f64 = window.iter().map(|&w| f64::from(w)).sum();
        MasterMeter {
            enabled: true,
            loudness: GatedLoudness::new(sample_rate, 2),
            true_peaks: [TruePeakDetector::new(), TruePeakDetector::new()],
            true_peak_since_read: 0.0,
            true_peak_max: 0.0,
            correlation_steps: vec![[0.0; 3]; steps],
            next_step: 0,
            window_sums: [0.0; 3],
            partial: [0.0; 3],
            partial_frames: 0,
            spectrum_ring: vec![0.0; SPECTRUM_SIZE],
            spectrum_next: 0,
            window,
            spectrum_scale: 2.0 / window_sum,
            fft_in: fft.make_input_vec(),
            fft_out: fft.make_output_vec(),
            fft_scratch: fft.make_scratch_vec(),
            fft,
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Switches the meter on or off. Off, [`MasterMeter::update`] returns at once and the readings stay as they
    /// were; switching on again starts from a reset (what was missed cannot be integrated).
    pub fn set_enabled(&mut self, enabled: bool) {
        if enabled && !self.enabled {
            self.reset();
        }
        self.enabled = enabled;
    }

    /// Measures a block of the master's output.
    pub fn update(&mut self, left: &[f32], right: &[f32]) {
        if !self.enabled {
            return;
        }
        let n = left.len().min(right.len());
        let (left, right) = (&left[..n], &right[..n]);
        self.loudness.push(&[left, right]);
        let block_peak = self.true_peaks[0].push(left).max(self.true_peaks[1].push(right));
        self.true_peak_since_read = self.true_peak_since_read.max(block_peak);
        self.true_peak_max = self.true_peak_max.max(block_peak);
        for (&l, &r) in left.iter().zip(right) {
            let (l64, r64) = (f64::from(l), f64::from(r));
            self.partial[0] += l64 * r64;
            self.partial[1] += l64 * l64;
            self.partial[2] += r64 * r64;
            self.partial_frames += 1;
            if self.partial_frames == CORRELATION_STEP_FRAMES {
                self.finish_correlation_step();
            }
            self.spectrum_ring[self.spectrum_next] = 0.5 * (l + r);
            self.spectrum_next = (self.spectrum_next + 1) % SPECTRUM_SIZE;
        }
    }

    fn finish_correlation_step(&mut self) {
        let old = self.correlation_steps[self.next_step];
        for ((sum, leaving), entering) in self.window_sums.iter_mut().zip(old).zip(self.partial) {
            *sum = *sum - leaving + entering;
        }
        // The energies cannot be negative: clamped against rounding (the cross term may be).
        self.window_sums[1] = self.window_sums[1].max(0.0);
        self.window_sums[2] = self.window_sums[2].max(0.0);
        self.correlation_steps[self.next_step] = self.partial;
        self.next_step = (self.next_step + 1) % self.correlation_steps.len();
        if self.next_step == 0 {
            // Once per window the running sums are recomputed exactly (no drift over hours).
            for c in 0..3 {
                self.window_sums[c] = self.correlation_steps.iter().map(|s| s[c]).sum();
            }
        }
        self.partial = [0.0; 3];
        self.partial_frames = 0;
    }

    /// The current reading; the true peak since the last read starts again.
    pub fn read(&mut self) -> MasterReading {
        let reading = MasterReading {
            momentary_lufs: self.loudness.momentary_lufs(),
            short_term_lufs: self.loudness.short_term_lufs(),
            integrated_lufs: self.loudness.integrated_lufs(),
            loudness_range_lu: self.loudness.loudness_range_lu(),
            max_momentary_lufs: self.loudness.max_momentary_lufs(),
            max_short_term_lufs: self.loudness.max_short_term_lufs(),
            true_peak_dbtp: level_db(self.true_peak_since_read),
            max_true_peak_dbtp: level_db(self.true_peak_max),
            correlation: correlation_of(self.window_sums[0], self.window_sums[1], self.window_sums[2]),
        };
        self.true_peak_since_read = 0.0;
        reading
    }

    /// The magnitude spectrum of the last [`SPECTRUM_SIZE`] frames of (L + R) / 2, periodic Hann window, in dB
    /// per bin (bin k at k x rate / [`SPECTRUM_SIZE`]), scaled so that a sine of amplitude A centred on a bin
    /// reads 20 log10 A there; floored at [`SPECTRUM_FLOOR_DB`]. Writes min(out.len(), [`SPECTRUM_BINS`]) bins
    /// from DC up and returns how many.
    pub fn read_spectrum(&mut self, out: &mut [f32]) -> usize {
        // Oldest sample first, windowed.
        let (newer, older) = self.spectrum_ring.split_at(self.spectrum_next);
        for ((x, s), w) in self.fft_in.iter_mut().zip(older.iter().chain(newer)).zip(&self.window) {
            *x = f64::from(s * w);
        }
        if self
            .fft
            .process_with_scratch(&mut self.fft_in, &mut self.fft_out, &mut self.fft_scratch)
            .is_err()
        {
            // Only with buffers of the wrong length, which `new` rules out.
            out.fill(SPECTRUM_FLOOR_DB);
            return 0;
        }
        let bins = out.len().min(SPECTRUM_BINS);
        for (k, (o, c)) in out.iter_mut().zip(&self.fft_out).take(bins).enumerate() {
            // DC and Nyquist have no mirror image: half the scale of the other bins.
            let edge = k == 0 || k == SPECTRUM_SIZE / 2;
            let scale = if edge {
                0.5 * self.spectrum_scale
            } else {
                self.spectrum_scale
            };
            let magnitude = c.norm() * scale;
            *o = if magnitude > 0.0 {
                ((20.0 * magnitude.log10()) as f32).max(SPECTRUM_FLOOR_DB)
            } else {
                SPECTRUM_FLOOR_DB
            };
        }
        bins
    }

    /// Clears everything (a stop or an explicit reset): loudness integration, windows, peaks, correlation and
    /// spectrum history.
    pub fn reset(&mut self) {
        self.loudness.reset();
        self.true_peaks.iter_mut().for_each(TruePeakDetector::reset);
        self.true_peak_since_read = 0.0;
        self.true_peak_max = 0.0;
        self.correlation_steps.iter_mut().for_each(|s| *s = [0.0; 3]);
        self.next_step = 0;
        self.window_sums = [0.0; 3];
        self.partial = [0.0; 3];
        self.partial_frames = 0;
        self.spectrum_ring.fill(0.0);
        self.spectrum_next = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hann_window_has_coherent_gain_one_half() {
        let w = hann(SPECTRUM_SIZE);
        let mean: f64 = w.iter().map(|&x| f64::from(x)).sum::<f64>() / SPECTRUM_SIZE as f64;
        assert!((mean - 0.5).abs() < 1e-6, "{mean}");
    }

    #[test]
    fn correlation_of_equal_and_opposite_sides() {
        assert_eq!(correlation_of(2.0, 2.0, 2.0), 1.0);
        assert_eq!(correlation_of(-2.0, 2.0, 2.0), -1.0);
        assert_eq!(correlation_of(0.0, 0.0, 2.0), 0.0);
    }
}
