//! Frame-based spectral features of a mono signal with librosa 0.11's definitions and defaults: centred
//! frames of 2048 samples every 512 (zero padding for the spectrum, edge padding for the zero-crossing rate),
//! a periodic Hann window, the magnitude spectrum from realfft. Per frame: spectral centroid, 85 % rolloff,
//! flatness (power spectrum, amin 1e-10), zero-crossing rate, band energies and the dB mel spectrum for the
//! MFCCs. Everything is accumulated as it streams; nothing is allocated per frame.

use super::error::{check_sample_rate, AnalysisError};
use super::mfcc::{self, DbSums, MelBand, MelDbSums, MEL_BANDS, MFCC_COUNT};
use realfft::num_complex::Complex;
use realfft::RealToComplex;
use std::sync::Arc;

/// FFT size (librosa's n_fft default).
pub const N_FFT: usize = 2048;
/// Hop (librosa's default n_fft / 4).
pub const HOP: usize = 512;
const BINS: usize = N_FFT / 2 + 1;
/// Rolloff: fraction of the total magnitude (librosa roll_percent).
pub const ROLL_PERCENT: f64 = 0.85;
/// Flatness: power floor (librosa amin).
pub const FLATNESS_AMIN: f64 = 1e-10;
/// Zero-crossing rate: |y| at or below this counts as 0, and 0 counts as positive (librosa).
pub const ZCR_THRESHOLD: f64 = 1e-10;
/// Band edges for the energy ratios: low < 250 Hz <= mid < 4 kHz <= high.
pub const BAND_EDGES_HZ: (f64, f64) = (250.0, 4000.0);

/// Samples held for framing: room for 32 hops beyond a frame before the unfinished frame moves back.
const SAMPLE_BUFFER: usize = N_FFT + 32 * HOP;
/// Bins per block when searching for the rolloff bin.
const ROLLOFF_BLOCK: usize = 32;

/// A sum in eight interleaved partial sums (as numpy's pairwise sum also does; no single long chain of
/// dependent additions, so it vectorises).
#[inline(always)]
fn lane_sum(xs: &[f64]) -> f64 {
    let mut lanes = [0.0; 8];
    let mut chunks = xs.chunks_exact(8);
    for c in &mut chunks {
        for (l, x) in lanes.iter_mut().zip(c) {
            *l += x;
        }
    }
    let tail: f64 = chunks.remainder().iter().sum();
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7])) + tail
}

/// A dot product in eight interleaved partial sums.
#[inline(always)]
fn lane_dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for ((l, p), q) in lanes.iter_mut().zip(x).zip(y) {
            *l += p * q;
        }
    }
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(p, q)| p * q).sum();
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7])) + tail
}

/// The sum of ln(x) over `xs` (each at least FLATNESS_AMIN) from a few logarithms instead of one per
/// value: eight running products (four values per lane at a time, each in [1e-10, ~1e7] for audio, so a
/// lane's product stays far inside f64's range), each split into mantissa and binary exponent after every
/// step. None when a product left the normal range (inputs far beyond full scale).
#[inline(always)]
fn log_sum_of_products(xs: &[f64]) -> Option<f64> {
    const LANES: usize = 8;
    const STEP: usize = 4 * LANES;
    let mut mantissa = [1.0f64; LANES];
    let mut exponent = [0i64; LANES];
    let mut normal = true;
    let renormalise = |m: &mut f64, e: &mut i64, normal: &mut bool| {
        *normal &= m.is_normal();
        let (mantissa, exponent) = super::split_binary(*m);
        *m = mantissa;
        *e += exponent;
    };
    let mut steps = xs.chunks_exact(STEP);
    for step in &mut steps {
        for group in step.chunks_exact(LANES) {
            for (m, x) in mantissa.iter_mut().zip(group) {
                *m *= x;
            }
        }
        for (m, e) in mantissa.iter_mut().zip(&mut exponent) {
            renormalise(m, e, &mut normal);
        }
    }
    for (i, x) in steps.remainder().iter().enumerate() {
        let (m, e) = (&mut mantissa[i % LANES], &mut exponent[i % LANES]);
        *m *= x;
        renormalise(m, e, &mut normal);
    }
    if !normal {
        return None;
    }
    let exponents: i64 = exponent.iter().sum();
    let logs: f64 = mantissa.iter().map(|m| m.ln()).sum();
    Some(logs + exponents as f64 * std::f64::consts::LN_2)
}

/// Means over frames of the frame features.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameFeatures {
    pub frames: u64,
    pub centroid_mean_hz: f64,
    /// Population standard deviation (numpy's default) over frames.
    pub centroid_std_hz: f64,
    pub rolloff_hz: f64,
    pub flatness: f64,
    pub zero_crossing_rate: f64,
    pub mfcc: [f64; MFCC_COUNT],
    /// Fractions of the spectral energy (power summed over all frames) below 250 Hz, from 250 Hz to 4 kHz,
    /// and from 4 kHz; all 0 for silence.
    pub band_energy: [f64; 3],
}

/// Which pass the analyser is in (see [`MelDbSums`]; the second is needed only when more values than it
/// keeps end up under the final top_db floor, e.g. a long crescendo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Every feature, and the mel dB sums as far as one pass can tell them.
    First,
    /// Only the mel dB sums, floored at the first pass's maximum minus top_db.
    Second,
}

/// Streaming frame analyser. Push mono samples; call [`FrameAnalyzer::end_first_pass`] at the end, then
/// [`FrameAnalyzer::features`].
pub struct FrameAnalyzer {
    sample_rate_hz: f64,
    fft: Arc<dyn RealToComplex<f64>>,
    window: Vec<f64>,
    /// Recent samples, starting with N_FFT/2 zeros of centre padding; the frame being filled is
    /// `samples_buf[start..start + fill]`. Frames advance through the buffer and the unfinished frame is
    /// moved back to the front only when the buffer ends (not on every hop).
    samples_buf: Vec<f64>,
    /// crossing[i] is 1 when samples_buf[i] and samples_buf[i-1] are both real samples on opposite sides
    /// of 0.
    crossing: Vec<u8>,
    start: usize,
    fill: usize,
    fft_in: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    magnitude: Vec<f64>,
    power: Vec<f64>,
    /// The power floored at FLATNESS_AMIN.
    floored: Vec<f64>,
    /// 0, 1, 2, ... (bin numbers as f64, for the centroid).
    bin_index: Vec<f64>,
    mel_bands: Vec<MelBand>,
    mel: [f64; MEL_BANDS],
    dct: Vec<[f64; MEL_BANDS]>,
    /// First bin of the mid band and of the high band (bin frequencies k x rate / N_FFT).
    band_ends: [usize; 2],
    samples: u64,
    frames: u64,
    pass: Pass,
    // Accumulators.
    centroid_sum: f64,
    centroid_sq_sum: f64,
    rolloff_sum: f64,
    flatness_sum: f64,
    zcr_sum: f64,
    band_sum: [f64; 3],
    /// The first pass's floored dB sums (see [`MelDbSums`]).
    db_sums: MelDbSums,
    /// Per band, the sum of the floored dB values (from `db_sums`, or from the second pass).
    floored_db_sum: [f64; MEL_BANDS],
    floor_db: f64,
    /// Frames of the first pass (the second pass must see the same).
    first_pass_frames: u64,
}

impl FrameAnalyzer {
    /// An analyser at a sample rate in [`super::SAMPLE_RATE_RANGE_HZ`].
    pub fn new(sample_rate_hz: f64) -> Result<Self, AnalysisError> {
        check_sample_rate(sample_rate_hz)?;
        const { assert!(N_FFT.is_power_of_two()) };
        let fft = crate::dsp::real_fft::forward_power_of_two(N_FFT.trailing_zeros());
        let scratch = fft.make_scratch_vec();
        // scipy.signal.get_window('hann', N, fftbins=True): periodic.
        let window = (0..N_FFT)
            .map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos())
            .collect();
        let first_bin_from = |hz: f64| {
            (0..BINS)
                .find(|&k| k as f64 * sample_rate_hz / N_FFT as f64 >= hz)
                .unwrap_or(BINS)
        };
        let band_ends = [first_bin_from(BAND_EDGES_HZ.0), first_bin_from(BAND_EDGES_HZ.1)];
        let mut analyzer = Self {
            sample_rate_hz,
            fft,
            window,
            samples_buf: vec![0.0; SAMPLE_BUFFER],
            crossing: vec![0; SAMPLE_BUFFER],
            start: 0,
            fill: 0,
            fft_in: vec![0.0; N_FFT],
            spectrum: vec![Complex::new(0.0, 0.0); BINS],
            scratch,
            magnitude: vec![0.0; BINS],
            power: vec![0.0; BINS],
            floored: vec![0.0; BINS],
            bin_index: (0..BINS).map(|k| k as f64).collect(),
            mel_bands: mfcc::mel_filterbank(sample_rate_hz, N_FFT)?,
            mel: [0.0; MEL_BANDS],
            dct: mfcc::dct_matrix(),
            band_ends,
            samples: 0,
            frames: 0,
            pass: Pass::First,
            centroid_sum: 0.0,
            centroid_sq_sum: 0.0,
            rolloff_sum: 0.0,
            flatness_sum: 0.0,
            zcr_sum: 0.0,
            band_sum: [0.0; 3],
            db_sums: MelDbSums::new(),
            floored_db_sum: [0.0; MEL_BANDS],
            floor_db: f64::NEG_INFINITY,
            first_pass_frames: 0,
        };
        analyzer.restart();
        Ok(analyzer)
    }

    /// Back to the start of the signal (centre padding in place), keeping the accumulators.
    fn restart(&mut self) {
        self.samples_buf.fill(0.0);
        self.crossing.fill(0);
        self.start = 0;
        self.fill = N_FFT / 2;
        self.samples = 0;
        self.frames = 0;
    }

    /// Feeds mono samples of the current pass.
    pub fn push(&mut self, mut samples: &[f64]) {
        while !samples.is_empty() {
            let take = (N_FFT - self.fill).min(samples.len());
            let (now, rest) = samples.split_at(take);
            let at = self.start + self.fill;
            self.samples_buf[at..at + take].copy_from_slice(now);
            // Crossings against the previous sample (in the buffer: at >= N_FFT/2 > 0), branch-free so
            // the loop vectorises; the first sample of the signal has no real predecessor.
            let negative = |x: f64| x < -ZCR_THRESHOLD;
            for ((flag, &x), &previous) in self.crossing[at..at + take]
                .iter_mut()
                .zip(&self.samples_buf[at..at + take])
                .zip(&self.samples_buf[at - 1..at + take - 1])
            {
                *flag = u8::from(negative(x) != negative(previous));
            }
            if self.samples == 0 {
                self.crossing[at] = 0;
            }
            self.samples += take as u64;
            self.fill += take;
            if self.fill == N_FFT {
                self.frame_done();
            }
            samples = rest;
        }
    }

    #[inline]
    fn push_value(&mut self, x: f64, crossed: bool) {
        self.samples_buf[self.start + self.fill] = x;
        self.crossing[self.start + self.fill] = u8::from(crossed);
        self.fill += 1;
        if self.fill == N_FFT {
            self.frame_done();
        }
    }

    fn frame_done(&mut self) {
        self.process_frame();
        self.start += HOP;
        self.fill = N_FFT - HOP;
        if self.start + N_FFT > SAMPLE_BUFFER {
            let kept = self.start..self.start + self.fill;
            self.samples_buf.copy_within(kept.clone(), 0);
            self.crossing.copy_within(kept, 0);
            self.start = 0;
        }
    }

    /// Pads the end with zeros until librosa's frame count, 1 + samples / hop, is reached.
    fn pad_end(&mut self) {
        let wanted = 1 + self.samples / HOP as u64;
        while self.frames < wanted {
            self.push_value(0.0, false);
        }
    }

    fn process_frame(&mut self) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { self.process_frame_avx2() };
            }
        }
        self.process_frame_portable()
    }

    /// The same code compiled for AVX2 (4 lanes of f64); same arithmetic (no FMA), so the same results.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn process_frame_avx2(&mut self) {
        self.process_frame_portable()
    }

    #[inline(always)]
    fn process_frame_portable(&mut self) {
        let frame = &self.samples_buf[self.start..self.start + N_FFT];
        for ((o, x), w) in self.fft_in.iter_mut().zip(frame).zip(&self.window) {
            *o = x * w;
        }
        self.fft
            .process_with_scratch(&mut self.fft_in, &mut self.spectrum, &mut self.scratch)
            .expect("buffers sized by the plan");
        for (p, c) in self.power.iter_mut().zip(&self.spectrum) {
            *p = c.norm_sqr();
        }
        if self.pass == Pass::First {
            for (m, p) in self.magnitude.iter_mut().zip(&self.power) {
                *m = p.sqrt();
            }
        }
        self.frames += 1;
        // The bands and the spectrum are sized together in `new`: no check per frame.
        mfcc::mel_power_sized(&self.mel_bands, &self.power, &mut self.mel);
        match self.pass {
            Pass::First => {
                self.db_sums.push(&self.mel);
                self.spectral_features();
            }
            Pass::Second => {
                for (sum, &m) in self.floored_db_sum.iter_mut().zip(&self.mel) {
                    *sum += mfcc::power_db(m).max(self.floor_db);
                }
            }
        }
    }

    #[inline(always)]
    fn spectral_features(&mut self) {
        let bin_hz = self.sample_rate_hz / N_FFT as f64;
        let total = lane_sum(&self.magnitude);
        // librosa normalises by the sum unless it is below the smallest positive float: then 0.
        let (centroid, rolloff) = if total >= f64::MIN_POSITIVE {
            let weighted = lane_dot(&self.magnitude, &self.bin_index);
            // The first bin where the cumulative sum reaches 85 %: whole blocks while they stay below, then
            // bin by bin inside the block that crosses.
            let threshold = ROLL_PERCENT * total;
            let mut cumulative = 0.0;
            let mut rolloff_bin = BINS - 1;
            let mut base = 0;
            for block in self.magnitude.chunks(ROLLOFF_BLOCK) {
                let block_sum = lane_sum(block);
                if cumulative + block_sum < threshold {
                    cumulative += block_sum;
                    base += block.len();
                    continue;
                }
                if let Some(k) = block.iter().position(|m| {
                    cumulative += m;
                    cumulative >= threshold
                }) {
                    rolloff_bin = base + k;
                    break;
                }
                // (Rounding put the crossing just past this block after all.)
                base += block.len();
            }
            (weighted / total * bin_hz, rolloff_bin as f64 * bin_hz)
        } else {
            (0.0, 0.0)
        };
        self.centroid_sum += centroid;
        self.centroid_sq_sum += centroid * centroid;
        self.rolloff_sum += rolloff;
        let [low_end, mid_end] = self.band_ends;
        self.band_sum[0] += lane_sum(&self.power[..low_end]);
        self.band_sum[1] += lane_sum(&self.power[low_end..mid_end]);
        self.band_sum[2] += lane_sum(&self.power[mid_end..]);
        for (f, &p) in self.floored.iter_mut().zip(&self.power) {
            *f = p.max(FLATNESS_AMIN);
        }
        let lin_sum = lane_sum(&self.floored);
        let log_sum = log_sum_of_products(&self.floored).unwrap_or_else(|| {
            // Inputs far beyond full scale: one log each.
            self.floored.iter().map(|p| p.ln()).sum()
        });
        let n = BINS as f64;
        self.flatness_sum += (log_sum / n).exp() / (lin_sum / n);
        // Crossings between pairs inside the frame (the first sample's pair reaches outside it).
        let crossings: u32 = self.crossing[self.start + 1..self.start + N_FFT]
            .iter()
            .map(|&c| u32::from(c))
            .sum();
        self.zcr_sum += f64::from(crossings) / N_FFT as f64;
    }

    /// Ends the first pass. Returns true when the top_db floor (the whole file's maximum minus 80 dB)
    /// reached values that the first pass did not keep (see [`MelDbSums`]), so the mel dB sums must be
    /// recomputed: then feed the same samples again with [`FrameAnalyzer::push`] and call
    /// [`FrameAnalyzer::end_second_pass`]. Exact either way.
    pub fn end_first_pass(&mut self) -> bool {
        self.pad_end();
        self.first_pass_frames = self.frames;
        match self.db_sums.finish() {
            DbSums::Exact(sums) => {
                self.floored_db_sum = sums;
                false
            }
            DbSums::NeedSecondPass { floor_db } => {
                self.floor_db = floor_db;
                self.pass = Pass::Second;
                self.restart();
                true
            }
        }
    }

    /// Ends the second pass (after [`FrameAnalyzer::end_first_pass`] returned true); an error when the
    /// second pass did not see as many frames as the first.
    pub fn end_second_pass(&mut self) -> Result<(), AnalysisError> {
        self.pad_end();
        if self.frames == self.first_pass_frames {
            Ok(())
        } else {
            Err(AnalysisError::SecondPassFrames {
                first: self.first_pass_frames,
                second: self.frames,
            })
        }
    }

    /// The features (after the first pass, and the second when one was asked for).
    pub fn features(&self) -> FrameFeatures {
        let n = self.first_pass_frames.max(1) as f64;
        let centroid_mean = self.centroid_sum / n;
        let variance = (self.centroid_sq_sum / n - centroid_mean * centroid_mean).max(0.0);
        let mut mean_db = [0.0; MEL_BANDS];
        for (m, s) in mean_db.iter_mut().zip(&self.floored_db_sum) {
            *m = s / n;
        }
        let total: f64 = self.band_sum.iter().sum();
        let band_energy = if total > 0.0 {
            self.band_sum.map(|b| b / total)
        } else {
            [0.0; 3]
        };
        FrameFeatures {
            frames: self.first_pass_frames,
            centroid_mean_hz: centroid_mean,
            centroid_std_hz: variance.sqrt(),
            rolloff_hz: self.rolloff_sum / n,
            flatness: self.flatness_sum / n,
            zero_crossing_rate: self.zcr_sum / n,
            mfcc: mfcc::mfcc_from_mean_db(&self.dct, &mean_db),
            band_energy,
        }
    }
}
