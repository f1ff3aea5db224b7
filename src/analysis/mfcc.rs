//! MFCC means as librosa 0.11 computes them: a Slaney mel filterbank (128 bands, Slaney area normalisation)
//! on the power spectrum, `power_to_db` (ref 1, amin 1e-10, top_db 80 below the maximum of the whole file),
//! an orthonormal DCT-II, the first 13 coefficients, averaged over frames.
//!
//! The DCT is linear, so the mean of the MFCCs is the DCT of the mean dB mel spectrum: the analyser only sums
//! each band's dB over frames. The top_db floor depends on the maximum of the whole file: [`MelDbSums`] sums
//! in one pass whenever that is exact (almost always), and otherwise the analyser sums again in a second
//! pass with the final floor applied.

use super::error::{check_sample_rate, AnalysisError};

/// Mel bands (librosa default).
pub const MEL_BANDS: usize = 128;
/// Coefficients reported.
pub const MFCC_COUNT: usize = 13;
/// power_to_db: values below this power are raised to it.
pub const AMIN: f64 = 1e-10;
/// power_to_db: floor relative to the file's maximum, dB.
pub const TOP_DB: f64 = 80.0;

/// Hz to mel, Slaney's scale (linear below 1 kHz, logarithmic above), as librosa's `hz_to_mel(htk=False)`.
pub fn hz_to_mel(hz: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= min_log_hz {
        min_log_mel + (hz / min_log_hz).ln() / logstep
    } else {
        hz / f_sp
    }
}

/// Mel to Hz, the inverse of [`hz_to_mel`].
pub fn mel_to_hz(mel: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        min_log_hz * (logstep * (mel - min_log_mel)).exp()
    } else {
        f_sp * mel
    }
}

/// One mel band: its weights over the FFT bins `first .. first + weights.len()`.
#[derive(Debug, Clone)]
pub struct MelBand {
    pub first: usize,
    pub weights: Vec<f64>,
}

/// librosa.filters.mel(sr, n_fft, n_mels=128, fmin=0, fmax=sr/2, htk=False, norm='slaney'), stored sparsely.
/// librosa keeps the weights in float32; they are rounded the same way here.
/// The largest FFT size a filterbank is built for: 2^20 points, 20 s at 48 kHz, far beyond any analysis
/// frame (and a bound on what a caller's size can make it allocate).
pub const MAX_FFT_SIZE: usize = 1 << 20;

/// An error for a sample rate outside [`super::SAMPLE_RATE_RANGE_HZ`] or an FFT size outside 2 to
/// [`MAX_FFT_SIZE`].
pub fn mel_filterbank(sample_rate_hz: f64, n_fft: usize) -> Result<Vec<MelBand>, AnalysisError> {
    check_sample_rate(sample_rate_hz)?;
    if !(2..=MAX_FFT_SIZE).contains(&n_fft) {
        return Err(AnalysisError::FftSize {
            given: n_fft,
            max: MAX_FFT_SIZE,
        });
    }
    let bins = n_fft / 2 + 1;
    let fft_hz: Vec<f64> = (0..bins).map(|k| k as f64 * sample_rate_hz / n_fft as f64).collect();
    let (mel_lo, mel_hi) = (hz_to_mel(0.0), hz_to_mel(sample_rate_hz / 2.0));
    let edges: Vec<f64> = (0..MEL_BANDS + 2)
        .map(|i| mel_to_hz(mel_lo + (mel_hi - mel_lo) * i as f64 / (MEL_BANDS + 1) as f64))
        .collect();
    Ok((0..MEL_BANDS)
        .map(|m| {
            let (lo, centre, hi) = (edges[m], edges[m + 1], edges[m + 2]);
            let enorm = 2.0 / (hi - lo);
            let dense: Vec<f64> = fft_hz
                .iter()
                .map(|&f| {
                    let lower = (f - lo) / (centre - lo);
                    let upper = (hi - f) / (hi - centre);
                    f64::from((lower.min(upper).max(0.0) * enorm) as f32)
                })
                .collect();
            let first = dense.iter().position(|&w| w > 0.0).unwrap_or(0);
            let last = dense.iter().rposition(|&w| w > 0.0).map_or(first, |l| l + 1);
            MelBand {
                first,
                weights: dense[first..last].to_vec(),
            }
        })
        .collect())
}

/// The first [`MFCC_COUNT`] rows of the orthonormal DCT-II matrix of size [`MEL_BANDS`] (scipy `dct(type=2,
/// norm='ortho')`).
pub fn dct_matrix() -> Vec<[f64; MEL_BANDS]> {
    let n = MEL_BANDS as f64;
    (0..MFCC_COUNT)
        .map(|k| {
            let scale = if k == 0 { (1.0 / n).sqrt() } else { (2.0 / n).sqrt() };
            let mut row = [0.0; MEL_BANDS];
            for (i, r) in row.iter_mut().enumerate() {
                *r = scale * (std::f64::consts::PI * k as f64 * (2.0 * i as f64 + 1.0) / (2.0 * n)).cos();
            }
            row
        })
        .collect()
}

/// Mel power of one frame into `out` (one value per band); an error when `power` has fewer bins than the
/// bands reach (checked once per call).
pub fn mel_power(bands: &[MelBand], power: &[f64], out: &mut [f64; MEL_BANDS]) -> Result<(), AnalysisError> {
    let needed = bands.iter().map(|b| b.first + b.weights.len()).max().unwrap_or(0);
    if power.len() < needed {
        return Err(AnalysisError::SpectrumBins {
            given: power.len(),
            needed,
        });
    }
    mel_power_sized(bands, power, out);
    Ok(())
}

/// [`mel_power`] for a spectrum known to cover the bands (the frame analyser sizes both together). Each
/// band's sum runs in four interleaved partial sums, so the bands' long dot products are not one chain of
/// dependent additions.
#[inline(always)]
pub(crate) fn mel_power_sized(bands: &[MelBand], power: &[f64], out: &mut [f64; MEL_BANDS]) {
    for (o, band) in out.iter_mut().zip(bands) {
        let bins = &power[band.first..band.first + band.weights.len()];
        let mut lanes = [0.0; 4];
        let mut w4 = band.weights.chunks_exact(4);
        let mut p4 = bins.chunks_exact(4);
        for (w, p) in (&mut w4).zip(&mut p4) {
            for ((l, w), p) in lanes.iter_mut().zip(w).zip(p) {
                *l += w * p;
            }
        }
        let tail: f64 = w4.remainder().iter().zip(p4.remainder()).map(|(w, p)| w * p).sum();
        *o = ((lanes[0] + lanes[2]) + (lanes[1] + lanes[3])) + tail;
    }
}

/// power_to_db without the top_db floor.
#[inline]
pub fn power_db(power: f64) -> f64 {
    10.0 * power.max(AMIN).log10()
}

/// Candidate values kept per band by [`MelDbSums`]: the small values that the final top_db floor may still
/// raise. When more than this many in one band end up under the floor (a long crescendo), a second pass is
/// necessary. 1024 frames are 11 s at 48 kHz: a quiet intro that short, more than top_db below the loudest
/// part, is still summed in one pass. The candidates take 1 MB.
pub const CANDIDATES_PER_BAND: usize = 1024;

/// Per band, the sum over frames of the dB mel value floored at the whole file's maximum minus top_db,
/// streamed in one pass whenever that is exact, without a logarithm per value.
///
/// The floor is only known at the end, but it is never below the floor of the maximum so far, so each
/// value falls in one of four groups as it arrives:
/// - below the floor so far: certainly floored, only counted;
/// - exactly amin (silence): counted, each worth max(amin in dB, floor) at the end;
/// - below the band's watermark: kept as a candidate, so the final floor can be applied to each;
/// - the rest: multiplied into a running product (kept as mantissa and binary exponent, so it neither
///   overflows nor underflows), whose one logarithm at the end is the sum of their dB values, and whose
///   minimum says whether the final floor reached any of them.
///
/// The watermark starts infinite. When a band's candidates fill up, those now under the floor so far are
/// dropped (counted as floored), and if more than half remain, the larger half moves into the product and
/// the watermark falls to the smallest of them: the candidates stay the smallest values seen, at a
/// constant cost per value.
///
/// When the final floor reached the product after all, [`MelDbSums::finish`] says so and the caller sums
/// the floored values in a second pass over the file.
pub struct MelDbSums {
    /// Largest mel power so far (at least amin), over all bands.
    max_power: f64,
    /// max_power x 10^(-top_db/10): powers below it are certainly floored.
    floor_power: f64,
    floored: [u64; MEL_BANDS],
    at_amin: [u64; MEL_BANDS],
    /// Per band, up to CANDIDATES_PER_BAND powers (unordered), in `candidates[b * CANDIDATES_PER_BAND..]`.
    candidates: Vec<f64>,
    candidate_count: [usize; MEL_BANDS],
    /// Powers at or above it go into the product.
    watermark: [f64; MEL_BANDS],
    rest_mantissa: [f64; MEL_BANDS],
    rest_exponent: [i64; MEL_BANDS],
    rest_count: [u64; MEL_BANDS],
    rest_min: [f64; MEL_BANDS],
}

/// The result of [`MelDbSums::finish`] (made once per file, so its size does not matter).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DbSums {
    /// Per band, the sum over frames of the floored dB values.
    Exact([f64; MEL_BANDS]),
    /// The floor (dB) reached values that were not kept: sum `power_db(x).max(floor)` in a second pass.
    NeedSecondPass { floor_db: f64 },
}

impl Default for MelDbSums {
    fn default() -> Self {
        Self::new()
    }
}

impl MelDbSums {
    pub fn new() -> Self {
        Self {
            max_power: AMIN,
            floor_power: AMIN * top_db_ratio(),
            floored: [0; MEL_BANDS],
            at_amin: [0; MEL_BANDS],
            candidates: vec![0.0; MEL_BANDS * CANDIDATES_PER_BAND],
            candidate_count: [0; MEL_BANDS],
            watermark: [f64::INFINITY; MEL_BANDS],
            rest_mantissa: [1.0; MEL_BANDS],
            rest_exponent: [0; MEL_BANDS],
            rest_count: [0; MEL_BANDS],
            rest_min: [f64::INFINITY; MEL_BANDS],
        }
    }

    /// Adds one frame's mel powers.
    #[inline]
    pub fn push(&mut self, mel: &[f64; MEL_BANDS]) {
        let frame_max = mel.iter().fold(AMIN, |m, &p| m.max(p));
        if frame_max > self.max_power {
            self.max_power = frame_max;
            self.floor_power = frame_max * top_db_ratio();
        }
        for (b, &m) in mel.iter().enumerate() {
            let p = m.max(AMIN);
            if p < self.floor_power {
                self.floored[b] += 1;
            } else if p == AMIN {
                self.at_amin[b] += 1;
            } else if p >= self.watermark[b] {
                self.push_rest(b, p);
            } else {
                self.push_candidate(b, p);
            }
        }
    }

    fn push_candidate(&mut self, band: usize, p: f64) {
        if self.candidate_count[band] == CANDIDATES_PER_BAND {
            self.make_room(band);
        }
        let len = self.candidate_count[band];
        self.candidates[band * CANDIDATES_PER_BAND + len] = p;
        self.candidate_count[band] = len + 1;
    }

    /// Leaves at most half of a full band's candidates (see the type's documentation).
    #[cold]
    fn make_room(&mut self, band: usize) {
        let start = band * CANDIDATES_PER_BAND;
        let floor = self.floor_power;
        let full = &mut self.candidates[start..start + CANDIDATES_PER_BAND];
        let mut kept = 0;
        for i in 0..full.len() {
            if full[i] >= floor {
                full[kept] = full[i];
                kept += 1;
            }
        }
        self.floored[band] += (CANDIDATES_PER_BAND - kept) as u64;
        let half = CANDIDATES_PER_BAND / 2;
        if kept > half {
            let (_, &mut pivot, _) = full[..kept].select_nth_unstable_by(half, f64::total_cmp);
            self.watermark[band] = pivot;
            for i in half..kept {
                let moved = self.candidates[start + i];
                self.push_rest(band, moved);
            }
            kept = half;
        }
        self.candidate_count[band] = kept;
    }

    #[inline]
    fn push_rest(&mut self, band: usize, p: f64) {
        // p >= amin > 0 and below f64's largest square of a float sample: the product of a mantissa in
        // [1, 2) and p is a normal number.
        let (mantissa, exponent) = super::split_binary(self.rest_mantissa[band] * p);
        self.rest_mantissa[band] = mantissa;
        self.rest_exponent[band] += exponent;
        self.rest_count[band] += 1;
        self.rest_min[band] = self.rest_min[band].min(p);
    }

    /// The floor, dB: the largest dB value minus top_db.
    pub fn floor_db(&self) -> f64 {
        power_db(self.max_power) - TOP_DB
    }

    /// The per-band sums, or the floor for a second pass when one is needed.
    pub fn finish(&self) -> DbSums {
        let floor_db = self.floor_db();
        if (0..MEL_BANDS).any(|b| self.rest_count[b] > 0 && power_db(self.rest_min[b]) < floor_db) {
            return DbSums::NeedSecondPass { floor_db };
        }
        let mut sums = [0.0; MEL_BANDS];
        for (b, sum) in sums.iter_mut().enumerate() {
            let start = b * CANDIDATES_PER_BAND;
            let candidates: f64 = self.candidates[start..start + self.candidate_count[b]]
                .iter()
                .map(|&p| power_db(p).max(floor_db))
                .sum();
            let rest = if self.rest_count[b] > 0 {
                10.0 * (self.rest_mantissa[b].log10() + self.rest_exponent[b] as f64 * std::f64::consts::LOG10_2)
            } else {
                0.0
            };
            *sum = self.floored[b] as f64 * floor_db
                + self.at_amin[b] as f64 * power_db(AMIN).max(floor_db)
                + candidates
                + rest;
        }
        DbSums::Exact(sums)
    }
}

/// 10^(-top_db / 10): the floor as a power ratio.
#[inline]
fn top_db_ratio() -> f64 {
    10f64.powf(-TOP_DB / 10.0)
}

/// MFCC means from the per-band mean of the (floored) dB mel spectrum.
pub fn mfcc_from_mean_db(dct: &[[f64; MEL_BANDS]], mean_db: &[f64; MEL_BANDS]) -> [f64; MFCC_COUNT] {
    let mut out = [0.0; MFCC_COUNT];
    for (o, row) in out.iter_mut().zip(dct) {
        *o = row.iter().zip(mean_db).map(|(a, b)| a * b).sum();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_round_trips_and_is_linear_below_1k() {
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(500.0) - 7.5).abs() < 1e-12);
        for hz in [0.0, 100.0, 999.0, 1000.0, 4000.0, 22050.0, 96000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-6 * hz.max(1.0));
        }
    }

    /// librosa's definition, on the whole spectrogram at once: per band, the sum over frames of
    /// max(power_db, max over everything - top_db).
    fn direct_sums(frames: &[[f64; MEL_BANDS]]) -> [f64; MEL_BANDS] {
        let max_db = frames
            .iter()
            .flatten()
            .map(|&p| power_db(p))
            .fold(f64::NEG_INFINITY, f64::max);
        let mut sums = [0.0; MEL_BANDS];
        for frame in frames {
            for (s, &p) in sums.iter_mut().zip(frame) {
                *s += power_db(p).max(max_db - TOP_DB);
            }
        }
        sums
    }

    fn streamed(frames: &[[f64; MEL_BANDS]]) -> DbSums {
        let mut sums = MelDbSums::new();
        for f in frames {
            sums.push(f);
        }
        sums.finish()
    }

    /// Frames whose band b holds level_db(frame, b) dB plus a little jitter (PCG-free: an LCG is enough).
    fn frames(count: usize, level_db: impl Fn(usize, usize) -> f64) -> Vec<[f64; MEL_BANDS]> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..count)
            .map(|n| {
                let mut frame = [0.0; MEL_BANDS];
                for (b, p) in frame.iter_mut().enumerate() {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let jitter = (state >> 11) as f64 / (1u64 << 53) as f64 * 6.0 - 3.0;
                    let db = level_db(n, b);
                    *p = if db.is_finite() {
                        10f64.powf((db + jitter) / 10.0)
                    } else {
                        0.0
                    };
                }
                frame
            })
            .collect()
    }

    fn assert_exact(frames: &[[f64; MEL_BANDS]], what: &str) {
        let DbSums::Exact(sums) = streamed(frames) else {
            panic!("{what}: needed a second pass");
        };
        for (b, (s, d)) in sums.iter().zip(direct_sums(frames)).enumerate() {
            assert!((s - d).abs() <= 1e-9 * d.abs().max(1.0), "{what}, band {b}: {s} vs {d}");
        }
    }

    #[test]
    fn one_pass_sums_equal_the_whole_spectrogram_definition() {
        // Steady material well above the floor: everything goes to the running product.
        assert_exact(&frames(3000, |_, b| -20.0 - 0.3 * b as f64), "steady");
        // A spectrum spanning more than top_db: the high bands are floored from the start.
        assert_exact(&frames(2000, |_, b| 10.0 - 1.2 * b as f64), "steep");
        // Leading digital silence (amin exactly), then music: silence counts as the floor.
        assert_exact(
            &frames(3000, |n, b| {
                if n < 1000 {
                    f64::NEG_INFINITY
                } else {
                    -30.0 - 0.2 * b as f64
                }
            }),
            "leading silence",
        );
        // A short crescendo of 140 dB: fewer values rise out of the floor than are kept.
        assert_exact(&frames(200, |n, _| -140.0 + 0.7 * n as f64), "short crescendo");
        // A quiet intro (kept, then floored once the loud part starts), the loud part, then a long
        // moderate part whose values fill the candidates: dropping the floored intro values makes room.
        let k = CANDIDATES_PER_BAND;
        assert_exact(
            &frames(3 * k, |n, b| match n {
                n if n < k / 2 => -95.0 + 0.1 * b as f64,
                n if n < k => -5.0 - 0.1 * b as f64,
                _ => -60.0 - 0.1 * b as f64,
            }),
            "quiet intro, loud part, moderate part",
        );
    }

    #[test]
    fn a_long_crescendo_asks_for_the_second_pass() {
        // From just above amin (-100 dB) to 0 dB: the first sixth of the frames ends under the floor, more
        // than the kept candidates.
        let n = 8 * CANDIDATES_PER_BAND;
        let long = frames(n, |i, _| -96.0 + 96.0 * i as f64 / n as f64);
        let DbSums::NeedSecondPass { floor_db } = streamed(&long) else {
            panic!("a 96 dB crescendo over {n} frames cannot be summed in one pass");
        };
        let max_db = long
            .iter()
            .flatten()
            .map(|&p| power_db(p))
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(floor_db, max_db - TOP_DB);
    }

    #[test]
    fn dct_rows_are_orthonormal() {
        let d = dct_matrix();
        for i in 0..MFCC_COUNT {
            for j in 0..MFCC_COUNT {
                let dot: f64 = d[i].iter().zip(&d[j]).map(|(a, b)| a * b).sum();
                assert!((dot - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }
}
