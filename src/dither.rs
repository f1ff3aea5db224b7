//! Quantisation of f32 samples to 16- or 24-bit integers with TPDF dither, implemented once here so that
//! every host (CLI, browser renders) dithers identically.
//!
//! Each sample `x` (full scale +/-1.0) is scaled to LSBs (`x * 2^(bits-1)`), a triangular (TPDF) dither value
//! `d = (u1 - 0.5) + (u2 - 0.5)` of +/-1 LSB is added (`u1`, `u2` independent uniform [0, 1) from PCG32 with
//! the fixed seed [`DITHER_SEED`]), the sum is rounded to the nearest integer (ties away from zero) and
//! clipped to `[-2^(bits-1), 2^(bits-1) - 1]`. Non-finite samples count as 0. Samples are dithered in the order
//! they are given (interleaved: left then right of each frame), and the generator persists across calls,
//! so splitting a signal into blocks of any sizes gives the same integers.

use crate::dsp::rng::Pcg32;

/// The PCG32 seed of the dither generator: init state and stream, the ASCII of "corelogi" and "dither".
pub const DITHER_SEED: (u64, u64) = (0x636f_7265_6c6f_6769, 0x6469_7468_6572);

/// An integer PCM word length that is dithered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntBits {
    Sixteen,
    TwentyFour,
}

impl IntBits {
    pub fn bits(self) -> u16 {
        match self {
            IntBits::Sixteen => 16,
            IntBits::TwentyFour => 24,
        }
    }

    /// LSBs per unit of full scale: 2^(bits-1).
    pub fn full_scale_lsb(self) -> f64 {
        (1u64 << (self.bits() - 1)) as f64
    }

    /// The largest integer value, 2^(bits-1) - 1 (the smallest is -2^(bits-1)).
    pub fn max_value(self) -> i32 {
        (1i32 << (self.bits() - 1)) - 1
    }

    pub fn min_value(self) -> i32 {
        -(1i32 << (self.bits() - 1))
    }
}

/// Quantises samples to integers with TPDF dither; keeps its generator across blocks.
#[derive(Debug, Clone)]
pub struct Quantizer {
    bits: IntBits,
    rng: Pcg32,
}

impl Quantizer {
    /// A quantiser whose generator starts at [`DITHER_SEED`].
    pub fn new(bits: IntBits) -> Self {
        Quantizer {
            bits,
            rng: Pcg32::new(DITHER_SEED.0, DITHER_SEED.1),
        }
    }

    pub fn bits(&self) -> IntBits {
        self.bits
    }

    /// One TPDF dither value in LSB: the sum of two independent uniform [-0.5, 0.5) values, so in [-1, 1).
    #[inline]
    fn next_dither_lsb(&mut self) -> f64 {
        (self.rng.next_f64() - 0.5) + (self.rng.next_f64() - 0.5)
    }

    /// Quantises one sample (the next in the dither sequence).
    #[inline]
    pub fn quantize(&mut self, sample: f32) -> i32 {
        let sample = if sample.is_finite() { f64::from(sample) } else { 0.0 };
        let dithered_lsb = sample * self.bits.full_scale_lsb() + self.next_dither_lsb();
        let clipped = dithered_lsb
            .round()
            .clamp(f64::from(self.bits.min_value()), f64::from(self.bits.max_value()));
        clipped as i32
    }

    /// Quantises a stereo block, appending interleaved integers (left, right per frame) to `out`.
    pub fn quantize_stereo(&mut self, left: &[f32], right: &[f32], out: &mut Vec<i32>) {
        out.reserve(2 * left.len());
        for (l, r) in left.iter().zip(right) {
            out.push(self.quantize(*l));
            out.push(self.quantize(*r));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_signal(frames: usize) -> Vec<f32> {
        // A slow ramp across most of full scale with a fractional-LSB sine on top: many different residues.
        (0..frames)
            .map(|i| {
                let t = i as f64 / frames as f64;
                (-0.9 + 1.8 * t + 1e-5 * (i as f64 * 0.37).sin()) as f32
            })
            .collect()
    }

    #[test]
    fn error_is_zero_mean_and_within_the_tpdf_bound_of_one_and_a_half_lsb() {
        for bits in [IntBits::Sixteen, IntBits::TwentyFour] {
            let mut q = Quantizer::new(bits);
            let signal = test_signal(200_000);
            let errors_lsb: Vec<f64> = signal
                .iter()
                .map(|x| f64::from(q.quantize(*x)) - f64::from(*x) * bits.full_scale_lsb())
                .collect();
            // Dither in [-1, 1) plus rounding (at most 0.5) bounds the error below 1.5 LSB when nothing clips.
            let worst = errors_lsb.iter().fold(0.0f64, |m, e| m.max(e.abs()));
            assert!(worst < 1.5, "{bits:?}: worst error {worst} LSB");
            // TPDF dither makes the error's mean 0 and its variance 1/6 (dither) + 1/12 (rounding) = 1/4 LSB^2,
            // independent of the signal; a truncating or undithered quantiser fails one of these.
            let n = errors_lsb.len() as f64;
            let mean = errors_lsb.iter().sum::<f64>() / n;
            let variance = errors_lsb.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / n;
            assert!(mean.abs() < 0.01, "{bits:?}: mean error {mean} LSB");
            assert!(
                (variance - 0.25).abs() < 0.01,
                "{bits:?}: error variance {variance} LSB^2"
            );
        }
    }

    #[test]
    fn dither_is_triangular_over_minus_one_to_one_lsb() {
        // On digital silence the output is the rounded dither itself: -1, 0 or +1 with probabilities
        // 1/8, 3/4, 1/8 for a triangular density on [-1, 1] (|d| >= 0.5 has probability 1/8 on each side).
        let mut q = Quantizer::new(IntBits::Sixteen);
        let n = 400_000;
        let mut counts = [0usize; 3];
        for _ in 0..n {
            let v = q.quantize(0.0);
            assert!((-1..=1).contains(&v), "silence quantised to {v}");
            counts[(v + 1) as usize] += 1;
        }
        let fractions: Vec<f64> = counts.iter().map(|c| *c as f64 / n as f64).collect();
        assert!((fractions[0] - 0.125).abs() < 0.003, "{fractions:?}");
        assert!((fractions[1] - 0.75).abs() < 0.003, "{fractions:?}");
        assert!((fractions[2] - 0.125).abs() < 0.003, "{fractions:?}");
    }

    #[test]
    fn full_scale_and_beyond_clip_to_the_integer_range() {
        for bits in [IntBits::Sixteen, IntBits::TwentyFour] {
            let mut q = Quantizer::new(bits);
            for _ in 0..10_000 {
                assert_eq!(q.quantize(1.0), bits.max_value());
                assert_eq!(q.quantize(4.0), bits.max_value());
                assert_eq!(q.quantize(-4.0), bits.min_value());
                let at_negative_full_scale = q.quantize(-1.0);
                assert!(at_negative_full_scale <= bits.min_value() + 1);
                let mut twin = q.clone();
                assert_eq!(q.quantize(f32::NAN), twin.quantize(0.0));
            }
        }
        assert_eq!(IntBits::Sixteen.max_value(), 32_767);
        assert_eq!(IntBits::TwentyFour.min_value(), -8_388_608);
    }

    #[test]
    fn output_is_deterministic_and_independent_of_block_sizes() {
        let left = test_signal(10_000);
        let right: Vec<f32> = left.iter().map(|x| -0.5 * x).collect();
        let mut whole = Vec::new();
        Quantizer::new(IntBits::TwentyFour).quantize_stereo(&left, &right, &mut whole);
        let mut again = Vec::new();
        Quantizer::new(IntBits::TwentyFour).quantize_stereo(&left, &right, &mut again);
        assert_eq!(whole, again);
        let mut pieces = Vec::new();
        let mut q = Quantizer::new(IntBits::TwentyFour);
        let mut start = 0;
        for size in [1, 7, 4096, 3, 999].iter().cycle() {
            if start >= left.len() {
                break;
            }
            let end = (start + size).min(left.len());
            q.quantize_stereo(&left[start..end], &right[start..end], &mut pieces);
            start = end;
        }
        assert_eq!(whole, pieces);
    }
}
