//! MFCC means as librosa 0.11 computes them: a Slaney mel filterbank (128 bands, Slaney area normalisation)
//! on the power spectrum, `power_to_db` (ref 1, amin 1e-10, top_db 80 below the maximum of the whole file),
//! an orthonormal DCT-II, the first 13 coefficients, averaged over frames.
//!
//! The DCT is linear, so the mean of the MFCCs is the DCT of the mean dB mel spectrum: the analyser only sums
//! each band's dB over frames. The top_db floor depends on the maximum of the whole file, so frames are
//! summed in one pass when it can be decided there (a value below the floor of the maximum so far is below
//! the final floor too), and otherwise again in a second pass with the final floor applied.

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
pub fn mel_filterbank(sample_rate_hz: f64, n_fft: usize) -> Vec<MelBand> {
    let bins = n_fft / 2 + 1;
    let fft_hz: Vec<f64> = (0..bins).map(|k| k as f64 * sample_rate_hz / n_fft as f64).collect();
    let (mel_lo, mel_hi) = (hz_to_mel(0.0), hz_to_mel(sample_rate_hz / 2.0));
    let edges: Vec<f64> = (0..MEL_BANDS + 2)
        .map(|i| mel_to_hz(mel_lo + (mel_hi - mel_lo) * i as f64 / (MEL_BANDS + 1) as f64))
        .collect();
    (0..MEL_BANDS)
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
        .collect()
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

/// Mel power of one frame into `out` (one value per band).
#[inline(always)]
pub fn mel_power(bands: &[MelBand], power: &[f64], out: &mut [f64; MEL_BANDS]) {
    for (o, band) in out.iter_mut().zip(bands) {
        *o = band
            .weights
            .iter()
            .zip(&power[band.first..band.first + band.weights.len()])
            .map(|(w, p)| w * p)
            .sum();
    }
}

/// power_to_db without the top_db floor.
#[inline]
pub fn power_db(power: f64) -> f64 {
    10.0 * power.max(AMIN).log10()
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
