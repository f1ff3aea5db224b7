//! True peak per ITU-R BS.1770-4 Annex 2: 4x oversampling with the Annex's 48-tap interpolation filter.

/// Taps per polyphase branch of the Annex 2 filter.
pub const TAPS_PER_PHASE: usize = 12;
/// Oversampling factor (Annex 2).
pub const PHASES: usize = 4;

/// The Annex 2 interpolation filter (order 48) split into its four phases: phase `p` tap `j` is coefficient
/// `4 j + p` of the 48-tap prototype. Output sample `4 n + p` is `sum_j PHASE_COEFFICIENTS[p][j] * x[n - j]`.
/// Values as printed in ITU-R BS.1770-4, Annex 2, Table 1.
pub const PHASE_COEFFICIENTS: [[f64; TAPS_PER_PHASE]; PHASES] = [
    [
        0.0017089843750,
        0.0109863281250,
        -0.0196533203125,
        0.0332031250000,
        -0.0594482421875,
        0.1373291015625,
        0.9721679687500,
        -0.1022949218750,
        0.0476074218750,
        -0.0266113281250,
        0.0148925781250,
        -0.0083007812500,
    ],
    [
        -0.0291748046875,
        0.0292968750000,
        -0.0517578125000,
        0.0891113281250,
        -0.1665039062500,
        0.4650878906250,
        0.7797851562500,
        -0.2003173828125,
        0.1015625000000,
        -0.0582275390625,
        0.0330810546875,
        -0.0189208984375,
    ],
    [
        -0.0189208984375,
        0.0330810546875,
        -0.0582275390625,
        0.1015625000000,
        -0.2003173828125,
        0.7797851562500,
        0.4650878906250,
        -0.1665039062500,
        0.0891113281250,
        -0.0517578125000,
        0.0292968750000,
        -0.0291748046875,
    ],
    [
        -0.0083007812500,
        0.0148925781250,
        -0.0266113281250,
        0.0476074218750,
        -0.1022949218750,
        0.9721679687500,
        0.1373291015625,
        -0.0594482421875,
        0.0332031250000,
        -0.0196533203125,
        0.0109863281250,
        0.0017089843750,
    ],
];

/// Samples processed per inner pass (the working buffer's size, beyond the 11 samples of history).
const CHUNK: usize = 256;
/// Lanes of the running maximum (lets the compiler vectorise the max over each pass's outputs).
const LANES: usize = 8;

/// One channel's true-peak detector: the last 11 input samples and the largest |oversampled| value so far.
/// Computed in f32 (the inputs are f32; 12-tap sums of exactly representable coefficients stay within about
/// 1e-6 dB of an f64 computation). No allocation: the buffers are fixed arrays.
#[derive(Debug, Clone)]
pub struct TruePeakDetector {
    /// `buf[..11]` is the history (oldest first); new samples are copied in after it.
    buf: [f32; TAPS_PER_PHASE - 1 + CHUNK],
    acc: [f32; CHUNK],
    peak: f32,
}

impl Default for TruePeakDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl TruePeakDetector {
    pub fn new() -> Self {
        Self {
            buf: [0.0; TAPS_PER_PHASE - 1 + CHUNK],
            acc: [0.0; CHUNK],
            peak: 0.0,
        }
    }

    /// Feeds samples; returns the largest |value| of the oversampled outputs they produce.
    pub fn push(&mut self, samples: &[f32]) -> f64 {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { self.push_avx2(samples) };
            }
        }
        self.push_portable(samples)
    }

    /// The same loops compiled for AVX2 (8 lanes of f32 instead of SSE2's 4); same arithmetic, no FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn push_avx2(&mut self, samples: &[f32]) -> f64 {
        self.push_portable(samples)
    }

    #[inline(always)]
    fn push_portable(&mut self, samples: &[f32]) -> f64 {
        const H: usize = TAPS_PER_PHASE - 1;
        let mut block_peak = [0.0f32; LANES];
        for chunk in samples.chunks(CHUNK) {
            let n = chunk.len();
            self.buf[H..H + n].copy_from_slice(chunk);
            for phase in &PHASE_COEFFICIENTS {
                let acc = &mut self.acc[..n];
                acc.fill(0.0);
                // Output i (input H + i) is sum_j c[j] x[H + i - j].
                for (j, &c) in phase.iter().enumerate() {
                    let c = c as f32;
                    for (a, &x) in acc.iter_mut().zip(&self.buf[H - j..H - j + n]) {
                        *a += c * x;
                    }
                }
                let mut lanes = acc.chunks_exact(LANES);
                for group in &mut lanes {
                    for (m, y) in block_peak.iter_mut().zip(group) {
                        *m = m.max(y.abs());
                    }
                }
                for (m, y) in block_peak.iter_mut().zip(lanes.remainder()) {
                    *m = m.max(y.abs());
                }
            }
            self.buf.copy_within(n..n + H, 0);
        }
        let block_peak = block_peak.iter().copied().fold(0.0f32, f32::max);
        self.peak = self.peak.max(block_peak);
        f64::from(block_peak)
    }

    /// Feeds `TAPS_PER_PHASE - 1` zeros, so the last input samples have passed every tap (end of a file).
    pub fn flush(&mut self) {
        self.push(&[0.0; TAPS_PER_PHASE - 1]);
    }

    /// The largest |oversampled| value so far (linear).
    pub fn peak(&self) -> f64 {
        f64::from(self.peak)
    }

    pub fn reset(&mut self) {
        *self = Self::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_the_symmetric_prototype() {
        for j in 0..TAPS_PER_PHASE {
            assert_eq!(PHASE_COEFFICIENTS[0][j], PHASE_COEFFICIENTS[3][TAPS_PER_PHASE - 1 - j]);
            assert_eq!(PHASE_COEFFICIENTS[1][j], PHASE_COEFFICIENTS[2][TAPS_PER_PHASE - 1 - j]);
        }
    }

    #[test]
    fn impulse_response_is_the_coefficient_table() {
        let mut d = TruePeakDetector::new();
        for n in 0..TAPS_PER_PHASE {
            let block_peak = d.push(&[if n == 0 { 1.0 } else { 0.0 }]);
            let expected = PHASE_COEFFICIENTS.iter().map(|p| p[n].abs()).fold(0.0, f64::max);
            assert_eq!(block_peak, expected, "output block {n}");
        }
        assert_eq!(d.peak(), 0.9721679687500);
    }

    #[test]
    fn block_size_does_not_change_the_peak() {
        let x: Vec<f32> = (0..3000)
            .map(|i| (i as f32 * 0.37).sin() * (i as f32 * 0.011).cos())
            .collect();
        let mut whole = TruePeakDetector::new();
        whole.push(&x);
        let mut pieces = TruePeakDetector::new();
        for part in x.chunks(7) {
            pieces.push(part);
        }
        assert_eq!(whole.peak(), pieces.peak());
    }
}
