//! Tempo by onset-strength autocorrelation (after Scheirer 1998, Ellis 2007 and Percival & Tzanetakis 2014):
//! an onset envelope every ~12 ms (the square root of the half-wave rectified rise of each bin's power, summed
//! over bins, then smoothed over 5 frames; power rather than log magnitude, so accents weigh more than
//! quiet broadband ticks),
//! its autocorrelation accumulated as it streams (a ring of the last few seconds, so memory does not grow
//! with the input), then a comb over the first four multiples of each candidate beat period picks the
//! period, and a finer comb over every multiple that fits refines it to a fraction of an envelope frame.
//!
//! Octave choice: of the candidate periods whose comb score is at least [`OCTAVE_SCORE_RATIO`] of the best,
//! the shortest wins, so a pulse train at 120 BPM reads 120 rather than 60, and a backbeat whose half-beat
//! onsets are weak reads the beat, not the eighth notes.

use super::error::{check_sample_rate, AnalysisError};
use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Tempo range searched, BPM.
pub const MIN_BPM: f64 = 50.0;
pub const MAX_BPM: f64 = 220.0;
/// Multiples of the period in the coarse comb.
const COMB_MULTIPLES: usize = 4;
/// A period scoring at least this fraction of the best is a candidate; the shortest candidate wins.
pub const OCTAVE_SCORE_RATIO: f64 = 0.8;
/// The best comb score must reach this fraction of the envelope's variance to report a tempo.
const MIN_PERIODICITY: f64 = 0.05;
/// The onset envelope's variance must reach this fraction of the mean frame power to report a tempo.
const MIN_ONSET_RATIO: f64 = 0.01;
/// Envelope smoothing kernel (a short triangle), so autocorrelation peaks span a few lags and can be
/// interpolated between them.
const SMOOTHING: [f64; 5] = [1.0 / 9.0, 2.0 / 9.0, 3.0 / 9.0, 2.0 / 9.0, 1.0 / 9.0];
/// Step of the coarse period search, in envelope frames.
const COARSE_STEP: f64 = 0.1;
/// Target envelope frame period, seconds (the FFT is the power of two nearest 2x this; frames overlap by
/// half).
const TARGET_HOP_SECONDS: f64 = 0.0116;

/// The FFT runs in f64 like the frame features' (`features.rs`): one float type for all analysis, so the wasm
/// build holds one copy of rustfft (two float types doubled its share of the module).
pub struct TempoEstimator {
    fft: Arc<dyn RealToComplex<f64>>,
    n_fft: usize,
    hop: usize,
    frame_rate_hz: f64,
    window: Vec<f64>,
    frame: Vec<f64>,
    fill: usize,
    fft_in: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    /// Sum over frames of the frame's total power (for the onset-to-level ratio).
    power_sum: f64,
    frames: u64,
    /// Bin powers of the previous frame.
    previous: Vec<f64>,
    has_previous: bool,
    /// The last raw envelope values, newest last, for the smoothing kernel.
    raw: [f64; SMOOTHING.len()],
    raw_count: usize,
    /// The last `max_lag + 1` envelope values, a ring indexed by `count % (max_lag + 1)`, stored twice.
    history: Vec<f64>,
    /// acf[l] = sum of e[t] e[t - l] over t >= l.
    acf: Vec<f64>,
    count: u64,
    sum: f64,
    sum_sq: f64,
    min_lag: usize,
    max_period_lag: usize,
}

impl TempoEstimator {
    /// An estimator at a sample rate in [`super::SAMPLE_RATE_RANGE_HZ`] (its FFT size follows the rate).
    pub fn new(sample_rate_hz: f64) -> Result<Self, AnalysisError> {
        check_sample_rate(sample_rate_hz)?;
        let n_fft = (2.0 * TARGET_HOP_SECONDS * sample_rate_hz)
            .log2()
            .round()
            .exp2()
            .max(64.0) as usize;
        let hop = n_fft / 2;
        let frame_rate_hz = sample_rate_hz / hop as f64;
        let min_lag = (60.0 / MAX_BPM * frame_rate_hz).floor().max(1.0) as usize;
        let max_period_lag = (60.0 / MIN_BPM * frame_rate_hz).ceil() as usize;
        // Enough lags for the refining comb to see several multiples of the slowest period.
        let max_lag = max_period_lag * 2 * COMB_MULTIPLES;
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n_fft);
        let scratch = fft.make_scratch_vec();
        let window = (0..n_fft)
            .map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / n_fft as f64).cos())
            .collect();
        Ok(Self {
            fft,
            n_fft,
            hop,
            frame_rate_hz,
            window,
            frame: vec![0.0; n_fft],
            fill: 0,
            fft_in: vec![0.0; n_fft],
            spectrum: vec![Complex::new(0.0, 0.0); n_fft / 2 + 1],
            scratch,
            previous: vec![0.0; n_fft / 2 + 1],
            has_previous: false,
            power_sum: 0.0,
            frames: 0,
            raw: [0.0; SMOOTHING.len()],
            raw_count: 0,
            history: vec![0.0; 2 * (max_lag + 1)],
            acf: vec![0.0; max_lag + 1],
            count: 0,
            sum: 0.0,
            sum_sq: 0.0,
            min_lag,
            max_period_lag,
        })
    }

    /// Feeds mono samples.
    pub fn push(&mut self, samples: &[f64]) {
        for &x in samples {
            self.frame[self.fill] = x;
            self.fill += 1;
            if self.fill == self.n_fft {
                self.process_frame();
                self.frame.copy_within(self.hop.., 0);
                self.fill = self.n_fft - self.hop;
            }
        }
    }

    fn process_frame(&mut self) {
        for ((o, x), w) in self.fft_in.iter_mut().zip(&self.frame).zip(&self.window) {
            *o = x * w;
        }
        self.fft
            .process_with_scratch(&mut self.fft_in, &mut self.spectrum, &mut self.scratch)
            .expect("buffers sized by the plan");
        let scale = 4.0 / (self.n_fft as f64 * self.n_fft as f64);
        let (mut flux, mut total) = (0.0f64, 0.0f64);
        for (prev, c) in self.previous.iter_mut().zip(&self.spectrum) {
            let power = scale * c.norm_sqr();
            flux += (power - *prev).max(0.0);
            total += power;
            *prev = power;
        }
        self.power_sum += total;
        self.frames += 1;
        if std::mem::replace(&mut self.has_previous, true) {
            self.raw.copy_within(1.., 0);
            self.raw[SMOOTHING.len() - 1] = flux.sqrt();
            self.raw_count += 1;
            if self.raw_count >= SMOOTHING.len() {
                let smoothed = self.raw.iter().zip(&SMOOTHING).map(|(a, b)| a * b).sum();
                self.push_envelope(smoothed);
            }
        }
    }

    fn push_envelope(&mut self, e: f64) {
        // The history is stored twice (at `slot` and `slot + len`), so the values at lags 0..=available
        // are one contiguous run ending at `slot + len`.
        let len = self.acf.len();
        let slot = (self.count % len as u64) as usize;
        self.history[slot] = e;
        self.history[slot + len] = e;
        let available = (self.count as usize).min(len - 1);
        let past = &self.history[slot + len - available..=slot + len];
        for (a, h) in self.acf[..=available].iter_mut().zip(past.iter().rev()) {
            *a += e * h;
        }
        self.count += 1;
        self.sum += e;
        self.sum_sq += e * e;
    }

    /// Autocovariance at a (fractional) lag, linearly interpolated; None beyond the lags kept.
    fn covariance(&self, lag: f64) -> Option<f64> {
        let n = self.count as f64;
        let mean = self.sum / n;
        let at = |l: usize| self.acf[l] / (n - l as f64) - mean * mean;
        let (lo, frac) = (lag.floor() as usize, lag - lag.floor());
        if lo + 1 >= self.acf.len() || (lo + 1) as f64 >= n {
            return None;
        }
        Some(at(lo) * (1.0 - frac) + at(lo + 1) * frac)
    }

    /// Mean covariance over the first `multiples` multiples of `period` (fewer when they do not fit).
    fn comb(&self, period: f64, multiples: usize) -> f64 {
        let (mut sum, mut used) = (0.0, 0);
        for k in 1..=multiples {
            match self.covariance(k as f64 * period) {
                Some(c) => {
                    sum += c;
                    used += 1;
                }
                None => break,
            }
        }
        if used == 0 {
            f64::NEG_INFINITY
        } else {
            sum / f64::from(used)
        }
    }

    /// The tempo in BPM, or None when the input has no clear beat (too short, silence, steady tones, noise).
    pub fn tempo_bpm(&self) -> Option<f64> {
        let n = self.count as f64;
        // At least two of the slowest beats, and some onsets.
        if self.count < 2 || (n as usize) < 2 * self.max_period_lag + 2 {
            return None;
        }
        let mean = self.sum / n;
        let variance = self.sum_sq / n - mean * mean;
        if variance <= 0.0 {
            return None;
        }
        // Onsets at all: a steady tone or noise varies its envelope by far less than 1 % of its power (about
        // 1e-4 measured for a chord and for white noise; 0.1 to 0.25 for drum loops and click tracks).
        if variance < MIN_ONSET_RATIO * (self.power_sum / self.frames as f64) {
            return None;
        }
        let steps = ((self.max_period_lag - self.min_lag) as f64 / COARSE_STEP) as usize;
        let period_at = |i: usize| self.min_lag as f64 + i as f64 * COARSE_STEP;
        let scores: Vec<f64> = (0..=steps).map(|i| self.comb(period_at(i), COMB_MULTIPLES)).collect();
        let best = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if best.is_nan() || best <= MIN_PERIODICITY * variance {
            return None;
        }
        // The shortest local maximum scoring near the best.
        let chosen = (0..scores.len()).find(|&i| {
            let s = scores[i];
            s >= OCTAVE_SCORE_RATIO * best
                && (i == 0 || scores[i - 1] <= s)
                && (i + 1 == scores.len() || scores[i + 1] <= s)
        })?;
        let coarse = period_at(chosen);
        // Refine: every multiple that fits, on a grid of 1/100 frame around the coarse period.
        let multiples = ((self.acf.len() - 2) as f64 / (coarse + 1.0)).floor().max(1.0) as usize;
        let mut refined = coarse;
        let mut refined_score = f64::NEG_INFINITY;
        for step in -20..=20 {
            let period = coarse + step as f64 / 100.0;
            let score = self.comb(period, multiples);
            if score > refined_score {
                refined_score = score;
                refined = period;
            }
        }
        Some(60.0 * self.frame_rate_hz / refined)
    }
}
