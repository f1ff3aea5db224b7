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

/// One channel's true-peak detector: the last 12 input samples and the largest |oversampled| value so far.
/// No allocation: the history is a fixed array.
#[derive(Debug, Clone)]
pub struct TruePeakDetector {
    /// The history twice over, so the 12 newest samples are always one contiguous slice:
    /// `history[pos + 1..pos + 13]` holds x[n-11] .. x[n] (oldest first).
    history: [f64; 2 * TAPS_PER_PHASE],
    pos: usize,
    peak: f64,
}

impl Default for TruePeakDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl TruePeakDetector {
    pub fn new() -> Self {
        Self {
            history: [0.0; 2 * TAPS_PER_PHASE],
            pos: 0,
            peak: 0.0,
        }
    }

    /// Feeds one input sample; returns the largest |value| of the four oversampled outputs it produces.
    #[inline]
    pub fn push(&mut self, x: f64) -> f64 {
        // Each sample is stored twice (at `pos` and `pos + 12`) so that `pos + 1 .. pos + 13` is always the
        // window of the 12 newest samples, oldest first.
        self.pos = (self.pos + 1) % TAPS_PER_PHASE;
        self.history[self.pos] = x;
        self.history[self.pos + TAPS_PER_PHASE] = x;
        let window = &self.history[self.pos + 1..self.pos + 1 + TAPS_PER_PHASE];
        let mut block_peak = 0.0f64;
        for phase in &PHASE_COEFFICIENTS {
            // window[11 - j] is x[n - j].
            let mut y = 0.0;
            for (c, s) in phase.iter().zip(window.iter().rev()) {
                y += c * s;
            }
            block_peak = block_peak.max(y.abs());
        }
        self.peak = self.peak.max(block_peak);
        block_peak
    }

    /// Feeds `TAPS_PER_PHASE - 1` zeros, so the last input samples have passed every tap (end of a file).
    pub fn flush(&mut self) {
        for _ in 0..TAPS_PER_PHASE - 1 {
            self.push(0.0);
        }
    }

    /// The largest |oversampled| value so far (linear).
    pub fn peak(&self) -> f64 {
        self.peak
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
            let block_peak = d.push(if n == 0 { 1.0 } else { 0.0 });
            let expected = PHASE_COEFFICIENTS.iter().map(|p| p[n].abs()).fold(0.0, f64::max);
            assert_eq!(block_peak, expected, "output block {n}");
        }
        assert_eq!(d.peak(), 0.9721679687500);
    }
}
